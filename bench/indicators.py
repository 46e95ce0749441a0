"""Benchmark: indicator queries on the full 1,048,575-row file size.

    .venv/bin/python -m bench.indicators [--repeat 30] [--rebuild]

Uses its own embedded database in .data/bench-indicators (or BENCH_DATABASE_URL), so the app's
data is never touched. On first run (or --rebuild) it writes 1,048,575 services shaped like the
operation's file (70 polos x 26 angels, deadlines 2021-06-30..2022-06-03 on non-holidays, ~3%
never visited, visits from 2 days early to 3 days late) with set-based INSERT ... SELECT
generate_series in chunks of 200,000 rows, through the rollup triggers, and reports how long that
took. Then it times each indicator query (after one warm-up call) for one day, a week across a
month end, one calendar month, a 30-day window that is not a calendar month, and the whole range,
and prints median and p95; beside each, in the same run, the median of the original system's way
of answering it: one GROUP BY over the services table (with the product's definitions, so both give
the same numbers), and the ratio.

The operation's day (issue 22): the Today page's refresh (core.operation_day for every polo, and with
one polo's angels) and GET /v1/indicators/today through FastAPI's TestClient (the route, its
authentication by API key and the JSON, in this process), for a day inside the data whose later
visits exist (2022-03-15), the last day with data, and a day after the data; and a live day: a
database of its own (.data/bench-today, built on the first run or with --rebuild) holding the full
demo written for a live day by core.demo.live (deadlines up to four days ahead, no visit after the
day) and loaded by the product's loader (`--today-only` times just these).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, timedelta

import sqlalchemy as sa

from bench.common import bench_engine
from core import indicators, operation_day
from core.config import load_settings
from core.definitions import Period
from core.demo import FULL_ROWS, HISTORICAL, POLOS

CHUNK = 200_000
ANGELS_PER_POLO = 26

PERIODS = {
    "day 2022-03-15": Period(date(2022, 3, 15), date(2022, 3, 15)),
    "7 days 03-28..04-03": Period(date(2022, 3, 28), date(2022, 4, 3)),
    "month 2022-03": Period(date(2022, 3, 1), date(2022, 3, 31)),
    "30 days 03-15..04-13": Period(date(2022, 3, 15), date(2022, 4, 13)),
    "whole range": Period(date(2021, 6, 29), date(2022, 6, 10)),
}
COUNTRY = load_settings().holiday_country  # as the dashboard reads it
TODAY = operation_day.today(load_settings())  # what the pages judge open vs not visited by
QUERIES = {
    "sla_by_polo": lambda c, p: indicators.sla_by_polo(c, period=p, as_of=TODAY),
    "sla_by_angel": lambda c, p: indicators.sla_by_angel(c, period=p, as_of=TODAY),
    "productivity": lambda c, p: indicators.productivity(c, period=p, as_of=TODAY, country=COUNTRY),
    "overview (2 periods)": lambda c, p: indicators.overview(c, period=p, as_of=TODAY, country=COUNTRY),
    "trend (auto grain)": lambda c, p: indicators.trend(c, period=p, as_of=TODAY, country=COUNTRY),
}


# The original's way: every question is a GROUP BY over services, filtered by the period (the
# deadline for SLA, the visit for productivity); written with the product's definitions.
_ON_TIME = "data_de_atendimento::date <= data_limite"
_SLA = f"""count(*) FILTER (WHERE data_de_atendimento IS NOT NULL OR data_limite < :as_of) AS total,
    count(*) FILTER (WHERE {_ON_TIME}) AS total_sla, count(*) FILTER (WHERE data_de_atendimento::date > data_limite) AS late,
    count(*) FILTER (WHERE data_de_atendimento IS NULL AND data_limite < :as_of) AS not_visited,
    avg(data_limite - data_de_atendimento::date) AS avg_time"""
_DUE = "FROM services WHERE data_limite BETWEEN :start AND :end"
_VISITED = "FROM services WHERE data_de_atendimento >= :start AND data_de_atendimento < :after"
_PRODUCTIVITY = f"""count(*) AS visits, count(*) FILTER (WHERE {_ON_TIME}) AS total_sla,
    count(DISTINCT data_de_atendimento::date) AS worked_days, avg(data_limite - data_de_atendimento::date) AS avg_time"""
ORIGINAL_SQL = {
    "sla_by_polo": [f"SELECT polo, {_SLA} {_DUE} GROUP BY polo ORDER BY 3 DESC"],
    "sla_by_angel": [f"SELECT polo, angel, {_SLA} {_DUE} GROUP BY polo, angel ORDER BY 4 DESC"],
    "productivity": [f"SELECT angel, polo, {_PRODUCTIVITY} {_VISITED} GROUP BY angel, polo ORDER BY 3 DESC"],
    "overview (2 periods)": [f"SELECT {_SLA} {_DUE}",
                             "SELECT count(*), count(DISTINCT angel), count(DISTINCT (angel, data_de_atendimento::date)) "
                             + _VISITED] * 2,
    "trend (auto grain)": [f"SELECT date_trunc(:grain, data_limite), {_SLA} {_DUE} GROUP BY 1",
                           f"SELECT date_trunc(:grain, data_de_atendimento), count(*) {_VISITED} GROUP BY 1"],
}


def original(name: str):
    """The original's way of answering QUERIES[name]: its statements, run one after another."""
    def run(conn, period):
        params = {"start": period.start, "end": period.end, "after": period.end_exclusive,
                  "as_of": TODAY, "grain": indicators.auto_grain(period)}
        previous = period.previous()
        for i, sql in enumerate(ORIGINAL_SQL[name]):
            if name.startswith("overview") and i >= 2:  # the period before, as the product does
                params.update(start=previous.start, end=previous.end, after=previous.end_exclusive)
            rows = conn.execute(sa.text(sql), params).all()
        return rows
    return run


