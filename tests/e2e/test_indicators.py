"""In a browser: open SLA by polo, change the period, see the chart redraw and the URL follow."""
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
