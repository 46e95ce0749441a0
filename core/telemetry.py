"""Structured logs (one JSON object per line) and operation timings.

`with timed("indicators.sla_by_polo", rows=...)` logs the operation's name, duration and fields,
and keeps the duration in a per-process ring so the monitoring page can show p50/p95.
Never pass personal data (names, emails, phones) or secrets as fields.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

RING_SIZE = 500  # recent durations kept per operation

_lock = threading.Lock()
_durations: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=RING_SIZE))
_configured = False


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


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Send the product's logs (logger `core` and `dashboard`) as JSON lines to stderr, once."""
    global _configured
    with _lock:
        for name in ("core", "dashboard"):
            logger = logging.getLogger(name)
            logger.setLevel(level)
            if not _configured:
                handler = logging.StreamHandler(stream or sys.stderr)
                handler.setFormatter(JsonFormatter())
                logger.addHandler(handler)
                logger.propagate = False
        _configured = True


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})


@contextmanager
def timed(name: str, logger: logging.Logger | None = None, **fields: Any) -> Iterator[dict[str, Any]]:
    """Time a block; log `name`, `duration_ms`, `outcome` and fields. Yields the fields dict so the
    block can add results (e.g. `info["rows"] = n`)."""
    logger = logger or logging.getLogger("core.ops")
    start = time.perf_counter()
    outcome = "ok"
    try:
        yield fields
    except BaseException as exc:
        outcome = type(exc).__name__
        raise
    finally:
        duration = time.perf_counter() - start
        with _lock:
            _durations[name].append(duration)
        log_event(logger, name, op=name, duration_ms=round(duration * 1000, 2), outcome=outcome, **fields)


def recent_timings() -> dict[str, list[float]]:
    """Recent durations (seconds) per operation in this process, oldest first."""
    with _lock:
        return {name: list(values) for name, values in _durations.items()}
