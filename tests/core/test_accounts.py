"""Accounts: roles, hashing, lockout, first admin, user management with audit, sessions, API keys."""
import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core import accounts
from core.accounts import Actor, AccountError, PermissionDenied

ADMIN = Actor("admin", "admin")


def make_user(conn, username="ana", role="analyst", password="correct-horse", rounds=4):
    return accounts.create_user(conn, actor=ADMIN, username=username, password=password, role=role,
                                rounds=rounds)


def test_first_admin_exists_with_configured_password(conn, settings):
    admin = accounts.get_user(conn, username="admin")
    assert admin.role == "admin" and admin.active
    assert accounts.verify_login(conn, username="admin", password="admin-test-pass", settings=settings)
    # a second call creates nothing
    assert accounts.ensure_admin(conn, settings=settings) is None
    assert accounts.count_users(conn) == 1


def test_generated_admin_password_is_returned_once(conn, settings):
    conn.execute(sa.text("DELETE FROM users"))
    from dataclasses import replace
    generated = accounts.ensure_admin(conn, settings=replace(settings, admin_password=None))
    assert generated and len(generated) >= 16
    assert accounts.verify_login(conn, username="admin", password=generated, settings=settings)
    assert accounts.ensure_admin(conn, settings=replace(settings, admin_password=None)) is None


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
    assert accounts.get_user(conn, username="ANA").username == "ana"
    with pytest.raises(AccountError, match="taken"):
        make_user(conn, username="ana")


def test_only_admins_manage_users(conn):
    for role in ("viewer", "analyst"):
        with pytest.raises(PermissionDenied):
            accounts.create_user(conn, actor=Actor("x", role), username="bob", password="visit-the-polos",
                                 role="viewer", rounds=4)


