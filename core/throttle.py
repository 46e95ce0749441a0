"""Per-client throttles of logins and self-registration, in memory (one process's view).

Two limits on failed logins, both keyed by the client's address:
- per address, LOGIN_ATTEMPTS_PER_MINUTE failures a minute, whatever the usernames: one client
  cannot try passwords quickly;
- per address and username, LOGIN_MAX_FAILURES - 1 failures per LOGIN_LOCK_MINUTES: an account
  locks after LOGIN_MAX_FAILURES failures within that window (core.accounts.verify_login), so one
  client looping on `admin` can never lock it for everyone; it takes failures from two addresses.
Registrations count every attempt against LOGIN_ATTEMPTS_PER_MINUTE.

An attempt over a limit is refused before the password is checked, and is not counted against
the account. The state lives in this process: the dashboard and the API each keep their own, and a
restart forgets it (the account lockout in the database is the lasting limit).
"""
from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque

from core.config import Settings
from core.definitions import N_, TextError

MAX_KEYS = 50_000  # clients remembered at once; the least recently seen are forgotten beyond this


class Throttle:
    """Timestamps of recent events per key, in sliding windows."""

    def __init__(self) -> None:
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str, *, limit: int, seconds: float, now: float | None = None) -> int | None:
        """Seconds to wait before `key` may act again, or None when it is under `limit` per `seconds`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.get(key)
            if not events:
                return None
            while events and events[0] <= now - seconds:
                events.popleft()
            if len(events) < limit:
                return None
            return max(1, math.ceil(events[len(events) - limit] + seconds - now))

    def note(self, key: str, now: float | None = None) -> None:
        """Count one event for `key`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.pop(key, None) or deque()
            events.append(now)
            self._events[key] = events  # most recently seen last
            while len(self._events) > MAX_KEYS:
                self._events.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


_failed_logins = Throttle()
_signups = Throttle()


class Throttled(TextError):
    """Too many attempts from this client; `retry_after` seconds to wait. The message is for the user
    (str() English, `text` in the user's language: core.definitions.TextError)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(N_("Too many attempts from your address; wait {seconds} s and try again."),
                         seconds=retry_after)


def _user_budget(settings: Settings) -> int:
    return max(1, settings.login_max_failures - 1)


def check_login(settings: Settings, *, address: str, username: str) -> None:
    """Raise Throttled when this client may not try to log in now (before checking the password)."""
    name = (username or "").strip().lower()
    waits = [_failed_logins.retry_after(f"ip:{address}", limit=settings.login_attempts_per_minute, seconds=60),
             _failed_logins.retry_after(f"user:{address}:{name}", limit=_user_budget(settings),
                                        seconds=settings.login_lock_minutes * 60)]
    waits = [w for w in waits if w is not None]
    if waits:
        raise Throttled(max(waits))


def login_failed(*, address: str, username: str) -> None:
    """Count a failed login of this client."""
    name = (username or "").strip().lower()
    _failed_logins.note(f"ip:{address}")
    _failed_logins.note(f"user:{address}:{name}")


def check_signup(settings: Settings, *, address: str) -> None:
    """Count a registration attempt; raise Throttled when this client made too many."""
    wait = _signups.retry_after(address, limit=settings.login_attempts_per_minute, seconds=60)
    if wait is not None:
        raise Throttled(wait)
    _signups.note(address)


def reset() -> None:
    """Forget every client (tests)."""
    _failed_logins.clear()
    _signups.clear()


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
