"""Two transactions at once, deterministically: a writer in another thread, and a wait that polls
pg_stat_activity until that writer waits for a lock (never a fixed sleep)."""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa


def wait_until_blocked(engine, timeout: float = 10.0) -> None:
    """Return once some session waits for a lock (the concurrent writer under test)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")):
                return
            conn.rollback()
            time.sleep(0.02)
    raise AssertionError("no session waited for a lock")


class Blocked:
    """`write(conn)` in its own transaction on another thread, started while the caller's
    transaction holds its locks: `waiting()` says it waits for a lock and has not finished,
    `finish()` waits for it once the caller has committed and returns what it returned (or raises
    its error)."""

    def __init__(self, db, write):
        self.db, self.done, self.result, self.error = db, threading.Event(), None, None

        def run():
            try:
                with db.begin() as other:
                    other.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
                    self.result = write(other)
            except Exception as exc:  # raised again by finish()
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def waiting(self) -> bool:
        wait_until_blocked(self.db)
        return not self.done.is_set()

    def finish(self):
        self.thread.join(30)
        assert self.done.is_set(), "still waiting after 30 s"
        if self.error:
            raise self.error
        return self.result
