"""The per-client throttle of logins and registrations."""
from dataclasses import replace

import pytest

from core import throttle
from core.throttle import Throttle, Throttled


def test_a_sliding_window_refuses_over_the_limit_then_lets_go():
    t = Throttle()
    for second in range(3):
        assert t.retry_after("a", limit=3, seconds=60, now=100.0 + second) is None
        t.note("a", now=100.0 + second)
    assert t.retry_after("a", limit=3, seconds=60, now=110.0) == 50  # the first event leaves at 160
    assert t.retry_after("b", limit=3, seconds=60, now=110.0) is None  # another client is not affected
    assert t.retry_after("a", limit=3, seconds=60, now=160.5) is None


@pytest.fixture
def fresh():
    throttle.reset()
    yield
    throttle.reset()


def test_one_address_cannot_fail_often_enough_to_lock_an_account(settings, fresh):
    s = replace(settings, login_max_failures=5, login_attempts_per_minute=100)
    for _ in range(4):
        throttle.check_login(s, address="10.0.0.1", username="admin")
        throttle.login_failed(address="10.0.0.1", username="ADMIN ")
    with pytest.raises(Throttled) as refused:
        throttle.check_login(s, address="10.0.0.1", username="admin")
    assert 0 < refused.value.retry_after <= s.login_lock_minutes * 60
    throttle.check_login(s, address="10.0.0.1", username="ana")  # other accounts from it: still allowed
    throttle.check_login(s, address="10.0.0.2", username="admin")  # another address: allowed


def test_failed_logins_per_minute_per_address(settings, fresh):
    s = replace(settings, login_attempts_per_minute=3)
    for name in ("a", "b", "c"):
        throttle.check_login(s, address="10.0.0.1", username=name)
        throttle.login_failed(address="10.0.0.1", username=name)
    with pytest.raises(Throttled, match="Too many attempts from your address; wait"):
        throttle.check_login(s, address="10.0.0.1", username="d")


def test_signups_count_every_attempt(settings, fresh):
    s = replace(settings, login_attempts_per_minute=2)
    throttle.check_signup(s, address="10.0.0.1")
    throttle.check_signup(s, address="10.0.0.1")
    with pytest.raises(Throttled):
        throttle.check_signup(s, address="10.0.0.1")
    throttle.check_signup(s, address="10.0.0.9")


@pytest.mark.parametrize("peer, forwarded, expected", [
    (None, None, "127.0.0.1"),
    (None, "203.0.113.5", "203.0.113.5"),                     # through the local proxy
    ("127.0.0.1", "1.2.3.4, 203.0.113.5", "203.0.113.5"),     # the client's own claim is ignored
    ("198.51.100.1", "203.0.113.5", "198.51.100.1"),          # not a trusted proxy: its header is not believed
    ("127.0.0.1", "not-an-address", "127.0.0.1"),
])
def test_the_client_address_believes_only_trusted_proxies(peer, forwarded, expected):
    assert throttle.client_address(peer, forwarded, trusted_proxies=("127.0.0.1", "::1")) == expected