def _engine() -> sa.Engine:
    return bench_engine("bench-indicators")


def build(engine: sa.Engine) -> float:
    """Replace the services with FULL_ROWS generated ones; return the seconds the inserts took."""
    from core.calendar import national_holidays

    holidays = sorted(national_holidays(Period(HISTORICAL.first, HISTORICAL.last), country="BR"))  # as core.demo
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE services, customers CASCADE"))
        conn.execute(sa.text("INSERT INTO customers (id) SELECT g FROM generate_series(1, 573670) g"))
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_days"))
        conn.execute(sa.text(
            "CREATE TABLE bench_days AS SELECT row_number() OVER (ORDER BY d) - 1 AS i, d::date AS d "
            "FROM generate_series(CAST(:a AS date), CAST(:b AS date), interval '1 day') d "
            "WHERE NOT d::date = ANY(CAST(:h AS date[]))"),
            {"a": HISTORICAL.first, "b": HISTORICAL.last, "h": holidays})
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_polos"))
        conn.execute(sa.text("CREATE TABLE bench_polos AS SELECT i - 1 AS i, p FROM "
                             "unnest(CAST(:p AS text[])) WITH ORDINALITY AS t(p, i)"), {"p": POLOS})
    started = time.perf_counter()
    for first in range(1, FULL_ROWS + 1, CHUNK):
        with engine.begin() as conn:
            conn.execute(sa.text("""
                INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento)
                SELECT g, 1 + (g * 7919) % 573670,
                       'Angel ' || (h % 1820) || ' de', p.p, d.d,
                       CASE WHEN (h >> 12) % 100 < 3 THEN NULL
                            ELSE d.d + ((h >> 8) % 6 - 2) * interval '1 day'
                                 + ((h >> 16) % 43200) * interval '1 second' + interval '7 hours' END
                FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
                CROSS JOIN LATERAL (SELECT abs(hashint8(g)) AS h) x
                JOIN bench_days d ON d.i = (x.h >> 20) % (SELECT count(*) FROM bench_days)
                JOIN bench_polos p ON p.i = (x.h % 1820) / :per_polo
            """), {"a": first, "b": min(first + CHUNK - 1, FULL_ROWS), "per_polo": ANGELS_PER_POLO})
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_days, bench_polos"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return elapsed


