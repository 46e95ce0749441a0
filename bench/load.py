"""Benchmark: loading the services export, the product's way and the original's way.

    .venv/bin/python -m bench.load [--rows 1048575] [--reference-rows 50000] [--workers N] [--chunk-rows N]

Writes a demo services file (+ customers file) of --rows lines (default: the real export's
1,048,575) in .data/bench-load/, starts a throwaway embedded PostgreSQL there (every migration
applied, so other modules' triggers and indexes are present), and measures in the same run:

1. the product's load of the services file into an empty database, run as the CLI does it
   (`python -m core load services PATH --json`) in its own process: seconds, rows/s, the staging /
   writing split, and the peak RSS of that process sampled every 20 ms;
2. the same file loaded again (every line unchanged), the same way: into data nothing has written to
   since, so the loader recognises the file (its fingerprint) without reading it; then again after
   a write that changes nothing but the data version, so the file is read and compared line by line;
3. the customers file (fills the stubs the services load created), the same way;
4. the COPY floor: the same rows, already clean (dumped from the loaded table as CSV), COPY'd into
   a new table with a primary key, created in the COPY's transaction (so, like a first load on the
   embedded server, written without WAL), commit included; run twice, right after the first
   load and again at the end, and the first load's ratio to the faster of the two is printed;
5. a reference loader written the way the original did it: csv reader, `strptime` per value,
   SQLAlchemy ORM `add_all` + `commit` of 2000-row chunks from 100 threads, into its own tables.
   It runs on the first --reference-rows lines (the full file takes minutes) and its full-file
   time is extrapolated from that rate: the table says so.

Nothing here touches the app's database. Timings on a shared machine are noisy: run it twice.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import psutil
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core import loading
from core.config import Settings
from core.db import embedded_server, get_engine
from core.demo import FULL_ROWS

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".data" / "bench-load"


# --- the reference loader, written the way the original system did it -------------------------

class Base(DeclarativeBase):
    pass


class RefService(Base):
    __tablename__ = "bench_ref_services"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    id_cliente: Mapped[int] = mapped_column(sa.BigInteger)
    angel: Mapped[str]
    polo: Mapped[str]
    data_limite: Mapped[datetime | None]
    data_de_atendimento: Mapped[datetime | None]


FORMATS = ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")


def _strptime(value: str) -> datetime | None:
    for fmt in FORMATS:  # what it could not parse became NULL, silently
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None


def reference_load(engine: sa.Engine, path: Path, rows: int) -> tuple[float, int]:
    """1 reader + 100 writer threads, 2000-row chunks, ORM add_all + commit. (seconds, rows)."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    chunks, chunk = [], []
    with path.open(encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for i, row in enumerate(reader):
            if i >= rows:
                break
            chunk.append(row)
            if len(chunk) == 2000:
                chunks.append(chunk)
                chunk = []
    if chunk:
        chunks.append(chunk)

    def write(rows_):
        with Session(engine) as session:
            session.add_all([RefService(id=int(r[0]), id_cliente=int(r[1]), angel=r[2], polo=r[3],
                                        data_limite=_strptime(r[4]), data_de_atendimento=_strptime(r[5]))
                             for r in rows_])
            try:
                session.commit()
            except sa.exc.IntegrityError:  # the original lost the whole chunk on a duplicate key
                session.rollback()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=100) as pool:
        list(pool.map(write, chunks))
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        loaded = conn.scalar(sa.text("SELECT count(*) FROM bench_ref_services"))
    Base.metadata.drop_all(engine)
    return seconds, loaded


# --- the run -----------------------------------------------------------------------------------

