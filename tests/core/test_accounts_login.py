"""The one login of every front end (accounts.log_in): throttle, password check, failure count and
session; registration; password hashes that follow PASSWORD_HASH_ROUNDS; idle sessions; API keys
that end with their maker's rights or their expiry."""
import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa

from core import accounts
from core.accounts import AccountError, Actor, LoginFailed, PasswordChangeRequired, PermissionDenied
from core.throttle import Throttled
from tests.conftest import ADMIN_PASSWORD

ADMIN = Actor("admin", "admin")
ADDRESS = "203.0.113.7"


def log_in(db, settings, username="admin", password=ADMIN_PASSWORD, address=ADDRESS, **kw):
    return accounts.log_in(db, username=username, password=password, address=address, settings=settings, **kw)


def counted(db) -> int:
    with db.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM login_attempts"))


def test_a_login_starts_a_session_of_its_kind(db, settings):
    session = log_in(db, settings, username=" Admin ")
    assert (session.user.username, session.kind) == ("admin", "dashboard")
    api = log_in(db, settings, kind="api")
    assert api.kind == "api"
    with db.connect() as conn:
        assert accounts.session_user(conn, sid=session.sid).username == "admin"
        assert accounts.get_session(conn, sid=api.sid, kind="api").user.username == "admin"
        assert accounts.get_session(conn, sid=api.sid) is None  # not a dashboard session
    assert counted(db) == 0  # right passwords give their attempts back


def test_a_failed_login_is_one_error_with_one_text_and_is_counted(db, settings):
    for username, password in (("admin", "not-it-at-all"), ("nobody", "whatever-it-is")):
        with pytest.raises(LoginFailed) as failed:
            log_in(db, settings, username=username, password=password)
        assert failed.value.template == accounts.LOGIN_FAILED
    assert str(failed.value).startswith("Wrong username or password, or the account is locked or deactivated.")
    with db.connect() as conn:
        assert accounts.get_user(conn, username="admin").failed_logins == 1
    assert counted(db) == 4  # two attempts, each in its address's and its account's bucket


def test_ten_wrong_logins_at_once_from_one_address_are_throttled_and_do_not_lock(db, settings):
    start = threading.Barrier(10)
    outcomes = []

    def attempt():
        start.wait(10)
        try:
            log_in(db, settings, password="not-the-password")
        except (LoginFailed, Throttled) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    budget = settings.login_max_failures - 1
    assert sorted(outcomes) == ["LoginFailed"] * budget + ["Throttled"] * (10 - budget)
    with db.connect() as conn:
        admin = accounts.get_user(conn, username="admin")
    assert (admin.failed_logins, admin.locked_until) == (budget, None)  # one address cannot lock it
    with pytest.raises(Throttled):
        log_in(db, settings)  # from that address even the right password waits
    assert log_in(db, settings, address="198.51.100.1").user.username == "admin"  # another address: in


def test_longer_input_than_any_account_has_is_refused_before_anything_is_counted(db, settings):
    with pytest.raises(AccountError, match="^The username must be at most 32 characters long.$"):
        log_in(db, settings, username="a" * 25_000_000)
    with pytest.raises(AccountError, match="^The password must be at most 72 bytes long.$"):
        log_in(db, settings, password="é" * 37)  # 37 characters, 74 bytes
    assert counted(db) == 0


def test_a_nul_in_the_username_or_password_is_a_failed_login_not_a_crash(db, settings):
    for username, password in (("ad\x00min", ADMIN_PASSWORD), ("admin", ADMIN_PASSWORD + "\x00")):
        with pytest.raises(LoginFailed):
            log_in(db, settings, username=username, password=password)


def test_the_api_refuses_a_password_that_must_be_changed_first(db, settings):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET must_change_password = true WHERE username = 'admin'"))
    with pytest.raises(PasswordChangeRequired, match="generated on the first start"):
        log_in(db, settings, kind="api")
    assert counted(db) == 0  # the password was right: not counted against the client
    assert log_in(db, settings).user.must_change_password  # the dashboard logs in, then asks for a new one
    with pytest.raises(LoginFailed):
        log_in(db, settings, password="not-the-password", kind="api")  # a wrong one is still a plain failure


