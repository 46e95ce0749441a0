"""Benchmark: the HTTP API on the full 1,048,575-service demo file, served as `python -m api`.

    .venv/bin/python -m bench.api [--repeat 50] [--clients 16] [--seconds 20] [--rebuild]

Uses its own embedded database in .data/bench-api (or BENCH_DATABASE_URL). On first run (or
--rebuild) it writes and loads the full demo files, as bench.paging does. It then starts the API in
its own process (uvicorn, one worker), logs in, and measures over HTTP with keep-alive clients:

1. each read route, `--repeat` calls after a warm-up: median (p50) and p95 in ms, client side;
2. `--clients` concurrent clients creating services without ids for `--seconds` (each client an
   angel of its own polo, deadlines spread over a month, as field apps would): creates/s, errors,
   and afterwards whether every created id is in the table exactly once;
3. the API process's peak RSS (sampled every 20 ms throughout);
4. the big answers (SLA by angel and productivity for March 2022, ~1,820 rows, ~450 KB) beside the
   same core call made in this process (core.indicators, its own connection, `--repeat` calls,
   interleaved with the HTTP calls): what the HTTP layer adds to the core's answer.

Targets (issue 10): one service and a list page (first, and past row 1,000,000 via the cursor)
within 10 ms p50; SLA by polo for a month within 15 ms p50 and the whole range within 50 ms;
16 clients for 20 s with zero errors, every row present once, at least 250 creates/s.
Issue 19: the big answers within 8 ms of the core call at p50 and 15 ms at p95.
`--big-only` measures just (4), for comparing two versions of the API quickly.
"""
from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date

import httpx
import psutil
import sqlalchemy as sa

from bench.common import ROOT, bench_engine, bench_user, load_full_demo
from core import indicators
from core.definitions import Period
from core.operation_day import today

