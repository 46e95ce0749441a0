"""Benchmark: keyset pages of services and customers on the full 1,048,575-row demo file.

    .venv/bin/python -m bench.paging [--repeat 30] [--limit 50] [--rebuild]

Uses its own embedded database in .data/bench-records (or BENCH_DATABASE_URL), so the app's data
is never touched. On first run (or --rebuild) it writes the full demo files with core.demo (seed 42)
and loads them with core.loading, exactly as `python -m core demo` + `load` would. Then it times
core.records.list_services / list_customers (one page, rows built into records) for the first page,
a deep page (after the 1,000,000th row), the last page and filtered pages, plus the filter counts
(computed once per filter and cached by the dashboard per data version), after one warm-up call
each, and prints median and p95. Target: at most 50 ms per page.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date

import sqlalchemy as sa

from bench.common import bench_engine, load_full_demo
from core import records
from core.records import CustomerFilter, ServiceFilter

AS_OF = date(2026, 1, 1)  # fixed, so statuses (and so the plans) do not depend on the day it runs
MARCH = dict(deadline_from=date(2022, 3, 1), deadline_to=date(2022, 3, 31))


def _engine() -> sa.Engine:
    return bench_engine("bench-records")


def _nth_id(conn, table: str, n: int) -> int:
    # OFFSET here only to find a deep boundary once, outside the timings.
    return conn.scalar(sa.text(f"SELECT id FROM {table} ORDER BY id OFFSET :n LIMIT 1"), {"n": n})


def cases(conn, limit: int) -> list[tuple[str, callable]]:
    """(label, call) pairs: each call reads one page or one count."""
    some_polo = records.service_choices(conn)["polos"][0]
    some_angel = records.angels_of_polo(conn, polo=some_polo)[0]
    deep = _nth_id(conn, "services", 1_000_000)
    deep_customer = _nth_id(conn, "customers", 500_000)
    by_polo = ServiceFilter(polo=some_polo)
    late = ServiceFilter(status="late")
    drill = ServiceFilter(polo=some_polo, status="late", **MARCH)
    # a customer's email (one match: one search block) and full name (a few hundred namesakes)
    one = conn.execute(sa.text("SELECT email, nome FROM customers WHERE id >= :id AND email IS NOT NULL "
                               "ORDER BY id LIMIT 1"), {"id": deep_customer}).one()

    def deep_after(filters: ServiceFilter) -> int | None:
        """The id 1,000 rows before the end of the filter: a page near its end."""
        tail = records.list_services(conn, filters=filters, from_end=True, limit=1000, as_of=AS_OF)
        return tail[0].id if tail else None

    def page(filters=ServiceFilter(), **kw):
        return lambda: records.list_services(conn, filters=filters, limit=limit, as_of=AS_OF, **kw)

    def count(filters=ServiceFilter()):
        return lambda: records.count_services(conn, filters=filters, as_of=AS_OF)

    return [
        ("services: first page", page()),
        ("services: deep page (row 1,000,000)", page(after=deep)),
        ("services: previous page from there", page(before=deep)),
        ("services: last page", page(from_end=True)),
        ("polo: first page", page(by_polo)),
        ("polo: deep page", page(by_polo, after=deep_after(by_polo))),
        ("angel: first page", page(ServiceFilter(angel=some_angel))),
        ("status late: first page", page(late)),
        ("status late: deep page", page(late, after=deep_after(late))),
        ("status not visited: first page", page(ServiceFilter(status="not_visited"))),
        ("status open: first page (none)", page(ServiceFilter(status="open"))),
        ("deadline March 2022: first page", page(ServiceFilter(**MARCH))),
        ("deadline March 2022: deep page", page(ServiceFilter(**MARCH),
                                                after=deep_after(ServiceFilter(**MARCH)))),
        ("visit March 2022: first page", page(ServiceFilter(visit_from=date(2022, 3, 1),
                                                            visit_to=date(2022, 3, 31)))),
        ("polo + late + March (drill-down)", page(drill)),
        ("customer's services", page(ServiceFilter(id_cliente=records.list_services(
            conn, limit=1, as_of=AS_OF)[0].id_cliente))),
        ("count: all services", count()),
        ("count: polo", count(by_polo)),
        ("count: status late", count(late)),
        ("count: deadline March 2022", count(ServiceFilter(**MARCH))),
        ("count: polo + late + March", count(drill)),
        ("customers: first page", lambda: records.list_customers(conn, limit=limit)),
        ("customers: deep page (row 500,000)", lambda: records.list_customers(conn, after=deep_customer,
                                                                              limit=limit)),
        ("customers: name contains 'silva'", lambda: records.list_customers(
            conn, filters=CustomerFilter(nome="silva"), limit=limit)),
        ("customers: email contains (rare)", lambda: records.list_customers(
            conn, filters=CustomerFilter(email="zz-no-such"), limit=limit)),
        ("customers: name contains (none)", lambda: records.list_customers(
            conn, filters=CustomerFilter(nome="zz-no-such"), limit=limit)),
        ("customers: email of one customer", lambda: records.list_customers(
            conn, filters=CustomerFilter(email=one.email), limit=limit)),
        ("customers: full name of one customer", lambda: records.list_customers(
            conn, filters=CustomerFilter(nome=one.nome), limit=limit)),
        ("count: customers email of one customer", lambda: records.count_customers(
            conn, filters=CustomerFilter(email=one.email))),
        ("count: customers full name", lambda: records.count_customers(
            conn, filters=CustomerFilter(nome=one.nome))),
        ("count: customers name 'silva'", lambda: records.count_customers(
            conn, filters=CustomerFilter(nome="silva"))),
        # what the Customers page runs first for a search (the page is listed only if it is not 0)
        ("count: customers email (none)", lambda: records.count_customers(
            conn, filters=CustomerFilter(email="zz-no-such"))),
        ("count: customers name (none)", lambda: records.count_customers(
            conn, filters=CustomerFilter(nome="zz-no-such"))),
        ("polo and angel pickers", lambda: records.service_choices(conn)),
    ]


def measure(engine: sa.Engine, repeat: int, limit: int) -> list[tuple[str, float, float, int]]:
    results = []
    with engine.connect() as conn:
        for label, call in cases(conn, limit):
            out = call()  # warm-up
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                call()
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            size = len(out) if isinstance(out, (list, dict)) else out
            results.append((label, statistics.median(times), p95, size))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.paging", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per case (default 30)")
    parser.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    parser.add_argument("--rebuild", action="store_true", help="reload the full demo files")
    args = parser.parse_args(argv)

    from core.demo import FULL_ROWS

    engine = _engine()
    with engine.connect() as conn:
        count = conn.scalar(sa.text("SELECT count(*) FROM services"))
    if args.rebuild or count != FULL_ROWS:
        print(f"writing and loading the full demo files ({FULL_ROWS:,} services)...", flush=True)
        print(load_full_demo(engine, "bench-records"))
    with engine.connect() as conn:
        sizes = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("services", "customers")}
        trgm = conn.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"))
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items())
          + f"; pg_trgm {'installed' if trgm else 'absent (customer text filters scan)'}")
    print(f"{args.repeat} calls each after a warm-up, {args.limit} rows per page, statuses as of {AS_OF}; "
          f"cpu count {os.cpu_count()}\n")
    print(f"{'case':<40} {'median ms':>10} {'p95 ms':>8} {'rows':>9}")
    for label, median, p95, size in measure(engine, args.repeat, args.limit):
        print(f"{label:<40} {median:>10.1f} {p95:>8.1f} {size:>9,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
