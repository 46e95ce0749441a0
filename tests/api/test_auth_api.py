"""Tokens, refresh, revocation, API keys, registration and the role matrix on every route."""
from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import deps
from core import accounts
from tests.api.conftest import PASSWORD, add_user, login
from tests.conftest import ADMIN_PASSWORD


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_login_gives_tokens_and_the_user(client, db):
    answer = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) >= {"access_token", "refresh_token", "user"}
    assert {k: body["user"][k] for k in ("username", "email", "role")} == {
        "username": "admin", "email": None, "role": "admin"}
    assert isinstance(body["user"]["id"], int)
    assert client.get("/v1/services/total", headers=bearer(body["access_token"])).json() == {"total": 0}


def test_a_wrong_password_is_401_and_counts_towards_the_lockout(client, db, settings):
    # one address may fail LOGIN_MAX_FAILURES - 1 times per account: the lock takes a second one
    other = TestClient(client.app, raise_server_exceptions=False, client=("203.0.113.9", 50000))
    for i in range(settings.login_max_failures):
        wrong = (client if i else other).post("/v1/auth/login", json={"username": "admin", "password": "not the password"})
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.json()["error"]
    locked = other.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert locked.status_code == 401  # the right password no longer opens a locked account
    unknown = client.post("/v1/auth/login", json={"username": "nobody", "password": "whatever"})
    assert unknown.json() == wrong.json()  # same answer: nothing reveals whether a name exists


