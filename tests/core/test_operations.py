"""Operating the product: JSON logs without personal data, health checks, doctor, timings, loads."""
import io
import json
import os
import subprocess
import sys
from datetime import date

import pytest
import sqlalchemy as sa

from core import accounts, indicators, operations, records, telemetry
from core.accounts import Actor
from core.definitions import Period
from tests.conftest import ROOT
from tests.pages.apptest import logged_in, open_page

ADMIN = Actor("admin", "admin")
SECRET = "Sup3r-secret-pass"
EMAIL = "ana.souza@example.com"
PHONE = "21987654321"
NAME = "Ana Souza de Oliveira"
MARCH = Period(date(2022, 3, 1), date(2022, 3, 31))


def cli(*argv, env=None):
    return subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def log_buffer():
    """The product's log lines (DEBUG and up) written while the test runs."""
    buffer = io.StringIO()
    telemetry.configure_logging("DEBUG", stream=buffer)
    yield buffer
    telemetry.configure_logging("INFO")


@pytest.fixture
def persisting(settings):
    """This process keeps its timings in operation_timings (flushed by hand, no thread)."""
    telemetry.stop_persisting_timings()  # a dashboard run by AppTest may have turned it on
    telemetry.persist_timings(settings, source="test", background=False)
    yield
    telemetry.stop_persisting_timings()


def test_logs_are_json_with_fields_and_no_personal_data(db, settings, log_buffer):
    with db.begin() as conn:
        accounts.create_user(conn, actor=ADMIN, username="bia", password=SECRET, role="admin",
                             email="bia@example.com", rounds=4)
        assert not accounts.verify_login(conn, username="bia", password=SECRET + "x", settings=settings)
        records.create_customer(conn, actor=ADMIN, id=7, nome=NAME, email=EMAIL, telefone=PHONE)
        conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
                             "VALUES (1, 7, 'Caio', 'RJ', '2022-03-10')"))
        indicators.sla_by_polo(conn, period=MARCH, as_of=date(2022, 4, 1))
    open_page(logged_in("bia", SECRET), "monitoring.py")

    text = log_buffer.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= e.keys() for e in entries)
    ops = {e["op"]: e for e in entries if "op" in e}
    sla = ops["indicators.sla_by_polo"]
    assert (sla["rows"], sla["outcome"], sla["days"]) == (1, "ok", 31)
    assert isinstance(sla["duration_ms"], float)
    assert "records.create_customer" in ops
    page = ops["page.monitoring"]
    assert (page["logger"], page["page"], page["user"], page["outcome"]) == (
        "dashboard.pages", "Monitoring", "bia", "ok")
    for secret in (SECRET, EMAIL, "bia@example.com", PHONE, NAME, "test-cookie-key"):
        assert secret not in text


def test_a_page_stopped_by_its_role_check_logs_outcome_stopped(db, log_buffer):
    with db.begin() as conn:
        accounts.create_user(conn, actor=ADMIN, username="vera", password="password-123", role="viewer", rounds=4)
    open_page(logged_in("vera", "password-123"), "monitoring.py")
    pages = [json.loads(line) for line in log_buffer.getvalue().splitlines() if '"page.monitoring"' in line]
    assert [(p["user"], p["outcome"]) for p in pages] == [("vera", "stopped")]


def test_health_is_ok_on_the_test_database(db, settings, engine):
    checks = operations.health(settings, engine=engine)
    assert [(c.name, c.ok) for c in checks] == [
        ("database reachable", True), ("migrations current", True), ("data dir writable", True)]
    assert checks[0].detail.startswith("PostgreSQL ")


def test_health_names_a_pending_migration(db, settings, engine):
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE name = '0005_operations'"))
    try:
        check = operations.health(settings, engine=engine)[1]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO schema_migrations (name) VALUES ('0005_operations')"))
    assert (check.name, check.ok) == ("migrations current", False)
    assert check.detail == "pending: 0005_operations (run `python -m core db upgrade`)"


def test_doctor_passes_on_the_test_database(db):
    result = cli("doctor")
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(":")[0] for line in lines] == [
        "ok    configuration", "ok    database reachable", "ok    migrations current", "ok    data dir writable"]


