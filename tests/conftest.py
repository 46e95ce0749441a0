"""Test fixtures over a real PostgreSQL.

One throwaway embedded server per test session (or TEST_DATABASE_URL when given); every test starts
from empty tables (`db` fixture). The environment is set before core reads it, so pages run by
AppTest and CLI calls in tests use the same database.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "admin-test-pass"

# Tables whose rows belong to one test; everything except the schema bookkeeping (the data version
# never goes back, or a dashboard would serve an earlier test's cached answers).
_KEEP = {"schema_migrations", "schema_definitions", "data_state", "data_state_shards"}


def _start_database(tmp: Path) -> str:
    from core.db import embedded_url

    return embedded_url(tmp)


@pytest.fixture(scope="session")
def test_env():
    """Environment for the whole session: database URL, data dir, fast hashes, known admin."""
    tmp = Path(tempfile.mkdtemp(prefix="logistics-test-"))
    url = os.environ.get("TEST_DATABASE_URL") or _start_database(tmp)
    env = {
        "DATABASE_URL": url,
        "LOGISTICS_DATA_DIR": str(tmp / "data"),
        "AUTH_COOKIE_KEY": "test-cookie-key-0123456789abcdef",
        "API_TOKEN_KEY": "test-api-token-key-0123456789abcdef0123",
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PASSWORD_HASH_ROUNDS": "4",
        "ALLOW_SIGNUP": "false",
        "LANGUAGE": "en",  # the tests read English labels; tests/pages/test_i18n.py reads Portuguese
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    from core import telemetry
    from core.db import dispose_engines, stop_embedded_servers

    telemetry.stop_persisting_timings()  # CLI tests switch it on; the server is about to stop
    loading = sys.modules.get("core.loading")
    if loading is not None:
        loading.stop_spool_cleaners()  # the dashboard's and the API's
    dispose_engines()
    stop_embedded_servers()  # the throwaway server (this process is its only user)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(test_env):
    from core.config import load_settings

    return load_settings()


@pytest.fixture(scope="session")
def engine(settings):
    from core.db import get_engine

    return get_engine(settings)


def wait_for_loads(engine, timeout: float = 60.0) -> list:
    """Wait until the loads this process runs in background threads (core.loading.start_in_background:
    an API batch POST, the Upload page) have ended; the jobs then, newest first (core.loading.LoadJob).
    The one wait for a load in the tests; also before emptying the tables, since emptying them under a
    running merge deadlocks (seen)."""
    from core import loading

    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("load-job-"):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"{thread.name} still running after {timeout} s"
    with engine.connect() as conn:
        return loading.list_jobs(conn)


def reset_database(engine) -> None:
    """Empty every data table and reseed the admin: each test starts from a known state."""
    from core import accounts
    from core.config import load_settings

    wait_for_loads(engine)
    with engine.begin() as conn:
        tables = [t for t in conn.scalars(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) if t not in _KEEP]
        # A load's staging table left by a test (a failed or unfinished load) is dropped: job ids
        # restart at 1, and an empty load_stage_1 would pass for the next job 1's own, whatever
        # its kind (seen once: a services load copying into a customers-shaped stage).
        stages = [t for t in tables if t.startswith("load_stage_")]
        for stage in stages:
            conn.execute(sa.text(f'DROP TABLE "{stage}"'))
        tables = [t for t in tables if t not in stages]
        if tables:
            # Triggers off while emptying (rollup triggers would truncate tables already listed);
            # then bump the data version so a running dashboard drops its cached answers.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                 + " RESTART IDENTITY CASCADE"))
            conn.execute(sa.text("SET LOCAL session_replication_role = origin"))
        conn.execute(sa.text("UPDATE data_state SET version = version + 1"))
        accounts.ensure_admin(conn, settings=load_settings())


@pytest.fixture
def db(engine):
    """A clean database (only the admin user exists, no client throttled); yields the engine."""
    reset_database(engine)
    yield engine


@pytest.fixture
def conn(db):
    """A connection in a transaction, committed at the end of the test."""
    with db.begin() as connection:
        yield connection


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
