"""Benchmark: the cost of operating the product (timings, monitoring, backup and restore).

    .venv/bin/python -m bench.operations [--services 300000] [--calls 20000]

Uses its own embedded database in .data/bench-operations (rebuilt on every run), so the app's data
is never touched. It fills `--services` services (a third as many customers, every tenth one a
stub) with set-based SQL, then measures:
- `timed()` per call: logging off, one JSON line per call (to /dev/null), and also buffered for
  the operation_timings table;
- writing 1,000 buffered timings (`flush_timings`), and one `operations.monitor()` (what the
  monitoring page computes on each refresh), median of 5;
- `backup` and `restore --force` of that database (pg_dump/pg_restore, custom format).
Figures depend on the machine and on what else runs on it; the table says what it measured.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from core import operations, telemetry
from core.accounts import CLI_ACTOR
from core.backup import backup, restore
from core.config import load_settings
from core.db import dispose_engines, get_engine

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".data" / "bench-operations"


def fill(engine: sa.Engine, services: int) -> None:
    customers = max(services // 3, 1)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE services, customers CASCADE"))
        conn.execute(sa.text(
            "INSERT INTO customers (id, nome, email, telefone) "
            "SELECT i, CASE WHEN i % 10 = 0 THEN NULL ELSE 'Cliente ' || i END, "
            "       CASE WHEN i % 10 = 0 THEN NULL ELSE 'c' || i || '@example.com' END, NULL "
            "FROM generate_series(1, :n) i"), {"n": customers})
        conn.execute(sa.text(
            "INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
            "SELECT i, 1 + i % :c, 'Angel ' || (i % 60), 'POLO ' || (i % 12), "
            "       DATE '2022-01-01' + (i % 365), "
            "       CASE WHEN i % 17 = 0 THEN NULL "
            "            ELSE TIMESTAMP '2022-01-01 08:00' + make_interval(days => i % 365 + (i % 5) - 2) END "
            "FROM generate_series(1, :n) i"), {"n": services, "c": customers})


def per_call_us(calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        with telemetry.timed("bench.step", rows=i):
            pass
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=300_000, help="services to generate (default 300000)")
    parser.add_argument("--calls", type=int, default=20_000, help="timed() calls per measure (default 20000)")
    args = parser.parse_args()

    shutil.rmtree(DATA_DIR, ignore_errors=True)
    settings = dataclasses.replace(load_settings(), data_dir=DATA_DIR, database_url=None)
    engine = get_engine(settings)
    started = time.perf_counter()
    fill(engine, args.services)
    filled = time.perf_counter() - started
    rows: list[tuple[str, str]] = []

    with open(os.devnull, "w") as devnull:
        telemetry.configure_logging("WARNING", stream=devnull)
        rows.append(("timed() per call, logging off", f"{per_call_us(args.calls):.1f} µs"))
        telemetry.configure_logging("INFO", stream=devnull)
        rows.append(("timed() per call, one JSON log line", f"{per_call_us(args.calls):.1f} µs"))
        telemetry.persist_timings(settings, source="bench", background=False)
        rows.append(("timed() per call, JSON line + buffered", f"{per_call_us(args.calls):.1f} µs"))
        telemetry.stop_persisting_timings()

        telemetry.persist_timings(settings, source="bench", background=False)
        flushes = []
        for _ in range(5):
            for i in range(1000):
                with telemetry.timed("bench.flush", rows=i):
                    pass
            start = time.perf_counter()
            telemetry.flush_timings()
            flushes.append(time.perf_counter() - start)
        telemetry.stop_persisting_timings()
        rows.append(("flush 1,000 timings (median of 5)", f"{statistics.median(flushes) * 1000:.1f} ms"))

        operations.monitor(engine, settings=settings)  # warm-up
        monitors = []
        for _ in range(5):
            start = time.perf_counter()
            report = operations.monitor(engine, settings=settings)
            monitors.append(time.perf_counter() - start)
        assert report.healthy and report.totals.services == args.services
        rows.append(("operations.monitor() (median of 5)", f"{statistics.median(monitors) * 1000:.0f} ms"))

        with tempfile.TemporaryDirectory() as tmp:
            dumped = backup(settings, path=Path(tmp) / "bench.dump", actor=CLI_ACTOR)
            rows.append((f"backup, {args.services:,} services + {args.services // 3:,} customers",
                         f"{dumped.seconds:.2f} s, {dumped.bytes / 2**20:.1f} MB"))
            restored = restore(settings, path=dumped.path, actor=CLI_ACTOR, force=True)
            assert restored.services == args.services
            rows.append(("restore --force of that backup", f"{restored.seconds:.2f} s"))
        logging.getLogger("core").handlers.clear()

    dispose_engines()
    print(f"\nbench.operations: {args.services:,} services generated in {filled:.1f} s; "
          f"{os.cpu_count()} CPUs, load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 20}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
