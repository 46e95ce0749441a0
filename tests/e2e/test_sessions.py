"""A copied login cookie, in a real browser: it works while its session lives, and stops when the
password changes or the session logs out."""
from core import accounts
from tests.e2e.conftest import login, wait_idle


def _open_with(browser, cookies, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    context.add_cookies(cookies)
    page = context.new_page()
    page.goto(app_url)
    wait_idle(page)
    return context, page


def _signed_in(page) -> bool:
    page.locator("text=Signed in as").or_(page.get_by_label("Username")).first.wait_for()
    return page.get_by_text("Signed in as").count() > 0


def test_a_copied_cookie_stops_after_a_password_change(db, app_url, browser_page, _browser):
    login(browser_page, app_url)
    copied = browser_page.context.cookies()
    context, page = _open_with(_browser, copied, app_url)
    assert _signed_in(page)  # the copy works while the session lives
    context.close()
    with db.begin() as conn:
        accounts.reset_password(conn, actor=accounts.CLI_ACTOR, username="admin", password="admin-test-pass",
                                rounds=4)
    context, page = _open_with(_browser, copied, app_url)
    assert not _signed_in(page)
    context.close()


def test_a_copied_cookie_stops_when_its_session_logs_out(db, app_url, browser_page, _browser):
    login(browser_page, app_url)
    copied = browser_page.context.cookies()
    browser_page.get_by_role("button", name="Log out").click()
    browser_page.get_by_label("Username").wait_for()
    context, page = _open_with(_browser, copied, app_url)
    assert not _signed_in(page)
    context.close()