def test_a_wrong_current_password_is_throttled_like_a_login(db, settings):
    for _ in range(settings.login_max_failures - 1):
        with pytest.raises(LoginFailed, match="current password is not right"):
            accounts.change_own_password(db, username="admin", current="not-it-at-all", new="brand-new-words",
                                         address=ADDRESS, settings=settings)
    with pytest.raises(Throttled):
        accounts.change_own_password(db, username="admin", current=ADMIN_PASSWORD, new="brand-new-words",
                                     address=ADDRESS, settings=settings)
    with db.connect() as conn:
        assert accounts.get_user(conn, username="admin").failed_logins == settings.login_max_failures - 1


def test_failed_logins_are_logged_with_the_clients_address_and_nothing_secret(db, settings, caplog):
    with caplog.at_level("WARNING", logger="core.accounts"):
        for username in ("admin", "ghost"):
            with pytest.raises(LoginFailed):
                log_in(db, settings, username=username, password="typed-secret-9")
    fields = [getattr(r, "fields", {}) for r in caplog.records]
    assert fields == [{"username": "admin", "address": ADDRESS},
                      {"username": None, "reason": "unknown username", "address": ADDRESS}]
    assert not any("typed-secret-9" in r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)


# --- hashes at the current cost ----------------------------------------------------------------

def stored_cost(db, username="admin") -> int:
    with db.connect() as conn:
        return accounts.hash_cost(conn.scalar(sa.text("SELECT password_hash FROM users WHERE username = :u"),
                                              {"u": username}))


def test_a_right_password_is_hashed_again_at_the_current_cost(db, settings):
    assert stored_cost(db) == 4  # the tests' PASSWORD_HASH_ROUNDS
    costlier = replace(settings, password_hash_rounds=5)
    with pytest.raises(LoginFailed):
        log_in(db, costlier, password="not-it-at-all")
    assert stored_cost(db) == 4  # a wrong password changes nothing
    log_in(db, costlier)
    assert stored_cost(db) == 5
    log_in(db, costlier)  # and it still opens the account
    assert stored_cost(db) == 5


def test_an_unknown_name_is_checked_at_the_cost_most_stored_hashes_have(db, settings, monkeypatch):
    with db.begin() as conn:
        for name in ("ana", "bia"):
            accounts.create_user(conn, actor=ADMIN, username=name, password="password-123", rounds=5)
        assert accounts.dummy_hash_cost(conn, settings=replace(settings, password_hash_rounds=12)) == 5  # 5, 5, 4
    checked = []
    real = accounts._dummy_hash
    monkeypatch.setattr(accounts, "_dummy_hash", lambda rounds: checked.append(rounds) or real(rounds))
    with pytest.raises(LoginFailed):
        log_in(db, replace(settings, password_hash_rounds=7), username="ghost")
    assert checked == [5]  # as a wrong password of most accounts costs, not PASSWORD_HASH_ROUNDS
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM users"))
        assert accounts.dummy_hash_cost(conn, settings=replace(settings, password_hash_rounds=6)) == 6  # none stored


# --- registration --------------------------------------------------------------------------------

def test_registration_is_off_unless_allowed_then_throttled_per_address(db, settings):
    def register(name, s):
        return accounts.register(db, username=name, password="long enough words", address=ADDRESS, settings=s)

    with pytest.raises(PermissionDenied, match="ALLOW_SIGNUP=false"):
        register("vitor", settings)
    on = replace(settings, allow_signup=True, login_attempts_per_minute=2)
    assert register("vitor", on).role == "viewer"
    with pytest.raises(AccountError, match="reserved"):
        register("cli", on)  # counted too
    with pytest.raises(Throttled):
        register("vera", on)


