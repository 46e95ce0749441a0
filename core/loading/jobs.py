"""The life of a load job (table load_jobs): accept a file, run, resume, heartbeat, progress, report.

`accept_file` is the one way a file comes in (the Upload page, the API's batch routes, the CLI through
`load_file`): inspected, recorded as a queued job (`create_job`), started. `run_job` stages it (core.loading.staging)
and merges it (core.loading.merge) in one transaction with the job's figures and the audit row, so
a job is either done or not loaded. A job cut short keeps its staged blocks and resumes from them.
While it runs, the job row says how far it is (bytes read, then the merge's step), for the Upload
page, Monitoring and the CLI's progress bar, in any process.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core import audit, exports
from core.accounts import Actor, require
from core.config import Settings
from core.db import data_version, plain_error
from core.messages import N_, Text
from core.loading import bulk, merge, staging
from core.loading.job import WRITING_STEPS, LoadJob, Steps
from core.loading.files import ENCODING_LABELS, FileInfo, LoadError, display_name, fingerprint, inspect_file
from core.telemetry import timed

log = logging.getLogger(__name__)

STALE_SECONDS = 20      # a running job without a heartbeat for this long is interrupted
HEARTBEAT_SECONDS = 2
REJECTS_SAMPLE = 20     # rejected lines in a report
_JOB_LOCK = 724_150_003  # advisory lock (this, job id): one runner per job
# Why a load failed, as load_jobs.message keeps it (English); the dashboard reads the message back
# with these (core.messages.Text.read) to show it in the user's language.
FILE_GONE = N_("The file of this load is no longer on the server; load it again.")
STOPPED = N_("The load stopped: {error}")
JOB_MESSAGES = (FILE_GONE, STOPPED)


class LoadNotFound(LoadError):
    """There is no load with this id."""

    http_status = 404

    def __init__(self, job_id: int):
        super().__init__(N_("There is no load {id}."), id=job_id)


@dataclass
class LoadReport:
    """The outcome of a load: inserted + updated + unchanged + rejected = rows."""
    job_id: int
    kind: str
    file_name: str
    status: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    stub_customers: int = 0
    stubs_filled: int = 0
    seconds: float = 0.0
    rows_per_second: float = 0.0
    encoding: str = ""
    delimiter: str = ""
    has_header: bool = False
    message: str | None = None
    rejects: list[dict] = field(default_factory=list)  # a sample: line, reason, raw
    timings: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


# --- reading jobs ----------------------------------------------------------------------------

# The status read back: a queued or running job whose heartbeat stopped is interrupted (its
# process died); every reader of jobs goes through this.
_STATUS = """CASE WHEN status IN ('queued', 'running')
                  AND coalesce(heartbeat_at, created_at) < now() - make_interval(secs => :stale)
             THEN 'interrupted' ELSE status END AS status"""
_JOB_COLUMNS = ", ".join(_STATUS if f.name == "status" else f.name for f in fields(LoadJob))


def list_jobs(conn: Connection, *, limit: int = 50) -> list[LoadJob]:
    """Recent load jobs, newest first."""
    rows = conn.execute(sa.text(f"SELECT {_JOB_COLUMNS} FROM load_jobs ORDER BY id DESC LIMIT :limit"),
                        {"limit": limit, "stale": STALE_SECONDS}).mappings()
    return [LoadJob(**r) for r in rows]


def get_job(conn: Connection, *, job_id: int) -> LoadJob | None:
    """One job, or None."""
    row = conn.execute(sa.text(f"SELECT {_JOB_COLUMNS} FROM load_jobs WHERE id = :id"),
                       {"id": job_id, "stale": STALE_SECONDS}).mappings().first()
    return LoadJob(**row) if row else None


def job_rejects(conn: Connection, *, job_id: int, limit: int | None = None) -> list[dict]:
    """Rejected lines of a job in file order: line, reason, raw."""
    rows = conn.execute(sa.text("SELECT line_no AS line, reason, raw FROM load_rejects WHERE job_id = :id "
                                "ORDER BY line_no LIMIT :limit"), {"id": job_id, "limit": limit})
    return [dict(r) for r in rows.mappings()]


def rejects_csv(conn: Connection, *, job_id: int) -> str:
    """The job's rejected lines as CSV text (line;reason;raw), for download (core.exports: a raw line that
    starts like a formula is neutralised)."""
    return exports.csv_text(job_rejects(conn, job_id=job_id), ("line", "reason", "raw"), delimiter=";")


# --- running jobs ----------------------------------------------------------------------------

def create_job(conn: Connection, *, actor: Actor, info: FileInfo, file_name: str | None = None,
               owns_source: bool = False, settings: Settings) -> int:
    """Record a queued load of an inspected file; returns the job id. The name kept (`file_name`,
    else the file's own) is the upload's display_name: no path, no control characters, bounded."""
    require(actor, "analyst")
    block = max(int(settings.load_chunk_rows * info.avg_line_bytes), 64 * 1024)
    return conn.scalar(sa.text("""
        INSERT INTO load_jobs (kind, file_name, file_size, source_path, owns_source, username, encoding,
                               delimiter, has_header, data_start, block_bytes, heartbeat_at)
        VALUES (:kind, :name, :size, :path, :owns, :user, :enc, :delim, :header, :start, :block, now())
        RETURNING id"""), {
        "kind": info.kind, "name": display_name(file_name or info.path.name), "size": info.size,
        "path": str(info.path), "owns": owns_source, "user": actor.username, "enc": info.encoding,
        "delim": info.delimiter, "header": info.has_header, "start": info.data_start, "block": block})


class _Heartbeat(threading.Thread):
    """Stamps the job every few seconds while this process works on it (stale = interrupted)."""

    def __init__(self, engine: Engine, job_id: int):
        super().__init__(daemon=True, name=f"load-heartbeat-{job_id}")
        self.engine, self.job_id, self.done = engine, job_id, threading.Event()

    def run(self):
        while not self.done.wait(HEARTBEAT_SECONDS):
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.text("UPDATE load_jobs SET heartbeat_at = now() WHERE id = :id "
                                         "AND status = 'running'"), {"id": self.job_id})
            except Exception:  # a missed beat is harmless; the next one retries
                log.warning("heartbeat failed for job %s", self.job_id, exc_info=True)


def _announce(engine: Engine, job_id: int, step: str) -> None:
    """Publish the merge step a job starts (its own short transaction: the merge's is still open)."""
    label, share = WRITING_STEPS[step]
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("""
                UPDATE load_jobs SET step = :label, writing_share = greatest(coalesce(writing_share, 0), :share),
                       heartbeat_at = now()
                WHERE id = :id AND status = 'running'"""), {"id": job_id, "label": label, "share": share})
    except Exception:  # progress is only information; the load goes on
        log.warning("could not publish the step of job %s", job_id, exc_info=True)


def _report_progress(engine: Engine, job_id: int, on_progress: Callable[[LoadJob], None]) -> None:
    with engine.connect() as conn:
        on_progress(get_job(conn, job_id=job_id))


def _set(conn: Connection, job_id: int, *, now: tuple[str, ...] = (), **values) -> None:
    """Update the job's columns (names are ours, never user input); `now` columns get now()."""
    cols = [f"{k} = :{k}" for k in values] + [f"{k} = now()" for k in now]
    conn.execute(sa.text(f"UPDATE load_jobs SET {', '.join(cols)} WHERE id = :id"), {"id": job_id, **values})


def _finish(engine: Engine, job: LoadJob, started: float, steps: Steps, *, fingerprint: str,
            earlier: LoadJob | None = None) -> LoadReport | None:
    """Merge the staged rows in one transaction with the job's figures and the audit row; or, with
    `earlier`, record the figures of loading its file again (merge.merge_again), unless the data
    moved since (None)."""
    with engine.begin() as conn:
        if earlier is None:
            figures = merge.merge(conn, job=job, steps=steps)
        elif (figures := merge.merge_again(conn, job=job, earlier=earlier)) is None:
            return None
        rows = figures["rows"]
        seconds = time.perf_counter() - started
        stored = {k: v for k, v in figures.items() if k != "rows"}
        _set(conn, job.id, status="done", phase=None, step=None, now=("finished_at",), **stored,
             seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else None,
             rows_read=rows, bytes_done=job.file_size, fingerprint=fingerprint,
             data_version_after=data_version(conn))
        audit.record(conn, username=job.username, action="load", entity=job.kind, entity_id=job.id,
                     after={"file_name": job.file_name, **figures})
        staging.drop_stage(conn, job_id=job.id)
        sample = job_rejects(conn, job_id=job.id, limit=REJECTS_SAMPLE)
    # The commit (files written by the bulk paths reach the disk) is part of the load's time.
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        _set(conn, job.id, seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else None)
    return LoadReport(job_id=job.id, kind=job.kind, file_name=job.file_name, status="done",
                      seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else 0.0,
                      encoding=ENCODING_LABELS[job.encoding], delimiter=job.delimiter,
                      has_header=job.has_header, rejects=sample, **figures)


def _loaded_before(engine: Engine, job: LoadJob) -> LoadJob | None:
    """The done job that loaded this very file (same fingerprint) and whose commit left the data
    as it still is, if any. The file is only hashed when a done job of the same kind and size
    left the current data version."""
    with engine.connect() as conn:
        version = data_version(conn)
        candidates = conn.scalar(sa.text(
            "SELECT count(*) FROM load_jobs WHERE status = 'done' AND kind = :kind AND file_size = :size "
            "AND data_version_after = :version AND id <> :id"),
            {"kind": job.kind, "size": job.file_size, "version": version, "id": job.id})
        if not candidates:
            return None
        earlier = conn.scalar(sa.text(
            "SELECT id FROM load_jobs WHERE status = 'done' AND fingerprint = :f AND id <> :id "
            "AND data_version_after = :version ORDER BY id DESC LIMIT 1"),
            {"f": fingerprint(job), "id": job.id, "version": version})
        return get_job(conn, job_id=earlier) if earlier is not None else None


def run_job(engine: Engine, *, job_id: int, settings: Settings,
            on_progress: Callable[[LoadJob], None] | None = None) -> LoadReport:
    """Do (or finish) a queued, interrupted or failed job; returns its report.

    Safe to call again after a crash: chunks already staged are kept, the merge is all-or-nothing.
    Raises LoadError if the job is running elsewhere, done, or its file is gone.
    """
    on_progress = on_progress or (lambda job: None)
    with engine.connect() as lock_conn:
        got = lock_conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k, :id)"), {"k": _JOB_LOCK, "id": job_id})
        lock_conn.commit()
        if not got:
            raise LoadError(N_("Load {id} is already running."), id=job_id)
        try:
            return _run_locked(engine, job_id, settings, on_progress)
        finally:
            lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k, :id)"), {"k": _JOB_LOCK, "id": job_id})
            lock_conn.commit()


