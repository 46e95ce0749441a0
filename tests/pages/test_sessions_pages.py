"""Dashboard sessions that end: the cookie tied to a session row, logout, log out everywhere,
password changes, the forced first password, the login throttle, escaped Markdown, fragments."""
from datetime import datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core import accounts
from core.accounts import Actor
from dashboard.auth import SESSION_ENDED, SID_KEY
from tests.core.test_accounts_hardening import SESSION_ENDING_CHANGES, end_sessions_by
from tests.pages.apptest import by_label, logged_in, open_page, start, texts

ADMIN = Actor("admin", "admin")


def add_user(conn, username, role="viewer", password="password-123"):
    accounts.create_user(conn, actor=ADMIN, username=username, password=password, role=role, rounds=4)


@pytest.fixture
def browser_cookies(monkeypatch):
    """Cookies the next AppTest runs receive, as a browser would send them (AppTest cannot seed them)."""
    from streamlit.runtime.context import ContextProxy

    jar: dict[str, str] = {}
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: dict(jar)))
    return jar


def cookie_of(at: AppTest, settings, *, sid: str | None = "same") -> str:
    """The cookie the dashboard set for this session (what its component wrote in the browser)."""
    claims = {"username": at.session_state["username"],
              "exp_date": (datetime.now() + timedelta(days=1)).timestamp()}
    if sid is not None:
        claims["sid"] = at.session_state[SID_KEY] if sid == "same" else sid
    return jwt.encode(claims, settings.cookie_key(), algorithm="HS256")


def is_logged_in(at: AppTest) -> bool:
    return bool(at.session_state["authentication_status"]) and bool(at.sidebar.get("page_link"))


def test_a_cookie_of_a_live_session_logs_in(db, settings, browser_cookies):
    browser_cookies[settings.auth_cookie_name] = cookie_of(logged_in(), settings)
    assert is_logged_in(start())


@pytest.mark.parametrize("change", [*SESSION_ENDING_CHANGES, "logout"])
def test_a_cookie_issued_before_a_change_is_refused(db, settings, browser_cookies, change):
    with db.begin() as conn:
        add_user(conn, "ana", "analyst")
    at = logged_in("ana", "password-123")
    browser_cookies[settings.auth_cookie_name] = cookie_of(at, settings)  # the copied cookie
    assert is_logged_in(start())
    if change == "logout":
        at.sidebar.button(key="app_logout_button").click().run()
    else:
        with db.begin() as conn:
            end_sessions_by(conn, settings, change)
    assert not is_logged_in(start())


def test_a_cookie_without_a_session_or_with_a_made_up_one_is_refused(db, settings, browser_cookies):
    at = logged_in()
    for sid in (None, "x" * 43):
        browser_cookies[settings.auth_cookie_name] = cookie_of(at, settings, sid=sid)
        assert not is_logged_in(start())
    forged = jwt.encode({"username": "admin", "exp_date": 9e9, "sid": at.session_state[SID_KEY]},
                        "a-guessed-key-" * 3, algorithm="HS256")
    browser_cookies[settings.auth_cookie_name] = forged
    assert not is_logged_in(start())


def test_an_open_tab_ends_at_its_next_run_when_the_password_changes(db):
    with db.begin() as conn:
        add_user(conn, "ana", "analyst")
    at = logged_in("ana", "password-123")
    assert is_logged_in(at)
    with db.begin() as conn:
        accounts.reset_password(conn, actor=ADMIN, username="ana", password="brand-new-secret", rounds=4)
    at.run()
    assert SESSION_ENDED in texts(at) and not is_logged_in(at)


def test_log_out_everywhere_from_the_account_box(db, settings, browser_cookies):
    other_tab = logged_in()
    at = logged_in()
    at.sidebar.button(key="logout_everywhere_button").click().run()
    assert not is_logged_in(at) and "logged out everywhere" in texts(at)
    other_tab.run()
    assert not is_logged_in(other_tab)