def _generate(rows: int, out: Path) -> None:
    """In a child process, so this process's memory figures are the load's alone."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / f".rows-{rows}"
    if marker.exists():
        return
    subprocess.run([sys.executable, "-c", f"from core.demo import HISTORICAL, write_demo; write_demo({str(out)!r}, rows={rows}, dates=HISTORICAL)"],
                   check=True, cwd=ROOT)
    marker.touch()


@dataclasses.dataclass
class Measured:
    report: loading.LoadReport
    peak_mb: float      # peak RSS of the loading process
    cpu_seconds: float  # CPU time of the loading process and of the database server, all cores


def _server_cpu(server: psutil.Process) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, its live children, and (in the
    postmaster's children times) every backend and parallel worker that has exited."""
    t = server.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in server.children():
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def _cli_load(env: dict, path: Path, kind: str, server: psutil.Process) -> Measured:
    """`python -m core load KIND PATH --json` in a child process, with its peak RSS and the CPU
    time it and the database server used."""
    cpu_before, children_before = _server_cpu(server), os.times()
    with tempfile.TemporaryFile() as out:
        child = psutil.Popen([sys.executable, "-m", "core", "load", kind, str(path), "--json"], cwd=ROOT, env=env,
                             stdout=out, stderr=subprocess.DEVNULL)
        peak = 0.0
        while child.poll() is None:
            try:
                peak = max(peak, child.memory_info().rss / 2**20)
            except psutil.Error:  # it just exited
                break
            time.sleep(0.02)
        if child.returncode:
            raise SystemExit(f"the load of {path} failed (exit code {child.returncode})")
        out.seek(0)
        report = json.loads(out.read())
    time.sleep(0.5)  # its backends exit and are reaped, so their CPU time is counted
    children_after = os.times()
    cpu = (_server_cpu(server) - cpu_before + children_after.children_user - children_before.children_user
           + children_after.children_system - children_before.children_system)
    fields = {f.name for f in dataclasses.fields(loading.LoadReport)}
    return Measured(loading.LoadReport(**{k: v for k, v in report.items() if k in fields}), peak, cpu)


def dump_clean(engine: sa.Engine, path: Path) -> None:
    """The loaded services as a clean CSV: what the file holds once parsed and checked."""
    with engine.connect() as conn, path.open("w") as f:
        conn.connection.dbapi_connection.cursor().copy_expert(
            "COPY (SELECT id, id_cliente, angel, polo, data_limite, data_de_atendimento FROM services) "
            "TO STDOUT (FORMAT csv)", f)


