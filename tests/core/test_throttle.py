"""The per-client throttle of logins and registrations, counted in the database."""
import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa

from core import throttle
from core.throttle import Throttled
from tests.concurrency import Blocked

ADDRESS = "10.0.0.1"


def attempts(conn) -> list[tuple[int, int]]:
    return [tuple(r) for r in conn.execute(sa.text(
        "SELECT count(*), coalesce(max(octet_length(bucket)), 0) FROM login_attempts"))]


def test_a_sliding_window_refuses_over_the_limit_then_lets_go(conn, settings):
    s = replace(settings, login_attempts_per_minute=3, login_max_failures=100)
    for name in ("a", "b", "c"):
        throttle.take_login(conn, settings=s, address=ADDRESS, username=name)
    conn.execute(sa.text("UPDATE login_attempts SET at = clock_timestamp() - interval '45 seconds'"))
    with pytest.raises(Throttled, match="Too many attempts from your address; wait 15 s") as refused:
        throttle.take_login(conn, settings=s, address=ADDRESS, username="d")
    assert refused.value.retry_after == 15  # the oldest of the three leaves the minute in 15 s
    assert attempts(conn) == [(6, 32)]  # the refused attempt was not counted
    throttle.take_login(conn, settings=s, address="10.0.0.2", username="a")  # another client is not affected
    conn.execute(sa.text("UPDATE login_attempts SET at = at - interval '16 seconds'"))
    throttle.take_login(conn, settings=s, address=ADDRESS, username="d")  # the window slid past them


def test_one_address_cannot_fail_often_enough_to_lock_an_account(conn, settings):
    s = replace(settings, login_max_failures=5, login_attempts_per_minute=100)
    for _ in range(4):
        throttle.take_login(conn, settings=s, address=ADDRESS, username="ADMIN ")
    with pytest.raises(Throttled) as refused:
        throttle.take_login(conn, settings=s, address=ADDRESS, username="admin")
    assert 0 < refused.value.retry_after <= s.login_lock_minutes * 60
    throttle.take_login(conn, settings=s, address=ADDRESS, username="ana")  # other accounts from it: still allowed
    throttle.take_login(conn, settings=s, address="10.0.0.2", username="admin")  # another address: allowed


def test_a_right_password_gives_its_attempt_back(conn, settings):
    s = replace(settings, login_attempts_per_minute=2)
    for _ in range(5):
        throttle.give_back(conn, attempt=throttle.take_login(conn, settings=s, address=ADDRESS, username="admin"))
    assert attempts(conn) == [(0, 0)]


def test_the_buckets_do_not_grow_with_the_input_and_old_rows_go(conn, settings):
    throttle.take_login(conn, settings=settings, address=ADDRESS, username="x" * 5_000_000)
    assert attempts(conn) == [(2, 32)]  # one per bucket, each a SHA-256
    conn.execute(sa.text("UPDATE login_attempts SET at = now() - interval '25 hours'"))
    throttle.take_login(conn, settings=settings, address="10.0.0.9", username="ana")
    assert attempts(conn) == [(2, 32)]  # the day-old rows were dropped as this one came


def test_ten_attempts_at_once_from_one_address_are_counted_one_at_a_time(db, settings):
    s = replace(settings, login_max_failures=5, login_attempts_per_minute=100)
    start = threading.Barrier(10)
    outcomes = []

    def attempt():
        start.wait(10)
        try:
            with db.begin() as conn:
                throttle.take_login(conn, settings=s, address=ADDRESS, username="admin")
            outcomes.append("counted")
        except Throttled:
            outcomes.append("throttled")

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["counted"] * 4 + ["throttled"] * 6  # LOGIN_MAX_FAILURES - 1 reach the check


def test_an_attempt_waits_for_the_one_being_counted_from_the_same_address(db, settings):
    s = replace(settings, login_max_failures=5, login_attempts_per_minute=100)
    with db.begin() as first:
        for _ in range(4):
            throttle.take_login(first, settings=s, address=ADDRESS, username="admin")
        second = Blocked(db, lambda other: throttle.take_login(other, settings=s, address=ADDRESS, username="admin"))
        assert second.waiting()  # it cannot look at the count until the first is committed
    with pytest.raises(Throttled):
        second.finish()  # then it sees the four and is refused
    other = Blocked(db, lambda conn: throttle.take_login(conn, settings=s, address="10.0.0.2", username="admin"))
    assert other.finish().ids  # another address never waited for this one


def test_signups_count_every_attempt(conn, settings):
    s = replace(settings, login_attempts_per_minute=2)
    throttle.take_signup(conn, settings=s, address=ADDRESS)
    throttle.take_signup(conn, settings=s, address=ADDRESS)
    with pytest.raises(Throttled):
        throttle.take_signup(conn, settings=s, address=ADDRESS)
    throttle.take_signup(conn, settings=s, address="10.0.0.9")


@pytest.mark.parametrize("peer, forwarded, expected", [
    (None, None, "127.0.0.1"),
    (None, "203.0.113.5", "203.0.113.5"),                     # through the local proxy
    ("127.0.0.1", "1.2.3.4, 203.0.113.5", "203.0.113.5"),     # the client's own claim is ignored
    ("198.51.100.1", "203.0.113.5", "198.51.100.1"),          # not a trusted proxy: its header is not believed
    ("127.0.0.1", "not-an-address", "127.0.0.1"),
])
def test_the_client_address_believes_only_trusted_proxies(peer, forwarded, expected):
    assert throttle.client_address(peer, forwarded, trusted_proxies=("127.0.0.1", "::1")) == expected
