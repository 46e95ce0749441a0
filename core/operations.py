"""Operating the product: health checks, host and database figures, loads and timings.

`health` answers "is every part working?" (the monitoring page and `python -m core doctor` show
the same checks); `monitor` gathers everything the monitoring page shows in one call, and still
answers with the health checks when the database cannot be reached.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import core
from core import loading, telemetry
from core.config import Settings
from core.db import describe_url, pending_migrations
from core.records_summary import Summary, summary
from core.telemetry import timed

RECENT_LOADS = 20
TIMINGS_HOURS = 24
TIMINGS_SHOWN = 30


@dataclass(frozen=True)
class Check:
    """One health check: what was checked, whether it passed, and a plain-language detail."""
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HostMetrics:
    cpu_percent: float
    cpus: int
    load_average: tuple[float, float, float]
    memory_total: int
    memory_used_percent: float
    process_memory: int          # resident memory of this process
    disk_path: str
    disk_total: int
    disk_free: int
    disk_used_percent: float


@dataclass(frozen=True)
class TableSize:
    name: str
    rows: int | None             # PostgreSQL's estimate; None before the first ANALYZE
    bytes: int                   # with indexes and TOAST


@dataclass(frozen=True)
class DatabaseInfo:
    version: str
    size_bytes: int
    connections: int
    tables: list[TableSize]


@dataclass(frozen=True)
class OperationTiming:
    operation: str
    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    failures: int                # runs that ended with an error
    last_at: datetime


@dataclass(frozen=True)
class Monitoring:
    """Everything the monitoring page shows; database parts are None when it is unreachable."""
    version: str
    checks: list[Check]
    host: HostMetrics
    database: DatabaseInfo | None
    totals: Summary | None
    loads: list[loading.LoadJob] | None
    timings: list[OperationTiming] | None

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)


def _first_line(exc: BaseException) -> str:
    """An error in one line (drivers write several); SQLAlchemy's [SQL: ...] tail left out."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0].strip()


