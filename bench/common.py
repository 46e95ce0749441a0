"""What the benchmarks share: their own database, never the app's."""
from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from core.db import _embedded_url, migrate, normalise_url

ROOT = Path(__file__).resolve().parents[1]


def bench_engine(name: str) -> sa.Engine:
    """BENCH_DATABASE_URL, or an embedded server in .data/<name>; schema migrated."""
    url = os.environ.get("BENCH_DATABASE_URL")
    url = normalise_url(url) if url else _embedded_url(ROOT / ".data" / name)
    engine = sa.create_engine(url)
    migrate(engine)
    return engine
