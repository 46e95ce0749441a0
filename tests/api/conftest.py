"""The API under FastAPI's TestClient, over the tests' real PostgreSQL (see tests/conftest.py)."""
from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD

PASSWORD = "a long test passphrase"


@pytest.fixture(scope="session")
def client(test_env, engine):
    from api.main import app

    with TestClient(app, raise_server_exceptions=False) as c:  # lifespan: migrate, persist timings
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict:
    answer = client.post("/v1/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def add_user(engine, username: str, role: str, password: str = PASSWORD) -> None:
    from core import accounts

    with engine.begin() as conn:
        accounts.create_user(conn, actor=accounts.CLI_ACTOR, username=username, password=password, role=role,
                             rounds=4)


@pytest.fixture
def admin(client, db) -> dict:
    return login(client, "admin", ADMIN_PASSWORD)


@pytest.fixture
def analyst(client, db) -> dict:
    add_user(db, "ana.analyst", "analyst")
    return login(client, "ana.analyst")


@pytest.fixture
def viewer(client, db) -> dict:
    add_user(db, "vic.viewer", "viewer")
    return login(client, "vic.viewer")


@pytest.fixture
def api_settings(monkeypatch):
    """Change the API's settings for one test: api_settings(allow_signup=True)."""
    from api import deps

    real = deps.settings()

    def change(**values):
        changed = dataclasses.replace(real, **values)
        monkeypatch.setattr(deps, "settings", lambda: changed)
        return changed

    return change