def test_self_registration_creates_viewers_only(conn):
    user = accounts.create_user(conn, actor=None, username="visitor", password="visit-the-polos", rounds=4)
    assert user.role == "viewer"
    with pytest.raises(PermissionDenied):
        accounts.create_user(conn, actor=None, username="sneaky", password="visit-the-polos", role="admin",
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
        assert not accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
    user = accounts.get_user(conn, username="ana")
    assert user.failed_logins == settings.login_max_failures and user.locked_until is not None
    # locked: even the right password fails, with the same answer as a wrong one
    assert not accounts.verify_login(conn, username="ana", password="correct-horse", settings=settings)
    accounts.reset_password(conn, actor=ADMIN, username="ana", password="new-password", rounds=4)
    assert accounts.verify_login(conn, username="ana", password="new-password", settings=settings)
    user = accounts.get_user(conn, username="ana")
    assert user.failed_logins == 0 and user.locked_until is None and user.last_login_at is not None


def test_a_success_clears_the_failure_count(conn, settings):
    make_user(conn)
    accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
    assert accounts.verify_login(conn, username="ana", password="correct-horse", settings=settings)
    assert accounts.get_user(conn, username="ana").failed_logins == 0


def test_unknown_and_inactive_users_cannot_log_in(conn, settings):
    make_user(conn)
    accounts.set_active(conn, actor=ADMIN, username="ana", active=False)
    assert not accounts.verify_login(conn, username="ana", password="correct-horse", settings=settings)
    assert not accounts.verify_login(conn, username="nobody", password="correct-horse", settings=settings)


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


# --- sessions ------------------------------------------------------------------------------------

def test_users_carry_their_id_and_session_epoch(conn):
    ana = make_user(conn)
    admin = accounts.get_user(conn, username="admin")
    assert (admin.id, admin.session_epoch) == (1, 0)
    assert (ana.id, ana.session_epoch) == (2, 0)
    assert [(u.id, u.username) for u in accounts.list_users(conn)] == [(1, "admin"), (2, "ana")]


def test_role_active_and_password_changes_end_the_sessions(conn):
    make_user(conn)
    assert accounts.set_role(conn, actor=ADMIN, username="ana", role="viewer").session_epoch == 1
    assert accounts.set_active(conn, actor=ADMIN, username="ana", active=False).session_epoch == 2
    assert accounts.set_active(conn, actor=ADMIN, username="ana", active=True).session_epoch == 3
    assert accounts.reset_password(conn, actor=ADMIN, username="ana", password="new-password-1",
                                   rounds=4).session_epoch == 4
    assert accounts.get_user(conn, username="admin").session_epoch == 0  # nobody else's


def test_end_sessions_on_oneself_or_by_an_admin_audited(conn):
    make_user(conn)
    make_user(conn, "bia", "viewer")
    ana = Actor("ana", "analyst")
    assert accounts.end_sessions(conn, actor=ana, username="ANA ").session_epoch == 1
    with pytest.raises(PermissionDenied):
        accounts.end_sessions(conn, actor=ana, username="bia")
    assert accounts.end_sessions(conn, actor=ADMIN, username="bia").session_epoch == 1
    with pytest.raises(AccountError, match="There is no user 'ghost'"):
        accounts.end_sessions(conn, actor=ADMIN, username="ghost")
    rows = conn.execute(sa.text(
        "SELECT username, action, entity, entity_id, before, after FROM audit_log "
        "WHERE action = 'update' ORDER BY id")).mappings().all()
    assert [dict(r) for r in rows] == [
        {"username": "ana", "action": "update", "entity": "user", "entity_id": "ana",
         "before": {"session_epoch": 0}, "after": {"session_epoch": 1}},
        {"username": "admin", "action": "update", "entity": "user", "entity_id": "bia",
         "before": {"session_epoch": 0}, "after": {"session_epoch": 1}}]


# --- API keys ------------------------------------------------------------------------------------

def test_create_api_key_returns_the_key_once_and_stores_only_its_hash(conn):
    key, plain = accounts.create_api_key(conn, actor=ADMIN, name="  nightly   export ", role="analyst")
    assert plain.startswith("lgk_") and len(plain) == 4 + 43
    assert (key.id, key.name, key.role, key.prefix, key.created_by) == (1, "nightly export", "analyst",
                                                                       plain[:12], "admin")
    assert key.active and key.last_used_at is None and key.revoked_at is None
    stored = conn.execute(sa.text("SELECT * FROM api_keys")).mappings().one()
    assert stored["key_hash"] == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in str(dict(stored).values())
    audit = conn.execute(sa.text("SELECT username, action, entity, entity_id, before, after::text AS after "
                                 "FROM audit_log WHERE entity = 'api_key'")).mappings().one()
    assert (audit["username"], audit["action"], audit["entity_id"], audit["before"]) == (
        "admin", "create", "1", None)
    assert plain not in audit["after"] and stored["key_hash"] not in audit["after"]
    assert '"name": "nightly export"' in audit["after"] and '"role": "analyst"' in audit["after"]


@pytest.mark.parametrize("name, role, message", [
    ("", "viewer", "needs a name"),
    ("   ", "viewer", "needs a name"),
    ("x" * 65, "viewer", "at most 64 characters"),
    ("ok", "root", "Unknown role 'root'"),
])
def test_api_key_requests_are_validated(conn, name, role, message):
    with pytest.raises(AccountError, match=message):
        accounts.create_api_key(conn, actor=ADMIN, name=name, role=role)
    assert conn.scalar(sa.text("SELECT count(*) FROM api_keys")) == 0


def test_only_admins_manage_api_keys(conn):
    key, _ = accounts.create_api_key(conn, actor=ADMIN, name="bot", role="viewer")
    for actor in (Actor("ana", "analyst"), Actor("key:bot", "viewer"), None):
        with pytest.raises(PermissionDenied):
            accounts.create_api_key(conn, actor=actor, name="other", role="viewer")
        with pytest.raises(PermissionDenied):
            accounts.revoke_api_key(conn, actor=actor, id=key.id)
    assert accounts.list_api_keys(conn)[0].active


def test_live_key_names_are_unique_a_revoked_name_can_be_reused(conn):
    first, _ = accounts.create_api_key(conn, actor=ADMIN, name="bot", role="viewer")
    with pytest.raises(AccountError, match="already named 'bot'"):
        accounts.create_api_key(conn, actor=ADMIN, name="bot", role="admin")
    accounts.revoke_api_key(conn, actor=ADMIN, id=first.id)
    second, _ = accounts.create_api_key(conn, actor=ADMIN, name="bot", role="admin")
    assert [(k.id, k.name, k.active) for k in accounts.list_api_keys(conn)] == [
        (second.id, "bot", True), (first.id, "bot", False)]


def test_a_key_acts_with_its_role_until_revoked(conn):
    key, plain = accounts.create_api_key(conn, actor=ADMIN, name="etl", role="analyst")
    assert accounts.actor_from_api_key(conn, key=plain) == Actor("key:etl", "analyst")
    revoked = accounts.revoke_api_key(conn, actor=ADMIN, id=key.id)
    assert not revoked.active and revoked.revoked_at is not None
    assert accounts.actor_from_api_key(conn, key=plain) is None
    with pytest.raises(AccountError, match="already revoked"):
        accounts.revoke_api_key(conn, actor=ADMIN, id=key.id)
    with pytest.raises(AccountError, match="There is no API key 99"):
        accounts.revoke_api_key(conn, actor=ADMIN, id=99)
    rows = conn.execute(sa.text("SELECT action, entity_id, before->>'revoked_at' AS was, "
                                "after->>'revoked_at' IS NOT NULL AS now FROM audit_log "
                                "WHERE entity = 'api_key' ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("create", "1", None, False), ("update", "1", None, True)]


@pytest.mark.parametrize("key", ["", "lgk_", "lgk_short", "Bearer lgk_x", "lgk_" + "A" * 43, "x" * 5000, None, 42])
def test_unknown_or_malformed_keys_give_no_actor(conn, key):
    accounts.create_api_key(conn, actor=ADMIN, name="bot", role="admin")
    assert accounts.actor_from_api_key(conn, key=key) is None


def test_last_used_is_written_at_most_once_a_minute(conn):
    key, plain = accounts.create_api_key(conn, actor=ADMIN, name="bot", role="viewer")

    def last_used():
        return conn.scalar(sa.text("SELECT last_used_at FROM api_keys WHERE id = :id"), {"id": key.id})

    accounts.actor_from_api_key(conn, key=plain)
    first = last_used()
    assert first is not None
    conn.execute(sa.text("UPDATE api_keys SET last_used_at = last_used_at - interval '59 seconds'"))
    accounts.actor_from_api_key(conn, key=plain)
    assert last_used() == first - timedelta(seconds=59)  # not rewritten
    conn.execute(sa.text("UPDATE api_keys SET last_used_at = last_used_at - interval '2 seconds'"))
    accounts.actor_from_api_key(conn, key=plain)
    assert last_used() == first  # now() is the transaction's start: rewritten to it


def test_a_busy_key_never_waits_for_another_requests_lock(db):
    with db.begin() as conn:
        _, plain = accounts.create_api_key(conn, actor=ADMIN, name="bot", role="viewer")
    with db.connect() as holder, db.connect() as other:
        holder.begin()
        holder.execute(sa.text("SELECT 1 FROM api_keys FOR UPDATE"))  # a long request holds the row
        other.begin()
        other.execute(sa.text("SET LOCAL lock_timeout = '1s'"))
        assert accounts.actor_from_api_key(other, key=plain) == Actor("key:bot", "viewer")  # no wait, no error
        other.commit()
        holder.rollback()
