"""Backup -> wipe -> restore gives the same database; a restore never lands on data by accident."""
import hashlib
import subprocess
import sys
from datetime import date

import pytest
import sqlalchemy as sa

from core import accounts, indicators
from core.accounts import Actor, PermissionDenied
from core.backup import BackupError, backup, restore
from core.db import data_version, get_engine
from core.definitions import Period
from tests.conftest import ROOT, reset_database

ADMIN = Actor("admin", "admin")
MARCH = Period(date(2022, 3, 1), date(2022, 3, 31))
AS_OF = date(2022, 4, 1)
SERVICES = [  # id, customer, angel, polo, deadline, visit
    (1, 1, "Ana", "RJ - CENTRO", "2022-03-10", "2022-03-10 23:59"),   # on time
    (2, 1, "Ana", "RJ - CENTRO", "2022-03-10", "2022-03-11 00:01"),   # late
    (3, 2, "Bruno", "RJ - CENTRO", "2022-03-15", None),               # not visited
    (4, 3, "Caio", "SP - CAMPINAS", "2022-03-20", "2022-03-18 10:00"),  # on time
]


def fill(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id, nome, email, telefone) VALUES "
                             "(1, 'Ana Cliente', 'ana@example.com', '21999990000'), (2, 'Bia', NULL, NULL), (3, NULL, NULL, NULL)"))
        conn.execute(sa.text(
            "INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
            "VALUES (:id, :c, :angel, :polo, CAST(:deadline AS date), CAST(:visit AS timestamp))"),
            [dict(zip(("id", "c", "angel", "polo", "deadline", "visit"), s)) for s in SERVICES])
        accounts.create_user(conn, actor=ADMIN, username="olga", password="password-123", role="analyst",
                             rounds=4)


def state(engine):
    """What must survive a round trip: counts, rows, indicators, users, the id sequence."""
    with engine.connect() as conn:
        return {
            "counts": conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM customers WHERE is_stub), "
                "(SELECT count(*) FROM services)")).one(),
            "customers": conn.execute(sa.text("SELECT id, nome, email, telefone FROM customers ORDER BY id")).all(),
            "services": conn.execute(sa.text("SELECT id, id_cliente, angel, polo, data_limite, "
                                             "data_de_atendimento FROM services ORDER BY id")).all(),
            "sla": [(r.polo, r.total, r.on_time, r.late, r.not_visited)
                    for r in indicators.sla_by_polo(conn, period=MARCH, as_of=AS_OF)],
            "productivity": [(r.angel, r.visits) for r in indicators.productivity(conn, period=MARCH, as_of=AS_OF, country="BR")],
            "users": [(u.username, u.role) for u in accounts.list_users(conn)],
        }


def test_backup_wipe_restore_gives_the_same_data_and_indicators(db, settings, tmp_path):
    fill(db)
    before = state(db)
    assert before["counts"] == (3, 1, 4)  # customer 3 is a stub (no name)
    assert before["sla"] == [("SP - CAMPINAS", 1, 1, 0, 0), ("RJ - CENTRO", 3, 1, 1, 1)]
    report = backup(settings, path=tmp_path / "logistics.dump", actor=ADMIN)
    assert (report.services, report.customers) == (4, 3) and report.bytes > 0
    assert report.path.stat().st_mode & 0o777 == 0o600  # password hashes and personal data inside
    sha256 = hashlib.sha256(report.path.read_bytes()).hexdigest()

    reset_database(db)
    engine = get_engine(settings)
    assert state(engine)["counts"] == (0, 0, 0)
    result = restore(settings, path=report.path, actor=ADMIN)
    assert (result.services, result.customers, result.users) == (4, 3, 2)
    engine = get_engine(settings)
    assert state(engine) == before
    assert result.sha256 == sha256
    with engine.connect() as conn:  # what was restored, by checksum
        audited = conn.execute(sa.text("SELECT after FROM audit_log WHERE entity = 'database' "
                                       "ORDER BY id DESC LIMIT 1")).scalar_one()
    assert audited["sha256"] == sha256 and audited["restored_from"] == "logistics.dump"
    with engine.begin() as conn:  # the restored sequences go on after the restored rows
        new_id = conn.scalar(sa.text("INSERT INTO audit_log (username, action, entity) "
                                     "VALUES ('x', 'load', 'test') RETURNING id"))
        assert new_id > conn.scalar(sa.text("SELECT max(id) FROM audit_log WHERE entity <> 'test'"))


def test_restore_refuses_a_database_with_data_unless_forced(db, settings, tmp_path):
    fill(db)
    dump = backup(settings, path=tmp_path / "b.dump", actor=ADMIN).path
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM services WHERE id = 4"))
        version = data_version(conn)
    with pytest.raises(BackupError, match="already holds 3 services and 3 customers.*--force.*Nothing was changed"):
        restore(settings, path=dump, actor=ADMIN)
    engine = get_engine(settings)
    assert state(engine)["counts"] == (3, 1, 3)
    restore(settings, path=dump, actor=ADMIN, force=True)
    engine = get_engine(settings)
    assert state(engine)["counts"] == (3, 1, 4)
    with engine.connect() as conn:  # above the old version: dashboards drop their cached answers
        assert data_version(conn) > version


def test_a_file_that_is_not_a_backup_changes_nothing(db, settings, tmp_path):
    fill(db)
    bogus = tmp_path / "services.csv"
    bogus.write_text("id_atendimento;id_cliente\n1;1\n")
    with pytest.raises(BackupError, match="is not a backup made by `python -m core backup`"):
        restore(settings, path=bogus, actor=ADMIN, force=True)
    assert state(get_engine(settings))["counts"] == (3, 1, 4)
    with pytest.raises(BackupError, match="does not exist"):
        restore(settings, path=tmp_path / "missing.dump", actor=ADMIN)


def test_only_an_admin_backs_up_or_restores(db, settings, tmp_path):
    with pytest.raises(PermissionDenied):
        backup(settings, path=tmp_path / "x.dump", actor=Actor("olga", "analyst"))
    with pytest.raises(PermissionDenied):
        restore(settings, path=tmp_path / "x.dump", actor=Actor("olga", "analyst"))
    assert not (tmp_path / "x.dump").exists()


def test_backup_and_restore_commands(db, tmp_path):
    fill(db)
    path = tmp_path / "cli.dump"

    def cli(*argv):
        return subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    done = cli("backup", str(path))
    assert done.returncode == 0 and done.stdout.startswith(f"backed up 4 services and 3 customers to {path}")
    refused = cli("restore", str(path))
    assert refused.returncode == 2 and "Run again with --force" in refused.stderr
    forced = cli("restore", str(path), "--force")
    assert forced.returncode == 0 and forced.stdout.startswith("restored 4 services, 3 customers and 2 users")
