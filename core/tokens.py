"""Bearer tokens of the HTTP API: short access tokens and longer refresh tokens (JWT, HS256).

A token names its user (sub = username, uid = users.id) and the user's session epoch when it was
issued. It is accepted only while the user exists, is active and still has that epoch: a password,
role or active change, or accounts.end_sessions, bumps the epoch and ends every token issued before
it at once, without a list of revoked tokens. Signed with Settings.token_key() (API_TOKEN_KEY).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy.engine import Connection

from core.accounts import User, get_user
from core.config import Settings

ALGORITHM = "HS256"
KINDS = ("access", "refresh")
LEEWAY_SECONDS = 5  # clock differences between the process that issues and the one that checks
_CLAIMS = ["sub", "uid", "epoch", "typ", "iat", "exp", "jti"]

EXPIRED = "The token has expired."
INVALID = "The token is not valid."
ENDED = "This session has ended; log in again."


class TokenError(ValueError):
    """A token that cannot be accepted; the message is for the client."""


def _issue(user: User, kind: str, lifetime: timedelta, settings: Settings, now: datetime | None) -> str:
    issued = now or datetime.now(timezone.utc)
    claims = {"sub": user.username, "uid": user.id, "epoch": user.session_epoch, "typ": kind,
              "iat": issued, "exp": issued + lifetime, "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, settings.token_key(), algorithm=ALGORITHM)


def issue_access_token(user: User, *, settings: Settings, now: datetime | None = None) -> str:
    """A token for API requests, valid API_ACCESS_TOKEN_MINUTES from `now` (default: now)."""
    return _issue(user, "access", timedelta(minutes=settings.api_access_token_minutes), settings, now)


def issue_refresh_token(user: User, *, settings: Settings, now: datetime | None = None) -> str:
    """A token that gets new access tokens, valid API_REFRESH_TOKEN_DAYS from `now` (default: now)."""
    return _issue(user, "refresh", timedelta(days=settings.api_refresh_token_days), settings, now)


def user_from_token(conn: Connection, *, token: str, kind: str, settings: Settings) -> User:
    """The user a valid token of this kind ("access" or "refresh") belongs to; TokenError otherwise.

    Checks the signature, the expiry, the kind, that the user still exists (same id) and is
    active, and that the user's session epoch is still the token's.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    try:
        claims = jwt.decode(token, settings.token_key(), algorithms=[ALGORITHM],
                            options={"require": _CLAIMS}, leeway=LEEWAY_SECONDS)
    except jwt.ExpiredSignatureError:
        raise TokenError(EXPIRED) from None
    except (jwt.InvalidTokenError, TypeError, ValueError):
        raise TokenError(INVALID) from None
    if claims["typ"] != kind or not isinstance(claims["sub"], str):
        raise TokenError(INVALID)
    user = get_user(conn, username=claims["sub"])
    if user is None or user.id != claims["uid"]:
        raise TokenError(INVALID)
    if not user.active or user.session_epoch != claims["epoch"]:
        raise TokenError(ENDED)
    return user
