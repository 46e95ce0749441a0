"""What every entry point does before serving: reach the database, migrate, seed the first admin."""
from __future__ import annotations

import sys

from sqlalchemy.engine import Engine

from core import accounts
from core.config import Settings, load_settings
from core.db import get_engine


def prestart(settings: Settings | None = None) -> Engine:
    """Engine with the schema current and an admin present.

    When the first admin's password was generated, it is printed once to stderr (never logged).
    """
    settings = settings or load_settings()
    engine = get_engine(settings)
    with engine.begin() as conn:
        generated = accounts.ensure_admin(conn, settings=settings)
    if generated:
        print(f"\n  First start: created admin user {settings.admin_username!r} with password: "
              f"{generated}\n  Keep it now; it is not shown again (reset it with "
              f"`python -m core users passwd {settings.admin_username}`).\n", file=sys.stderr, flush=True)
    return engine
