"""The Monitoring page through AppTest: admin sees health, totals, loads and timings; others don't."""
import pytest
import sqlalchemy as sa

from core import accounts
from core.accounts import Actor
from tests.pages.apptest import logged_in, open_page, texts

ADMIN = Actor("admin", "admin")


def test_admin_sees_health_totals_and_timings(db):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id, nome) VALUES (1, 'Ana'), (2, NULL)"))
        conn.execute(sa.text(
            "INSERT INTO services (id, id_cliente, angel, polo, data_limite) VALUES "
            "(10, 1, 'Ana Souza', 'RJ - CENTRO', '2022-03-01'), (11, 2, 'Bruno', 'SP - CAMPINAS', '2022-03-02'), "
            "(12, 2, 'Bruno', 'SP - CAMPINAS', '2022-03-03')"))
        conn.execute(sa.text(
            "INSERT INTO operation_timings (at, operation, duration_ms, outcome, rows, source) "
            "SELECT now(), 'indicators.test_op', d, 'ok', NULL, 'cli' FROM generate_series(1, 100) d"))
    at = open_page(logged_in(), "monitoring.py")
    shown = texts(at)
    for check in ("database reachable", "migrations current", "data dir writable"):
        assert f"**{check}**" in shown
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Services"], metrics["Customers"], metrics["Stub customers"]) == ("3", "2", "1")
    assert (metrics["Polos"], metrics["Angels"]) == ("2", "2")
    assert metrics["PostgreSQL"].split(".")[0].isdigit()
    assert "No file has been loaded yet." in shown
    timings = at.dataframe[0].value  # no loads: the first table is the timings
    row = timings[timings["operation"] == "indicators.test_op"].iloc[0]
    assert (row["runs"], row["p50 ms"], row["p95 ms"], row["max ms"]) == (100, 50.5, 95.05, 100)


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_monitoring_is_forbidden_below_admin(db, role):
    with db.begin() as conn:
        accounts.create_user(conn, actor=ADMIN, username="someone", password="password-123", role=role, rounds=4)
    at = open_page(logged_in("someone", "password-123"), "monitoring.py")
    assert "Not allowed: this page needs the **admin** role" in texts(at)
    assert not at.metric and not at.dataframe
