"""Loading the operation's CSV files: exact, fast, resumable, with live progress.

A load is a job (table load_jobs). Its life:
1. `inspect_file` reads the first bytes: encoding (UTF-8, with or without BOM, else Windows-1252),
   delimiter, header, kind. A file that is not a services/customers file is refused here
   (`FileRefused`), before anything is written.
2. `create_job` records the job; `run_job` does it. Staging: a reader streams the file in byte
   blocks of about LOAD_CHUNK_ROWS lines, LOAD_WORKERS threads COPY each block into a temporary
   table and parse it in ONE set-based statement (every date form, day-first, impossible dates
   refused) into the job's UNLOGGED staging table; bad lines go to load_rejects with their line
   number, raw text and a plain-language reason. Each block commits with a load_job_chunks row,
   so a job cut short resumes with the blocks not yet staged.
3. Merge, in one transaction (serialised between loads): duplicated ids (the later line wins),
   stub customers for unknown id_cliente, then `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE
   (...) IS DISTINCT FROM (...)`, which counts inserted / updated / unchanged exactly. The job's
   figures and the audit row commit with the data, so a job is either done or not loaded.

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

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core import audit
from core.accounts import Actor, require
from core.config import Settings
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


# --- parsing in SQL --------------------------------------------------------------------------

# The two forms nearly every line has (`2021-06-29 09:09:30`, `30/06/2021`) are recognised with
# LIKE + translate and cut with substr: PostgreSQL's regex engine costs ~3 us per test, more than
# the rest of the line's work. The other forms go through the general patterns: ISO (year first),
# or day-first once the spaces around separators are removed, so `28 /06 /2021`, `30/062021`
# (lost slash) and `31/12/21` (two-digit year) match.
_ISO_RE = r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?)?$"
_DAY_FIRST_RE = (r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]?([0-9]{4}|[0-9]{2})"
                 r"(?:[ T]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?$")
_NO_DIGITS = "translate({v}, '0123456789', '')"
# Form codes: 1 = dd/mm/yyyy, 2 = yyyy-mm-dd hh:mm:ss, 3 = other year-first, 4 = other day-first.


def _date_form_sql(v: str, p: str) -> str:
    """Select-list items {p}_form (code above; NULL for a NULL value) and {p}_m (the general
    pattern's match, for forms 3 and 4 only; NULL if nothing matched)."""
    nd = _NO_DIGITS.format(v=v)
    fast_dmy = f"({v} LIKE '__/__/____' AND {nd} = '//')"
    fast_iso = f"({v} LIKE '____-__-__ __:__:__' AND {nd} = '-- ::')"
    return (f"CASE WHEN {v} IS NULL THEN NULL WHEN {fast_dmy} THEN 1 WHEN {fast_iso} THEN 2 "
            f"WHEN {v} ~ '^[0-9]{{4}}-' THEN 3 ELSE 4 END AS {p}_form, "
            f"CASE WHEN {v} IS NULL OR {fast_dmy} OR {fast_iso} THEN NULL "
            f"WHEN {v} ~ '^[0-9]{{4}}-' THEN regexp_match({v}, '{_ISO_RE}') "
            f"ELSE regexp_match(regexp_replace({v}, ' *([/.-]) *', '\\1', 'g'), '{_DAY_FIRST_RE}') END AS {p}_m")


def _date_ints_sql(v: str, p: str) -> str:
    """Select-list items {p}_y, {p}_mo, {p}_d, {p}_h, {p}_mi, {p}_s (integers, NULL when the form
    is unknown); two-digit years are 20YY; day-first unless the year comes first."""
    f, m = f"{p}_form", f"{p}_m"

    def pick(dmy: str, iso: str, from_iso: str, from_dmy: str) -> str:
        return (f"CASE {f} WHEN 1 THEN {dmy} WHEN 2 THEN {iso} WHEN 3 THEN ({from_iso})::int "
                f"WHEN 4 THEN ({from_dmy})::int END")

    year_dmy = f"CASE WHEN length({m}[3]) = 2 THEN 2000 + {m}[3]::int ELSE {m}[3]::int END"
    return ", ".join([
        pick(f"substr({v}, 7, 4)::int", f"substr({v}, 1, 4)::int", f"{m}[1]", year_dmy) + f" AS {p}_y",
        pick(f"substr({v}, 4, 2)::int", f"substr({v}, 6, 2)::int", f"{m}[2]", f"{m}[2]") + f" AS {p}_mo",
        pick(f"substr({v}, 1, 2)::int", f"substr({v}, 9, 2)::int", f"{m}[3]", f"{m}[1]") + f" AS {p}_d",
        pick("0", f"substr({v}, 12, 2)::int", f"coalesce({m}[4], '0')", f"coalesce({m}[4], '0')") + f" AS {p}_h",
        pick("0", f"substr({v}, 15, 2)::int", f"coalesce({m}[5], '0')", f"coalesce({m}[5], '0')") + f" AS {p}_mi",
        pick("0", f"substr({v}, 18, 2)::int", f"coalesce({m}[6], '0')", f"coalesce({m}[6], '0')") + f" AS {p}_s",
    ])


def _date_ok_sql(p: str) -> str:
    """Select-list item {p}_ok: the integers of _date_ints_sql make a real date and time.

    Arithmetic (month 1-12, day within the month, time within the day), so an impossible date
    becomes a reason instead of an error that would stop the whole statement.
    """
    y, mo, d, h, mi, s = (f"{p}_{x}" for x in ("y", "mo", "d", "h", "mi", "s"))
    return (f"({y} BETWEEN 1900 AND 2100 AND {mo} BETWEEN 1 AND 12 AND {d} >= 1 AND {d} <= "
            f"CASE WHEN {mo} = 2 THEN CASE WHEN ({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0 THEN 29 ELSE 28 END "
            f"WHEN {mo} IN (4, 6, 9, 11) THEN 30 ELSE 31 END AND {h} < 24 AND {mi} < 60 AND {s} < 60) AS {p}_ok")


def _date_result_sql(value: str, p: str) -> tuple[str, str]:
    """(timestamp expression, reason expression) once {p}_ok and the integers are columns."""
    y, mo, d, h, mi, s = (f"{p}_{x}" for x in ("y", "mo", "d", "h", "mi", "s"))
    ts = f"CASE WHEN {p}_ok THEN make_timestamp({y}, {mo}, {d}, {h}, {mi}, {s}) END"
    reason = (f"CASE WHEN {value} IS NULL THEN NULL WHEN {y} IS NULL THEN "
              f"format('%s %L is not a date in a known form (day/month/year, optionally with a time)', "
              f"'{p}', {value}) "
              f"WHEN {p}_ok IS NOT TRUE THEN format('%s %L is not a real date (read as day/month/year)', '{p}', {value}) END")
    return ts, reason


def _trim(expr: str) -> str:
    return f"btrim({expr}, E' \\t\"')"


def _whole_number_reason(col: str, name: str) -> str:
    digits_only = f"(length({col}) BETWEEN 1 AND 18 AND {_NO_DIGITS.format(v=col)} = '')"
    return (f"WHEN NOT {digits_only} THEN format('{name} %L is not a whole number', {col}) "
            f"WHEN {col}::bigint = 0 THEN '{name} must be greater than 0' ")


def _services_chunk_sql(stage: str) -> str:
    # Each step is a subquery with OFFSET 0, so its columns are computed once per line and read by
    # the next step (flattened, every use of a column would repeat its regexp work: 50x slower).
    # Only the last step is MATERIALIZED: it feeds both the stage and the rejects.
    lim_ts, lim_reason = _date_result_sql("lim_txt", "data_limite")
    vis_ts, vis_reason = _date_result_sql("vis_val", "data_de_atendimento")
    return f"""
    WITH checked AS MATERIALIZED (
        SELECT line_no, raw, id_txt, cli_txt, angel, polo,
               ({lim_ts})::date AS data_limite, {vis_ts} AS data_de_atendimento,
               CASE WHEN nf <> 6 THEN format('expected 6 fields separated by %L, found %s', %(delim)s, nf)
                    {_whole_number_reason('id_txt', 'id_atendimento')}
                    {_whole_number_reason('cli_txt', 'id_cliente')}
                    WHEN angel = '' THEN 'angel is empty'
                    WHEN polo = '' THEN 'polo is empty'
                    WHEN lim_txt = '' THEN 'data_limite is empty'
                    ELSE coalesce({lim_reason}, {vis_reason}) END AS reason
        FROM (SELECT *, {_date_ok_sql('data_limite')}, {_date_ok_sql('data_de_atendimento')}
        FROM (SELECT *, {_date_ints_sql('lim_txt', 'data_limite')},
               {_date_ints_sql('vis_val', 'data_de_atendimento')}
        FROM (SELECT *, {_date_form_sql('lim_txt', 'data_limite')}, {_date_form_sql('vis_val', 'data_de_atendimento')}
        FROM (SELECT line_no, raw, cardinality(f) AS nf, {_trim('f[1]')} AS id_txt, {_trim('f[2]')} AS cli_txt,
                     {_trim('f[3]')} AS angel, {_trim('f[4]')} AS polo, {_trim('f[5]')} AS lim_txt,
                     nullif(nullif({_trim('f[6]')}, '-'), '') AS vis_val
        FROM (SELECT n + %(first)s - 1 AS line_no, raw, string_to_array(raw, %(delim)s) AS f
              FROM load_chunk_raw WHERE btrim(raw) <> '' OFFSET 0) lines
        OFFSET 0) fields OFFSET 0) parts OFFSET 0) ints OFFSET 0) oks),
    bad AS (
        INSERT INTO load_rejects (job_id, line_no, raw, reason)
        SELECT %(job)s, line_no, raw, reason FROM checked WHERE reason IS NOT NULL RETURNING 1),
    good AS (
        INSERT INTO {stage} (line_no, id, id_cliente, angel, polo, data_limite, data_de_atendimento)
        SELECT line_no, id_txt::bigint, cli_txt::bigint, angel, polo, data_limite, data_de_atendimento
        FROM checked WHERE reason IS NULL RETURNING 1)
    SELECT (SELECT count(*) FROM checked), (SELECT count(*) FROM good), (SELECT count(*) FROM bad)
    """.replace("%(", "\x00(").replace("%", "%%").replace("\x00(", "%(")


def _customers_chunk_sql(stage: str) -> str:
    return f"""
    WITH lines AS MATERIALIZED (
        SELECT n + %(first)s - 1 AS line_no, raw, string_to_array(raw, %(delim)s) AS f
        FROM load_chunk_raw WHERE btrim(raw) <> ''),
    parsed AS MATERIALIZED (
        SELECT line_no, raw, cardinality(f) AS nf, {_trim('f[1]')} AS id_txt, {_trim('f[2]')} AS nome,
               nullif({_trim('f[3]')}, '') AS email,
               regexp_replace({_trim('f[4]')}, '[\\s().+-]', '', 'g') AS phone_txt, {_trim('f[4]')} AS phone_raw
        FROM lines),
    checked AS MATERIALIZED (
        SELECT line_no, raw, id_txt, nome, email,
               CASE WHEN phone_txt ~ '^55[0-9]{{10,11}}$' THEN substr(phone_txt, 3) ELSE phone_txt END AS telefone,
               CASE WHEN nf <> 4 THEN format('expected 4 fields separated by %L, found %s', %(delim)s, nf)
                    {_whole_number_reason('id_txt', 'id')}
                    WHEN nome = '' THEN 'nome is empty'
                    WHEN email IS NOT NULL AND email !~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'
                        THEN format('email %L is not an email address', email)
                    WHEN phone_raw = '' THEN NULL
                    WHEN phone_txt !~ '^(55)?[0-9]{{10,11}}$'
                        THEN format('telefone %L must have 10 or 11 digits (DDD + number)', phone_raw)
               END AS reason
        FROM parsed),
    bad AS (
        INSERT INTO load_rejects (job_id, line_no, raw, reason)
        SELECT %(job)s, line_no, raw, reason FROM checked WHERE reason IS NOT NULL RETURNING 1),
    good AS (
        INSERT INTO {stage} (line_no, id, nome, email, telefone)
        SELECT line_no, id_txt::bigint, nome, email, nullif(telefone, '') FROM checked WHERE reason IS NULL
        RETURNING 1)
    SELECT (SELECT count(*) FROM lines), (SELECT count(*) FROM good), (SELECT count(*) FROM bad)
    """.replace("%(", "\x00(").replace("%", "%%").replace("\x00(", "%(")


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
    phase, encoding, delimiter, has_header, bytes_done, rows_read, inserted, updated, unchanged,
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
    """The job's rejected lines as CSV text (line;reason;raw), for download."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["line", "reason", "raw"])
    for r in job_rejects(conn, job_id):
        writer.writerow([r["line"], r["reason"], r["raw"]])
    return out.getvalue()


def progress(job: dict) -> float:
    """Share of the job done, 0..1 (staging is measured in bytes; the merge is the last 10%)."""
    if job["status"] == "done":
        return 1.0
    if not job["file_size"]:
        return 0.0
    staged = min(job["bytes_done"] / job["file_size"], 1.0)
    return 0.9 * staged + (0.05 if job["phase"] == "writing" else 0.0)


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


def _stage_worker(engine: Engine, run: _Run, chunks: queue.Queue, on_chunk: Callable[[], None]) -> None:
    job = run.job
    raw = None
    try:
        sql = (_services_chunk_sql if job["kind"] == "services" else _customers_chunk_sql)(run.stage)
        encoding = "UTF8" if job["encoding"] == "UTF8-BOM" else job["encoding"]
        copy = ("COPY load_chunk_raw (raw) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02', "
                f"ENCODING '{encoding}')")
        raw = engine.raw_connection()
        cur = raw.cursor()
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS load_chunk_raw "
                    "(n bigint GENERATED ALWAYS AS IDENTITY, raw text)")
        raw.commit()
        while True:
            item = chunks.get()
            if item is None or run.stop.is_set():
                return
            chunk_no, byte_start, byte_end, data = item
            # Identity restarts at 1 per chunk, and COPY numbers rows in file order: n is the line.
            cur.execute("TRUNCATE load_chunk_raw RESTART IDENTITY")
            cur.copy_expert(copy, io.BytesIO(data), size=1 << 20)
            cur.execute(sql, {"first": run.lines_before[chunk_no] + 1, "delim": job["delimiter"],
                              "job": job["id"]})
            lines, staged, rejected = cur.fetchone()
            cur.execute("INSERT INTO load_job_chunks (job_id, chunk_no, byte_start, byte_end, lines, staged, "
                        "rejected) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (job["id"], chunk_no, byte_start, byte_end, lines, staged, rejected))
            cur.execute("UPDATE load_jobs SET bytes_done = bytes_done + %s, rows_read = rows_read + %s, "
                        "rejected = rejected + %s, heartbeat_at = now() WHERE id = %s",
                        (byte_end - byte_start, lines, rejected, job["id"]))
            raw.commit()
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


def _reject_duplicates(conn: Connection, job: dict, stage: str) -> int:
    """Remove all but the last line of each id repeated in the file; list them as rejected."""
    if conn.scalar(sa.text(f"SELECT 1 FROM {stage} GROUP BY id HAVING count(*) > 1 LIMIT 1")) is None:
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


@contextmanager
def _step(steps: dict[str, float], name: str) -> Iterator[None]:
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
def _indexes_rebuilt(conn: Connection, table: str, steps: dict[str, float]) -> Iterator[None]:
    """Drop the table's plain indexes and foreign keys, and recreate them from their definitions
    at the end, in the caller's transaction (a failure restores everything by rollback).

    Primary keys and unique indexes stay (ON CONFLICT and uniqueness need them); triggers are
    never touched, so rollups kept by other migrations stay exact.
    """
    indexes = conn.execute(sa.text("""
        SELECT format('%I', c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary AND NOT i.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""), {"t": table}).all()
    fkeys = conn.execute(sa.text("""
        SELECT format('%I', conname) AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
        WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"""), {"t": table}).all()
    with _step(steps, f"drop_{table}_indexes"):
        for fk in fkeys:
            _ddl(conn, f"ALTER TABLE {table} DROP CONSTRAINT {fk.name}")
        for ix in indexes:
            _ddl(conn, f"DROP INDEX {ix.name}")
    yield
    with _step(steps, f"rebuild_{table}_indexes"):
        for ix in indexes:
            _ddl(conn, ix.definition)
        for fk in fkeys:
            _ddl(conn, f"ALTER TABLE {table} ADD CONSTRAINT {fk.name} {fk.definition}")


