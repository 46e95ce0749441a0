"""What the benchmarks share: their own database, never the app's."""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from core.db import embedded_url, migrate, normalise_url

ROOT = Path(__file__).resolve().parents[1]


def bench_engine(name: str) -> sa.Engine:
    """BENCH_DATABASE_URL, or an embedded server in .data/<name>; schema migrated."""
    url = os.environ.get("BENCH_DATABASE_URL")
    url = normalise_url(url) if url else embedded_url(ROOT / ".data" / name)
    engine = sa.create_engine(url)
    migrate(engine)
    return engine


def load_full_demo(engine: sa.Engine, name: str, *, dates=None, rows: int | None = None) -> str:
    """Empty the bench database `name`, write the full demo files (seed 42; `rows` services, the
    real export's 1,048,575 by default; by default the historical deadlines 2021-06-30..2022-06-03,
    so the figures stay comparable between runs and days; `dates`: other core.demo.DemoDates, e.g. a
    live day) and load them with core.loading, as `python -m core demo --historical` + `load` would;
    returns a one-line report."""
    from core import demo, loading
    from core.accounts import CLI_ACTOR
    from core.config import load_settings

    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE services, customers CASCADE"))
    settings = dataclasses.replace(load_settings(), data_dir=ROOT / ".data" / name)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        files = demo.write_demo(tmp, rows=rows or demo.FULL_ROWS, seed=42, dates=dates or demo.HISTORICAL)
        written = time.perf_counter() - started
        started = time.perf_counter()
        loading.load_file(engine, path=files.services, kind="services", actor=CLI_ACTOR, settings=settings)
        loading.load_file(engine, path=files.customers, kind="customers", actor=CLI_ACTOR, settings=settings)
        loaded = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE services"))
        conn.execute(sa.text("VACUUM ANALYZE customers"))
    return f"demo files written in {written:.1f} s, loaded in {loaded:.1f} s"


def bench_user(engine: sa.Engine, username: str, role: str) -> str:
    """A user of the bench database with a fresh password (created, or its password reset and its
    language the default): returns the password."""
    import secrets

    from core import accounts

    password = secrets.token_urlsafe(18)
    with engine.begin() as conn:
        user = accounts.get_user(conn, username=username)
        if user is None:
            accounts.create_user(conn, actor=accounts.CLI_ACTOR, username=username, password=password, role=role,
                                 rounds=4)
        else:
            accounts.reset_password(conn, actor=accounts.CLI_ACTOR, username=username, password=password, rounds=4)
            if user.role != role:
                accounts.set_role(conn, actor=accounts.CLI_ACTOR, username=username, role=role)
            accounts.set_language(conn, actor=accounts.Actor(username, role), language=None)
    return password
