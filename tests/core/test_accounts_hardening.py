"""Accounts, hardened: password and username rules, a lockout that expires cleanly and is audited,
dashboard sessions that end, the last admin kept under concurrent demotions."""
from dataclasses import replace

import pytest
import sqlalchemy as sa

from core import accounts
from core.accounts import AccountError, Actor, LoginFailed, PermissionDenied
from tests.concurrency import Blocked

ADMIN = Actor("admin", "admin")


def make_user(conn, username="ana", role="analyst", password="correct-horse"):
    return accounts.create_user(conn, actor=ADMIN, username=username, password=password, role=role, rounds=4)


@pytest.mark.parametrize("password", ["password", "Password", "change-me", "12345678", "87654321", "abcdefgh",
                                      "qwertyuiop", "aaaaaaaaaa", "senha123", "changeme"])
def test_well_known_passwords_are_refused_for_every_account(conn, password):
    with pytest.raises(AccountError, match="too common"):
        make_user(conn, password=password)
    with pytest.raises(AccountError, match="too common"):
        accounts.create_user(conn, actor=None, username="visitor", password=password, rounds=4)
    with pytest.raises(AccountError, match="too common"):
        accounts.reset_password(conn, actor=ADMIN, username="admin", password=password, rounds=4)


@pytest.mark.parametrize("password", ["password-22", "iloveyou22", "mariana1990", "qwerty2024", "football9",
                                      "logistica2026", "greenangel1"])
def test_passwords_a_strength_estimator_finds_easy_to_guess_are_refused(conn, password):
    with pytest.raises(AccountError, match="^This password is too easy to guess"):
        make_user(conn, password=password)


@pytest.mark.parametrize("password", ["correct-horse", "Summer2024!", "long enough words", "password-123"])
def test_passwords_guessed_only_after_millions_of_tries_are_kept(conn, password):
    assert make_user(conn, password=password).username == "ana"


@pytest.mark.parametrize("password", ["mariana.souza", "MARIANA.SOUZA", "mariana.souza2024", "mariana_souza!"])
def test_the_username_is_refused_as_a_password(conn, password):
    with pytest.raises(AccountError, match="must not be the username"):
        make_user(conn, username="mariana.souza", password=password)


def test_the_bootstrap_admin_password_follows_the_rules(conn, settings):
    from core.config import ConfigError

    conn.execute(sa.text("DELETE FROM users"))
    with pytest.raises(ConfigError, match="ADMIN_USERNAME and ADMIN_PASSWORD: This password is too common"):
        accounts.ensure_admin(conn, settings=replace(settings, admin_password="change-me"))
    with pytest.raises(ConfigError, match="ADMIN_USERNAME and ADMIN_PASSWORD: The username 'cli' is reserved"):
        accounts.ensure_admin(conn, settings=replace(settings, admin_username="cli"))


@pytest.mark.parametrize("username", ["ab", "x" * 33, "ana maria", "![](https://evil.example/x.png)", "ana*bold*",
                                      "[link](x)", "josé", "ana@corp", "key:nightly", "<b>ana</b>"])
def test_usernames_outside_the_rule_are_refused(conn, username):
    with pytest.raises(AccountError, match="3-32 characters: lower-case letters, digits"):
        make_user(conn, username=username)


@pytest.mark.parametrize("username", ["cli", "CLI", "system", "root", "api"])
def test_system_names_are_reserved(conn, username):
    with pytest.raises(AccountError, match="reserved"):
        make_user(conn, username=username)
    with pytest.raises(AccountError, match="reserved"):
        accounts.create_user(conn, actor=None, username=username, password="correct-horse", rounds=4)


def test_usernames_inside_the_rule_are_kept_lower_case(conn):
    for name in ("Ana.Maria", "joao_2", "ze-do-polo", "abc", "a" * 32):
        assert make_user(conn, username=name).username == name.lower()


def _expire_lock(conn, username):
    conn.execute(sa.text("UPDATE users SET locked_until = now() - interval '1 second', "
                         "failed_since = now() - interval '1 minute' WHERE username = :u"), {"u": username})