def test_a_user_changes_their_password_from_the_account_box(db, settings):
    with db.begin() as conn:
        add_user(conn, "ana", "analyst")
    other_tab = logged_in("ana", "password-123")
    at = logged_in("ana", "password-123")
    by_label(at.sidebar.text_input, "Current password").input("password-123")
    by_label(at.sidebar.text_input, "New password").input("my-new-words-9")
    by_label(at.sidebar.text_input, "Repeat the new password").input("my-new-words-9")
    at.sidebar.button(key="FormSubmitter:own_password-Change password").click().run()
    assert "Password changed" in texts(at)
    at.run()
    assert is_logged_in(at)  # this tab goes on with a new session
    other_tab.run()
    assert not is_logged_in(other_tab)
    with db.begin() as conn:
        assert accounts.verify_login(conn, username="ana", password="my-new-words-9", settings=settings)


def test_an_admin_logs_a_user_out_everywhere_from_the_users_page(db):
    with db.begin() as conn:
        add_user(conn, "ana", "analyst")
    ana = logged_in("ana", "password-123")
    at = open_page(logged_in(), "users.py")
    at.selectbox(key="users_sessions_user").select("ana")
    at.button(key="users_sessions_button").click().run()
    assert "ana is logged out everywhere." in texts(at)
    ana.run()
    assert not is_logged_in(ana)


def test_the_generated_admin_password_is_changed_before_anything_else(db, settings):
    from dataclasses import replace

    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM users"))
        generated = accounts.ensure_admin(conn, settings=replace(settings, admin_password=None))
    at = logged_in("admin", generated)
    assert "Choose your password" in texts(at)
    assert not at.sidebar.get("page_link") and not at.metric  # nothing else first
    open_page(at, "users.py")
    assert "Choose your password" in texts(at) and not at.dataframe
    by_label(at.main.text_input, "Generated password").input(generated)
    by_label(at.main.text_input, "New password").input("password")
    by_label(at.main.text_input, "Repeat the new password").input("password")
    at.button(key="FormSubmitter:first_password-Set my password").click().run()
    assert "too common" in texts(at)
    by_label(at.main.text_input, "Generated password").input(generated)
    by_label(at.main.text_input, "New password").input("admin-chose-this")
    by_label(at.main.text_input, "Repeat the new password").input("admin-chose-this")
    at.button(key="FormSubmitter:first_password-Set my password").click().run()
    assert "Your password is set." in texts(at)
    at.run()
    assert is_logged_in(at) and at.sidebar.get("page_link")


def test_too_many_failures_from_one_browser_are_throttled(db, settings):
    for _ in range(settings.login_max_failures - 1):
        assert "Wrong username or password" in texts(logged_in(password="not-it-at-all"))
    at = logged_in()  # even the right password waits: the throttle answers before the check
    assert "Too many attempts from your address" in texts(at) and not is_logged_in(at)
    with db.connect() as conn:
        assert accounts.get_user(conn, username="admin").locked_until is None  # one client did not lock admin


def test_signup_refuses_a_markdown_username(db, monkeypatch):
    from dashboard.common import settings as cached_settings

    monkeypatch.setenv("ALLOW_SIGNUP", "true")
    cached_settings.clear()
    try:
        at = start()
        by_label(at.text_input, "New username").input("![x](https://evil.example/p.png)")
        by_label(at.main.text_input, "New password").input("long enough words")
        by_label(at.text_input, "Repeat the password").input("long enough words")
        at.button(key="FormSubmitter:signup-Register").click().run()
        assert "3-32 characters" in texts(at)
    finally:
        monkeypatch.delenv("ALLOW_SIGNUP")
        cached_settings.clear()


def test_url_parameters_shown_in_markdown_are_escaped(db):
    at = logged_in()
    at.query_params["status"] = "![x](https://evil.example/p.png)"
    open_page(at, "services.py")
    shown = [w.value for w in at.warning if "status" in w.value]
    assert shown and "![x](" not in shown[0] and r"\!\[x\](https" in shown[0]


