"""In a browser: open SLA by polo, change the period, see the chart redraw and the URL follow."""
import csv
import re

from tests.core.test_indicators import insert_services
from tests.e2e.conftest import login, wait_idle


def test_sla_by_polo_chart_follows_the_period(db, app_url, browser_page):
    with db.begin() as conn:
        insert_services(conn)
    page = browser_page
    login(page, app_url, path="sla_polo")
    page.get_by_role("heading", name="SLA by polo").wait_for()
    chart = page.get_by_test_id("stPlotlyChart").first
    # all data: both polos have services due
    chart.locator(".main-svg").first.wait_for()
    chart.get_by_text("SP - CAMPINAS").first.wait_for()
    assert chart.get_by_text("RJ - SAO GONÇALO").count() >= 1

    period = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Period")
    caption = page.get_by_test_id("stSidebar").get_by_text("3/30/2022\u2009–\u20094/5/2022 (7 days)")
    period.get_by_role("combobox").click()
    page.get_by_role("option", name="Last 7 days").click()
    caption.wait_for()
    wait_idle(page)
    # 30/03..05/04/2022: only the RJ polo has services due; the chart is redrawn without SP
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.get_by_text("50.0%").first.wait_for()
    assert chart.get_by_text("SP - CAMPINAS").count() == 0
    assert chart.get_by_text("RJ - SAO GONÇALO").count() >= 1
    assert re.search(r"[?&]period=last_7", page.url)


def test_a_control_of_sla_by_angel_reruns_its_panel_alone(db, app_url, browser_page, test_env):
    """The sort box is inside the page's fragment: changing it reorders the table (its CSV download,
    built when clicked, shows the order) without running the page again (the dashboard logs one
    page.sla_angel line per page run)."""
    from pathlib import Path

    with db.begin() as conn:
        insert_services(conn)
    page = browser_page
    login(page, app_url, path="sla_angel")
    page.get_by_role("heading", name="SLA by angel").wait_for()
    wait_idle(page)
    log = Path(test_env["LOGISTICS_DATA_DIR"]).parent / "streamlit.log"

    def page_runs() -> int:
        return log.read_text(errors="replace").count('"op": "page.sla_angel"')

    def angels_in_the_csv() -> list[str]:
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        rows = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()))
        assert rows[0][:4] == ["Angel", "Polo", "SLA", "Due"]
        return [row[0] for row in rows[1:]]

    assert angels_in_the_csv() == ["Bruno Lima", "Caio Reis", "Ana Souza de"]  # by SLA, largest first
    runs = page_runs()
    assert runs >= 1
    sort = page.get_by_test_id("stSelectbox").filter(has_text="Sort the table by")
    sort.get_by_role("combobox").click()
    page.keyboard.type("Angel name")
    page.get_by_role("option", name="Angel name").wait_for()
    page.keyboard.press("Enter")
    page.get_by_role("option").first.wait_for(state="detached")
    wait_idle(page)
    assert angels_in_the_csv() == ["Caio Reis", "Bruno Lima", "Ana Souza de"]  # by name, descending
    assert page_runs() == runs
