"""In a browser (issue 21): the tables' toolbar offers no raw download, and a load's file name with
Markdown in it shows as typed and makes the browser fetch nothing."""
from __future__ import annotations

from core import loading, records
from core.accounts import CLI_ACTOR, Actor
from tests.e2e.conftest import login, wait_idle

ADMIN = Actor("admin", "admin")


def test_the_tables_toolbar_has_no_download(db, app_url, browser_page):
    with db.begin() as conn:
        records.create_customer(conn, actor=ADMIN, id=1, nome='=HYPERLINK("http://evil.example","click")')
    page = browser_page
    login(page, app_url, path="customers")
    wait_idle(page)
    grid = page.get_by_test_id("stDataFrame").first
    grid.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    toolbar.get_by_role("button", name="Search").wait_for()  # the toolbar is there...
    assert toolbar.get_by_role("button", name="Download as CSV").count() == 0  # ...without the raw CSV
    assert page.get_by_role("button", name="Download CSV (1 customer)").count() == 1  # the safe one stays


def test_a_file_name_with_markdown_shows_as_typed_and_fetches_nothing(db, settings, app_url, browser_page,
                                                                      tmp_path):
    path = tmp_path / "services.csv"
    path.write_bytes(b"1;10;Ana;RJ;10/03/2022;-\n")
    name = "![t](track.png) **big**.csv"  # as an image it would fetch <app>/track.png
    with db.begin() as conn:
        info = loading.inspect_file(path, kind="services")
        job_id = loading.create_job(conn, actor=CLI_ACTOR, info=info, file_name=name, settings=settings)
    loading.run_job(db, job_id=job_id, settings=settings)
    page = browser_page
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    login(page, app_url, path="upload")
    wait_idle(page)
    page.get_by_text(f"Load {job_id}: {name}", exact=True).wait_for()  # the heading, as typed
    assert page.get_by_text(f"Load {job_id} · {name}: 100%", exact=False).count() >= 1  # the progress bar
    assert page.locator("img[src*='track.png']").count() == 0 and page.locator("strong", has_text="big").count() == 0
    assert not [url for url in fetched if "track.png" in url]