def test_a_lock_expires_and_the_next_wrong_password_does_not_lock_again(conn, settings):
    make_user(conn)
    for _ in range(settings.login_max_failures):
        assert not accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
    assert accounts.get_user(conn, username="ana").locked_until is not None
    _expire_lock(conn, "ana")
    assert not accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
    user = accounts.get_user(conn, username="ana")
    assert user.locked_until is None and user.failed_logins == 1  # counting again from zero
    assert accounts.verify_login(conn, username="ana", password="correct-horse", settings=settings)


def test_failures_count_towards_a_lock_only_within_the_lock_window(conn, settings):
    make_user(conn)
    for _ in range(settings.login_max_failures - 1):
        accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
    conn.execute(sa.text("UPDATE users SET failed_since = now() - make_interval(mins => :m + 1) "
                         "WHERE username = 'ana'"), {"m": settings.login_lock_minutes})
    accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
    user = accounts.get_user(conn, username="ana")
    assert user.locked_until is None and user.failed_logins == 1


def test_failed_logins_and_lockouts_are_audited_with_the_username_only(conn, settings, caplog):
    make_user(conn)
    epoch = accounts.get_user(conn, username="ana").session_epoch
    with caplog.at_level("WARNING", logger="core.accounts"):
        for _ in range(settings.login_max_failures):
            accounts.verify_login(conn, username="ana", password="wrong-password", settings=settings)
        accounts.verify_login(conn, username="ghost", password="some-typed-secret", settings=settings)
    rows = conn.execute(sa.text("SELECT username, action, entity, entity_id, before, after FROM audit_log "
                                "WHERE action IN ('login_failed', 'lockout') ORDER BY id")).all()
    assert [tuple(r) for r in rows] == (
        [("ana", "login_failed", "user", "ana", None, None)] * settings.login_max_failures
        + [("ana", "lockout", "user", "ana", None, None)])  # the unknown name is not written down
    fields = [getattr(r, "fields", {}) for r in caplog.records]
    assert fields.count({"username": "ana", "address": None}) == settings.login_max_failures
    assert {"username": "ana", "address": None, "minutes": settings.login_lock_minutes} in fields
    assert not any("wrong-password" in r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    assert not any("ghost" in str(getattr(r, "fields", "")) for r in caplog.records)
    assert accounts.get_user(conn, username="ana").session_epoch == epoch + 1  # a lock ends the sessions


def change_own(db, settings, current, new, username="ana"):
    return accounts.change_own_password(db, username=username, current=current, new=new, address="10.0.0.1",
                                        settings=settings)


def test_a_user_changes_their_own_password(db, settings):
    with db.begin() as conn:
        make_user(conn)
    with pytest.raises(LoginFailed, match="^The current password is not right, or the account is locked"):
        change_own(db, settings, "nope-nope", "a-brand-new-one")
    with pytest.raises(AccountError, match="too common"):
        change_own(db, settings, "correct-horse", "password123")
    session = change_own(db, settings, "correct-horse", "a-brand-new-one")
    assert (session.user.username, session.user.session_epoch, session.kind) == ("ana", 1, "dashboard")
    with db.begin() as conn:
        assert accounts.session_user(conn, sid=session.sid).username == "ana"  # the new session lives
        assert accounts.verify_login(conn, username="ana", password="a-brand-new-one", settings=settings)
        assert not accounts.verify_login(conn, username="ana", password="correct-horse", settings=settings)
        audited = conn.execute(sa.text("SELECT username, entity_id FROM audit_log WHERE action = 'update'")).all()
        assert [tuple(r) for r in audited] == [("ana", "ana")]
        failed = conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action = 'login_failed'"))
        assert failed == 2  # the wrong current password counted as a failed login, as the one above


def test_the_generated_admin_password_must_be_changed(db, settings):
    with db.begin() as conn:
        assert not accounts.get_user(conn, username="admin").must_change_password  # ADMIN_PASSWORD was given
        conn.execute(sa.text("DELETE FROM users"))
        generated = accounts.ensure_admin(conn, settings=replace(settings, admin_password=None))
        assert accounts.get_user(conn, username="admin").must_change_password
    session = change_own(db, settings, generated, "my-own-admin-words", username="admin")
    assert not session.user.must_change_password


# --- dashboard sessions --------------------------------------------------------------------------

def test_a_session_lives_until_logout_and_a_copy_of_its_cookie_dies_with_it(conn):
    make_user(conn)
    session = accounts.start_session(conn, username="ana", days=1)
    assert accounts.session_user(conn, sid=session.sid).username == "ana"
    assert accounts.session_user(conn, sid=session.sid, username="admin") is None  # not its user
    other = accounts.start_session(conn, username="ana", days=1)
    accounts.end_session(conn, sid=session.sid)
    assert accounts.session_user(conn, sid=session.sid) is None
    assert accounts.session_user(conn, sid=other.sid).username == "ana"  # only that one ended
    assert accounts.session_user(conn, sid="made-up-session-id-123456") is None


SESSION_ENDING_CHANGES = ["password", "role", "deactivate", "everywhere", "lockout"]


def end_sessions_by(conn, settings, change: str, username: str = "ana") -> None:
    """Make one of the changes that end every session of `username` (an analyst)."""
    if change == "password":
        accounts.reset_password(conn, actor=ADMIN, username=username, password="fresh-secret-1", rounds=4)
    elif change == "role":
        accounts.set_role(conn, actor=ADMIN, username=username, role="viewer")
    elif change == "deactivate":
        accounts.set_active(conn, actor=ADMIN, username=username, active=False)
    elif change == "everywhere":
        accounts.end_sessions(conn, actor=Actor(username, "analyst"), username=username)
    elif change == "lockout":
        for _ in range(settings.login_max_failures):
            accounts.verify_login(conn, username=username, password="wrong-password", settings=settings)
    else:
        raise ValueError(change)


@pytest.mark.parametrize("change", SESSION_ENDING_CHANGES)
def test_every_session_ends_when_the_user_changes(conn, settings, change):
    make_user(conn)
    session = accounts.start_session(conn, username="ana", days=1)
    end_sessions_by(conn, settings, change)
    assert accounts.session_user(conn, sid=session.sid) is None


def test_an_expired_session_is_refused(conn):
    make_user(conn)
    session = accounts.start_session(conn, username="ana", days=1)
    conn.execute(sa.text("UPDATE sessions SET expires_at = now() - interval '1 second'"))
    assert accounts.session_user(conn, sid=session.sid) is None


# --- the last admin ------------------------------------------------------------------------------

def test_two_admins_demoting_each_other_at_once_leave_one_admin(db):
    with db.begin() as conn:
        # admin (the seed) is an admin too: take it out of the picture first
        conn.execute(sa.text("UPDATE users SET role = 'viewer' WHERE username = 'admin'"))
        make_user(conn, "bia", "admin")
        make_user(conn, "caio", "admin")
    with db.begin() as first:
        accounts.set_role(first, actor=Actor("bia", "admin"), username="caio", role="viewer")
        second = Blocked(db, lambda other: accounts.set_role(other, actor=Actor("caio", "admin"), username="bia",
                                                             role="viewer"))
        assert second.waiting()  # for the admin rows the first demotion holds until it commits
    with pytest.raises(AccountError, match="last active admin"):
        second.finish()  # it counted again once the first committed
    with db.connect() as conn:
        admins = conn.scalars(sa.text("SELECT username FROM users WHERE role = 'admin' AND active")).all()
    assert admins == ["bia"]


def test_only_the_user_or_an_admin_can_change_a_password(conn):
    make_user(conn)
    with pytest.raises(PermissionDenied):
        accounts.reset_password(conn, actor=Actor("ana", "analyst"), username="admin", password="x-long-enough", rounds=4)
