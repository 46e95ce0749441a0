"""Reading the operation's files: what a file is (inspect_file), where uploads wait (the spool),
and the file's bytes as whole-line blocks for staging and for the raw text of a rejected line."""
from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core import text
from core.config import Settings
from core.messages import N_, Text, TextError
from core.loading.job import LoadJob

log = logging.getLogger(__name__)

KINDS = ("services", "customers")
COLUMNS = {
    "services": ("id_atendimento", "id_cliente", "angel", "polo", "data_limite", "data_de_atendimento"),
    "customers": ("id", "nome", "email", "telefone"),
}
KIND_LABELS = {"services": N_("services file (bd_desafio.csv)"), "customers": N_("customers file (customers_data.csv)")}
ENCODING_LABELS = {"UTF8": "UTF-8", "UTF8-BOM": N_("UTF-8 with BOM"), "WIN1252": "Windows-1252 (Latin-1)",
                   "LATIN1": "Latin-1 (ISO-8859-1)"}
SAMPLE_BYTES = 64 * 1024   # what inspect_file reads to decide
SPOOL_KEEP_HOURS = 24      # an upload never loaded is deleted after this
SPOOL_KEEP_UNFINISHED_DAYS = 7  # the file of a failed or interrupted load waits this long for a resume
SPOOL_CLEAN_EVERY_SECONDS = 3600.0


class LoadError(TextError, ValueError):
    """A load that cannot start or go on; the message is for the user (str() English, `text` in the
    user's language: core.messages.TextError)."""


class FileRefused(LoadError):
    """The file is not a services/customers file; nothing was written."""


class FileTooLarge(FileRefused):
    """An upload larger than UPLOAD_MAX_MB (the API stops reading it there)."""

    http_status = 413

    def __init__(self, mb: int):
        super().__init__(N_("The file is larger than {mb} MB (UPLOAD_MAX_MB)."), mb=mb)


# --- inspecting a file -----------------------------------------------------------------------

# The code that decides what a line becomes: a file loaded by another version of it is read again.
_LOADER_CODE = ("parsing.py", "loading/files.py", "loading/staging.py", "loading/merge.py")


def new_fingerprint(job: LoadJob) -> hashlib._Hash:
    """The SHA-256 of a load, fed so far with how the file is read, the loader's code and the
    bytes before the first data line; the caller adds the rest of the file (staging does, block by
    block, as it reads them), then hexdigest() is the job's fingerprint."""
    digest = hashlib.sha256(f"{job.kind};{job.encoding};{job.delimiter};{job.has_header}".encode())
    core = Path(__file__).resolve().parents[1]
    for name in _LOADER_CODE:
        digest.update((core / name).read_bytes())
    with open(job.source_path, "rb") as f:
        digest.update(f.read(job.data_start))
    return digest


def fingerprint(job: LoadJob) -> str:
    """The fingerprint staging computes, by one pass over the file (about 0.2 s for the 83 MB export)."""
    digest = new_fingerprint(job)
    with open(job.source_path, "rb") as f:
        f.seek(job.data_start)
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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

    def describe(self) -> Text:
        """One line: kind, encoding, delimiter, header (str() of it in English)."""
        return Text(N_("{kind}; {encoding}; {delimiter}; {header}"), kind=Text(KIND_LABELS[self.kind]),
                    encoding=Text(self.encoding_label),
                    delimiter=Text(N_("separated by semicolons") if self.delimiter == ";" else N_("separated by commas")),
                    header=Text(N_("with header line") if self.has_header else N_("without a header line")))


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



def python_codec(encoding: str) -> str:
    """Python's codec for one of our encoding names."""
    return {"UTF8": "utf-8", "UTF8-BOM": "utf-8", "WIN1252": "cp1252", "LATIN1": "latin-1"}[encoding]


def _looks_like_header(fields: list[str]) -> bool:
    return bool(fields) and not fields[0].strip().strip('"').isdigit()


def _split(line: str, delimiter: str) -> list[str]:
    return [v.strip().strip('"').strip() for v in line.split(delimiter)]


