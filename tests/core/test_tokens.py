"""API tokens: signed, expiring, typed, tied to a session that a logout or
any change that ends a user's sessions ends."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import sqlalchemy as sa

from core import accounts, tokens
from core.accounts import Actor
from core.tokens import TokenError

ADMIN = Actor("admin", "admin")


def api_session(conn, username="ana", days=7):
    return accounts.start_session(conn, username=username, days=days, kind="api")


@pytest.fixture
def ana(conn):
    accounts.create_user(conn, actor=ADMIN, username="ana", password="correct-horse", role="analyst", rounds=4)
    return api_session(conn)


def claims(token, settings):
    return jwt.decode(token, settings.token_key(), algorithms=["HS256"])


def test_tokens_name_the_user_and_the_session_and_last_as_configured(conn, ana, settings):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    access = claims(tokens.issue_access_token(ana, settings=settings, now=now), settings)
    refresh = claims(tokens.issue_refresh_token(ana, settings=settings, now=now), settings)
    assert {k: access[k] for k in ("sub", "uid", "sid", "epoch", "typ")} == {
        "sub": "ana", "uid": 2, "sid": ana.sid, "epoch": 0, "typ": "access"}
    assert access["exp"] - access["iat"] == 15 * 60 and access["iat"] == int(now.timestamp())
    assert refresh["typ"] == "refresh" and refresh["exp"] == int(ana.expires_at.timestamp())  # the session's end
    assert access["jti"] != refresh["jti"]
    token = tokens.issue_access_token(ana, settings=settings)
    assert tokens.user_from_token(conn, token=token, kind="access", settings=settings) == ana.user
    refresh_token = tokens.issue_refresh_token(ana, settings=settings)
    assert tokens.user_from_token(conn, token=refresh_token, kind="refresh", settings=settings) == ana.user


def test_lifetimes_follow_the_settings(conn, ana, settings):
    short = replace(settings, api_access_token_minutes=1)
    access = claims(tokens.issue_access_token(ana, settings=short), settings)
    assert access["exp"] - access["iat"] == 60
    days = claims(tokens.issue_refresh_token(api_session(conn, days=90), settings=settings), settings)
    assert 90 * 24 * 3600 - 5 <= days["exp"] - days["iat"] <= 90 * 24 * 3600


def test_an_expired_token_is_refused(conn, ana, settings):
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=16)
    token = tokens.issue_access_token(ana, settings=settings, now=long_ago)
    with pytest.raises(TokenError, match="^The token has expired.$"):
        tokens.user_from_token(conn, token=token, kind="access", settings=settings)
    just_valid = datetime.now(timezone.utc) - timedelta(minutes=14)
    token = tokens.issue_access_token(ana, settings=settings, now=just_valid)
    assert tokens.user_from_token(conn, token=token, kind="access", settings=settings).username == "ana"


def test_a_token_of_the_other_kind_is_refused(conn, ana, settings):
    refresh = tokens.issue_refresh_token(ana, settings=settings)
    access = tokens.issue_access_token(ana, settings=settings)
    with pytest.raises(TokenError, match="^The token is not valid.$"):
        tokens.user_from_token(conn, token=refresh, kind="access", settings=settings)
    with pytest.raises(TokenError, match="^The token is not valid.$"):
        tokens.user_from_token(conn, token=access, kind="refresh", settings=settings)
    with pytest.raises(ValueError, match="kind must be"):
        tokens.user_from_token(conn, token=access, kind="session", settings=settings)


def test_tampered_foreign_or_malformed_tokens_are_refused(conn, ana, settings):
    token = tokens.issue_access_token(ana, settings=settings)
    header, payload, signature = token.split(".")
    admin_claims = claims(token, settings) | {"sub": "admin", "uid": 1}
    forged_payload = jwt.encode(admin_claims, "k" * 32, algorithm="HS256").split(".")[1]
    other_key = replace(settings, api_token_key="another-key-0123456789abcdef-0123456")
    unsigned = jwt.encode(admin_claims, None, algorithm="none")
    bad = [
        f"{header}.{forged_payload}.{signature}",                        # claims changed, old signature
        f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        tokens.issue_access_token(ana, settings=other_key),              # signed with another key
        unsigned,                                                        # alg "none"
        jwt.encode({"sub": "ana", "typ": "access"}, settings.token_key(), algorithm="HS256"),  # claims missing
        "", "not.a.token", "Bearer " + token,
    ]
    for candidate in bad:
        with pytest.raises(TokenError, match="^The token is not valid.$"):
            tokens.user_from_token(conn, token=candidate, kind="access", settings=settings)


def test_a_token_for_a_user_who_no_longer_exists_is_refused(conn, ana, settings):
    token = tokens.issue_access_token(replace(ana, user=replace(ana.user, id=99)), settings=settings)  # another id
    with pytest.raises(TokenError, match="^The token is not valid.$"):
        tokens.user_from_token(conn, token=token, kind="access", settings=settings)
    token = tokens.issue_access_token(replace(ana, user=replace(ana.user, username="ghost")), settings=settings)
    with pytest.raises(TokenError, match="^The token is not valid.$"):
        tokens.user_from_token(conn, token=token, kind="access", settings=settings)


@pytest.mark.parametrize("change", [
    lambda conn: accounts.reset_password(conn, actor=ADMIN, username="ana", password="new-password-1", rounds=4),
    lambda conn: accounts.set_role(conn, actor=ADMIN, username="ana", role="viewer"),
    lambda conn: accounts.set_active(conn, actor=ADMIN, username="ana", active=False),
    lambda conn: accounts.end_sessions(conn, actor=Actor("ana", "analyst"), username="ana"),
    lambda conn: accounts.end_sessions(conn, actor=ADMIN, username="ana"),
], ids=["password change", "role change", "deactivation", "end_sessions by the user", "end_sessions by an admin"])
def test_every_session_ending_change_ends_the_tokens_issued_before_it(conn, ana, settings, change):
    access = tokens.issue_access_token(ana, settings=settings)
    refresh = tokens.issue_refresh_token(ana, settings=settings)
    change(conn)
    for token, kind in ((access, "access"), (refresh, "refresh")):
        with pytest.raises(TokenError, match="^This session has ended; log in again.$"):
            tokens.user_from_token(conn, token=token, kind=kind, settings=settings)
    user = accounts.get_user(conn, username="ana")
    if user.active:  # a token of a session started after the change works
        fresh = tokens.issue_access_token(api_session(conn), settings=settings)
        assert tokens.user_from_token(conn, token=fresh, kind="access", settings=settings) == user


def test_reactivation_does_not_revive_old_tokens(conn, ana, settings):
    token = tokens.issue_access_token(ana, settings=settings)
    accounts.set_active(conn, actor=ADMIN, username="ana", active=False)
    accounts.set_active(conn, actor=ADMIN, username="ana", active=True)
    with pytest.raises(TokenError, match="session has ended"):
        tokens.user_from_token(conn, token=token, kind="access", settings=settings)


def test_another_users_changes_leave_a_token_alone(conn, ana, settings):
    token = tokens.issue_access_token(ana, settings=settings)
    accounts.create_user(conn, actor=ADMIN, username="bia", password="bia-pass-9x", rounds=4)
    accounts.end_sessions(conn, actor=ADMIN, username="bia")
    accounts.set_role(conn, actor=ADMIN, username="bia", role="analyst")
    assert tokens.user_from_token(conn, token=token, kind="access", settings=settings).username == "ana"


def test_a_dashboard_session_gives_no_api_token(conn, ana, settings):
    dashboard = accounts.start_session(conn, username="ana", days=1)
    token = tokens.issue_access_token(replace(dashboard, kind="api"), settings=settings)
    with pytest.raises(TokenError, match="session has ended"):
        tokens.user_from_token(conn, token=token, settings=settings)


@pytest.fixture
def ana_tokens(db, settings):
    with db.begin() as conn:
        accounts.create_user(conn, actor=ADMIN, username="ana", password="correct-horse", role="analyst", rounds=4)
        return tokens.issue(api_session(conn), settings=settings)


def test_a_refresh_token_works_again_until_its_session_ends(db, settings, ana_tokens):
    with db.connect() as conn:
        second = tokens.refresh(conn, token=ana_tokens.refresh_token, settings=settings)
        third = tokens.refresh(conn, token=ana_tokens.refresh_token, settings=settings)  # as the original's clients do
        assert second.refresh_token == third.refresh_token == ana_tokens.refresh_token
        assert len({ana_tokens.access_token, second.access_token, third.access_token}) == 3
        for token in (ana_tokens.access_token, second.access_token, third.access_token):  # one session
            assert tokens.user_from_token(conn, token=token, settings=settings).username == "ana"
    with db.begin() as conn:
        tokens.log_out(conn, token=third.access_token, settings=settings)
    with db.connect() as conn, pytest.raises(TokenError, match="^This session has ended; log in again.$"):
        tokens.refresh(conn, token=ana_tokens.refresh_token, settings=settings)


def test_a_logout_ends_its_session_and_no_other(db, settings, ana_tokens):
    with db.begin() as conn:
        other = tokens.issue(api_session(conn), settings=settings)
        assert tokens.log_out(conn, token=ana_tokens.access_token, settings=settings).username == "ana"
    with db.connect() as conn:
        for token, kind in ((ana_tokens.access_token, "access"), (ana_tokens.refresh_token, "refresh")):
            with pytest.raises(TokenError, match="session has ended"):
                tokens.user_from_token(conn, token=token, kind=kind, settings=settings)
        assert tokens.user_from_token(conn, token=other.access_token, settings=settings).username == "ana"
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action = 'logout'")) == 1
