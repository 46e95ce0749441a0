"""Bearer tokens of the HTTP API: short access tokens and longer refresh tokens (JWT, HS256).

An API login is a session (core.accounts.log_in(kind="api"), a row of `sessions`); its tokens name
it (sid) beside the user (sub = username, uid = users.id) and the user's session epoch. A token is
accepted only while its session lives: a logout (log_out), a password, role or active change, a
lock or accounts.end_sessions ends it, and every token of it at once. A refresh token works until
then, for as many refreshes as a client asks (the original API's clients keep one per login).
Signed with Settings.token_key() (API_TOKEN_KEY).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy.engine import Connection

from core import accounts
from core.accounts import Session, User
from core.config import Settings

ALGORITHM = "HS256"
KINDS = ("access", "refresh")
LEEWAY_SECONDS = 5  # clock differences between the process that issues and the one that checks
_CLAIMS = ["sub", "uid", "sid", "epoch", "typ", "iat", "exp", "jti"]

EXPIRED = "The token has expired."
INVALID = "The token is not valid."
ENDED = "This session has ended; log in again."


class TokenError(ValueError):
    """A token that cannot be accepted; the message is for the client."""


@dataclass(frozen=True)
class Tokens:
    """What a login, a password change or a refresh answers."""
    access_token: str
    refresh_token: str
    user: User


def _encode(session: Session, kind: str, expires: datetime, jti: str, settings: Settings, issued: datetime) -> str:
    user = session.user
    claims = {"sub": user.username, "uid": user.id, "sid": session.sid, "epoch": user.session_epoch,
              "typ": kind, "iat": issued, "exp": expires, "jti": jti}
    return jwt.encode(claims, settings.token_key(), algorithm=ALGORITHM)


def issue_access_token(session: Session, *, settings: Settings, now: datetime | None = None) -> str:
    """A token for API requests, valid API_ACCESS_TOKEN_MINUTES from `now` (default: now)."""
    issued = now or datetime.now(timezone.utc)
    return _encode(session, "access", issued + timedelta(minutes=settings.api_access_token_minutes),
                   secrets.token_urlsafe(16), settings, issued)


def issue_refresh_token(session: Session, *, settings: Settings, now: datetime | None = None) -> str:
    """A token that gets new access tokens while its session lives, until the session expires
    (API_REFRESH_TOKEN_DAYS after the login)."""
    return _encode(session, "refresh", session.expires_at, secrets.token_urlsafe(16), settings,
                   now or datetime.now(timezone.utc))


def issue(session: Session, *, settings: Settings) -> Tokens:
    """An access and a refresh token for an API session."""
    return Tokens(issue_access_token(session, settings=settings), issue_refresh_token(session, settings=settings),
                  session.user)


def _claims(token: str, kind: str, settings: Settings) -> dict:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    try:
        claims = jwt.decode(token, settings.token_key(), algorithms=[ALGORITHM],
                            options={"require": _CLAIMS}, leeway=LEEWAY_SECONDS)
    except jwt.ExpiredSignatureError:
        raise TokenError(EXPIRED) from None
    except (jwt.InvalidTokenError, TypeError, ValueError):
        raise TokenError(INVALID) from None
    if claims["typ"] != kind or not all(isinstance(claims[c], str) for c in ("sub", "sid", "jti")):
        raise TokenError(INVALID)
    return claims


def _session(conn: Connection, claims: dict) -> Session:
    session = accounts.get_session(conn, sid=claims["sid"], kind="api")
    if session is None:
        raise TokenError(ENDED)
    if session.user.username != claims["sub"] or session.user.id != claims["uid"]:
        raise TokenError(INVALID)
    return session


def user_from_token(conn: Connection, *, token: str, kind: str = "access", settings: Settings) -> User:
    """The user a valid token of this kind ("access" or "refresh") belongs to; TokenError otherwise.

    Checks the signature, the expiry, the kind, and that the token's session lives (core.accounts.
    get_session: not logged out, not expired, the user active with the same session epoch)."""
    return _session(conn, _claims(token, kind, settings)).user


def refresh(conn: Connection, *, token: str, settings: Settings) -> Tokens:
    """A new access token for a refresh token of a live session, and that refresh token again
    (TokenError when it is not valid or its session has ended)."""
    session = _session(conn, _claims(token, "refresh", settings))
    return Tokens(issue_access_token(session, settings=settings), token, session.user)


def log_out(conn: Connection, *, token: str, settings: Settings) -> User:
    """End the session of an access token: it, its refresh token and every copy stop at once."""
    session = _session(conn, _claims(token, "access", settings))
    accounts.end_session(conn, sid=session.sid)
    return session.user
