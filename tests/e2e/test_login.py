"""The real dashboard in a browser: log in as the bootstrap admin, see home, log out."""
from tests.e2e.conftest import login, wait_idle


def test_admin_logs_in_sees_home_and_logs_out(db, app_url, browser_page):
    page = browser_page
    login(page, app_url)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "logistics_auth"]
    # what docs/security.md says of it: SameSite=Strict, not HttpOnly (written by JavaScript), Secure
    # only with AUTH_COOKIE_SECURE=true (unset here: plain HTTP)
    assert (cookie["sameSite"], cookie["httpOnly"], cookie["secure"]) == ("Strict", False, False)
    page.get_by_role("heading", name="Logistics indicators").wait_for()
    page.get_by_text("The database is empty").wait_for()
    # the admin sees the admin pages in the sidebar
    page.get_by_test_id("stSidebar").get_by_text("Users").wait_for()
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").wait_for()
    wait_idle(page)
    assert page.get_by_text("Signed in as").count() == 0


def test_wrong_password_gets_one_plain_message(db, app_url, browser_page):
    page = browser_page
    page.goto(app_url)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Wrong username or password").wait_for()
