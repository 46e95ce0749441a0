"""Login, logout, role gating and the Users page, through AppTest."""
import pytest

from core import accounts
from core.accounts import Actor
from tests.pages.apptest import by_label, logged_in, open_page, start, texts

ADMIN = Actor("admin", "admin")


def add_user(conn, username, role, password="password-123"):
    accounts.create_user(conn, actor=ADMIN, username=username, password=password, role=role, rounds=4)


def test_logged_out_sees_only_the_login_form(db):
    at = start()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "Services" not in texts(at)
    assert not at.metric


def test_wrong_password_shows_a_message_and_no_page(db):
    at = logged_in(password="wrong-password")
    assert "Wrong username or password" in texts(at)
    assert not at.metric


def test_unknown_user_gets_the_same_message(db):
    at = logged_in(username="nobody", password="whatever-123")
    assert "Wrong username or password" in texts(at)


def test_admin_logs_in_to_home_and_logs_out(db):
    at = logged_in()
    assert [m.label for m in at.metric][:2] == ["Services", "Customers"]
    assert at.metric[0].value == "0"
    assert "The database is empty" in texts(at)
    at.sidebar.button(key="logout_button").click().run()
    assert at.session_state["authentication_status"] is None
    assert [t.label for t in at.text_input] == ["Username", "Password"]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_users_page_is_forbidden_below_admin(db, role):
    with db.begin() as conn:
        add_user(conn, "someone", role)
    at = open_page(logged_in("someone", "password-123"), "users.py")
    assert "Not allowed: this page needs the **admin** role" in texts(at)
    assert not at.dataframe


def test_sidebar_lists_only_allowed_pages(db):
    with db.begin() as conn:
        add_user(conn, "vera", "viewer")
    viewer_links = [link.label for link in logged_in("vera", "password-123").sidebar.get("page_link")]
    admin_links = [link.label for link in logged_in().sidebar.get("page_link")]
    assert "Users" not in viewer_links and "Home" in viewer_links
    assert "Users" in admin_links


def test_admin_creates_a_user_who_can_then_log_in(db):
    at = open_page(logged_in(), "users.py")
    by_label(at.text_input, "Username").input("Carla")
    by_label(at.text_input, "Name").input("Carla Souza")
    by_label(at.text_input, "Initial password").input("secret-pass-1")
    by_label(at.selectbox, "Role").select("analyst")
    at.button(key="FormSubmitter:create_user-Create user").click().run()
    assert not at.exception
    assert "Created carla (analyst)." in texts(at)
    with db.connect() as conn:
        assert accounts.get_user(conn, "carla").role == "analyst"
    at2 = logged_in("carla", "secret-pass-1")
    assert at2.session_state["authentication_status"] is True


def test_users_page_shows_a_refusal_in_plain_words(db):
    at = open_page(logged_in(), "users.py")
    by_label(at.text_input, "Username").input("dora")
    by_label(at.text_input, "Initial password").input("short")
    at.button(key="FormSubmitter:create_user-Create user").click().run()
    assert "The password needs at least 8 characters." in texts(at)


def test_deactivated_user_is_logged_out_on_next_run(db):
    with db.begin() as conn:
        add_user(conn, "eva", "viewer")
    at = logged_in("eva", "password-123")
    assert at.session_state["authentication_status"] is True
    with db.begin() as conn:
        accounts.set_active(conn, actor=ADMIN, username="eva", active=False)
    at.run()
    assert "no longer active" in texts(at)
    assert not at.metric


def test_signup_is_hidden_by_default_and_creates_viewers_when_allowed(db, monkeypatch):
    from dashboard.common import settings

    assert not any(t.label == "New username" for t in start().text_input)
    monkeypatch.setenv("ALLOW_SIGNUP", "true")
    settings.clear()
    try:
        at = start()
        by_label(at.text_input, "New username").input("Vitor")
        by_label(at.text_input, "Your name").input("Vitor Lima")
        by_label(at.text_input, "New password").input("password-123")
        by_label(at.text_input, "Repeat the password").input("password-123")
        at.button(key="FormSubmitter:signup-Register").click().run()
        assert "Account created" in texts(at)
        with db.connect() as conn:
            assert accounts.get_user(conn, "vitor").role == "viewer"
    finally:
        monkeypatch.delenv("ALLOW_SIGNUP")
        settings.clear()