def _fragment_script():
    import streamlit as st

    from dashboard.auth import recheck_role

    st.session_state.setdefault("username", "admin")
    recheck_role("admin")
    st.write("panel drawn")


def test_a_fragment_stops_when_the_session_or_role_ended(db):
    at = logged_in()
    panel = AppTest.from_function(_fragment_script)
    panel.session_state[SID_KEY] = at.session_state[SID_KEY]
    panel.run()
    assert "panel drawn" in texts(panel)
    with db.begin() as conn:
        add_user(conn, "bia", "admin")
        accounts.set_role(conn, actor=Actor("bia", "admin"), username="admin", role="viewer")
    panel.run()
    assert "panel drawn" not in texts(panel) and "Not allowed any more" in texts(panel)


@pytest.mark.parametrize("text, shown", [
    ("![](https://evil.example/x.png)", r"\!\[\](https://evil.example/x.png)"),
    ("[click](javascript:alert(1))", r"\[click\](javascript:alert(1))"),
    (":red[big] **bold** <img src=x> `code` $x$ a|b ~~s~~ # h", r":red\[big\] \*\*bold\*\* \<img src=x\> \`code\` \$x\$ a\|b \~\~s\~\~ \# h"),
    ("RJ - SAO GONÇALO (1).", "RJ - SAO GONÇALO (1)."),  # plain text stays as it is
])
def test_md_escapes_what_markdown_would_render(text, shown):
    from dashboard.ui import md

    assert md(text) == shown


@pytest.fixture
def env_settings(monkeypatch):
    """Change the dashboard's settings for one test through the environment: env_settings(NAME="value")."""
    from dashboard.common import settings as cached_settings

    def change(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        cached_settings.clear()

    yield change
    monkeypatch.undo()
    cached_settings.clear()


@pytest.fixture
def cookies_set(monkeypatch):
    """The options of every cookie the dashboard's cookie component is asked to write."""
    from extra_streamlit_components import CookieManager

    written = []
    real = CookieManager.set
    monkeypatch.setattr(CookieManager, "set", lambda self, cookie, val, **kw: written.append((cookie, kw))
                        or real(self, cookie, val, **kw))
    return written


@pytest.mark.parametrize("secure", ["true", "false"])
def test_the_login_cookie_is_secure_when_set_so(db, env_settings, cookies_set, secure):
    env_settings(AUTH_COOKIE_SECURE=secure)
    assert is_logged_in(logged_in())
    [(name, options)] = cookies_set
    assert name == "logistics_auth" and options["secure"] is (secure == "true")


def test_an_idle_session_ends_at_its_next_run(db, env_settings):
    env_settings(AUTH_IDLE_MINUTES="30")
    at = logged_in()
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE sessions SET last_seen_at = now() - interval '29 minutes'"))
    at.run()
    assert is_logged_in(at)  # a run within the 30 minutes: the session goes on, and is noted
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'"))
    at.run()
    assert not is_logged_in(at) and SESSION_ENDED in texts(at)


def test_a_login_longer_than_any_account_gets_a_plain_message(db):
    at = logged_in(username="u" * 40, password="whatever-it-is")
    assert "The username must be at most 32 characters long." in texts(at) and not is_logged_in(at)


def test_the_login_failure_is_said_in_portuguese(db, settings, env_settings):
    env_settings(LANGUAGE="pt_BR")
    at = logged_in(password="not-it-at-all")
    assert "Usuário ou senha errados, ou a conta está bloqueada ou desativada." in texts(at)
    for _ in range(settings.login_max_failures - 2):
        logged_in(password="not-it-at-all")
    at = logged_in(password="not-it-at-all")  # one more than one address may fail per account
    assert "Tentativas demais a partir do seu endereço" in texts(at)