def trigger_cost(engine: sa.Engine, rows: int = CHUNK) -> tuple[float, float]:
    """Seconds to insert `rows` copies of existing services with and without the rollup triggers.

    Every insert runs in a transaction that is rolled back, so the data stays as it was. Each
    variant runs twice, alternating, and the second run counts (the first warms the caches).
    """
    copy = ("INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
            "SELECT id + 10000000, id_cliente, angel, polo, data_limite, data_de_atendimento "
            "FROM services WHERE id <= :n")
    seconds = {}
    for triggers in (True, False, True, False):
        with engine.connect() as conn:
            tx = conn.begin()
            if not triggers:  # DDL is transactional: the rollback turns them back on
                for event in ("insert", "update", "delete"):
                    conn.execute(sa.text(f"ALTER TABLE services DISABLE TRIGGER services_rollup_{event}"))
            started = time.perf_counter()
            conn.execute(sa.text(copy), {"n": rows})
            seconds[triggers] = time.perf_counter() - started
            tx.rollback()
    return seconds[True], seconds[False]


def _time(conn, query, period, repeat: int) -> tuple[float, float, object]:
    """(median ms, p95 ms, result) of `repeat` calls after a warm-up call."""
    result = query(conn, period)  # warm-up (plans, caches)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        query(conn, period)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], result


def measure(engine: sa.Engine, repeat: int, original_repeat: int) -> list[tuple]:
    """(query, period, original median ms, median ms, p95 ms, rows) for every query and period,
    the original's way and the product's timed one right after the other."""
    results = []
    with engine.connect() as conn:
        for name, query in QUERIES.items():
            for label, period in PERIODS.items():
                before = _time(conn, original(name), period, original_repeat)[0] if original_repeat else None
                conn.rollback()
                median, p95, rows = _time(conn, query, period, repeat)
                conn.rollback()
                size = len(rows) if isinstance(rows, list) else 1
                results.append((name, label, before, median, p95, size))
    return results


# --- the operation's day -------------------------------------------------------------------------

TARGET = load_settings().sla_target
TODAY_DAYS = {"2022-03-15, later visits": date(2022, 3, 15), "2022-06-10, last day": date(2022, 6, 10),
              "after the data": date(2026, 12, 7)}
TODAY_POLO = "RJ - RIO DE JANEIRO"
# What the Today page reads on each refresh: every polo, and with a polo open its angels too.
TODAY_QUESTIONS = {
    "Today page: the polos": lambda c, d: operation_day.operation_day(c, day=d, target=TARGET),
    "Today page: + a polo's angels": lambda c, d: (
        operation_day.day_by_angel(c, day=d, polo=TODAY_POLO, target=TARGET),
        operation_day.operation_day(c, day=d, target=TARGET))[1],
}
LIVE = "bench-today"


def live_engine(rebuild: bool) -> tuple[sa.Engine, date]:
    """The live-day database (.data/bench-today): the full demo files written for a live day (core.demo.live:
    deadlines up to four days ahead, no visit after the day), loaded by the product's loader; rebuilt when
    asked or empty. Returns it and its live day."""
    from bench.common import load_full_demo
    from core import demo

    engine = bench_engine(LIVE)
    with engine.connect() as conn:
        known = indicators.data_range(conn)
    if rebuild or known.empty:
        day = operation_day.today(load_settings())
        print(f"writing and loading the full demo files for the live day {day}...", flush=True)
        print(load_full_demo(engine, LIVE, dates=demo.live(day)), flush=True)
        # as autovacuum would soon: a first load leaves the rollups without statistics, and the
        # planner then reads every day of the polo rollups (21.8 ms against 8.0, measured)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE sla_polo_daily, visits_polo_daily, sla_angel_months, visits_angel_months"))
        return engine, day
    return engine, known.last - timedelta(days=demo.DAYS_AHEAD)


def measure_today(engine: sa.Engine, days: dict[str, date], repeat: int) -> list[tuple]:
    """(question, day, median ms, p95 ms, polos) of the Today page's reads on each day."""
    results = []
    with engine.connect() as conn:
        for label, day in days.items():
            for name, query in TODAY_QUESTIONS.items():
                median, p95, report = _time(conn, query, day, repeat)
                conn.rollback()
                results.append((name, label, median, p95, len(report.polos)))
    return results