def _run_locked(engine: Engine, job_id: int, settings: Settings, on_progress) -> LoadReport:
    with engine.begin() as conn:
        job = get_job(conn, job_id=job_id)
        if job is None:
            raise LoadNotFound(job_id)
        if job.status == "done":
            raise LoadError(N_("Load {id} is already done."), id=job_id)
        gone = not Path(job.source_path).exists()
        if gone:  # recorded (committed) before the refusal, so the Upload page says why
            _set(conn, job_id, status="failed", message=FILE_GONE)
        else:
            _set(conn, job_id, status="running", phase="staging", step=None, writing_share=None, message=None,
                 now=("started_at", "heartbeat_at"))
    if gone:
        raise LoadError(N_("The file of load {id} ({file}) is no longer on the server."), id=job_id, file=job.file_name)
    heartbeat = _Heartbeat(engine, job_id)
    heartbeat.start()
    started = time.perf_counter()
    try:
        with timed("loading.load", kind=job.kind, job_id=job_id, size=job.file_size) as info:
            steps = Steps(announce=lambda name: _announce(engine, job_id, name))
            report = None
            with steps.step("same_file"):
                earlier = _loaded_before(engine, job)
            if earlier is not None:  # the same file, into data nothing has written to since
                staged_at = time.perf_counter()
                report = _finish(engine, job, started, steps, fingerprint=earlier.fingerprint, earlier=earlier)
            if report is None:
                with timed("loading.stage", kind=job.kind, job_id=job_id):
                    staging.prepare_stage(engine, job=job)
                    digest = staging.stage(engine, job=job, settings=settings,
                                           on_chunk=lambda: _report_progress(engine, job_id, on_progress))
                staged_at = time.perf_counter()
                with engine.begin() as conn:
                    _set(conn, job_id, phase="writing")
                    on_progress(get_job(conn, job_id=job_id))
                with timed("loading.merge", kind=job.kind, job_id=job_id):
                    report = _finish(engine, job, started, steps, fingerprint=digest)
            report.timings = {"staging": round(staged_at - started, 3),
                              "writing": round(time.perf_counter() - staged_at, 3), **steps}
            info.update(rows=report.rows, rejected=report.rejected)
    except BaseException as exc:
        # Shown on the Upload page: never the driver's text (the exception itself is raised on, and logged)
        message = str(exc) if isinstance(exc, LoadError) else str(Text(STOPPED, error=plain_error(exc)))
        with engine.begin() as conn:
            _set(conn, job_id, status="failed", phase=None, message=message[:2000], now=("finished_at",))
            bulk.drop_rollups_ahead(conn, prefix=bulk.rollups_prefix(job_id))  # the staging table stays, for a resume
        raise
    finally:
        heartbeat.done.set()
    _report_progress(engine, job_id, on_progress)
    if job.owns_source:
        Path(job.source_path).unlink(missing_ok=True)
    return report


