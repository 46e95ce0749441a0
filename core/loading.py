"""Loading the operation's CSV files: exact, fast, resumable, with live progress.

A load is a job (table load_jobs). Its life:
1. `inspect_file` reads the first bytes: encoding (UTF-8, with or without BOM, else Windows-1252),
   delimiter, header, kind. A file that is not a services/customers file is refused here
   (`FileRefused`), before anything is written.
2. `create_job` records the job; `run_job` does it. Staging: a reader streams the file in byte
   blocks of about LOAD_CHUNK_ROWS lines; LOAD_WORKERS threads parse each block, vectorised
   (core.parsing: every date form, day-first, impossible dates refused, a reason per bad line),
   and COPY its typed rows into the job's UNLOGGED staging table and its bad lines, with line
   number, raw text and reason, into load_rejects. Each block commits with a load_job_chunks row
   (and its id range), so a job cut short resumes with the blocks not yet staged.
3. Merge, in one transaction (serialised between loads): duplicated ids (the later line wins),
   stub customers for unknown id_cliente, then the rows: a plain INSERT into an empty table, else
   the lines that insert or change a row (one join against the table) through `INSERT ... ON
   CONFLICT (id) DO UPDATE ... WHERE (...) IS DISTINCT FROM (...)`, which counts inserted /
   updated / unchanged exactly. Bulk writes rebuild indexes and rollups once instead of row by
   row (see docs/loading.md). The job's figures and the audit row commit with the data, so a job
   is either done or not loaded.

Every data line is accounted for: inserted + updated + unchanged + rejected = rows (blank lines are
not data). Memory stays flat: at most a few blocks are in memory, whatever the file size.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core import audit, exports, parsing
from core.accounts import Actor, require
from core.config import Settings
from core.db import plain_error
from core.telemetry import timed

log = logging.getLogger(__name__)

KINDS = ("services", "customers")
COLUMNS = {
    "services": ("id_atendimento", "id_cliente", "angel", "polo", "data_limite", "data_de_atendimento"),
    "customers": ("id", "nome", "email", "telefone"),
}
KIND_LABELS = {"services": "services file (bd_desafio.csv)", "customers": "customers file (customers_data.csv)"}
ENCODING_LABELS = {"UTF8": "UTF-8", "UTF8-BOM": "UTF-8 with BOM", "WIN1252": "Windows-1252 (Latin-1)",
                   "LATIN1": "Latin-1 (ISO-8859-1)"}
SAMPLE_BYTES = 64 * 1024
STALE_SECONDS = 20      # a running job without a heartbeat for this long is interrupted
HEARTBEAT_SECONDS = 2
REJECTS_SAMPLE = 20
_MERGE_LOCK = 724_150_002   # serialises merges (two loads writing the same rows)
_JOB_LOCK = 724_150_003     # (this, job id): one runner per job


class LoadError(ValueError):
    """A load that cannot start or go on; the message is for the user."""


class FileRefused(LoadError):
    """The file is not a services/customers file; nothing was written."""


# --- inspecting a file -----------------------------------------------------------------------

@dataclass(frozen=True)
class FileInfo:
    """What `inspect_file` found: enough to show a preview and to load the file."""
    path: Path
    kind: str
    encoding: str          # UTF8, UTF8-BOM, WIN1252 or LATIN1 (PostgreSQL names, plus the BOM)
    delimiter: str
    has_header: bool
    data_start: int        # byte offset of the first data line
    size: int
    avg_line_bytes: float
    preview: list[list[str]]

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS[self.encoding]

    @property
    def estimated_rows(self) -> int:
        return int((self.size - self.data_start) / self.avg_line_bytes) if self.avg_line_bytes else 0

    def describe(self) -> str:
        """One line: kind, encoding, delimiter, header."""
        return (f"{KIND_LABELS[self.kind]}; {self.encoding_label}; separated by "
                f"{'semicolons' if self.delimiter == ';' else 'commas'}; "
                f"{'with' if self.has_header else 'without a'} header line")


def _detect_encoding(path: Path) -> str:
    """UTF-8 (checked over the whole file, streamed) or, failing that, Windows-1252/Latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        bom = f.read(3) == codecs.BOM_UTF8
        f.seek(3 if bom else 0)
        try:
            while block := f.read(8 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "UTF8-BOM" if bom else "UTF8"
        except UnicodeDecodeError:
            pass
        # cp1252 leaves five bytes undefined; a file using them is read as Latin-1.
        f.seek(0)
        while block := f.read(8 << 20):
            if any(b in block for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")):
                return "LATIN1"
        return "WIN1252"


def _python_codec(encoding: str) -> str:
    return {"UTF8": "utf-8", "UTF8-BOM": "utf-8", "WIN1252": "cp1252", "LATIN1": "latin-1"}[encoding]


def _looks_like_header(fields: list[str]) -> bool:
    return bool(fields) and not fields[0].strip().strip('"').isdigit()


def _split(line: str, delimiter: str) -> list[str]:
    return [v.strip().strip('"').strip() for v in line.split(delimiter)]


def inspect_file(path: Path | str, kind: str | None = None, *, file_name: str | None = None) -> FileInfo:
    """Detect encoding, delimiter, header and kind; raise FileRefused if it is no services/customers file.

    kind None: decided by the header or the column count.
    """
    path = Path(path)
    name = file_name or path.name
    if kind is not None and kind not in KINDS:
        raise LoadError(f"Unknown kind of file {kind!r}: expected services or customers.")
    expected = (f"the {KIND_LABELS[kind]}: columns {';'.join(COLUMNS[kind])}" if kind
                else "a services file (id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento) "
                     "or a customers file (id;nome;email;telefone)")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(SAMPLE_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise FileRefused(f"{name} is empty. Expected {expected}.")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(f"{name} is a spreadsheet (Excel) file, not CSV text. Save it as CSV "
                          f"(separated by semicolons) and load that. Expected {expected}.")
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100:
        raise FileRefused(f"{name} is not a text file (it has binary content). Expected {expected}.")
    encoding = _detect_encoding(path)
    bom = 3 if encoding == "UTF8-BOM" else 0
    text = head[bom:].replace(b"\r", b"").decode(_python_codec(encoding), errors="replace")
    lines = text.split("\n")
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut by the sample's end
    lines = [ln for ln in lines if ln.strip()]
    first = lines[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    fields = _split(first, delimiter)
    has_header = _looks_like_header(fields)
    if has_header:
        header = [v.lower() for v in fields]
        found = [k for k in KINDS if header == list(COLUMNS[k])]
        if not found:
            raise FileRefused(f"{name} does not look like {expected}. Its first line is "
                              f"{first[:120]!r}.")
        detected = found[0]
    else:
        detected = {6: "services", 4: "customers"}.get(len(fields))
        if detected is None:
            raise FileRefused(f"{name} does not look like {expected}: its first line has {len(fields)} "
                              f"fields ({first[:120]!r}).")
    if kind is not None and detected != kind:
        raise FileRefused(f"{name} looks like the {KIND_LABELS[detected]}, not the {KIND_LABELS[kind]}. "
                          f"Expected {expected}.")
    data_lines = lines[1:] if has_header else lines
    if not data_lines:
        raise FileRefused(f"{name} has a header but no data lines.")
    data_start = bom
    if has_header:
        data_start = head.index(b"\n") + 1 if b"\n" in head else len(head)
    sample = head[data_start:]
    newlines = sample.count(b"\n")
    avg = (len(sample) / newlines) if newlines else max(len(sample), 1)
    return FileInfo(path=path, kind=detected, encoding=encoding, delimiter=delimiter,
                    has_header=has_header, data_start=data_start, size=size, avg_line_bytes=avg,
                    preview=[_split(ln, delimiter) for ln in data_lines[:10]])


_STAGE_COLUMNS = {
    "services": "line_no bigint NOT NULL, id bigint NOT NULL, id_cliente bigint NOT NULL, angel text NOT NULL, "
                "polo text NOT NULL, data_limite date NOT NULL, data_de_atendimento timestamp",
    "customers": "line_no bigint NOT NULL, id bigint NOT NULL, nome text NOT NULL, email text, telefone text",
}


def _stage_table(job_id: int) -> str:
    return f"load_stage_{int(job_id)}"  # an integer from our own sequence: safe in SQL text


# --- jobs ------------------------------------------------------------------------------------

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


_JOB_COLUMNS = """id, kind, file_name, file_size, source_path, owns_source, username,
    CASE WHEN status IN ('queued', 'running')
              AND coalesce(heartbeat_at, created_at) < now() - make_interval(secs => :stale)
         THEN 'interrupted' ELSE status END AS status,
    phase, step, writing_share, encoding, delimiter, has_header, bytes_done, rows_read, inserted, updated, unchanged,
    rejected, duplicates, stub_customers, stubs_filled, message, created_at, started_at, finished_at,
    heartbeat_at, seconds, rows_per_second"""


def list_jobs(conn: Connection, *, limit: int = 50) -> list[dict]:
    """Recent load jobs, newest first; a running job without a recent heartbeat shows as interrupted."""
    rows = conn.execute(sa.text(f"SELECT {_JOB_COLUMNS} FROM load_jobs ORDER BY id DESC LIMIT :limit"),
                        {"limit": limit, "stale": STALE_SECONDS}).mappings()
    return [dict(r) for r in rows]


def get_job(conn: Connection, job_id: int) -> dict | None:
    """One job as a dict (see list_jobs), or None."""
    row = conn.execute(sa.text(f"SELECT {_JOB_COLUMNS} FROM load_jobs WHERE id = :id"),
                       {"id": job_id, "stale": STALE_SECONDS}).mappings().first()
    return dict(row) if row else None


def job_rejects(conn: Connection, job_id: int, *, limit: int | None = None) -> list[dict]:
    """Rejected lines of a job in file order: line, reason, raw."""
    rows = conn.execute(sa.text("SELECT line_no AS line, reason, raw FROM load_rejects WHERE job_id = :id "
                                "ORDER BY line_no LIMIT :limit"), {"id": job_id, "limit": limit})
    return [dict(r) for r in rows.mappings()]


def rejects_csv(conn: Connection, job_id: int) -> str:
    """The job's rejected lines as CSV text (line;reason;raw), for download (core.exports: a raw line that
    starts like a formula is neutralised)."""
    return exports.csv_text(job_rejects(conn, job_id), ("line", "reason", "raw"), delimiter=";")


def progress(job: dict) -> float:
    """Share of the job done, 0..1: reading the file (in bytes) is the first STAGING_SHARE, the
    merge's steps (WRITING_STEPS) the rest."""
    if job["status"] == "done":
        return 1.0
    if not job["file_size"]:
        return 0.0
    if job["phase"] == "writing":
        return min(STAGING_SHARE + (1 - STAGING_SHARE) * (job["writing_share"] or 0.0), 0.99)
    return STAGING_SHARE * min(job["bytes_done"] / job["file_size"], 1.0)


def doing(job: dict) -> str:
    """What a running job is doing, in plain words (progress bars of the Upload page and the CLI)."""
    if job["phase"] == "writing":
        return f"writing to the database: {job['step']}" if job["step"] else "writing to the database"
    return f"{job['rows_read']:,} lines read"


def speed(job: dict, now: datetime | None = None) -> tuple[float | None, float | None]:
    """(rows per second so far, seconds left) of a running job; None when not yet known."""
    if job["status"] == "done":
        return job["rows_per_second"], 0.0
    if not job["started_at"] or not job["rows_read"]:
        return None, None
    elapsed = ((now or datetime.now(timezone.utc)) - job["started_at"]).total_seconds()
    share = progress(job)
    rate = job["rows_read"] / elapsed if elapsed > 0 else None
    eta = elapsed * (1 - share) / share if share > 0 else None
    return rate, eta


def spool_dir(settings: Settings) -> Path:
    path = settings.data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_upload(settings: Settings, source, file_name: str) -> Path:
    """Copy an uploaded file object to the data directory (streamed); returns its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).name)[-80:] or "upload.csv"
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=f"-{safe}", dir=spool_dir(settings))
    if hasattr(source, "seek"):
        source.seek(0)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return Path(tmp)


SPOOL_KEEP_HOURS = 24
SPOOL_KEEP_UNFINISHED_DAYS = 7  # the file of a failed or interrupted load waits this long for a resume
SPOOL_CLEAN_EVERY_SECONDS = 3600.0


def clean_spool(engine: Engine, settings: Settings, *, older_than_hours: float = SPOOL_KEEP_HOURS,
                unfinished_days: float = SPOOL_KEEP_UNFINISHED_DAYS) -> int:
    """Delete spooled uploads that no load uses (dropped on the Upload page but never loaded) once
    they are older than `older_than_hours`. The file of a queued, running, interrupted or failed job
    stays so it can be resumed, until the job has shown no sign of life (created, heartbeat,
    finished) for `unfinished_days`: then the load is abandoned and its file goes too (a resume
    then says the file is no longer on the server). Returns how many files went."""
    with engine.connect() as conn:
        used = set(conn.scalars(sa.text(
            "SELECT source_path FROM load_jobs WHERE owns_source AND status <> 'done' "
            "AND greatest(created_at, heartbeat_at, finished_at) > now() - make_interval(secs => :secs)"),
            {"secs": unfinished_days * 86400}))
    cutoff = time.time() - older_than_hours * 3600
    removed = 0
    for path in spool_dir(settings).glob("upload-*"):
        if str(path) not in used and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %s unused spooled upload(s)", removed)
    return removed


_cleaner_lock = threading.Lock()
_cleaners: dict[Path, tuple[threading.Thread, threading.Event]] = {}


def start_spool_cleaner(engine: Engine, settings: Settings, *,
                        every_seconds: float = SPOOL_CLEAN_EVERY_SECONDS) -> threading.Thread:
    """Run clean_spool now and then every `every_seconds` in a daemon thread, once per process and
    data dir: uploads of failed or abandoned loads go even when nobody uploads again."""
    key = spool_dir(settings).resolve()
    with _cleaner_lock:
        running = _cleaners.get(key)
        if running is not None and running[0].is_alive():
            return running[0]
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    clean_spool(engine, settings)
                except Exception:  # never let the cleaner die of a passing database outage
                    log.warning("cleaning the upload spool failed", exc_info=True)
                stop.wait(every_seconds)

        thread = threading.Thread(target=loop, daemon=True, name="spool-cleaner")
        _cleaners[key] = (thread, stop)
        thread.start()
        return thread


def stop_spool_cleaners() -> None:
    """Stop every cleaner thread of this process (tests)."""
    with _cleaner_lock:
        for thread, stop in _cleaners.values():
            stop.set()
        _cleaners.clear()


def create_job(conn: Connection, *, actor: Actor, info: FileInfo, file_name: str | None = None,
               owns_source: bool = False, settings: Settings) -> int:
    """Record a queued load of an inspected file; returns the job id."""
    require(actor, "analyst")
    block = max(int(settings.load_chunk_rows * info.avg_line_bytes), 64 * 1024)
    return conn.scalar(sa.text("""
        INSERT INTO load_jobs (kind, file_name, file_size, source_path, owns_source, username, encoding,
                               delimiter, has_header, data_start, block_bytes, heartbeat_at)
        VALUES (:kind, :name, :size, :path, :owns, :user, :enc, :delim, :header, :start, :block, now())
        RETURNING id"""), {
        "kind": info.kind, "name": file_name or info.path.name, "size": info.size,
        "path": str(info.path), "owns": owns_source, "user": actor.username, "enc": info.encoding,
        "delim": info.delimiter, "header": info.has_header, "start": info.data_start, "block": block})


def _blocks(path: Path, start: int, block_bytes: int) -> Iterator[tuple[int, int, int, bytes]]:
    """(chunk_no, byte_start, byte_end, data) blocks cut at line ends, from `start`.

    Deterministic for a file and a block size, so a resumed job finds the same chunks.
    """
    with path.open("rb") as f:
        f.seek(start)
        pos, chunk_no = start, 0
        while data := f.read(block_bytes):
            if not data.endswith(b"\n"):
                data += f.readline()  # finish the last line (one copy, no carried remainder)
            yield chunk_no, pos, pos + len(data), data
            pos += len(data)
            chunk_no += 1


@dataclass
class _Run:
    job: dict
    stage: str
    lines_before: dict[int, int]   # chunk_no -> data lines before it (line numbers)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


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


def _set(conn: Connection, job_id: int, *, now: tuple[str, ...] = (), **values) -> None:
    """Update the job's columns (names are ours, never user input); `now` columns get now()."""
    cols = [f"{k} = :{k}" for k in values] + [f"{k} = now()" for k in now]
    conn.execute(sa.text(f"UPDATE load_jobs SET {', '.join(cols)} WHERE id = :id"), {"id": job_id, **values})


def _prepare_stage(engine: Engine, job: dict) -> None:
    """Keep what earlier runs staged if it is intact, else start the job's staging afresh.

    An UNLOGGED table is emptied by a crash of the server, so the chunks' bookkeeping is checked
    against the rows actually there.
    """
    stage = _stage_table(job["id"])
    with engine.begin() as conn:
        exists = conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": stage})
        staged = conn.scalar(sa.text("SELECT coalesce(sum(staged), 0) FROM load_job_chunks WHERE job_id = :id"),
                             {"id": job["id"]})
        intact = exists and conn.scalar(sa.text(f"SELECT count(*) FROM {stage}")) == staged
        if not intact:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {stage}"))
            conn.execute(sa.text(f"CREATE UNLOGGED TABLE {stage} ({_STAGE_COLUMNS[job['kind']]})"))
            conn.execute(sa.text("DELETE FROM load_job_chunks WHERE job_id = :id"), {"id": job["id"]})
            conn.execute(sa.text("DELETE FROM load_rejects WHERE job_id = :id"), {"id": job["id"]})
            _set(conn, job["id"], bytes_done=0, rows_read=0)


def _rows_csv(job_id: int, rejects: list[tuple[int, str, str]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows((job_id, line, raw, reason) for line, raw, reason in rejects)
    return io.BytesIO(out.getvalue().encode("utf-8"))


def _stage_worker(engine: Engine, run: _Run, chunks: queue.Queue, on_chunk: Callable[[], None]) -> None:
    """Parse blocks (core.parsing, vectorised) and COPY their good rows to the job's staging table
    and their rejected lines to load_rejects; one commit per block, with its load_job_chunks row."""
    job = run.job
    raw = None
    try:
        parse = parsing.PARSERS[job["kind"]]
        codec = _python_codec(job["encoding"])
        copy_rejects = "COPY load_rejects (job_id, line_no, raw, reason) FROM STDIN WITH (FORMAT csv)"
        raw = engine.raw_connection()
        cur = raw.cursor()
        while True:
            item = chunks.get()
            if item is None or run.stop.is_set():
                return
            chunk_no, byte_start, byte_end, data = item
            if codec != "utf-8":
                data = data.decode(codec, errors="replace").encode("utf-8")
            block = parse(data, first_line=run.lines_before[chunk_no] + 1, delimiter=job["delimiter"])
            columns = ", ".join(block.good.column_names)
            cur.copy_expert(f"COPY {run.stage} ({columns}) FROM STDIN WITH (FORMAT csv)",
                            io.BytesIO(block.good_csv()), size=1 << 20)
            if block.rejects:
                cur.copy_expert(copy_rejects, _rows_csv(job["id"], block.rejects))
            first_id, last_id, ascending = block.id_order()
            staged, rejected = block.good.num_rows, len(block.rejects)
            cur.execute("INSERT INTO load_job_chunks (job_id, chunk_no, byte_start, byte_end, lines, staged, "
                        "rejected, first_id, last_id, ids_ascending) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (job["id"], chunk_no, byte_start, byte_end, block.lines, staged, rejected, first_id,
                         last_id, ascending))
            cur.execute("UPDATE load_jobs SET bytes_done = bytes_done + %s, rows_read = rows_read + %s, "
                        "rejected = rejected + %s, heartbeat_at = now() WHERE id = %s",
                        (byte_end - byte_start, block.lines, rejected, job["id"]))
            raw.commit()
            del block, data
            pa.default_memory_pool().release_unused()  # keep the Arrow pool from holding freed blocks
            on_chunk()
    except BaseException as exc:
        if raw is not None:
            raw.rollback()
        with run.lock:
            run.error = run.error or exc
        run.stop.set()
    finally:
        if raw is not None:
            raw.close()


def _stage(engine: Engine, job: dict, settings: Settings, on_progress: Callable[[dict], None]) -> None:
    """Stream the file's blocks to LOAD_WORKERS threads that COPY, parse and stage them."""
    with engine.connect() as conn:
        done = set(conn.scalars(sa.text("SELECT chunk_no FROM load_job_chunks WHERE job_id = :id"),
                                {"id": job["id"]}))
    run = _Run(job=job, stage=_stage_table(job["id"]), lines_before={})
    workers = max(1, settings.load_workers)
    # Bounded: at most one block waits while each worker holds one, so memory does not grow with
    # the file (the reader is far faster than the workers; a deeper queue only costs memory).
    chunks: queue.Queue = queue.Queue(maxsize=1)

    def on_chunk():
        with engine.connect() as conn:
            on_progress(get_job(conn, job["id"]))

    threads = [threading.Thread(target=_stage_worker, args=(engine, run, chunks, on_chunk), daemon=True,
                                name=f"load-{job['id']}-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    first_line = 2 if job["has_header"] else 1
    try:
        for chunk_no, start, end, data in _blocks(Path(job["source_path"]), job["data_start"], job["block_bytes"]):
            if run.stop.is_set():
                break
            # Normalise line ends here (CRLF or stray CR) so PostgreSQL's COPY sees plain LF.
            data = data.replace(b"\r", b"")
            run.lines_before[chunk_no] = first_line - 1
            first_line += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            if chunk_no in done:
                continue
            while not run.stop.is_set():
                try:
                    chunks.put((chunk_no, start, end, data), timeout=0.5)
                    break
                except queue.Full:
                    continue
    finally:
        for _ in threads:
            while True:
                try:
                    chunks.put(None, timeout=0.5)
                    break
                except queue.Full:
                    if not any(t.is_alive() for t in threads):
                        break
        for t in threads:
            t.join()
    if run.error is not None:
        raise run.error


def _raw_lines(job: dict, wanted: set[int]) -> dict[int, str]:
    """The raw text of some line numbers (duplicates found at merge time), by one pass over the file."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    codec = _python_codec(job["encoding"])
    line = 1 if job["has_header"] else 0
    for _, _, _, data in _blocks(Path(job["source_path"]), job["data_start"], 8 << 20):
        data = data.replace(b"\r", b"")
        count = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if any(line < n <= line + count for n in wanted):
            for i, text in enumerate(data.split(b"\n"), start=line + 1):
                if i in wanted:
                    found[i] = text.decode(codec, errors="replace")
        line += count
    return found


def _ids_surely_unique(conn: Connection, job: dict) -> bool:
    """True when the blocks' id ranges prove that no id repeats: each block ascending and after
    the one before (a sorted export). False means "not proven": search. A block staged before
    migration 0007 has no id range, so it proves nothing."""
    return bool(conn.scalar(sa.text("""
        SELECT coalesce(bool_and(coalesce(ids_ascending AND (before IS NULL OR first_id > before), false)), true)
        FROM (SELECT ids_ascending, first_id, lag(last_id) OVER (ORDER BY chunk_no) AS before
              FROM load_job_chunks WHERE job_id = :id AND staged > 0) blocks"""), {"id": job["id"]}))


def _reject_duplicates(conn: Connection, job: dict, stage: str) -> int:
    """Remove all but the last line of each id repeated in the file; list them as rejected."""
    if _ids_surely_unique(conn, job) or conn.scalar(
            sa.text(f"SELECT 1 FROM {stage} GROUP BY id HAVING count(*) > 1 LIMIT 1")) is None:
        return 0
    rows = conn.execute(sa.text(f"""
        DELETE FROM {stage} s USING (SELECT id, max(line_no) AS winner FROM {stage} GROUP BY id
                                     HAVING count(*) > 1) w
        WHERE s.id = w.id AND s.line_no < w.winner RETURNING s.line_no, s.id, w.winner""")).all()
    raw = _raw_lines(job, {r.line_no for r in rows})
    conn.execute(sa.text("INSERT INTO load_rejects (job_id, line_no, raw, reason) VALUES (:job, :line, :raw, :reason)"),
                 [{"job": job["id"], "line": r.line_no, "raw": raw.get(r.line_no),
                   "reason": f"id {r.id} appears again on line {r.winner}; that later line was loaded"}
                  for r in rows])
    return len(rows)


BULK_MIN_ROWS = 100_000  # below this, keeping the indexes up to date is cheaper than rebuilding


# The merge's steps as the progress bar names them, with the share of the writing phase done when
# each starts (measured with bench/load.py on 1M lines: first load, reload, customers file). The
# stored share only grows, so a step met in another order never moves the bar back.
WRITING_STEPS = {
    "duplicates": ("looking for repeated ids", 0.0),
    "stub_customers": ("creating stub customers", 0.02),
    "emails": ("checking emails", 0.04),
    "upsert": ("writing the rows", 0.22),
    "compare": ("comparing with the database", 0.25),
    "rewrite": ("rewriting the customers table", 0.26),
    "rebuild_rollups": ("rebuilding the indicator rollups", 0.33),
    "rebuild_services_indexes": ("building the record indexes", 0.53),
    "foreign_keys_to_customers": ("checking customer references", 0.9),
}
STAGING_SHARE = 0.2   # of the progress bar: reading and parsing is 10-50% of a load's time


class _Steps(dict):
    """Seconds per merge step; `announce(name)` is told when a step starts."""

    def __init__(self, announce: Callable[[str], None] | None = None):
        super().__init__()
        self.announce = announce


@contextmanager
def _step(steps: dict[str, float], name: str) -> Iterator[None]:
    if getattr(steps, "announce", None) and name in WRITING_STEPS:
        steps.announce(name)
    start = time.perf_counter()
    try:
        yield
    finally:
        steps[name] = round(steps.get(name, 0.0) + time.perf_counter() - start, 3)


def _is_bulk(conn: Connection, table: str, changing: int) -> bool:
    """True when `changing` rows (new or surely rewritten) are at least half the table after the
    load: rebuilding its indexes afterwards is cheaper than updating them row by row (measured
    2.5x on a first load)."""
    if changing < BULK_MIN_ROWS:
        return False
    existing = conn.scalar(sa.text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) x"),
                           {"n": 2 * changing + 1})
    return existing <= 2 * changing


@contextmanager
def _indexes_rebuilt(conn: Connection, table: str, steps: dict[str, float], *, unique: bool = False) -> Iterator[None]:
    """Drop the table's plain indexes and foreign keys, and recreate them from their definitions
    at the end, in the caller's transaction (a failure restores everything by rollback).

    Primary keys and unique indexes stay (ON CONFLICT and uniqueness need them) unless `unique`:
    then they go too (the caller writes rows it knows to be distinct, and rebuilding them checks
    that), except a primary key another table's foreign key needs. Triggers are never
    touched, so rollups kept by other migrations stay exact.
    """
    constraints = conn.execute(sa.text("""
        SELECT format('%I', k.conname) AS name, k.conrelid::regclass::text AS owner,
               pg_get_constraintdef(k.oid) AS definition
        FROM pg_constraint k
        WHERE k.conrelid = CAST(:t AS regclass)
          AND (k.contype = 'f' OR (:unique AND k.contype IN ('p', 'u') AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = k.conindid)))
        ORDER BY k.contype DESC"""), {"t": table, "unique": unique}).all()   # p, u before f on the way back
    indexes = conn.execute(sa.text("""
        SELECT format('%I', c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = CAST(:t AS regclass) AND (:unique OR NOT i.indisunique)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""),
        {"t": table, "unique": unique}).all()
    with _step(steps, f"drop_{table}_indexes"):
        _drop_constraints(conn, reversed(constraints))
        for ix in indexes:
            _ddl(conn, f"DROP INDEX {ix.name}")
    yield
    with _step(steps, f"rebuild_{table}_indexes"):
        _add_constraints(conn, constraints)
        for ix in indexes:
            _ddl(conn, ix.definition)


def _drop_constraints(conn: Connection, constraints) -> None:
    """Drop constraints given as rows (name, owner, definition) read from pg_constraint."""
    for k in constraints:
        _ddl(conn, f"ALTER TABLE {k.owner} DROP CONSTRAINT {k.name}")


def _add_constraints(conn: Connection, constraints) -> None:
    """Add back (and so check) constraints dropped by _drop_constraints."""
    for k in constraints:
        _ddl(conn, f"ALTER TABLE {k.owner} ADD CONSTRAINT {k.name} {k.definition}")


ROLLUPS = ("sla_daily", "sla_monthly", "sla_polo_daily", "visits_daily", "visits_monthly", "visits_polo_daily")


class _RollupsAhead(threading.Thread):
    """The six rollups of a first load computed in another connection (so on the other core),
    from the staging table, while the merge's transaction writes the stub customers and the rows;
    the merge then copies them in (rebuild_services_rollups(prefix), migration 0010) instead of
    aggregating after its insert. Only when the staging table holds exactly the rows services
    will hold: a first load without duplicated ids. Its tables: load_<job id>_<rollup>."""

    def __init__(self, engine: Engine, job_id: int, stage: str):
        super().__init__(daemon=True, name=f"load-{job_id}-rollups")
        self.engine, self.stage, self.prefix = engine, stage, _rollups_prefix(job_id)
        self.error: BaseException | None = None
        self.created = threading.Event()

    def start_when_ready(self) -> None:
        """Start, and return once its tables exist. Creating them (LIKE the rollups) locks the
        rollups until that commit, and the merge is about to truncate them: it must wait for
        that short commit, or the two would wait for each other."""
        self.start()
        self.created.wait()

    def run(self):
        try:
            with self.engine.begin() as conn:
                _drop_rollups_ahead(conn, self.prefix)  # left by a run of this job that was killed
                for name in ROLLUPS:
                    _ddl(conn, f"CREATE UNLOGGED TABLE {self.prefix}{name} (LIKE {name})")
            self.created.set()
            with self.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
                conn.execute(sa.text("SELECT compute_services_rollups(CAST(:stage AS regclass), :prefix)"),
                             {"stage": self.stage, "prefix": self.prefix})
        except BaseException as exc:  # the merge falls back to computing them itself
            self.error = exc
        finally:
            self.created.set()


def _rollups_prefix(job_id: int) -> str:
    return f"load_{int(job_id)}_"  # an integer from our own sequence: safe in SQL text


def _drop_rollups_ahead(conn: Connection, prefix: str) -> None:
    _ddl(conn, "DROP TABLE IF EXISTS " + ", ".join(prefix + name for name in ROLLUPS))


@contextmanager
def _rollups_rebuilt(conn: Connection, steps: dict[str, float], ahead: _RollupsAhead | None = None) -> Iterator[None]:
    """Switch the per-statement rollup triggers off for a bulk upsert and rebuild the rollups from
    the whole table afterwards (one GROUP BY pass instead of merging a million-row delta), or copy
    them from `ahead`, in the caller's transaction. The delete and truncate triggers stay on."""
    for trigger in ("services_rollup_insert", "services_rollup_update"):
        _ddl(conn, f"ALTER TABLE services DISABLE TRIGGER {trigger}")
    yield
    for trigger in ("services_rollup_insert", "services_rollup_update"):
        _ddl(conn, f"ALTER TABLE services ENABLE TRIGGER {trigger}")
    with _step(steps, "rebuild_rollups"):
        if ahead is not None:
            ahead.join()
            if ahead.error is not None:
                log.warning("rollups computed ahead failed (%s); computing them now", ahead.error)
        if ahead is not None and ahead.error is None:
            conn.execute(sa.text("SELECT rebuild_services_rollups(:computed)"), {"computed": ahead.prefix})
            _drop_rollups_ahead(conn, ahead.prefix)
        else:
            conn.execute(sa.text("SELECT rebuild_services_rollups()"))


def _ddl(conn: Connection, sql: str) -> None:
    """Run DDL text from the catalog as is (no parameter interpolation: it may contain '%')."""
    conn.connection.driver_connection.cursor().execute(sql)


def _upsert_counts(conn: Connection, sql: str) -> tuple[int, int]:
    """(inserted, updated) of an INSERT ... ON CONFLICT ... RETURNING (xmax = 0) AS inserted."""
    return tuple(conn.execute(sa.text(f"""
        WITH up AS ({sql})
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up""")).one())


def _is_empty(conn: Connection, table: str) -> bool:
    return not conn.scalar(sa.text(f"SELECT EXISTS (SELECT 1 FROM {table})"))


def _changes(conn: Connection, stage: str, table: str, columns: tuple[str, ...]) -> int:
    """Stage the lines that insert or change a row (temp table load_changes); returns how many.

    One hash join of the file against the table: an upsert that compares row by row costs ~4x
    more when most lines are unchanged (a file loaded again).
    """
    new, old = (", ".join(f"{alias}.{c}" for c in columns) for alias in ("s", "t"))
    conn.execute(sa.text(f"""
        CREATE TEMP TABLE load_changes ON COMMIT DROP AS
        SELECT s.id, {new} FROM {stage} s LEFT JOIN {table} t ON t.id = s.id
        WHERE t.id IS NULL OR ({old}) IS DISTINCT FROM ({new})"""))
    return conn.scalar(sa.text("SELECT count(*) FROM load_changes"))


def _merge_services(conn: Connection, job: dict, stage: str, steps: dict[str, float]) -> dict[str, int]:
    with _step(steps, "duplicates"):
        counts = {"duplicates": _reject_duplicates(conn, job, stage), "stubs_filled": 0}
    first = _is_empty(conn, "services")
    if first:
        # Other writers (the record pages) wait until commit; emptiness is checked again under the
        # lock. Empty tables emptied again in this transaction get new files: with wal_level =
        # minimal (the embedded server) what is written to them next skips the WAL.
        conn.execute(sa.text("LOCK TABLE services, customers IN EXCLUSIVE MODE"))
        first = _is_empty(conn, "services")
    bulk_first = first and conn.scalar(sa.text(f"SELECT count(*) FROM {stage}")) >= BULK_MIN_ROWS
    ahead = None
    if bulk_first and not counts["duplicates"]:
        ahead = _RollupsAhead(conn.engine, job["id"], stage)
        ahead.start_when_ready()
    try:
        return _write_services(conn, stage, steps, counts, first=first, bulk_first=bulk_first, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.join()  # on a failure too: its tables are dropped after the rollback (run_job)


def _write_services(conn: Connection, stage: str, steps: dict[str, float], counts: dict[str, int], *,
                    first: bool, bulk_first: bool, ahead: _RollupsAhead | None) -> dict[str, int]:
    if first:
        _ddl(conn, "TRUNCATE services, customers" if _is_empty(conn, "customers") else "TRUNCATE services")
    with _step(steps, "stub_customers"):
        conn.execute(sa.text(f"""
            CREATE TEMP TABLE load_new_customers ON COMMIT DROP AS
            SELECT DISTINCT s.id_cliente AS id FROM {stage} s
            WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.id_cliente)"""))
        new = conn.scalar(sa.text("SELECT count(*) FROM load_new_customers"))
        with ExitStack() as bulk:
            if _is_bulk(conn, "customers", new):
                bulk.enter_context(_indexes_rebuilt(conn, "customers", steps, unique=True))
            # In id order: appending to the primary key index costs half of inserting at random places.
            counts["stub_customers"] = conn.execute(sa.text(
                "INSERT INTO customers (id) SELECT id FROM load_new_customers ORDER BY id ON CONFLICT (id) DO NOTHING")).rowcount
    columns = ("id_cliente", "angel", "polo", "data_limite", "data_de_atendimento")
    cols = ", ".join(columns)
    with _step(steps, "upsert"), ExitStack() as bulk:
        if first:
            # A first load: plain INSERT (ids are distinct after the duplicates step), indexes and
            # rollups built once at the end.
            if bulk_first:
                bulk.enter_context(_indexes_rebuilt(conn, "services", steps, unique=True))
                bulk.enter_context(_rollups_rebuilt(conn, steps, ahead))
            counts["inserted"] = conn.execute(sa.text(
                f"INSERT INTO services (id, {cols}) SELECT id, {cols} FROM {stage}")).rowcount
            counts["updated"] = 0
            return counts
        with _step(steps, "compare"):
            changed = _changes(conn, stage, "services", columns)
        if _is_bulk(conn, "services", changed):
            bulk.enter_context(_indexes_rebuilt(conn, "services", steps))
            bulk.enter_context(_rollups_rebuilt(conn, steps))
        counts["inserted"], counts["updated"] = _upsert_counts(conn, f"""
            INSERT INTO services AS t (id, {cols})
            SELECT id, {cols} FROM load_changes
            ON CONFLICT (id) DO UPDATE SET
                {", ".join(f"{c} = EXCLUDED.{c}" for c in columns)}, updated_at = now()
            WHERE ({", ".join(f"t.{c}" for c in columns)}) IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in columns)})
            RETURNING (xmax = 0) AS inserted""")
    return counts


def _merge_customers(conn: Connection, job: dict, stage: str, steps: dict[str, float]) -> dict[str, int]:
    with _step(steps, "duplicates"):
        counts = {"duplicates": _reject_duplicates(conn, job, stage), "stub_customers": 0}
    # An email is unique (any case): a later line of another customer with the same email, or a
    # line whose email already belongs to another customer in the database, is rejected.
    with _step(steps, "emails"):
        conn.execute(sa.text(f"""
            WITH clash AS (
                SELECT line_no, id, email, first_line, first_id FROM (
                    SELECT line_no, id, email,
                           first_value(line_no) OVER w AS first_line, first_value(id) OVER w AS first_id
                    FROM {stage} WHERE email IS NOT NULL
                    WINDOW w AS (PARTITION BY lower(email) ORDER BY line_no)) x
                WHERE line_no <> first_line),
            gone AS (DELETE FROM {stage} s USING clash c WHERE s.line_no = c.line_no RETURNING c.*)
            INSERT INTO load_rejects (job_id, line_no, raw, reason)
            SELECT :job, line_no, NULL, format('email %L is also on line %s (customer %s)', email, first_line, first_id)
            FROM gone"""), {"job": job["id"]})
        conn.execute(sa.text(f"""
            WITH clash AS (
                SELECT s.line_no, s.email, c.id AS owner FROM {stage} s
                JOIN customers c ON lower(c.email) = lower(s.email) AND c.id <> s.id),
            gone AS (DELETE FROM {stage} s USING clash c WHERE s.line_no = c.line_no RETURNING c.*)
            INSERT INTO load_rejects (job_id, line_no, raw, reason)
            SELECT :job, line_no, NULL, format('email %L already belongs to customer %s', email, owner)
            FROM gone"""), {"job": job["id"]})
    columns = ("nome", "email", "telefone")
    with _step(steps, "compare"):
        changed = _changes(conn, stage, "customers", columns)
    counts["stubs_filled"] = conn.scalar(sa.text(
        "SELECT count(*) FROM load_changes s JOIN customers c ON c.id = s.id WHERE c.nome IS NULL"))
    if _is_bulk(conn, "customers", changed):
        with _step(steps, "rewrite"):
            counts["inserted"], counts["updated"] = _rewrite_customers(conn, steps)
        return counts
    with _step(steps, "upsert"):
        counts["inserted"], counts["updated"] = _upsert_counts(conn, """
            INSERT INTO customers AS t (id, nome, email, telefone)
            SELECT id, nome, email, telefone FROM load_changes
            ON CONFLICT (id) DO UPDATE SET nome = EXCLUDED.nome, email = EXCLUDED.email,
                telefone = EXCLUDED.telefone, updated_at = now()
            WHERE (t.nome, t.email, t.telefone) IS DISTINCT FROM (EXCLUDED.nome, EXCLUDED.email, EXCLUDED.telefone)
            RETURNING (xmax = 0) AS inserted""")
    return counts


def _rewrite_customers(conn: Connection, steps: dict[str, float]) -> tuple[int, int]:
    """Apply load_changes when they are most of the table (the customers file after a services
    file made them stubs): rewrite the table in id order instead of updating it row by row.

    An UPDATE of 577k stubs costs ~10 s here (a new version of every row, every index entry, the
    folded name); emptying the table and inserting every row once, indexes and keys built after,
    a fraction of that. Rows the file does not change keep their values and timestamps.
    Returns (inserted, updated), as the upsert would.
    """
    conn.execute(sa.text("LOCK TABLE customers IN EXCLUSIVE MODE"))  # no edit between copy and rewrite
    inserted, updated = conn.execute(sa.text("""
        SELECT count(*) FILTER (WHERE c.id IS NULL), count(*) FILTER (WHERE c.id IS NOT NULL)
        FROM load_changes s LEFT JOIN customers c ON c.id = s.id""")).one()
    conn.execute(sa.text("""
        CREATE TEMP TABLE load_customers_after ON COMMIT DROP AS
        SELECT c.id, c.nome, c.email, c.telefone, c.created_at, c.updated_at FROM customers c
        WHERE NOT EXISTS (SELECT 1 FROM load_changes s WHERE s.id = c.id)
        UNION ALL
        SELECT s.id, s.nome, s.email, s.telefone, coalesce(c.created_at, now()), now()
        FROM load_changes s LEFT JOIN customers c ON c.id = s.id"""))
    # Foreign keys to customers go first and come back last: the primary key they need is rebuilt
    # in between. Emails were checked before, so the rebuilt unique email index holds.
    with _foreign_keys_to(conn, "customers", steps), _indexes_rebuilt(conn, "customers", steps, unique=True):
        _ddl(conn, "TRUNCATE customers")
        conn.execute(sa.text("""
            INSERT INTO customers (id, nome, email, telefone, created_at, updated_at)
            SELECT id, nome, email, telefone, created_at, updated_at FROM load_customers_after ORDER BY id"""))
    return inserted, updated


@contextmanager
def _foreign_keys_to(conn: Connection, table: str, steps: dict[str, float]) -> Iterator[None]:
    """Drop the foreign keys of other tables that reference `table`, and add them back (checked)
    at the end, in the caller's transaction."""
    fkeys = conn.execute(sa.text("""
        SELECT format('%I', conname) AS name, conrelid::regclass::text AS owner, pg_get_constraintdef(oid) AS definition
        FROM pg_constraint WHERE confrelid = CAST(:t AS regclass) AND contype = 'f'"""), {"t": table}).all()
    _drop_constraints(conn, fkeys)
    yield
    with _step(steps, f"foreign_keys_to_{table}"):
        _add_constraints(conn, fkeys)


def _fill_missing_raw(conn: Connection, job: dict) -> None:
    """Rejects found at merge time (email clashes) get their raw line from the file."""
    missing = set(conn.scalars(sa.text("SELECT line_no FROM load_rejects WHERE job_id = :id AND raw IS NULL"),
                               {"id": job["id"]}))
    if missing:
        raw = _raw_lines(job, missing)
        conn.execute(sa.text("UPDATE load_rejects SET raw = :raw WHERE job_id = :job AND line_no = :line"),
                     [{"raw": text, "job": job["id"], "line": n} for n, text in raw.items()])


def _merge(engine: Engine, job: dict, started: float, steps: dict[str, float]) -> LoadReport:
    """Write the staged rows in one transaction, with the job's figures and the audit row."""
    stage = _stage_table(job["id"])
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MERGE_LOCK})
        conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        merge = _merge_services if job["kind"] == "services" else _merge_customers
        counts = merge(conn, job, stage, steps)
        _fill_missing_raw(conn, job)
        rows = conn.scalar(sa.text("SELECT coalesce(sum(lines), 0) FROM load_job_chunks WHERE job_id = :id"),
                           {"id": job["id"]})
        rejected = conn.scalar(sa.text("SELECT count(*) FROM load_rejects WHERE job_id = :id"), {"id": job["id"]})
        unchanged = rows - rejected - counts["inserted"] - counts["updated"]
        seconds = time.perf_counter() - started
        figures = dict(rows=rows, inserted=counts["inserted"], updated=counts["updated"], unchanged=unchanged,
                       rejected=rejected, duplicates=counts["duplicates"],
                       stub_customers=counts["stub_customers"], stubs_filled=counts["stubs_filled"])
        stored = {k: v for k, v in figures.items() if k != "rows"}
        _set(conn, job["id"], status="done", phase=None, step=None, now=("finished_at",), **stored,
             seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else None,
             rows_read=rows, bytes_done=job["file_size"])
        audit.record(conn, username=job["username"], action="load", entity=job["kind"], entity_id=job["id"],
                     after={"file_name": job["file_name"], **figures})
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {stage}"))
        sample = job_rejects(conn, job["id"], limit=REJECTS_SAMPLE)
    # The commit (files written by the bulk paths reach the disk) is part of the load's time.
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        _set(conn, job["id"], seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else None)
    return LoadReport(job_id=job["id"], kind=job["kind"], file_name=job["file_name"], status="done",
                      seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else 0.0,
                      encoding=ENCODING_LABELS[job["encoding"]], delimiter=job["delimiter"],
                      has_header=job["has_header"], rejects=sample, **figures)


def run_job(engine: Engine, job_id: int, *, settings: Settings,
            on_progress: Callable[[dict], None] | None = None) -> LoadReport:
    """Do (or finish) a queued, interrupted or failed job; returns its report.

    Safe to call again after a crash: chunks already staged are kept, the merge is all-or-nothing.
    Raises LoadError if the job is running elsewhere, done, or its file is gone.
    """
    on_progress = on_progress or (lambda job: None)
    with engine.connect() as lock_conn:
        got = lock_conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k, :id)"), {"k": _JOB_LOCK % 2**31, "id": job_id})
        lock_conn.commit()
        if not got:
            raise LoadError(f"Load {job_id} is already running.")
        try:
            return _run_locked(engine, job_id, settings, on_progress)
        finally:
            lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k, :id)"), {"k": _JOB_LOCK % 2**31, "id": job_id})
            lock_conn.commit()


def _run_locked(engine: Engine, job_id: int, settings: Settings, on_progress) -> LoadReport:
    with engine.begin() as conn:
        job = get_job(conn, job_id)
        if job is None:
            raise LoadError(f"There is no load {job_id}.")
        if job["status"] == "done":
            raise LoadError(f"Load {job_id} is already done.")
        job = dict(conn.execute(sa.text("SELECT * FROM load_jobs WHERE id = :id"), {"id": job_id}).mappings().one())
        if not Path(job["source_path"]).exists():
            _set(conn, job_id, status="failed", message="The file of this load is no longer on the server; "
                                                         "load it again.")
            raise LoadError(f"The file of load {job_id} ({job['file_name']}) is no longer on the server.")
        _set(conn, job_id, status="running", phase="staging", step=None, writing_share=None, message=None,
             now=("started_at", "heartbeat_at"))
    heartbeat = _Heartbeat(engine, job_id)
    heartbeat.start()
    started = time.perf_counter()
    try:
        with timed("loading.load", kind=job["kind"], job_id=job_id, size=job["file_size"]) as info:
            with timed("loading.stage", kind=job["kind"], job_id=job_id):
                _prepare_stage(engine, job)
                _stage(engine, job, settings, on_progress)
            staged_at = time.perf_counter()
            with engine.begin() as conn:
                _set(conn, job_id, phase="writing")
                on_progress(get_job(conn, job_id))
            steps = _Steps(announce=lambda name: _announce(engine, job_id, name))
            with timed("loading.merge", kind=job["kind"], job_id=job_id):
                report = _merge(engine, job, started, steps)
            report.timings = {"staging": round(staged_at - started, 3),
                              "writing": round(time.perf_counter() - staged_at, 3), **steps}
            info.update(rows=report.rows, rejected=report.rejected)
    except BaseException as exc:
        # Shown on the Upload page: never the driver's text (the exception itself is raised on, and logged)
        message = str(exc) if isinstance(exc, LoadError) else f"The load stopped: {plain_error(exc)}"
        with engine.begin() as conn:
            _set(conn, job_id, status="failed", phase=None, message=message[:2000], now=("finished_at",))
            _drop_rollups_ahead(conn, _rollups_prefix(job_id))  # the staging table stays, for a resume
        raise
    finally:
        heartbeat.done.set()
    with engine.connect() as conn:
        on_progress(get_job(conn, job_id))
    if job["owns_source"]:
        Path(job["source_path"]).unlink(missing_ok=True)
    return report


def load_file(engine: Engine, path: Path | str, kind: str | None = None, *, actor: Actor, settings: Settings,
              on_progress: Callable[[dict], None] | None = None) -> LoadReport:
    """Inspect, record and run a load of a file on the server (CLI, demo, tests)."""
    require(actor, "analyst")
    info = inspect_file(path, kind)
    with engine.begin() as conn:
        job_id = create_job(conn, actor=actor, info=info, settings=settings)
    return run_job(engine, job_id, settings=settings, on_progress=on_progress)


def resume_job(engine: Engine, job_id: int, *, actor: Actor, settings: Settings,
               on_progress: Callable[[dict], None] | None = None) -> LoadReport:
    """Finish an interrupted or failed job from its spooled file, without duplicates."""
    require(actor, "analyst")
    with engine.connect() as conn:
        job = get_job(conn, job_id)
    if job is None:
        raise LoadError(f"There is no load {job_id}.")
    if job["status"] not in ("interrupted", "failed", "queued"):
        raise LoadError(f"Load {job_id} is {job['status']}; only an interrupted or failed load can be resumed.")
    return run_job(engine, job_id, settings=settings, on_progress=on_progress)


def start_in_background(engine: Engine, job_id: int, *, actor: Actor, settings: Settings) -> threading.Thread:
    """Run (or resume) a job in a daemon thread of this process (the dashboard); progress goes to
    the job row, which any page run can read."""
    require(actor, "analyst")

    def work():
        try:
            run_job(engine, job_id, settings=settings)
        except Exception:  # the job row already says what went wrong
            log.exception("load %s failed", job_id)

    thread = threading.Thread(target=work, daemon=True, name=f"load-job-{job_id}")
    thread.start()
    return thread
