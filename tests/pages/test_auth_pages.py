"""Login, logout, role gating and the Users page, through AppTest."""
import pytest
import sqlalchemy as sa

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
    at.sidebar.button(key="app_logout_button").click().run()
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
        assert accounts.get_user(conn, username="carla").role == "analyst"
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
            assert accounts.get_user(conn, username="vitor").role == "viewer"
    finally:
        monkeypatch.delenv("ALLOW_SIGNUP")
        settings.clear()


def test_admin_creates_an_api_key_sees_it_once_and_listed_then_revokes_it(db):
    at = open_page(logged_in(), "users.py")
    assert "No API keys yet." in texts(at)
    by_label(at.text_input, "Key name").input("nightly export")
    by_label(at.selectbox, "Key role").select("analyst")
    by_label(at.number_input, "Expires after (days)").set_value(30)
    at.button(key="FormSubmitter:create_api_key-Create key").click().run()
    assert not at.exception
    assert "Created API key nightly export (analyst)." in texts(at)
    assert "Copy the key **nightly export** now: it will not be shown again" in texts(at)
    [code] = at.code
    key = code.value
    with db.connect() as conn:
        assert accounts.actor_from_api_key(conn, key=key) == Actor("key:nightly export", "analyst")
    listed = at.dataframe[1].value
    assert list(listed.columns) == ["id", "name", "role", "prefix", "created by", "created", "last used", "revoked",
                                    "expires"]
    with db.connect() as conn:
        [stored] = accounts.list_api_keys(conn)
    assert 29 < (stored.expires_at - stored.created_at).total_seconds() / 86400 <= 30
    assert listed[["id", "name", "role", "prefix", "created by", "revoked"]].values.tolist() == [
        [1, "nightly export", "analyst", key[:12], "admin", None]]  # not revoked: no date (shown as -)

    at.run()  # any next run: the key is gone from the page
    assert not at.code and "will not be shown again" not in texts(at)

    revoke = at.button(key="users_revoke_key_button")
    assert revoke.disabled  # the confirmation comes first
    at.checkbox(key="users_revoke_key_confirm").check().run()
    at.button(key="users_revoke_key_button").click().run()
    assert "Revoked API key nightly export; it stops working at once." in texts(at)
    assert at.dataframe[1].value["revoked"].tolist()[0] is not None
    assert "No active key to revoke." in texts(at)
    with db.connect() as conn:
        assert accounts.actor_from_api_key(conn, key=key) is None


def test_an_expired_key_can_be_revoked_to_free_its_name(db):
    """An expired key no longer works but still holds its name (revoke_api_key's rule): the page
    offers it for revoking, and once revoked the name can be used again."""
    with db.begin() as conn:
        key, _ = accounts.create_api_key(conn, actor=Actor("admin", "admin"), name="old export", role="viewer",
                                         expires_days=1)
        conn.execute(sa.text("UPDATE api_keys SET expires_at = now() - interval '1 day' WHERE id = :id"),
                     {"id": key.id})
    at = open_page(logged_in(), "users.py")
    assert "No active key to revoke." not in texts(at)
    at.checkbox(key="users_revoke_key_confirm").check().run()
    at.button(key="users_revoke_key_button").click().run()
    assert "Revoked API key old export; it stops working at once." in texts(at)
    with db.begin() as conn:
        accounts.create_api_key(conn, actor=Actor("admin", "admin"), name="old export", role="viewer")


def test_an_api_key_refusal_is_shown_in_plain_words(db):
    at = open_page(logged_in(), "users.py")
    at.button(key="FormSubmitter:create_api_key-Create key").click().run()  # no name
    assert "The key needs a name (what or who uses it)." in texts(at)
    assert not at.code


def test_an_analyst_loads_the_demo_data_from_an_empty_home(db):
    at = logged_in()
    assert "The database is empty" in texts(at)
    next(b for b in at.button if b.label == "Load the demo data").click().run()
    assert "Demo data loaded. bd_desafio.csv: 20,000 lines, 20,000 inserted; customers_data.csv:" in texts(at)
