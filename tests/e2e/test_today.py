"""In a browser, in both languages: the Today page on a live demo day, a polo's angels, a number's services."""
import re

import pytest

from core import demo, loading, operation_day
from core.accounts import CLI_ACTOR
from tests.e2e.conftest import login, wait_idle


@pytest.fixture
def live_day(db, settings, tmp_path):
    """A live demo day (today in TIMEZONE), loaded as `python -m core demo` + `load` would."""
    files = demo.write_demo(tmp_path, rows=4000, seed=5, dates=demo.live(operation_day.today(settings)))
    loading.load_file(db, path=files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    return db


@pytest.mark.parametrize("language, words", [
    ("en", {"title": "Today", "metric": "Due today, open", "angels": "A polo's angels", "due": "due today, still open"}),
    ("pt_BR", {"title": "Hoje", "metric": "Vence hoje, em aberto", "angels": "Angels de um polo",
               "due": "vence(m)? hoje, ainda em aberto"}),
])
def test_today_page_shows_the_day_a_polos_angels_and_its_services(live_day, app_url, browser_page, settings,
                                                                  language, words):
    with live_day.connect() as conn:
        (first, *_rest) = operation_day.day_by_polo(conn, day=operation_day.today(settings), target=0.9)
    page = browser_page
    login(page, app_url, path="today")
    if language == "pt_BR":  # chosen in the account box, as a user does
        box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Language")
        box.get_by_role("combobox").click()
        page.get_by_role("option", name="Português (Brasil)").click()
    page.get_by_role("heading", name=words["title"], exact=True).wait_for()
    wait_idle(page)
    page.get_by_test_id("stMetric").filter(has_text=words["metric"]).wait_for()
    assert page.get_by_test_id("stDataFrame").count() == 1  # the polos
    assert page.get_by_text(re.compile("in the past|no passado")).count() == 0  # a live day

    picker = page.get_by_test_id("stSelectbox").filter(has_text=words["angels"]).get_by_role("combobox")
    picker.click()
    picker.fill(first.polo)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=first.polo).wait_for()
    page.get_by_test_id("stDataFrame").nth(1).wait_for()  # its angels
    wait_idle(page)

    # the polo's link to its services due today and still open opens the Services page filtered so
    link = page.get_by_role("link", name=re.compile(rf"^{first.due_today_open} .*{words['due']}$")).last
    link.click()
    page.wait_for_url(re.compile(r"/services\?.*open_on="))
    wait_idle(page)
    assert f"open_on={operation_day.today(settings).isoformat()}" in page.url