def copy_floor(engine: sa.Engine, path: Path) -> float:
    """Seconds to COPY the clean rows into a new keyed table (created in the same transaction)."""
    with engine.connect() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_copy_floor"))
        conn.commit()
        cursor = conn.connection.dbapi_connection.cursor()
        started = time.perf_counter()
        cursor.execute("CREATE TABLE bench_copy_floor (id bigint PRIMARY KEY, id_cliente bigint NOT NULL, "
                       "angel text NOT NULL, polo text NOT NULL, data_limite date NOT NULL, "
                       "data_de_atendimento timestamp)")
        with path.open() as f:
            cursor.copy_expert("COPY bench_copy_floor FROM STDIN (FORMAT csv)", f)
        conn.connection.dbapi_connection.commit()
        seconds = time.perf_counter() - started
        conn.execute(sa.text("DROP TABLE bench_copy_floor"))
        conn.commit()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS, help="services lines (default 1048575)")
    parser.add_argument("--reference-rows", type=int, default=50_000,
                        help="lines the reference loader runs on (0: skip it)")
    parser.add_argument("--workers", type=int, help="LOAD_WORKERS for this run (default: the setting)")
    parser.add_argument("--chunk-rows", type=int, help="LOAD_CHUNK_ROWS for this run (default: the setting)")
    args = parser.parse_args(argv)

    files = WORK / f"files-{args.rows}"
    t = time.perf_counter()
    _generate(args.rows, files)
    print(f"demo files: {files} ({time.perf_counter() - t:.1f} s)")
    db_dir = WORK / "db"
    shutil.rmtree(db_dir, ignore_errors=True)
    settings = Settings.from_env({"LOGISTICS_DATA_DIR": str(db_dir)})
    settings = dataclasses.replace(settings, load_workers=args.workers or settings.load_workers,
                                   load_chunk_rows=args.chunk_rows or settings.load_chunk_rows)
    engine = get_engine(settings)
    env = {**os.environ, "LOGISTICS_DATA_DIR": str(db_dir), "LOAD_WORKERS": str(settings.load_workers),
           "LOAD_CHUNK_ROWS": str(settings.load_chunk_rows), "LOG_LEVEL": "WARNING"}
    services = files / "bd_desafio.csv"
    server = psutil.Process(embedded_server(db_dir).get_pid())
    clean = WORK / f"clean-{args.rows}.csv"
    results = [("services, empty database", _cli_load(env, services, "services", server))]
    dump_clean(engine, clean)
    floors = [copy_floor(engine, clean)]
    results.append(("services again (unchanged)", _cli_load(env, services, "services", server)))
    with engine.begin() as conn:  # a write that changes nothing: the next reload cannot skip reading
        conn.execute(sa.text("UPDATE services SET updated_at = updated_at WHERE id = (SELECT min(id) FROM services)"))
    results += [("services again after a write", _cli_load(env, services, "services", server)),
                ("customers (fills the stubs)", _cli_load(env, files / "customers_data.csv", "customers", server))]
    floors.append(copy_floor(engine, clean))
    clean.unlink()
    first = results[0][1].report

    size = services.stat().st_size / 2**20
    print(f"\n{args.rows:,} services lines ({size:.0f} MB); LOAD_WORKERS={settings.load_workers}, "
          f"LOAD_CHUNK_ROWS={settings.load_chunk_rows:,}; {psutil.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in psutil.getloadavg())}; each load in its own `python -m core load` process")
    print(f"{'load':<30} {'lines':>10} {'inserted':>9} {'updated':>8} {'unchanged':>9} {'seconds':>8} "
          f"{'rows/s':>9} {'staging s':>9} {'writing s':>9} {'peak RSS MB':>11} {'CPU s':>6}")
    for name, m in results:
        r = m.report
        print(f"{name:<30} {r.rows:>10,} {r.inserted:>9,} {r.updated:>8,} {r.unchanged:>9,} {r.seconds:>8.2f} "
              f"{r.rows_per_second:>9,.0f} {r.timings.get('staging', 0):>9.2f} {r.timings.get('writing', 0):>9.2f} "
              f"{m.peak_mb:>11.0f} {m.cpu_seconds:>6.1f}")
    print("(CPU s: CPU time of the loading process, its start included, and of the database server, on all cores)")
    floor = min(floors)
    print(f"COPY floor (the same rows already clean, COPY into a new keyed table, commit included): "
          f"{' s, '.join(f'{f:.2f}' for f in floors)} s; first load {first.seconds / floor:.1f}x the floor, "
          f"reload {results[1][1].report.seconds / floor:.1f}x, "
          f"reload compared line by line {results[2][1].report.seconds / floor:.1f}x")
    for name, m in results:
        steps = {k: v for k, v in m.report.timings.items() if k not in ("staging", "writing")}
        print(f"{name}, writing steps (s; nested steps are inside their parents): "
              + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    if args.reference_rows:
        n = min(args.reference_rows, args.rows)
        seconds, loaded = reference_load(engine, services, n)
        rate = n / seconds
        print(f"\nreference loader (ORM add_all + commit, 2000-row chunks, 100 threads, strptime per value) "
              f"on the first {n:,} lines: {seconds:.2f} s, {rate:,.0f} rows/s, {loaded:,} rows kept")
        print(f"  extrapolated to {args.rows:,} lines: {args.rows / rate:.0f} s "
              f"(product: {first.seconds:.1f} s, {args.rows / rate / first.seconds:.1f}x faster)")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