@contextmanager
def _rollups_rebuilt(conn: Connection, steps: dict[str, float]) -> Iterator[None]:
    """Switch the per-statement rollup triggers off for a bulk upsert and rebuild the rollups from
    the whole table afterwards (one GROUP BY pass instead of merging a million-row delta), in the
    caller's transaction. The delete and truncate triggers stay on."""
    for trigger in ("services_rollup_insert", "services_rollup_update"):
        _ddl(conn, f"ALTER TABLE services DISABLE TRIGGER {trigger}")
    yield
    for trigger in ("services_rollup_insert", "services_rollup_update"):
        _ddl(conn, f"ALTER TABLE services ENABLE TRIGGER {trigger}")
    with _step(steps, "rebuild_rollups"):
        conn.execute(sa.text("SELECT rebuild_services_rollups()"))


def _ddl(conn: Connection, sql: str) -> None:
    """Run DDL text from the catalog as is (no parameter interpolation: it may contain '%')."""
    conn.connection.driver_connection.cursor().execute(sql)


def _upsert_counts(conn: Connection, sql: str) -> tuple[int, int]:
    """(inserted, updated) of an INSERT ... ON CONFLICT ... RETURNING (xmax = 0) AS inserted."""
    return tuple(conn.execute(sa.text(f"""
        WITH up AS ({sql})
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up""")).one())


