"""In a browser: open SLA by polo, change the period, see the chart redraw and the URL follow."""
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeout

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
    caption = page.get_by_test_id("stSidebar").get_by_text("30/03/2022 - 05/04/2022 (7 days)")
    # Seen on this loaded machine: now and then a choice shows in the box but never reaches the
    # server (no rerun follows). Choose again when no rerun has come within a few seconds; a
    # period filter that does not work still fails all three attempts.
    for attempt in range(3):
        period.get_by_role("combobox").click()
        option = page.get_by_role("option", name="Last 7 days")
        try:
            option.wait_for(timeout=5_000)
            option.click()
            caption.wait_for(timeout=8_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
            if attempt == 2:
                raise
    wait_idle(page)
    # 30/03..05/04/2022: only the RJ polo has services due; the chart is redrawn without SP
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.get_by_text("50.0%").first.wait_for()
    assert chart.get_by_text("SP - CAMPINAS").count() == 0
    assert chart.get_by_text("RJ - SAO GONÇALO").count() >= 1
    assert re.search(r"[?&]period=last_7", page.url)
