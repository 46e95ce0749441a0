"""The compose database's init script: the app runs as the owner of its database, not a superuser,
and everything it does works that way (migrations with pg_trgm, writes, the first admin)."""
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import accounts, records
from core.backup import pg_tool
from core.db import dispose_engines, get_engine, migrate
from tests.conftest import ROOT

SCRIPT = ROOT / "deploy" / "postgres-init" / "10-app-role.sh"
APP_USER = "logistics_app"


def _run_script(url, database: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(pg_tool('psql')).parent}:{os.environ['PATH']}",
           "POSTGRES_USER": url.username, "POSTGRES_DB": database,
           "APP_DB_USER": APP_USER, "APP_DB_PASSWORD": "app-role-test-password"}
    if url.query.get("host"):
        env["PGHOST"] = url.query["host"]
    if url.port:
        env["PGPORT"] = str(url.port)
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)


@pytest.fixture
def scratch(engine, settings):
    """An empty database of the test server, created by the superuser as the image does; dropped after."""
    url = make_url(str(engine.url))
    name = "approle_scratch"
    admin = sa.create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url, name
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _as(url, name, user=None):
    return url.set(database=name, username=user or url.username, password=None).render_as_string(hide_password=False)


@pytest.mark.parametrize("migrated_before", [False, True], ids=["new database", "database that predates it"])
def test_the_app_runs_as_a_non_superuser_owner(scratch, settings, migrated_before):
    url, name = scratch
    if migrated_before:  # tables created by the superuser, as before this script existed
        migrate(sa.create_engine(_as(url, name), poolclass=sa.pool.NullPool))
    done = _run_script(url, name)
    assert done.returncode == 0, done.stderr
    assert _run_script(url, name).returncode == 0  # running it again changes nothing
    app_settings = replace(settings, database_url=_as(url, name, APP_USER))
    app = get_engine(app_settings)  # migrates as the app's role (pg_trgm included)
    with app.begin() as conn:
        role = conn.execute(sa.text("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                                    "WHERE rolname = current_user")).one()
        assert tuple(role) == (False, False, False)
        assert conn.scalar(sa.text("SELECT pg_get_userbyid(datdba) FROM pg_database "
                                   "WHERE datname = current_database()")) == APP_USER
        accounts.ensure_admin(conn, settings=settings)
        records.create_customer(conn, actor=accounts.CLI_ACTOR, id=1, nome="Ana")
        assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 1
        not_mine = conn.scalar(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                                       "AND tableowner <> current_user"))
        assert not_mine == 0


def test_the_script_refuses_to_demote_the_superuser(scratch):
    url, name = scratch
    env_user = url.username
    done = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True,
                          env={**os.environ, "POSTGRES_USER": env_user, "POSTGRES_DB": name,
                               "APP_DB_USER": env_user, "APP_DB_PASSWORD": "x"})
    assert done.returncode == 1 and "must differ from POSTGRES_USER" in done.stderr