def _merge_services(conn: Connection, job: dict, stage: str, steps: dict[str, float]) -> dict[str, int]:
    with _step(steps, "duplicates"):
        counts = {"duplicates": _reject_duplicates(conn, job, stage), "stubs_filled": 0}
    staged = conn.scalar(sa.text(f"SELECT count(*) FROM {stage}"))
    with _step(steps, "stub_customers"):
        conn.execute(sa.text(f"""
            CREATE TEMP TABLE load_new_customers ON COMMIT DROP AS
            SELECT DISTINCT s.id_cliente AS id FROM {stage} s
            WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.id_cliente)"""))
        new = conn.scalar(sa.text("SELECT count(*) FROM load_new_customers"))
        with ExitStack() as bulk:
            if _is_bulk(conn, "customers", new):
                bulk.enter_context(_indexes_rebuilt(conn, "customers", steps))
            counts["stub_customers"] = conn.scalar(sa.text("""
                WITH stubs AS (INSERT INTO customers (id) SELECT id FROM load_new_customers
                               ON CONFLICT (id) DO NOTHING RETURNING 1)
                SELECT count(*) FROM stubs"""))
    with _step(steps, "upsert"), ExitStack() as bulk:
        # New ids are only known after the upsert; an (almost) empty table is the case that matters.
        if _is_bulk(conn, "services", staged) and conn.scalar(sa.text(
                f"SELECT count(*) FROM (SELECT 1 FROM services LIMIT :n) x"), {"n": staged}) < staged // 2:
            bulk.enter_context(_indexes_rebuilt(conn, "services", steps))
            bulk.enter_context(_rollups_rebuilt(conn, steps))
        counts["inserted"], counts["updated"] = _upsert_counts(conn, f"""
            INSERT INTO services AS t (id, id_cliente, angel, polo, data_limite, data_de_atendimento)
            SELECT id, id_cliente, angel, polo, data_limite, data_de_atendimento FROM {stage}
            ON CONFLICT (id) DO UPDATE SET
                id_cliente = EXCLUDED.id_cliente, angel = EXCLUDED.angel, polo = EXCLUDED.polo,
                data_limite = EXCLUDED.data_limite, data_de_atendimento = EXCLUDED.data_de_atendimento,
                updated_at = now()
            WHERE (t.id_cliente, t.angel, t.polo, t.data_limite, t.data_de_atendimento)
                  IS DISTINCT FROM (EXCLUDED.id_cliente, EXCLUDED.angel, EXCLUDED.polo,
                                    EXCLUDED.data_limite, EXCLUDED.data_de_atendimento)
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
    counts["stubs_filled"], certain = conn.execute(sa.text(f"""
        SELECT count(*) FILTER (WHERE c.id IS NOT NULL AND c.nome IS NULL), count(*) FILTER (WHERE c.nome IS NULL)
        FROM {stage} s LEFT JOIN customers c ON c.id = s.id""")).one()
    with _step(steps, "upsert"), ExitStack() as bulk:
        if _is_bulk(conn, "customers", certain):
            bulk.enter_context(_indexes_rebuilt(conn, "customers", steps))
        counts["inserted"], counts["updated"] = _upsert_counts(conn, f"""
            INSERT INTO customers AS t (id, nome, email, telefone)
            SELECT id, nome, email, telefone FROM {stage}
            ON CONFLICT (id) DO UPDATE SET nome = EXCLUDED.nome, email = EXCLUDED.email,
                telefone = EXCLUDED.telefone, updated_at = now()
            WHERE (t.nome, t.email, t.telefone) IS DISTINCT FROM (EXCLUDED.nome, EXCLUDED.email, EXCLUDED.telefone)
            RETURNING (xmax = 0) AS inserted""")
    return counts


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
        _set(conn, job["id"], status="done", phase=None, now=("finished_at",), **stored,
             seconds=round(seconds, 3), rows_per_second=round(rows / seconds, 1) if seconds else None,
             rows_read=rows, bytes_done=job["file_size"])
        audit.record(conn, username=job["username"], action="load", entity=job["kind"], entity_id=job["id"],
                     after={"file_name": job["file_name"], **figures})
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {stage}"))
        sample = job_rejects(conn, job["id"], limit=REJECTS_SAMPLE)
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
        _set(conn, job_id, status="running", phase="staging", message=None, now=("started_at", "heartbeat_at"))
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
            steps: dict[str, float] = {}
            with timed("loading.merge", kind=job["kind"], job_id=job_id):
                report = _merge(engine, job, started, steps)
            report.timings = {"staging": round(staged_at - started, 3),
                              "writing": round(time.perf_counter() - staged_at, 3), **steps}
            info.update(rows=report.rows, rejected=report.rejected)
    except BaseException as exc:
        message = str(exc) if isinstance(exc, LoadError) else f"The load stopped: {type(exc).__name__}: {exc}"
        with engine.begin() as conn:
            _set(conn, job_id, status="failed", phase=None, message=message[:2000], now=("finished_at",))
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
