"""A load job as everyone reads it: its row of load_jobs (`LoadJob`), its speed and progress, and the
steps of its merge (`Steps`, `WRITING_STEPS`). The parts of a load (files, staging, merge, bulk) and
the orchestrator (core.loading.jobs) import it; it imports none of them.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, NamedTuple

from core.messages import N_, Count, Text

JOB_STATUSES = ("queued", "running", "done", "failed", "interrupted")  # load_jobs.status (migration 0002)

STAGING_SHARE = 0.2   # of the progress bar: reading and parsing is 10-50% of a load's time
# The merge's steps as the progress bar names them, with the share of the writing phase done when
# each starts (measured with bench/load.py on 1M lines: first load, reload, customers file). The
# stored share only grows, so a step met in another order never moves the bar back.
WRITING_STEPS = {
    "duplicates": (N_("looking for repeated ids"), 0.0),
    "stub_customers": (N_("creating stub customers"), 0.02),
    "emails": (N_("checking emails"), 0.04),
    "upsert": (N_("writing the rows"), 0.15),
    "compare": (N_("comparing with the database"), 0.25),
    "rewrite": (N_("rewriting the customers table"), 0.26),
    "rebuild_services_indexes": (N_("building the record indexes"), 0.27),
    "rebuild_rollups": (N_("rebuilding the indicator rollups"), 0.7),
    "foreign_keys_to_customers": (N_("checking customer references"), 0.9),
}


class Steps(dict):
    """Seconds per merge step; `announce(name)` is told when a step of WRITING_STEPS starts."""

    def __init__(self, announce: Callable[[str], None] | None = None):
        super().__init__()
        self.announce = announce

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.announce and name in WRITING_STEPS:
            self.announce(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - start, 3)


# --- the job as read back --------------------------------------------------------------

class Speed(NamedTuple):
    """How fast a job goes: seconds so far (its whole time once done), lines read per second, and
    the seconds a running job has left (an estimate); None where not known yet."""
    seconds: float | None
    rows_per_second: float | None
    seconds_left: float | None


@dataclass(frozen=True)
class LoadJob:
    """A load job as read back (list_jobs, get_job): the row of load_jobs, with a running job whose
    heartbeat stopped shown as interrupted, and what a progress bar needs as properties."""
    id: int
    kind: str                     # services or customers
    file_name: str
    file_size: int
    source_path: str              # the spooled upload, or the CLI's own file
    owns_source: bool             # true: the spooled file is deleted when the job ends
    username: str
    status: str                   # queued, running, done, failed or interrupted
    phase: str | None             # while running: staging, then writing
    step: str | None              # while writing: the merge step, in plain words (WRITING_STEPS)
    writing_share: float | None   # share of the writing phase done, 0..1
    encoding: str                 # see core.loading.files.ENCODING_LABELS
    delimiter: str
    has_header: bool
    data_start: int               # byte offset of the first data line
    block_bytes: int              # bytes per staged block (fixed: a resume finds the same blocks)
    bytes_done: int
    rows_read: int
    inserted: int | None          # the figures, once done
    updated: int | None
    unchanged: int | None
    rejected: int
    duplicates: int | None
    stub_customers: int | None
    stubs_filled: int | None
    message: str | None           # why it failed
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    seconds: float | None         # of the whole load, once done
    rows_per_second: float | None
    fingerprint: str | None = None       # of the file and the loader (files.fingerprint), once read
    data_version_after: int | None = None  # the data version the job's commit left

    @property
    def active(self) -> bool:
        """Queued or running (an interrupted job is not: nothing works on it)."""
        return self.status in ("queued", "running")

    @property
    def progress(self) -> float:
        """Share of the job done, 0..1: reading the file (in bytes) is the first STAGING_SHARE, the
        merge's steps (WRITING_STEPS) the rest; 1 only once the job is done."""
        if self.status == "done":
            return 1.0
        if not self.file_size:
            return 0.0
        if self.phase == "writing":
            return min(STAGING_SHARE + (1 - STAGING_SHARE) * (self.writing_share or 0.0), 0.99)
        return STAGING_SHARE * min(self.bytes_done / self.file_size, 1.0)

    @property
    def doing(self) -> str:
        """What the job is doing, in plain English words (the CLI's progress bar, the API)."""
        return str(self.activity)

    @property
    def activity(self) -> Text:
        """What the job is doing, as a Text (the progress bars of Upload and Monitoring say it in the
        user's language)."""
        if self.status == "done":
            return Text(N_("done"))
        if self.phase == "writing":
            return (Text(N_("writing to the database: {step}"), step=Text(self.step)) if self.step
                    else Text(N_("writing to the database")))
        return Text(N_("{n} lines read"), n=Count(self.rows_read))

    @property
    def speed(self) -> Speed:
        """Speed as of now (see speed_at)."""
        return self.speed_at(datetime.now(timezone.utc))

    def speed_at(self, now: datetime) -> Speed:
        """Seconds, lines per second and, while running, seconds left, as of `now`. A job that
        stopped (failed, interrupted) is timed to its end or its last heartbeat."""
        if self.status == "done":
            return Speed(self.seconds, self.rows_per_second, 0.0)
        if self.started_at is None:
            return Speed(None, None, None)
        end = self.finished_at or (now if self.active else self.heartbeat_at or now)
        elapsed = (end - self.started_at).total_seconds()
        rate = self.rows_read / elapsed if elapsed > 0 and self.rows_read else None
        share = self.progress
        left = elapsed * (1 - share) / share if self.active and share > 0 else None
        return Speed(elapsed, rate, left)
