"""Structured logs (one JSON object per line) and operation timings.

`with timed("indicators.sla_by_polo", rows=...)` logs the operation's name, duration and fields.

The dashboard and every CLI run are separate processes, so timings reach the monitoring page
through the database: a process that calls `persist_timings(settings, source=...)` buffers each
timing (name, duration, outcome, rows: never the other fields) and writes the buffer to the table
`operation_timings` in one batch every few seconds and at exit; rows older than KEEP_DAYS are
pruned. Writing timings must never break the work being timed: a failed flush drops its batch
and logs a warning.
Never pass personal data (names, emails, phones) or secrets as fields.
"""
from __future__ import annotations

import atexit
import json
import logging
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

BUFFER_SIZE = 20_000  # timings waiting to be written; the oldest are dropped beyond this
FLUSH_SECONDS = 10.0
KEEP_DAYS = 7  # operation_timings rows older than this are pruned
_PRUNE_SECONDS = 3600.0
# Control-flow exceptions of Streamlit (st.stop, st.rerun) end a page run without an error.
_OUTCOMES = {"StopException": "stopped", "RerunException": "rerun"}

_lock = threading.Lock()
_handler: logging.Handler | None = None

_pending: deque[dict[str, Any]] = deque(maxlen=BUFFER_SIZE)
_persist: dict[str, Any] = {}  # settings, source, flusher thread, last prune; empty = not persisting
_flush_lock = threading.Lock()
_atexit_registered = False


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners and Streamlit swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Send the product's logs (loggers `core` and `dashboard`) as JSON lines to stderr (or stream).

    Safe to call on every script run: the handler is added once and the level updated; a given
    stream replaces the previous one.
    """
    global _handler
    with _lock:
        if _handler is None or stream is not None:
            old = _handler
            _handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
            _handler.setFormatter(JsonFormatter())
            for name in ("core", "dashboard"):
                if old is not None:
                    logging.getLogger(name).removeHandler(old)
        for name in ("core", "dashboard"):
            logger = logging.getLogger(name)
            logger.setLevel(level)
            if _handler not in logger.handlers:
                logger.addHandler(_handler)
            logger.propagate = False


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log msg with fields as one JSON line (no personal data or secrets in fields)."""
    logger.log(level, msg, extra={"fields": fields})


@contextmanager
def timed(name: str, logger: logging.Logger | None = None, **fields: Any) -> Iterator[dict[str, Any]]:
    """Time a block; log `name`, `duration_ms`, `outcome` and fields. Yields the fields dict so the
    block can add results (e.g. `info["rows"] = n`)."""
    start = time.perf_counter()
    outcome = "ok"
    try:
        yield fields
    except BaseException as exc:
        outcome = _OUTCOMES.get(type(exc).__name__, type(exc).__name__)
        raise
    finally:
        record_timing(name, time.perf_counter() - start, outcome=outcome, logger=logger, **fields)


def record_timing(name: str, seconds: float, *, outcome: str = "ok", logger: logging.Logger | None = None,
                  **fields: Any) -> None:
    """Keep and log one timing measured by the caller (what `timed` does when its block ends)."""
    with _lock:
        if "source" in _persist:
            rows = fields.get("rows")
            _pending.append({"at": datetime.now(timezone.utc), "operation": name,
                             "duration_ms": seconds * 1000, "outcome": outcome,
                             "rows": rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
                             "source": _persist["source"]})
    log_event(logger or logging.getLogger("core.ops"), name, op=name, duration_ms=round(seconds * 1000, 2),
              outcome=outcome, **fields)


# --- timings shared between processes (table operation_timings, see 0005_operations.sql) -------

def persist_timings(settings, *, source: str, background: bool = True, engine=None) -> None:
    """From now on, keep this process's timings in operation_timings (idempotent).

    `source` says which kind of process wrote them (dashboard, cli). With `background`, a daemon
    thread flushes every FLUSH_SECONDS; in any case the buffer is flushed at exit. `engine` (else
    the process engine of `settings`, looked up at each flush) is where they are written.
    """
    global _atexit_registered
    with _lock:
        _persist.update(settings=settings, source=source, engine=engine)
        _persist.setdefault("pruned_at", None)
        start_thread = background and _persist.get("thread") is None
        if start_thread:
            _persist["thread"] = threading.Thread(target=_flush_forever, name="timings-flush", daemon=True)
        register = not _atexit_registered
        _atexit_registered = True
    if register:
        atexit.register(flush_timings)
    if start_thread:
        _persist["thread"].start()


def stop_persisting_timings() -> None:
    """Stop buffering timings and drop the buffered ones (tests). A flusher thread then idles."""
    with _lock:
        thread = _persist.get("thread")
        _persist.clear()
        if thread is not None:
            _persist["thread"] = thread
        _pending.clear()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush_timings()


def pending_timings() -> int:
    """How many timings wait to be written."""
    with _lock:
        return len(_pending)


def flush_timings(engine=None) -> int:
    """Write the buffered timings in one batch (pruning old rows hourly); return how many.

    Uses `engine`, or the process engine of the settings given to persist_timings. Never raises.
    """
    import sqlalchemy as sa

    with _flush_lock:
        with _lock:
            settings = _persist.get("settings")
            engine = engine or _persist.get("engine")
            if settings is None and engine is None:
                return 0
            batch = list(_pending)
            _pending.clear()
            pruned_at = _persist.get("pruned_at")
            prune = pruned_at is None or time.monotonic() - pruned_at > _PRUNE_SECONDS
        if not batch:  # pruning rides on a write, so an idle process never touches the database
            return 0
        try:
            if engine is None:
                from core.db import get_engine  # lazily: most callers of timed() never persist

                engine = get_engine(settings, migrate_schema=False)  # flushing never migrates
            with engine.begin() as conn:
                if batch:
                    conn.execute(sa.text(
                        "INSERT INTO operation_timings (at, operation, duration_ms, outcome, rows, source) "
                        "VALUES (:at, :operation, :duration_ms, :outcome, :rows, :source)"), batch)
                if prune:
                    conn.execute(sa.text("DELETE FROM operation_timings "
                                         "WHERE at < now() - make_interval(days => :d)"), {"d": KEEP_DAYS})
        except Exception as exc:  # timings are best effort: never fail the caller over them
            log_event(logging.getLogger("core.telemetry"), "timings not saved", logging.WARNING,
                      dropped=len(batch), error=type(exc).__name__)
            return 0
        if prune:
            with _lock:
                if "source" in _persist:
                    _persist["pruned_at"] = time.monotonic()
        return len(batch)
