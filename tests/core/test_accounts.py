"""Accounts: roles, hashing, lockout, first admin, user management with audit."""
import pytest
import sqlalchemy as sa

from core import accounts
from core.accounts import Actor, AccountError, PermissionDenied

ADMIN = Actor("admin", "admin")


def make_user(conn, username="ana", role="analyst", password="correct-horse", rounds=4):
    return accounts.create_user(conn, actor=ADMIN, username=username, password=password, role=role,
                                rounds=rounds)


def test_first_admin_exists_with_configured_password(conn, settings):
    admin = accounts.get_user(conn, "admin")
    assert admin.role == "admin" and admin.active
    assert accounts.verify_login(conn, "admin", "admin-test-pass", settings=settings)
    # a second call creates nothing
    assert accounts.ensure_admin(conn, settings) is None
    assert accounts.count_users(conn) == 1


def test_generated_admin_password_is_returned_once(conn, settings):
    conn.execute(sa.text("DELETE FROM users"))
    from dataclasses import replace
    generated = accounts.ensure_admin(conn, replace(settings, admin_password=None))
    assert generated and len(generated) >= 16
    assert accounts.verify_login(conn, "admin", generated, settings=settings)
    assert accounts.ensure_admin(conn, replace(settings, admin_password=None)) is None


def test_password_is_stored_as_bcrypt_hash(conn):
    make_user(conn)
    stored = conn.scalar(sa.text("SELECT password_hash FROM users WHERE username = 'ana'"))
    assert stored.startswith("$2b$") and "correct-horse" not in stored


@pytest.mark.parametrize("password, reason", [
    ("short", "at least 8"),
    (" padded-pass", "space"),
    ("x" * 73, "72 bytes"),
])
def test_bad_passwords_are_refused_with_reason(conn, password, reason):
    with pytest.raises(AccountError, match=reason):
        make_user(conn, password=password)


def test_usernames_are_lower_case_and_unique(conn):
    make_user(conn, username="  Ana ")
    assert accounts.get_user(conn, "ANA").username == "ana"
    with pytest.raises(AccountError, match="taken"):
        make_user(conn, username="ana")


def test_only_admins_manage_users(conn):
    for role in ("viewer", "analyst"):
        with pytest.raises(PermissionDenied):
            accounts.create_user(conn, actor=Actor("x", role), username="bob", password="password1",
                                 role="viewer", rounds=4)


def test_self_registration_creates_viewers_only(conn):
    user = accounts.create_user(conn, actor=None, username="visitor", password="password1", rounds=4)
    assert user.role == "viewer"
    with pytest.raises(PermissionDenied):
        accounts.create_user(conn, actor=None, username="sneaky", password="password1", role="admin",
                             rounds=4)


def test_role_order():
    assert accounts.can(Actor("a", "admin"), "analyst")
    assert accounts.can(Actor("a", "analyst"), "viewer")
    assert not accounts.can(Actor("a", "viewer"), "analyst")
    assert not accounts.can(Actor("a", "analyst"), "admin")
    assert not accounts.can(None, "viewer")


def test_lockout_after_repeated_failures_then_reset_unlocks(conn, settings):
    make_user(conn)
    for _ in range(settings.login_max_failures):
        assert not accounts.verify_login(conn, "ana", "wrong-password", settings=settings)
    user = accounts.get_user(conn, "ana")
    assert user.failed_logins == settings.login_max_failures and user.locked_until is not None
    # locked: even the right password fails, with the same answer as a wrong one
    assert not accounts.verify_login(conn, "ana", "correct-horse", settings=settings)
    accounts.reset_password(conn, actor=ADMIN, username="ana", password="new-password", rounds=4)
    assert accounts.verify_login(conn, "ana", "new-password", settings=settings)
    user = accounts.get_user(conn, "ana")
    assert user.failed_logins == 0 and user.locked_until is None and user.last_login_at is not None


def test_a_success_clears_the_failure_count(conn, settings):
    make_user(conn)
    accounts.verify_login(conn, "ana", "wrong-password", settings=settings)
    assert accounts.verify_login(conn, "ana", "correct-horse", settings=settings)
    assert accounts.get_user(conn, "ana").failed_logins == 0


def test_unknown_and_inactive_users_cannot_log_in(conn, settings):
    make_user(conn)
    accounts.set_active(conn, actor=ADMIN, username="ana", active=False)
    assert not accounts.verify_login(conn, "ana", "correct-horse", settings=settings)
    assert not accounts.verify_login(conn, "nobody", "correct-horse", settings=settings)


def test_the_last_admin_cannot_be_demoted_or_deactivated(conn):
    with pytest.raises(AccountError, match="last active admin"):
        accounts.set_role(conn, actor=ADMIN, username="admin", role="viewer")
    with pytest.raises(AccountError, match="last active admin"):
        accounts.set_active(conn, actor=ADMIN, username="admin", active=False)


def test_user_changes_are_audited_without_the_hash(conn):
    make_user(conn)
    accounts.set_role(conn, actor=ADMIN, username="ana", role="viewer")
    rows = conn.execute(sa.text(
        "SELECT username, action, entity, entity_id, before, after FROM audit_log "
        "WHERE entity_id = 'ana' ORDER BY id")).mappings().all()
    assert [(r["action"], r["username"]) for r in rows] == [("create", "admin"), ("update", "admin")]
    assert rows[1]["before"]["role"] == "analyst" and rows[1]["after"]["role"] == "viewer"
    assert "password_hash" not in rows[0]["after"]


def test_database_refuses_an_unknown_role(conn):
    with pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text("INSERT INTO users (username, name, password_hash, role) "
                             "VALUES ('x', 'x', 'h', 'superuser')"))
