"""Tokens, refresh, revocation, API keys, registration and the role matrix on every route."""
from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient

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


def test_refresh_takes_the_refresh_token_as_bearer(client, db):
    tokens = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    fresh = client.post("/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert fresh.status_code == 200
    assert client.get("/v1/customers/total", headers=bearer(fresh.json()["access_token"])).status_code == 200
    assert client.post("/v1/auth/refresh", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.get("/v1/customers/total", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_missing_expired_and_forged_tokens_are_401(client, db, settings):
    assert client.get("/v1/services").status_code == 401
    assert client.get("/v1/services", headers=bearer("not-a-token")).status_code == 401
    user = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["user"]
    claims = {"sub": "admin", "uid": user["id"], "epoch": 0, "typ": "access", "jti": "test", "iat": int(time.time()) - 120,
              "exp": int(time.time()) - 60}
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