def test_refresh_takes_the_refresh_token_as_bearer_while_its_session_lives(client, db):
    tokens = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    assert client.post("/v1/auth/refresh", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.get("/v1/customers/total", headers=bearer(tokens["refresh_token"])).status_code == 401
    fresh = client.post("/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert fresh.status_code == 200 and set(fresh.json()) == {"access_token", "refresh_token", "token_type",
                                                              "expires_in"}
    assert client.get("/v1/customers/total", headers=bearer(fresh.json()["access_token"])).status_code == 200
    assert fresh.json()["refresh_token"] == tokens["refresh_token"]
    again = client.post("/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))  # as the original's clients do
    assert again.status_code == 200
    for token in (again.json()["access_token"], fresh.json()["access_token"]):
        assert client.get("/v1/customers/total", headers=bearer(token)).status_code == 200


def test_logout_ends_the_session_of_its_access_token(client, db):
    tokens = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    other = login(client, "admin", ADMIN_PASSWORD)
    answer = client.post("/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert answer.status_code == 200 and answer.json() == {
        "message": "Logged out: this session's access and refresh tokens no longer work."}
    assert client.get("/v1/customers/total", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert client.post("/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.get("/v1/customers/total", headers=other).status_code == 200  # another session goes on


def test_missing_expired_and_forged_tokens_are_401(client, db, settings):
    assert client.get("/v1/services").status_code == 401
    assert client.get("/v1/services", headers=bearer("not-a-token")).status_code == 401
    token = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
    claims = jwt.decode(token, settings.token_key(), algorithms=["HS256"]) | {
        "iat": int(time.time()) - 120, "exp": int(time.time()) - 60}
    expired = client.get("/v1/services", headers=bearer(jwt.encode(claims, settings.token_key(), "HS256")))
    assert expired.status_code == 401 and "expired" in expired.json()["error"]
    forged = jwt.encode({**claims, "exp": int(time.time()) + 600}, "some other key of enough length!!", "HS256")
    assert client.get("/v1/services", headers=bearer(forged)).status_code == 401


@pytest.mark.parametrize("change", ["password", "role", "deactivate", "end_sessions"])
def test_a_token_stops_working_at_once_when_the_user_changes(client, db, change):
    add_user(db, "ana.analyst", "analyst")
    tokens = client.post("/v1/auth/login", json={"username": "ana.analyst", "password": PASSWORD}).json()
    access, refresh = bearer(tokens["access_token"]), bearer(tokens["refresh_token"])
    assert client.get("/v1/services/total", headers=access).status_code == 200
    with db.begin() as conn:
        if change == "password":
            accounts.reset_password(conn, actor=accounts.CLI_ACTOR, username="ana.analyst",
                                    password="another long passphrase", rounds=4)
        elif change == "role":
            accounts.set_role(conn, actor=accounts.CLI_ACTOR, username="ana.analyst", role="viewer")
        elif change == "deactivate":
            accounts.set_active(conn, actor=accounts.CLI_ACTOR, username="ana.analyst", active=False)
        else:
            accounts.end_sessions(conn, actor=accounts.CLI_ACTOR, username="ana.analyst")
    assert client.get("/v1/services/total", headers=access).status_code == 401
    assert client.post("/v1/auth/refresh", headers=refresh).status_code == 401


def test_api_keys_act_with_their_role_until_revoked(client, db):
    with db.begin() as conn:
        key, plain = accounts.create_api_key(conn, actor=accounts.CLI_ACTOR, name="field app", role="analyst")
    headers = bearer(plain)
    created = client.post("/v1/services", json={"angel": "A", "polo": "P", "data_limite": "2022-03-10",
                                                "id_cliente": 7}, headers=headers)
    assert created.status_code == 201
    assert client.delete(f"/v1/services/{created.json()['id']}", headers=headers).status_code == 403
    with db.begin() as conn:
        assert [k.last_used_at is not None for k in accounts.list_api_keys(conn)] == [True]
        accounts.revoke_api_key(conn, actor=accounts.CLI_ACTOR, id=key.id)
    revoked = client.get("/v1/services/total", headers=headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]
    assert client.get("/v1/services/total", headers=bearer("lgk_made-up")).status_code == 401


def test_register_only_with_signup_on_creates_a_viewer(client, db, api_settings):
    body = {"username": "new.viewer", "email": "new@example.com", "password": "a long passphrase"}
    assert client.post("/v1/auth/register", json=body).status_code == 403
    api_settings(allow_signup=True)
    created = client.post("/v1/auth/register", json=body)
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("username", "email", "role")} == {
        "username": "new.viewer", "email": "new@example.com", "role": "viewer"}
    assert client.post("/v1/auth/register", json=body).status_code == 409
    short = client.post("/v1/auth/register", json={**body, "username": "other", "password": "123123"})
    assert short.status_code == 422 and "at least 8 characters" in short.json()["error"]
    viewer = login(client, "new.viewer", "a long passphrase")
    assert client.post("/v1/services", json={"angel": "A", "polo": "P", "data_limite": "2022-03-10",
                                             "id_cliente": 1}, headers=viewer).status_code == 403


# (method, path, least role, body) for every route that needs a token.
ROUTES = [
    ("GET", "/v1/customers", "viewer", None),
    ("GET", "/v1/customers/total", "viewer", None),
    ("GET", "/v1/customers/1", "viewer", None),
    ("POST", "/v1/customers", "analyst", {"nome": "X"}),
    ("PUT", "/v1/customers/1", "analyst", {"nome": "Y"}),
    ("DELETE", "/v1/customers/1", "admin", None),
    ("GET", "/v1/services", "viewer", None),
    ("GET", "/v1/services/total", "viewer", None),
    ("GET", "/v1/services/1", "viewer", None),
    ("POST", "/v1/services", "analyst", {"angel": "A", "polo": "P", "data_limite": "2022-03-10", "id_cliente": 1}),
    ("PUT", "/v1/services/1", "analyst", {"polo": "Q"}),
    ("DELETE", "/v1/services/1", "admin", None),
    ("GET", "/v1/indicators/sla/polo", "viewer", None),
    ("GET", "/v1/indicators/sla/angel", "viewer", None),
    ("GET", "/v1/indicators/productivity", "viewer", None),
    ("GET", "/v1/jobs/1", "analyst", None),
    ("GET", "/v1/jobs/1/rejects", "analyst", None),
    ("GET", "/v1/metrics", "admin", None),
]
RANK = {"viewer": 0, "analyst": 1, "admin": 2}


def test_the_role_matrix_on_every_route(client, db, admin, analyst, viewer):
    headers = {"viewer": viewer, "analyst": analyst, "admin": admin}
    seen = []
    for method, path, least, body in ROUTES:
        assert client.request(method, path, json=body).status_code == 401, (method, path)
        for role in ("viewer", "analyst", "admin"):
            status = client.request(method, path, json=body, headers=headers[role]).status_code
            allowed = RANK[role] >= RANK[least]
            seen.append((method, path, role, status))
            assert (status != 403) == allowed and status not in (401, 500), (method, path, role, status)
    assert len(seen) == 3 * len(ROUTES)


def test_one_client_looping_on_admin_is_throttled_and_cannot_lock_it(client, db, settings):
    for _ in range(settings.login_max_failures - 1):
        assert client.post("/v1/auth/login", json={"username": "admin", "password": "guess guess"}).status_code == 401
    refused = client.post("/v1/auth/login", json={"username": "admin", "password": "guess guess"})
    assert refused.status_code == 429 and "Too many attempts" in refused.json()["error"]
    assert int(refused.headers["Retry-After"]) > 0
    other = TestClient(client.app, raise_server_exceptions=False, client=("198.51.100.7", 50000))
    assert other.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200


def test_failed_logins_per_address_are_throttled_whatever_the_username(client, db, settings):
    for i in range(settings.login_attempts_per_minute):
        answer = client.post("/v1/auth/login", json={"username": f"user{i}", "password": "guess guess"})
        assert answer.status_code == 401
    assert client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 429


def test_registration_is_throttled_per_address_and_follows_the_rules(client, db, settings, api_settings):
    api_settings(allow_signup=True)
    bad = client.post("/v1/auth/register", json={"username": "![x](https://e.example/a.png)", "password": "long enough pass"})
    assert bad.status_code == 422 and "3-32 characters" in bad.json()["error"]
    common = client.post("/v1/auth/register", json={"username": "newbie", "password": "password123"})
    assert common.status_code == 422 and "too common" in common.json()["error"]
    reserved = client.post("/v1/auth/register", json={"username": "cli", "password": "long enough pass"})
    assert reserved.status_code == 422 and "reserved" in reserved.json()["error"]
    for i in range(settings.login_attempts_per_minute - 3):
        assert client.post("/v1/auth/register", json={"username": f"new{i}", "password": "long enough pass"}).status_code == 201
    refused = client.post("/v1/auth/register", json={"username": "one.more", "password": "long enough pass"})
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_ten_wrong_logins_at_once_from_one_address_meet_the_throttle_and_do_not_lock(client, db, settings):
    start = threading.Barrier(10)

    def attempt(_):
        start.wait(10)
        return client.post("/v1/auth/login", json={"username": "admin", "password": "not the password"}).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(attempt, range(10)))
    budget = settings.login_max_failures - 1
    assert statuses == [401] * budget + [429] * (10 - budget)
    with db.connect() as conn:
        admin = accounts.get_user(conn, username="admin")
    assert (admin.failed_logins, admin.locked_until) == (budget, None)  # docs/security.md's promise
    other = TestClient(client.app, raise_server_exceptions=False, client=("198.51.100.7", 50000))
    assert other.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200


def test_a_generated_password_gets_no_tokens_until_changed_through_the_api(client, db):
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM users"))
        generated = accounts.ensure_admin(conn, settings=dataclasses.replace(deps.settings(), admin_password=None))
    refused = client.post("/v1/auth/login", json={"username": "admin", "password": generated})
    assert refused.status_code == 403
    assert refused.json()["error"].startswith("This account's password was generated on the first start: "
                                              "choose your own first (POST /v1/auth/password")
    same = client.post("/v1/auth/password", json={"username": "admin", "password": generated,
                                                  "new_password": generated})
    assert same.status_code == 422 and "must differ" in same.json()["error"]
    changed = client.post("/v1/auth/password", json={"username": "admin", "password": generated,
                                                     "new_password": "my own long passphrase"})
    assert changed.status_code == 200 and changed.json()["user"]["username"] == "admin"
    assert client.get("/v1/metrics", headers=bearer(changed.json()["access_token"])).status_code == 200
    assert client.post("/v1/auth/login", json={"username": "admin", "password": generated}).status_code == 401
    assert login(client, "admin", "my own long passphrase")


def test_changing_a_password_ends_the_old_tokens_and_a_wrong_current_one_is_throttled(client, db, settings):
    old = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    body = {"username": "admin", "password": "a wrong guess", "new_password": "a brand new passphrase"}
    for _ in range(settings.login_max_failures - 1):
        wrong = client.post("/v1/auth/password", json=body)
        assert wrong.status_code == 401 and "current password is not right" in wrong.json()["error"]
    assert client.post("/v1/auth/password", json={**body, "password": ADMIN_PASSWORD}).status_code == 429
    other = TestClient(client.app, raise_server_exceptions=False, client=("198.51.100.8", 50000))
    assert other.post("/v1/auth/password", json={**body, "password": ADMIN_PASSWORD}).status_code == 200
    assert client.get("/v1/customers/total", headers=bearer(old["access_token"])).status_code == 401
    assert client.post("/v1/auth/refresh", headers=bearer(old["refresh_token"])).status_code == 401


@pytest.mark.parametrize("route, body, message", [
    ("/v1/auth/login", {"username": "u" * 33, "password": "x"}, "username: String should have at most 32 characters"),
    ("/v1/auth/login", {"username": "admin", "password": "p" * 73}, "password: String should have at most 72 characters"),
    ("/v1/auth/login", {"username": "admin", "password": "é" * 37}, "The password must be at most 72 bytes long."),
    ("/v1/auth/password", {"username": "admin", "password": ADMIN_PASSWORD, "new_password": "n" * 73},
     "new_password: String should have at most 72 characters"),
    ("/v1/auth/register", {"username": "newbie", "password": "long enough pass", "email": "e" * 250 + "@x.com"},
     "email: The value is too long: 256 characters, at most 254."),
])
def test_every_auth_field_has_a_length_limit(client, db, api_settings, route, body, message):
    api_settings(allow_signup=True)
    answer = client.post(route, json=body)
    assert answer.status_code == 422 and message in answer.json()["error"]
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM login_attempts")) == 0  # nothing counted