def accept_file(engine: Engine, *, path: Path | str, kind: str | None = None, file_name: str | None = None,
                actor: Actor, settings: Settings, spooled: bool = False, start: bool = True) -> LoadJob:
    """Take a file to load: the one way in of the Upload page, the API's batch routes and the CLI
    (through load_file). It is inspected first: a file that is not a services or customers file (or
    no file at all) raises FileRefused and nothing is recorded. Then its job is recorded, queued,
    and started in a background thread of this process (start=False leaves it for run_job).
    `spooled`: the file is an upload in the spool (core.loading.files.new_spool_file); the job owns
    it and deletes it when it ends, and a refusal deletes it at once. Returns the job as recorded."""
    require(actor, "analyst")
    try:
        info = inspect_file(path, kind=kind, file_name=file_name)
        with engine.begin() as conn:
            job = get_job(conn, job_id=create_job(conn, actor=actor, info=info, file_name=file_name,
                                                 owns_source=spooled, settings=settings))
    except BaseException:
        if spooled:
            Path(path).unlink(missing_ok=True)  # refused: nothing written, nothing kept
        raise
    if start:
        start_in_background(engine, job_id=job.id, actor=actor, settings=settings)
    return job


def load_file(engine: Engine, *, path: Path | str, kind: str | None = None, actor: Actor, settings: Settings,
              on_progress: Callable[[LoadJob], None] | None = None) -> LoadReport:
    """Load a file on the server and wait for it (the CLI, the demo, tests): accept_file, then
    run_job here, with `on_progress` told of each step."""
    job = accept_file(engine, path=path, kind=kind, actor=actor, settings=settings, start=False)
    return run_job(engine, job_id=job.id, settings=settings, on_progress=on_progress)


def resume_job(engine: Engine, *, job_id: int, actor: Actor, settings: Settings,
               on_progress: Callable[[LoadJob], None] | None = None) -> LoadReport:
    """Finish an interrupted or failed job from its spooled file, without duplicates."""
    require(actor, "analyst")
    with engine.connect() as conn:
        job = get_job(conn, job_id=job_id)
    if job is None:
        raise LoadNotFound(job_id)
    if job.status not in ("interrupted", "failed", "queued"):
        raise LoadError(N_("Load {id} is {status}; only an interrupted or failed load can be resumed."), id=job_id,
                        status=job.status)
    return run_job(engine, job_id=job_id, settings=settings, on_progress=on_progress)


def start_in_background(engine: Engine, *, job_id: int, actor: Actor, settings: Settings) -> threading.Thread:
    """Run (or resume) a job in a daemon thread of this process (the dashboard); progress goes to
    the job row, which any page run can read."""
    require(actor, "analyst")

    def work():
        try:
            run_job(engine, job_id=job_id, settings=settings)
        except Exception:  # the job row already says what went wrong
            log.exception("load %s failed", job_id)

    thread = threading.Thread(target=work, daemon=True, name=f"load-job-{job_id}")
    thread.start()
    return thread
