"""Per-client throttles of logins (and of every other check of a password) and of self-registration.

Two limits on login attempts, both keyed by the client's address:
- per address, LOGIN_ATTEMPTS_PER_MINUTE attempts a minute that were not right, whatever the
  usernames: one client cannot try passwords quickly;
- per address and username, LOGIN_MAX_FAILURES - 1 per LOGIN_LOCK_MINUTES: an account locks after
  LOGIN_MAX_FAILURES failures within that window (core.accounts), so one client looping on `admin`
  can never lock it for everyone; it takes failures from two addresses.
Registrations count every attempt against LOGIN_ATTEMPTS_PER_MINUTE.

An attempt is counted before the password is checked (take_login), one address at a time (a
transaction lock per address), and given back once the password proved right (give_back): ten
wrong passwords sent at once from one address cannot all reach the check. An attempt over a limit
is refused (Throttled) before the password is checked, and is not counted against the account.

The counts are rows of login_attempts: the dashboard and every API process share them, and a
restart keeps them. A row names its bucket by a SHA-256 (of the address, and of the username for
the per-account budget), so nothing a client sends makes it larger, and rows older than the
longest window are deleted as attempts come.
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.config import Settings
from core.messages import N_, TextError

_LOCK = 724_150_004  # advisory lock (this, address hash): one address's attempts are counted in turn
MAX_WINDOW_MINUTES = 24 * 60  # LOGIN_LOCK_MINUTES' highest value: rows older than this count nowhere


class Throttled(TextError):
    """Too many attempts from this client; `retry_after` seconds to wait. The message is for the user
    (str() English, `text` in the user's language: core.messages.TextError)."""

    http_status = 429  # with Retry-After: `retry_after`

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(N_("Too many attempts from your address; wait {seconds} s and try again."),
                         seconds=retry_after)


@dataclass(frozen=True)
class Attempt:
    """The rows one login attempt was counted in (give_back deletes them)."""
    ids: tuple[int, ...]


def _bucket(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()


def _take(conn: Connection, address: str, limits: list[tuple[bytes, int, int]]) -> Attempt:
    """Count one attempt in every (bucket, limit, seconds), or raise Throttled when one is full.

    Runs under a transaction lock on the address: commit right after, so that the next attempt
    from the address counts this one."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k, :a)"),
                 {"k": _LOCK, "a": int.from_bytes(_bucket(address)[:4], "big", signed=True)})
    conn.execute(sa.text("DELETE FROM login_attempts WHERE at < now() - make_interval(mins => :m)"),
                 {"m": MAX_WINDOW_MINUTES})
    waits = []
    for bucket, limit, seconds in limits:
        wait = conn.scalar(sa.text(
            "SELECT ceil(extract(epoch FROM at + make_interval(secs => :s) - clock_timestamp())) FROM ("
            "  SELECT at FROM login_attempts WHERE bucket = :b AND at > clock_timestamp() - make_interval(secs => :s)"
            "  ORDER BY at DESC OFFSET :n - 1 LIMIT 1) oldest_in_limit"),
            {"b": bucket, "s": seconds, "n": limit})
        if wait is not None:
            waits.append(max(1, int(wait)))
    if waits:
        raise Throttled(max(waits))
    ids = conn.scalars(sa.text("INSERT INTO login_attempts (bucket) SELECT unnest(CAST(:b AS bytea[])) RETURNING id"),
                       {"b": [bucket for bucket, _, _ in limits]}).all()
    return Attempt(tuple(ids))


def take_login(conn: Connection, *, settings: Settings, address: str, username: str) -> Attempt:
    """Count a login attempt of this client (or any check of a user's password); raise Throttled,
    counting nothing, when it is over a limit. Commit before checking the password."""
    name = (username or "").strip().lower()
    return _take(conn, address, [
        (_bucket("ip", address), settings.login_attempts_per_minute, 60),
        (_bucket("user", address, name), max(1, settings.login_max_failures - 1), settings.login_lock_minutes * 60),
    ])


def give_back(conn: Connection, *, attempt: Attempt) -> None:
    """Uncount an attempt whose password was right."""
    conn.execute(sa.text("DELETE FROM login_attempts WHERE id = ANY(:ids)"), {"ids": list(attempt.ids)})


def take_signup(conn: Connection, *, settings: Settings, address: str) -> None:
    """Count a registration attempt; raise Throttled when this client made too many."""
    _take(conn, address, [(_bucket("signup", address), settings.login_attempts_per_minute, 60)])


def client_address(peer: str | None, forwarded_for: str | None, *, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last address the
    proxy added to X-Forwarded-For (earlier entries are whatever the client claimed)."""
    peer = (peer or "127.0.0.1").strip()
    if peer in trusted_proxies and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return peer
