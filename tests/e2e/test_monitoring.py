"""The Monitoring page in a real browser: it refreshes by itself, and the server logs JSON page runs."""
import json
import re
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import login, wait_idle


def test_monitoring_refreshes_by_itself_and_page_runs_are_logged(db, app_url, browser_page, test_env):
    page = browser_page
    login(page, app_url, path="monitoring")
    page.get_by_role("heading", name="Monitoring").wait_for()
    page.get_by_text("database reachable").wait_for()
    page.get_by_text("5 s", exact=True).click()
    wait_idle(page)
    updated = page.get_by_text(re.compile(r"updated \S+ \d{1,2}:\d\d:\d\d(\s[AP]M)? UTC"))
    # the fragment's timer reruns it without a click
    expect(updated).not_to_have_text(updated.inner_text(), timeout=30_000)

    # The refresh flushed the server's timings: its page runs are in operation_timings.
    with db.connect() as conn:
        sources = set(conn.scalars(sa.text(
            "SELECT source FROM operation_timings WHERE operation = 'page.monitoring'")))
    assert sources == {"dashboard"}
    log = (Path(test_env["LOGISTICS_DATA_DIR"]).parent / "streamlit.log").read_text(errors="replace")
    runs = [json.loads(line) for line in log.splitlines() if '"op": "page.monitoring"' in line]
    # A run cut short by the next one (the login's own rerun) ends "stopped": not an error.
    assert {(r["user"], r["page"]) for r in runs} == {("admin", "Monitoring")}
    assert "ok" in {r["outcome"] for r in runs} and {r["outcome"] for r in runs} <= {"ok", "stopped", "rerun"}
    assert "admin-test-pass" not in log