def inspect_file(path: Path | str, *, kind: str | None = None, file_name: str | None = None) -> FileInfo:
    """Detect encoding, delimiter, header and kind; raise FileRefused if it is no services/customers
    file (or no file at all).

    kind None: decided by the header or the column count.
    """
    path = Path(path)
    name = file_name or path.name
    if kind is not None and kind not in KINDS:
        raise LoadError(N_("Unknown kind of file {kind!r}: expected services or customers."), kind=kind)
    if not path.is_file():
        raise FileRefused(N_("There is no file {name}."), name=file_name or str(path))
    expected = (Text(N_("the {kind}: columns {columns}"), kind=Text(KIND_LABELS[kind]), columns=";".join(COLUMNS[kind]))
                if kind else Text(N_("a services file ({services}) or a customers file ({customers})"),
                                  services=";".join(COLUMNS["services"]), customers=";".join(COLUMNS["customers"])))
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(SAMPLE_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise FileRefused(N_("{name} is empty. Expected {expected}."), name=name, expected=expected)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(N_("{name} is a spreadsheet (Excel) file, not CSV text. Save it as CSV "
                             "(separated by semicolons) and load that. Expected {expected}."), name=name, expected=expected)
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100:
        raise FileRefused(N_("{name} is not a text file (it has binary content). Expected {expected}."), name=name,
                          expected=expected)
    encoding = _detect_encoding(path)
    bom = 3 if encoding == "UTF8-BOM" else 0
    text = head[bom:].replace(b"\r", b"").decode(python_codec(encoding), errors="replace")
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
            raise FileRefused(N_("{name} does not look like {expected}. Its first line is {line!r}."), name=name,
                              expected=expected, line=first[:120])
        detected = found[0]
    else:
        detected = {6: "services", 4: "customers"}.get(len(fields))
        if detected is None:
            raise FileRefused(N_("{name} does not look like {expected}: its first line has {n} fields ({line!r})."),
                              name=name, expected=expected, n=len(fields), line=first[:120])
    if kind is not None and detected != kind:
        raise FileRefused(N_("{name} looks like the {found}, not the {kind}. Expected {expected}."), name=name,
                          found=Text(KIND_LABELS[detected]), kind=Text(KIND_LABELS[kind]), expected=expected)
    data_lines = lines[1:] if has_header else lines
    if not data_lines:
        raise FileRefused(N_("{name} has a header but no data lines."), name=name)
    data_start = bom
    if has_header:
        data_start = head.index(b"\n") + 1 if b"\n" in head else len(head)
    sample = head[data_start:]
    newlines = sample.count(b"\n")
    avg = (len(sample) / newlines) if newlines else max(len(sample), 1)
    return FileInfo(path=path, kind=detected, encoding=encoding, delimiter=delimiter,
                    has_header=has_header, data_start=data_start, size=size, avg_line_bytes=avg,
                    preview=[_split(ln, delimiter) for ln in data_lines[:10]])


def spool_dir(settings: Settings) -> Path:
    path = settings.data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_spool_file(settings: Settings, *, file_name: str) -> tuple[BinaryIO, Path]:
    """A new, empty file in the spool for an upload, open for writing, and its path; the upload's
    name only gives the path a readable end (letters, digits, dot, dash and underscore)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", display_name(file_name))[-80:] or "upload.csv"
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=f"-{safe}", dir=spool_dir(settings))
    return os.fdopen(fd, "wb"), Path(tmp)


def spool_upload(settings: Settings, *, source, file_name: str) -> Path:
    """Copy an uploaded file object to the data directory (streamed); returns its path."""
    out, path = new_spool_file(settings, file_name=file_name)
    if hasattr(source, "seek"):
        source.seek(0)
    with out:
        shutil.copyfileobj(source, out, 1 << 20)
    return path


FILE_NAME_MAX = 200  # characters of an upload's name kept with its load (its end: the extension)


def display_name(file_name: str | None, *, default: str = "upload.csv") -> str:
    """An upload's name as a load keeps and shows it: its last path part (a browser or a client
    may send a whole path, with / or \\), without control characters (core.text's rule: they are
    removed, not refused, since the file itself is fine), runs of whitespace as one space, at most
    FILE_NAME_MAX characters (the start is cut, the extension kept); `default` when nothing is left.
    Markdown or HTML in it stays as typed: every page shows it as text."""
    name = re.split(r"[/\\]", file_name or "")[-1]
    name = " ".join(re.sub(f"[{text.CONTROL}\ud800-\udfff]", " ", name).split())
    return name[-FILE_NAME_MAX:] or default



def clean_spool(engine: Engine, *, settings: Settings, older_than_hours: float = SPOOL_KEEP_HOURS,
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


def start_spool_cleaner(engine: Engine, *, settings: Settings,
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
                    clean_spool(engine, settings=settings)
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


def blocks(path: Path, start: int, block_bytes: int) -> Iterator[tuple[int, int, int, bytes]]:
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


def raw_lines(job: LoadJob, wanted: set[int]) -> dict[int, str]:
    """The raw text of some line numbers (duplicates found at merge time), by one pass over the file."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    codec = python_codec(job.encoding)
    line = 1 if job.has_header else 0
    for _, _, _, data in blocks(Path(job.source_path), job.data_start, 8 << 20):
        data = data.replace(b"\r", b"")
        count = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if any(line < n <= line + count for n in wanted):
            for i, text in enumerate(data.split(b"\n"), start=line + 1):
                if i in wanted:
                    found[i] = text.decode(codec, errors="replace")
        line += count
    return found