def test_doctor_fails_when_the_database_is_unreachable(tmp_path):
    result = cli("doctor", env={"DATABASE_URL": "postgresql://someone:Pw-not-shown@127.0.0.1:9/nothing",
                                "LOGISTICS_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1].startswith("FAIL  database reachable: postgresql+psycopg2://someone@127.0.0.1:9/nothing: ")
    assert lines[2] == "FAIL  migrations current: not checked: the database is unreachable"
    assert lines[3].startswith("ok    data dir writable")
    assert "Pw-not-shown" not in result.stdout + result.stderr
    assert all(json.loads(line) for line in result.stderr.splitlines())  # logs stay JSON


def test_doctor_fails_on_a_bad_setting():
    result = cli("doctor", env={"SLA_TARGET": "90"})
    assert result.returncode == 1
    assert result.stdout.strip() == "FAIL  configuration: SLA_TARGET must be between 0 and 1 (0.9 means 90%), not 90"


def test_timings_reach_the_table_and_are_summarised(db, persisting):
    for rows in (1, 2, 3):
        with telemetry.timed("tests.step", rows=rows):
            pass
    with pytest.raises(ValueError), telemetry.timed("tests.broken"):
        raise ValueError("boom")
    telemetry.flush_timings()  # (a dashboard flusher thread may have written some already)
    assert telemetry.pending_timings() == 0
    with db.begin() as conn:
        saved = conn.execute(sa.text("SELECT operation, outcome, rows, source FROM operation_timings "
                                     "WHERE operation LIKE 'tests.%' ORDER BY id")).all()
        assert saved == [("tests.step", "ok", 1, "test"), ("tests.step", "ok", 2, "test"),
                         ("tests.step", "ok", 3, "test"), ("tests.broken", "ValueError", None, "test")]
        conn.execute(sa.text("DELETE FROM operation_timings"))
        conn.execute(sa.text(
            "INSERT INTO operation_timings (at, operation, duration_ms, outcome, source) VALUES "
            "(now(), 'a', 10, 'ok', 'cli'), (now(), 'a', 20, 'ok', 'cli'), (now(), 'a', 30, 'ok', 'cli'), "
            "(now(), 'a', 40, 'TimeoutError', 'cli'), (now(), 'b', 5, 'stopped', 'dashboard'), "
            "(now() - interval '2 days', 'a', 1000, 'ok', 'cli')"))
        summary = operations.operation_timings(conn)
    assert [(t.operation, t.count, t.p50_ms, t.p95_ms, t.max_ms, t.failures) for t in summary] == [
        ("a", 4, 25.0, 38.5, 40.0, 1), ("b", 1, 5.0, 5.0, 5.0, 0)]


def test_without_persisting_nothing_is_buffered(db):
    telemetry.stop_persisting_timings()
    with telemetry.timed("tests.not_kept"):
        pass
    assert telemetry.pending_timings() == 0


def test_recent_loads_with_rows_per_second_and_progress(conn):
    conn.execute(sa.text("""
        INSERT INTO load_jobs (kind, file_name, file_size, source_path, username, status, bytes_done,
                               rows_read, rejected, started_at, finished_at, seconds, rows_per_second, created_at)
        VALUES ('services', 'bd_desafio.csv', 1000, '/x', 'ana', 'done', 1000, 4000, 2,
                '2026-01-01 10:00', '2026-01-01 10:00:02', 2.0, 2000.0, '2026-01-01 10:00'),
               ('customers', 'customers_data.csv', 800, '/y', 'ana', 'failed', 200, 500, 0,
                '2026-01-02 10:00', '2026-01-02 10:00:05', NULL, NULL, '2026-01-02 10:00')"""))
    loads = operations.recent_loads(conn)
    assert [(j.file_name, j.status, j.progress, *j.speed[:2]) for j in loads] == [
        ("customers_data.csv", "failed", 0.05, 5.0, 100.0), ("bd_desafio.csv", "done", 1.0, 2.0, 2000.0)]
    # a quarter of the file read: a quarter of the reading part of the bar, as on the Upload page


def test_database_info_and_host_metrics(conn, settings):
    info = operations.database_info(conn)
    assert info.version.split(".")[0].isdigit() and info.size_bytes > 0 and info.connections >= 1
    assert {"services", "customers", "operation_timings"} <= {t.name for t in info.tables}
    host = operations.host_metrics(settings.data_dir)
    assert 0 <= host.cpu_percent <= 100 and 0 < host.memory_used_percent < 100 and host.disk_total > 0


def test_a_crashed_load_shows_interrupted_on_monitoring_as_on_upload(conn):
    from core import loading

    conn.execute(sa.text("""
        INSERT INTO load_jobs (kind, file_name, file_size, source_path, username, status, started_at, heartbeat_at)
        VALUES ('services', 'bd_desafio.csv', 1000, '/x', 'ana', 'running', now() - interval '5 minutes',
                now() - interval '1 minute')"""))
    upload = [j.status for j in loading.list_jobs(conn)]
    monitoring = [j.status for j in operations.recent_loads(conn)]
    assert upload == ["interrupted"]
    assert monitoring == upload
