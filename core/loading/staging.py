"""Staging a file: LOAD_WORKERS threads parse its blocks (core.parsing, vectorised) and COPY the
typed rows into the job's UNLOGGED staging table and the bad lines into load_rejects, one commit
per block with its load_job_chunks row, so a job cut short resumes with the blocks not yet staged.
"""
from __future__ import annotations

import csv
import io
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core import parsing
from core.config import Settings
from core.loading.files import blocks, new_fingerprint, python_codec
from core.loading.job import LoadJob

# Blocks waiting for a worker. Bounded: at most one block waits while each worker holds one, so
# memory does not grow with the file (the reader is far faster than the workers; a deeper queue
# only costs memory).
QUEUED_BLOCKS = 1

_STAGE_COLUMNS = {
    "services": "line_no bigint NOT NULL, id bigint NOT NULL, id_cliente bigint NOT NULL, "
                'angel text COLLATE "C" NOT NULL, polo text COLLATE "C" NOT NULL, data_limite date NOT NULL, '
                "data_de_atendimento timestamp",  # names as services has them (migration 0017)
    "customers": "line_no bigint NOT NULL, id bigint NOT NULL, nome text NOT NULL, email text, telefone text",
}


def stage_table(job_id: int) -> str:
    return f"load_stage_{int(job_id)}"  # an integer from our own sequence: safe in SQL text


def drop_stage(conn: Connection, *, job_id: int) -> None:
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {stage_table(job_id)}"))


@dataclass
class _Run:
    job: LoadJob
    stage: str
    lines_before: dict[int, int]   # chunk_no -> data lines before it (line numbers)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


def prepare_stage(engine: Engine, *, job: LoadJob) -> None:
    """Keep what earlier runs staged if it is intact, else start the job's staging afresh.

    An UNLOGGED table is emptied by a crash of the server, so the chunks' bookkeeping is checked
    against the rows actually there.
    """
    stage = stage_table(job.id)
    with engine.begin() as conn:
        exists = conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": stage})
        staged = conn.scalar(sa.text("SELECT coalesce(sum(staged), 0) FROM load_job_chunks WHERE job_id = :id"),
                             {"id": job.id})
        intact = exists and conn.scalar(sa.text(f"SELECT count(*) FROM {stage}")) == staged
        if not intact:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {stage}"))
            conn.execute(sa.text(f"CREATE UNLOGGED TABLE {stage} ({_STAGE_COLUMNS[job.kind]})"))
            conn.execute(sa.text("DELETE FROM load_job_chunks WHERE job_id = :id"), {"id": job.id})
            conn.execute(sa.text("DELETE FROM load_rejects WHERE job_id = :id"), {"id": job.id})
            conn.execute(sa.text("UPDATE load_jobs SET bytes_done = 0, rows_read = 0 WHERE id = :id"),
                         {"id": job.id})


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
        parse = parsing.PARSERS[job.kind]
        codec = python_codec(job.encoding)
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
            block = parse(data, first_line=run.lines_before[chunk_no] + 1, delimiter=job.delimiter)
            columns = ", ".join(block.good.column_names)
            cur.copy_expert(f"COPY {run.stage} ({columns}) FROM STDIN WITH (FORMAT csv)",
                            io.BytesIO(block.good_csv()), size=1 << 20)
            if block.rejects:
                cur.copy_expert(copy_rejects, _rows_csv(job.id, block.rejects))
            first_id, last_id, ascending = block.id_order()
            staged, rejected = block.good.num_rows, len(block.rejects)
            cur.execute("INSERT INTO load_job_chunks (job_id, chunk_no, byte_start, byte_end, lines, staged, "
                        "rejected, first_id, last_id, ids_ascending) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (job.id, chunk_no, byte_start, byte_end, block.lines, staged, rejected, first_id,
                         last_id, ascending))
            cur.execute("UPDATE load_jobs SET bytes_done = bytes_done + %s, rows_read = rows_read + %s, "
                        "rejected = rejected + %s, heartbeat_at = now() WHERE id = %s",
                        (byte_end - byte_start, block.lines, rejected, job.id))
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



def stage(engine: Engine, *, job: LoadJob, settings: Settings, on_chunk: Callable[[], None]) -> str:
    """Stream the file's blocks to LOAD_WORKERS threads that parse and COPY them; `on_chunk` is
    called after each block commits. Returns the job's fingerprint (files.fingerprint), taken from
    the blocks as they are read."""
    with engine.connect() as conn:
        done = set(conn.scalars(sa.text("SELECT chunk_no FROM load_job_chunks WHERE job_id = :id"),
                                {"id": job.id}))
    run = _Run(job=job, stage=stage_table(job.id), lines_before={})
    workers = max(1, settings.load_workers)
    chunks: queue.Queue = queue.Queue(maxsize=QUEUED_BLOCKS)
    threads = [threading.Thread(target=_stage_worker, args=(engine, run, chunks, on_chunk), daemon=True,
                                name=f"load-{job.id}-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    first_line = 2 if job.has_header else 1
    digest = new_fingerprint(job)
    try:
        for chunk_no, start, end, data in blocks(Path(job.source_path), job.data_start, job.block_bytes):
            if run.stop.is_set():
                break
            digest.update(data)
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
    return digest.hexdigest()