@pytest.mark.parametrize("field, value, message", [
    ("name", "n" * 101, "The name must be at most 100 characters long."),
    ("email", "e" * 250 + "@x.com", "The email must be at most 254 characters long."),
    ("name", "Ana\x00Lima", "The name has a control character .* at position 4; remove it."),
    ("email", "ana\t@x.com", "The email has a control character .* at position 4; remove it."),
])
def test_account_fields_have_a_length_limit_and_no_control_character(conn, field, value, message):
    with pytest.raises(AccountError, match=f"^{message}$"):
        accounts.create_user(conn, actor=ADMIN, username="ana", password="password-123", rounds=4, **{field: value})


# --- idle dashboard sessions ----------------------------------------------------------------------

def test_a_dashboard_session_ends_after_the_idle_minutes_without_a_page_run(conn):
    session = accounts.start_session(conn, username="admin", days=1)
    conn.execute(sa.text("UPDATE sessions SET last_seen_at = now() - interval '119 minutes'"))
    assert accounts.session_user(conn, sid=session.sid, idle_minutes=120, touch=True).username == "admin"
    assert conn.scalar(sa.text("SELECT now() - last_seen_at FROM sessions")).total_seconds() == 0  # noted
    conn.execute(sa.text("UPDATE sessions SET last_seen_at = now() - interval '121 minutes'"))
    assert accounts.session_user(conn, sid=session.sid, idle_minutes=120, touch=True) is None
    assert accounts.session_user(conn, sid=session.sid, idle_minutes=0).username == "admin"  # 0: no timeout


def test_a_page_run_is_noted_at_most_once_a_minute(conn):
    session = accounts.start_session(conn, username="admin", days=1)
    conn.execute(sa.text("UPDATE sessions SET last_seen_at = now() - interval '30 seconds'"))
    accounts.session_user(conn, sid=session.sid, idle_minutes=120, touch=True)
    assert conn.scalar(sa.text("SELECT now() - last_seen_at FROM sessions")).total_seconds() == 30


# --- API keys ----------------------------------------------------------------------------------------

def test_the_keys_an_admin_made_end_when_they_are_demoted_or_deactivated(conn):
    for name in ("bia", "caio"):
        accounts.create_user(conn, actor=ADMIN, username=name, password="password-123", role="admin", rounds=4)
    _, by_bia = accounts.create_api_key(conn, actor=Actor("bia", "admin"), name="bia's", role="viewer")
    _, by_caio = accounts.create_api_key(conn, actor=Actor("caio", "admin"), name="caio's", role="viewer")
    _, by_cli = accounts.create_api_key(conn, actor=accounts.CLI_ACTOR, name="cli's", role="viewer")
    accounts.set_role(conn, actor=ADMIN, username="bia", role="analyst")
    accounts.set_active(conn, actor=ADMIN, username="caio", active=False)
    assert [accounts.actor_from_api_key(conn, key=k) for k in (by_bia, by_caio)] == [None, None]
    assert accounts.actor_from_api_key(conn, key=by_cli) == Actor("key:cli's", "viewer")  # no account to follow
    accounts.set_role(conn, actor=ADMIN, username="bia", role="admin")
    assert accounts.actor_from_api_key(conn, key=by_bia) is None  # a new promotion does not revive it
    revoked = conn.execute(sa.text("SELECT username, entity_id FROM audit_log WHERE entity = 'api_key' "
                                   "AND action = 'update' ORDER BY id")).all()
    assert [tuple(r) for r in revoked] == [("admin", "1"), ("admin", "2")]


def test_a_key_can_expire(conn):
    key, plain = accounts.create_api_key(conn, actor=ADMIN, name="temp", role="viewer", expires_days=30)
    assert key.active and 29 < (key.expires_at - key.created_at).days + 0.5 < 31
    assert accounts.actor_from_api_key(conn, key=plain) == Actor("key:temp", "viewer")
    conn.execute(sa.text("UPDATE api_keys SET expires_at = now() - interval '1 second'"))
    assert accounts.actor_from_api_key(conn, key=plain) is None
    assert not accounts.list_api_keys(conn)[0].active
    for days in (0, accounts.API_KEY_MAX_DAYS + 1):
        with pytest.raises(AccountError, match="lifetime must be between 1 and 3650 days"):
            accounts.create_api_key(conn, actor=ADMIN, name="bad", role="viewer", expires_days=days)