NAME = "bench-api"
BENCH_ANGEL = "Bench Angel"  # the services the create phase writes, deleted at the next run
ADMIN_PASSWORD = "bench admin passphrase"
BENCH_USER = "bench-api"  # an analyst (reads and creates), its password set anew by each run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """`python -m api` in its own process over the bench database, its RSS sampled meanwhile."""

    def __init__(self, url: str):
        self.port = _free_port()
        env = {**os.environ, "DATABASE_URL": url, "LOGISTICS_DATA_DIR": str(ROOT / ".data" / NAME),
               "AUTH_COOKIE_KEY": secrets.token_urlsafe(32), "API_TOKEN_KEY": secrets.token_urlsafe(32),
               "ADMIN_PASSWORD": ADMIN_PASSWORD, "LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen([sys.executable, "-m", "api", "--port", str(self.port)], cwd=ROOT,
                                        env=env, stdout=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self.peak_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the API did not start within 60 s")

    def _sample(self) -> None:
        proc = psutil.Process(self.process.pid)
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self.process.terminate()
        self.process.wait(timeout=30)


def _stats(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def read_routes(conn) -> list[tuple[str, str]]:
    """(label, path) of each read route measured."""
    some = conn.execute(sa.text("SELECT id, id_cliente, polo FROM services ORDER BY id OFFSET 500000 LIMIT 1")).one()
    deep = conn.scalar(sa.text("SELECT id FROM services ORDER BY id OFFSET 1000000 LIMIT 1"))
    customer = conn.scalar(sa.text("SELECT id FROM customers ORDER BY id OFFSET 300000 LIMIT 1"))
    march = "start_date=2022-03-01&end_date=2022-03-31"
    return [
        ("GET one service", f"/v1/services/{some.id}"),
        ("services: first page (30)", "/v1/services"),
        ("services: page past row 1,000,000 (cursor)", f"/v1/services?after={deep}"),
        ("services: polo filter, first page", f"/v1/services?polo={some.polo}"),
        ("services: a customer's services", f"/v1/services?id_cliente={some.id_cliente}"),
        ("services: total", "/v1/services/total"),
        ("GET one customer", f"/v1/customers/{customer}"),
        ("customers: first page (30)", "/v1/customers"),
        ("customers: total", "/v1/customers/total"),
        ("SLA by polo, March 2022", f"/v1/indicators/sla/polo?{march}"),
        ("SLA by polo, whole range", "/v1/indicators/sla/polo"),
        ("SLA by angel, March 2022", f"/v1/indicators/sla/angel?{march}"),
        ("SLA by angel, whole range", "/v1/indicators/sla/angel"),
        ("productivity, March 2022", f"/v1/indicators/productivity?{march}"),
        ("productivity, whole range", "/v1/indicators/productivity"),
        ("health (no token)", "/v1/health"),
    ]


def measure_reads(server: ApiServer, headers: dict, routes, repeat: int) -> list[tuple[str, float, float, int]]:
    results = []
    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
        for label, path in routes:
            answer = client.get(path)
            answer.raise_for_status()
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            results.append((label, *_stats(times), len(answer.content)))
    return results


# The big answers: (label, path, the same question asked of core).
BIG = [
    ("SLA by angel, March 2022", "/v1/indicators/sla/angel?start_date=2022-03-01&end_date=2022-03-31",
     lambda conn, period, country, as_of: indicators.sla_by_angel(conn, period=period, sort="total", descending=True,
                                                                  as_of=as_of)),
    ("productivity, March 2022", "/v1/indicators/productivity?start_date=2022-03-01&end_date=2022-03-31",
     lambda conn, period, country, as_of: indicators.productivity(conn, period=period, sort="total", descending=True,
                                                                  as_of=as_of, country=country)),
]


def measure_big(server: ApiServer, headers: dict, engine: sa.Engine, repeat: int) -> list[tuple]:
    """Each big answer over HTTP and the same core call, alternating: (label, HTTP p50, p95, core
    p50, p95, rows, bytes)."""
    from core.config import load_settings

    settings = load_settings()
    period, country, as_of = Period(date(2022, 3, 1), date(2022, 3, 31)), settings.holiday_country, today(settings)
    results = []
    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client, engine.connect() as conn:
        for label, path, ask in BIG:
            size, rows = len(client.get(path).raise_for_status().content), len(ask(conn, period, country, as_of))
            http, core = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                http.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                ask(conn, period, country, as_of)
                core.append((time.perf_counter() - started) * 1000)
            results.append((label, *_stats(http), *_stats(core), rows, size))
    return results


def print_big(results: list[tuple]) -> None:
    print(f"\n{'big answer':<28} {'HTTP p50':>8} {'p95':>6} {'core p50':>8} {'p95':>6} {'+p50':>6} {'+p95':>6} "
          f"{'rows':>6} {'bytes':>9}")
    for label, http50, http95, core50, core95, rows, size in results:
        print(f"{label:<28} {http50:>8.1f} {http95:>6.1f} {core50:>8.1f} {core95:>6.1f} {http50 - core50:>6.1f} "
              f"{http95 - core95:>6.1f} {rows:>6,} {size:>9,}")


def measure_creates(server: ApiServer, headers: dict, clients: int, seconds: float, polos: list[str]) -> dict:
    created: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def work(n: int) -> None:
        mine, bad = [], []
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            i = 0
            while time.monotonic() < stop:
                i += 1
                # As field apps would: each client an angel of its own polo, deadlines over a month.
                day = 1 + i % 28
                body = {"id_cliente": 1_000_000_000 + n * 100_000 + i % 50, "angel": f"{BENCH_ANGEL} {n}",
                        "polo": polos[n % len(polos)], "data_limite": f"2026-12-{day:02d}",
                        "data_de_atendimento": f"2026-12-{max(day - 1, 1):02d} 10:00:00"}
                try:
                    answer = client.post("/v1/services", json=body)
                except httpx.HTTPError as exc:
                    bad.append(type(exc).__name__)
                    continue
                if answer.status_code == 201:
                    mine.append(answer.json()["id"])
                else:
                    bad.append(f"{answer.status_code} {answer.text[:120]}")
        with lock:
            created.extend(mine)
            errors.extend(bad)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"created": created, "errors": errors, "seconds": elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per read route (default 50)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent creating clients (default 16)")
    parser.add_argument("--seconds", type=float, default=20, help="how long they create (default 20)")
    parser.add_argument("--rebuild", action="store_true", help="reload the full demo files")
    parser.add_argument("--big-only", action="store_true",
                        help="only the big answers beside the core call (no other route, no creates)")
    args = parser.parse_args(argv)

    from core.demo import FULL_ROWS

    engine = bench_engine(NAME)
    with engine.begin() as conn:  # services created by an earlier run of this benchmark go first
        conn.execute(sa.text("DELETE FROM services WHERE angel LIKE :bench"), {"bench": f"{BENCH_ANGEL} %"})
        conn.execute(sa.text("DELETE FROM customers WHERE id >= 1000000000 AND nome IS NULL "
                             "AND NOT EXISTS (SELECT 1 FROM services s WHERE s.id_cliente = customers.id)"))
        count = conn.scalar(sa.text("SELECT count(*) FROM services"))
    if args.rebuild or count != FULL_ROWS:
        print(f"writing and loading the full demo files ({FULL_ROWS:,} services)...", flush=True)
        print(load_full_demo(engine, NAME), flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE services"))
        routes = read_routes(conn)
        polos = list(conn.scalars(sa.text("SELECT DISTINCT polo FROM sla_polo_daily ORDER BY polo")))
    password = bench_user(engine, BENCH_USER, "analyst")
    server = ApiServer(engine.url.render_as_string(hide_password=False))
    try:
        tokens = httpx.post(f"{server.base}/v1/auth/login", json={"username": BENCH_USER, "password": password},
                            timeout=30).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        print(f"API on {server.base}, one uvicorn worker; {FULL_ROWS:,} services; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cpus\n")
        if args.big_only:
            print_big(measure_big(server, headers, engine, args.repeat))
            print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            return 0
        print(f"{'read route':<46} {'p50 ms':>7} {'p95 ms':>7} {'bytes':>9}")
        for label, p50, p95, size in measure_reads(server, headers, routes, args.repeat):
            print(f"{label:<46} {p50:>7.1f} {p95:>7.1f} {size:>9,}")
        print_big(measure_big(server, headers, engine, args.repeat))
        rss_reads = server.peak_rss
        print(f"\n{args.clients} clients creating services for {args.seconds:.0f} s...", flush=True)
        run = measure_creates(server, headers, args.clients, args.seconds, polos)
        created = run["created"]
        with engine.connect() as conn:
            found = conn.execute(sa.text(
                "SELECT count(*), count(DISTINCT id) FROM services WHERE id = ANY(:ids)"), {"ids": created}).one()
        print(f"created {len(created):,} in {run['seconds']:.1f} s = {len(created) / run['seconds']:.0f} creates/s; "
              f"errors {len(run['errors'])}{' (' + run['errors'][0] + ')' if run['errors'] else ''}")
        print(f"distinct ids answered {len(set(created)):,}; rows with those ids {found[0]:,}, distinct {found[1]:,}"
              f" -> {'every created row present exactly once' if found[0] == found[1] == len(created) == len(set(created)) else 'MISMATCH'}")
        print(f"peak RSS of the API process: {rss_reads / 2**20:.0f} MB after the reads, "
              f"{server.peak_rss / 2**20:.0f} MB overall")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
