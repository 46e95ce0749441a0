"""In a browser: drag a demo services file onto the Upload page, watch the load reach 100%, read the summary."""
import sqlalchemy as sa

from core import demo
from tests.e2e.conftest import login, wait_idle


def test_drop_a_demo_file_and_see_it_loaded(db, app_url, browser_page, tmp_path):
    files = demo.write_demo(tmp_path, rows=30_000, seed=11, dates=demo.HISTORICAL)
    page = browser_page
    login(page, app_url, path="upload")
    page.get_by_role("heading", name="Upload").first.wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(files.services))
    page.get_by_text("Detected: services file (bd_desafio.csv); UTF-8").wait_for()
    page.get_by_role("button", name="Load bd_desafio.csv").click()
    page.get_by_text("100% · done").wait_for(timeout=120_000)
    page.get_by_text("Loaded 30,000 lines").wait_for()
    wait_idle(page)
    metrics = page.locator('[data-testid="stMetric"]')
    assert "Inserted" in metrics.nth(1).inner_text() and "30,000" in metrics.nth(1).inner_text()
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM services")) == 30_000
    page.reload()  # the summary comes from the job row, so it survives a reload
    page.get_by_text("Loaded 30,000 lines").wait_for()