def _existing(path: Path) -> Path:
    """The path, or its nearest existing parent (a data dir not created yet)."""
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_data_dir(data_dir: Path) -> Check:
    """The data dir (embedded database, cookie key, uploads waiting to load) can be written."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-", delete=True) as f:
            f.write(b"ok")
            f.flush()
        free = psutil.disk_usage(str(data_dir)).free
    except OSError as exc:
        return Check("data dir writable", False, f"{data_dir}: {exc.strerror or exc}")
    return Check("data dir writable", True, f"{data_dir} ({free / 2**30:.1f} GiB free)")


def check_embedded_server(settings: Settings) -> Check:
    """The embedded PostgreSQL runs (started if needed, as every entry point does)."""
    from core.db import embedded_server

    try:
        server = embedded_server(settings.data_dir)
        pid = server.get_pid()
    except Exception as exc:  # pgserver raises assorted errors (initdb, pid file, permissions)
        return Check("embedded server", False, f"could not start in {settings.data_dir / 'pg'}: "
                                               f"{_first_line(exc)}")
    if not pid or not psutil.pid_exists(pid):
        return Check("embedded server", False, f"not running (data in {settings.data_dir / 'pg'})")
    return Check("embedded server", True, f"PostgreSQL process {pid}, data in {settings.data_dir / 'pg'}")


def health(settings: Settings, *, engine: Engine | None) -> list[Check]:
    """Each health check: embedded server (embedded mode), database reachable, migrations current,
    data dir writable. `engine` None means it could not even be made (the error is in the checks)."""
    with timed("operations.health") as info:
        checks: list[Check] = []
        if settings.embedded:
            checks.append(check_embedded_server(settings))
        if engine is None:
            checks.append(Check("database reachable", False, "no database connection could be set up"))
            checks.append(Check("migrations current", False, "not checked: the database is unreachable"))
        else:
            where = describe_url(str(engine.url))
            try:
                with engine.connect() as conn:
                    version = conn.scalar(sa.text("SHOW server_version"))
                    pending = pending_migrations(conn)
            except sa.exc.SQLAlchemyError as exc:
                checks.append(Check("database reachable", False, f"{where}: {_first_line(exc)}"))
                checks.append(Check("migrations current", False, "not checked: the database is unreachable"))
            else:
                checks.append(Check("database reachable", True, f"PostgreSQL {version} at {where}"))
                checks.append(Check("migrations current", not pending,
                                    "all applied" if not pending else
                                    f"pending: {', '.join(pending)} (run `python -m core db upgrade`)"))
        checks.append(check_data_dir(settings.data_dir))
        info["failed"] = sum(not c.ok for c in checks)
    return checks


def host_metrics(data_dir: Path) -> HostMetrics:
    """CPU, memory and the disk holding the data dir, as the host reports them now."""
    disk_path = _existing(data_dir)
    disk = psutil.disk_usage(str(disk_path))
    memory = psutil.virtual_memory()
    return HostMetrics(
        cpu_percent=psutil.cpu_percent(interval=0.1),  # a short sample: the first call has no baseline
        cpus=psutil.cpu_count() or 1,
        load_average=tuple(round(x, 2) for x in os.getloadavg()),
        memory_total=memory.total,
        memory_used_percent=memory.percent,
        process_memory=psutil.Process().memory_info().rss,
        disk_path=str(disk_path),
        disk_total=disk.total,
        disk_free=disk.free,
        disk_used_percent=disk.percent,
    )


def database_info(conn: Connection) -> DatabaseInfo:
    """PostgreSQL version, database size, open connections and the largest tables."""
    with timed("operations.database_info"):
        row = conn.execute(sa.text("""
            SELECT current_setting('server_version') AS version,
                   pg_database_size(current_database()) AS size_bytes,
                   (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections
        """)).mappings().one()
        tables = conn.execute(sa.text("""
            SELECT c.relname AS name, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS rows,
                   pg_total_relation_size(c.oid) AS bytes
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            ORDER BY bytes DESC, name LIMIT 12""")).mappings().all()
    return DatabaseInfo(version=row["version"], size_bytes=row["size_bytes"],
                        connections=row["connections"], tables=[TableSize(**t) for t in tables])


def recent_loads(conn: Connection, *, limit: int = RECENT_LOADS) -> list[loading.LoadJob]:
    """The latest file loads, newest first, read as the Upload page reads them (core.loading)."""
    if not conn.scalar(sa.text("SELECT to_regclass('load_jobs') IS NOT NULL")):
        return []
    with timed("operations.recent_loads") as info:
        loads = loading.list_jobs(conn, limit=limit)
        info["rows"] = len(loads)
    return loads


def operation_timings(conn: Connection, *, hours: int = TIMINGS_HOURS, limit: int = TIMINGS_SHOWN,
                      prefix: str | None = None) -> list[OperationTiming]:
    """Per operation over the last `hours`: runs, p50/p95/max duration, failures; slowest p95 first.
    `prefix`: only the operations whose name starts with it (e.g. "api " for the HTTP API's routes)."""
    with timed("operations.operation_timings") as info:
        rows = conn.execute(sa.text("""
            SELECT operation, count(*) AS count,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
                   max(duration_ms) AS max_ms,
                   count(*) FILTER (WHERE outcome NOT IN ('ok', 'stopped', 'rerun')) AS failures,
                   max(at) AS last_at
            FROM operation_timings
            WHERE at >= now() - make_interval(hours => :hours)
              AND (CAST(:prefix AS text) IS NULL OR starts_with(operation, :prefix))
            GROUP BY operation
            ORDER BY p95_ms DESC, operation LIMIT :n"""),
            {"hours": hours, "n": limit, "prefix": prefix}).mappings().all()
        info["rows"] = len(rows)
    return [OperationTiming(**r) for r in rows]


def monitor(engine: Engine, *, settings: Settings) -> Monitoring:
    """Everything for the monitoring page: health, host, database, totals, loads, timings."""
    checks = health(settings, engine=engine)
    host = host_metrics(settings.data_dir)
    reachable = next(c.ok for c in checks if c.name == "database reachable")
    if not reachable:
        return Monitoring(core.__version__, checks, host, None, None, None, None)
    telemetry.flush_timings()  # this process's latest timings count too
    with engine.connect() as conn:
        database = database_info(conn)
        totals = summary(conn)
        loads = recent_loads(conn)
        timings = operation_timings(conn) if conn.scalar(
            sa.text("SELECT to_regclass('operation_timings') IS NOT NULL")) else []
    return Monitoring(core.__version__, checks, host, database, totals, loads, timings)