def measure_today_api(engine: sa.Engine, days: dict[str, date], repeat: int) -> list[tuple]:
    """(route, day, median ms, p95 ms, polos) of GET /v1/indicators/today in this process (FastAPI's
    TestClient, an API key), next to SLA by polo for the first day's month so far, the reference of the
    same path."""
    import secrets

    from fastapi.testclient import TestClient

    from core import accounts

    os.environ.update({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                       "AUTH_COOKIE_KEY": secrets.token_urlsafe(32), "API_TOKEN_KEY": secrets.token_urlsafe(32),
                       "ADMIN_PASSWORD": secrets.token_urlsafe(16), "LOG_LEVEL": "WARNING"})
    from api.main import app

    with engine.begin() as conn:
        key, plain = accounts.create_api_key(conn, actor=accounts.CLI_ACTOR, name=f"bench-{secrets.token_hex(4)}",
                                             role="viewer")
    first = next(iter(days.values()))
    calls = [("GET /v1/indicators/sla/polo", "its month so far (reference)", "/v1/indicators/sla/polo",
              {"start_date": first.replace(day=1).isoformat(), "end_date": first.isoformat()})]
    for label, day in days.items():
        calls += [("GET /v1/indicators/today", label, "/v1/indicators/today", {"date": day.isoformat()}),
                  ("  ... &polo=P (angels)", label, "/v1/indicators/today", {"date": day.isoformat(), "polo": TODAY_POLO})]
    results = []
    try:
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {plain}"}
            for name, label, path, params in calls:
                def call(_conn, _day, path=path, params=params):
                    answer = client.get(path, params=params, headers=headers)
                    assert answer.status_code == 200, answer.text
                    return answer.json()
                median, p95, body = _time(None, call, None, repeat)
                results.append((name, label, median, p95, len(body.get("polos", body.get("sla_polo", [])))))
    finally:
        with engine.begin() as conn:
            accounts.revoke_api_key(conn, actor=accounts.CLI_ACTOR, id=key.id)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.indicators", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per query and period (default 30)")
    parser.add_argument("--original-repeat", type=int, default=15,
                        help="timed calls of the original's GROUP BY per query and period (default 15; 0: skip)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the 1,048,575 services")
    parser.add_argument("--trigger-cost", action="store_true",
                        help="also time inserting 200,000 rows with and without the rollup triggers")
    parser.add_argument("--today-only", action="store_true",
                        help="time only the operation's day: the Today page's reads and GET /v1/indicators/today")
    parser.add_argument("--rebuild-live", action="store_true",
                        help="reload the live-day database (.data/bench-today) for today's date")
    args = parser.parse_args(argv)

    engine = _engine()
    with engine.connect() as conn:
        count = conn.scalar(sa.text("SELECT count(*) FROM services"))
    if args.rebuild or count != FULL_ROWS:
        print(f"generating {FULL_ROWS:,} services through the rollup triggers...", flush=True)
        seconds = build(engine)
        print(f"inserted in {seconds:.1f} s ({FULL_ROWS / seconds:,.0f} rows/s, chunks of {CHUNK:,})")
    with engine.connect() as conn:
        sizes = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                 for t in ("services", "sla_angel_months", "sla_polo_daily", "visits_angel_months",
                           "visits_polo_daily")}
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
    if args.trigger_cost:
        with_triggers, without = trigger_cost(engine)
        print(f"insert {CHUNK:,} rows: {with_triggers:.1f} s with the rollup triggers, "
              f"{without:.1f} s without (rolled back)")
    print(f"{args.repeat} calls each after a warm-up ({args.original_repeat} of the original's GROUP BY over "
          f"services); cpu count {os.cpu_count()}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    if not args.today_only:
        print(f"{'query':<22} {'period':<22} {'original ms':>11} {'median ms':>10} {'p95 ms':>8} {'ratio':>7} {'rows':>6}")
        for name, label, before, median, p95, size in measure(engine, args.repeat, args.original_repeat):
            ratio = f"{before / median:.1f}x" if before else "-"
            print(f"{name:<22} {label:<22} {before or 0:>11.1f} {median:>10.1f} {p95:>8.1f} {ratio:>7} {size:>6}")
        print()
    live, day = live_engine(args.rebuild_live)
    live_days = {f"{day}, a live day": day}
    print(f"{'the operation day':<30} {'day':<27} {'median ms':>10} {'p95 ms':>8} {'polos':>6}   "
          f"(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    for name, label, median, p95, size in (measure_today(engine, TODAY_DAYS, args.repeat)
                                           + measure_today(live, live_days, args.repeat)
                                           + measure_today_api(live, live_days, args.repeat)):
        print(f"{name:<30} {label:<27} {median:>10.1f} {p95:>8.1f} {size:>6}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
