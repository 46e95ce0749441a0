"""Benchmark: what a manager waits for on the indicator pages, in a real browser, at 1,048,575 services.

    .venv/bin/python -m bench.dashboard [--users 1 4] [--changes 8] [--sorts 2] [--pages ...]
                                        [--rows 1048575] [--rebuild] [--sql-repeat 3] [--profile PAGE]

Needs the dev requirements (Playwright, pyinstrument) and Debian's chromium (/usr/bin/chromium,
`make browser`; never `playwright install`). It takes 4-8 minutes with the defaults; the first run
also writes and loads the demo (about a minute at 1M, 7 minutes at 10M).

The database: its own embedded one in .data/bench-dashboard (or BENCH_DATABASE_URL; with --rows
other than the export's 1,048,575, .data/bench-dashboard-<rows>). When it does not hold exactly
--rows services (or with --rebuild) the demo files are written (seed 42, deadlines
2021-06-30..2022-06-03, core.demo as bench.api uses it) and loaded with the product's loader. Each
run makes its users (viewers bench-manager-N, fresh passwords).

The run: it starts the dashboard (`streamlit run dashboard/app.py` through bench.streamlit_timed,
Portuguese, LOG_LEVEL=INFO, its log in .data/bench-dashboard-app/streamlit.log) and, for each
number in --users, that many headless Chromium processes (one per user, the e2e tests' set-up and
login), which together, in step (a barrier before every change):

1. open Visão geral, SLA por polo, SLA por angel and Produtividade in turn through the sidebar's
   links (a "page switch");
2. on each, change the sidebar's Polo --changes times: a polo of their own (every user and every
   phase other polos, so no answer comes from the dashboard's cache of an earlier change), then
   back to every polo (Todos os polos: the full tables, 1,820 angels), in turn;
3. on the pages with a sort box, change it --sorts times (it reruns the page's fragment alone).

Each wait is timed in the page: from the Enter that picks the option (the click, for a page
switch) to the end of the run it started (the first `notRunning` of `data-test-script-state` on
`[data-testid="stApp"]` after it left `notRunning`, or the server's idle message for a run too
short to show), plus two animation frames for the charts to draw. Printed per page and phase, in
ms: p50 / p95 / max of the waits (and p50 to one polo, to every polo); the server's whole run
(p50 / p95, timed in the server by bench.streamlit_timed: the entrypoint, the page and Streamlit's
clean-up); the page script's run (the `page.<name>` lines the dashboard logs); the run as the
browser's websocket saw it; the time from the page's idle state to the end; and the SQL of the same
questions (core.indicators, the calls the page makes, no cache) timed in this process right after,
--sql-repeat calls per change. Then every change, every sort, and the page switches. The load
average is printed before and after each phase: on a shared 2-core machine compare figures only
from the same sitting (docs/performance.md shows how: alternate the code before and after).

--profile PAGE runs that page in-process instead (Streamlit's AppTest on the same database, logged
in as a bench viewer), changes the Polo --changes times (one polo, every polo, in turn) under
pyinstrument, prints the profile and writes it to .data/bench-dashboard-profile-PAGE.txt (and .html).

Targets (issue 19), one manager: p50 <= 200 ms, p95 <= 400 ms per change, the server's run <= 60 ms
p50, a page switch <= 400 ms p50; four managers at once: p50 <= 500 ms, p95 <= 1 s; at 10,485,750
services (--rows 10485750) within 1.5x of the 1M figures.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import secrets
import statistics
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from bench.common import ROOT, bench_engine, bench_user, load_full_demo

NAME = "bench-dashboard"
# url path -> the Portuguese title of the page (what the sidebar shows)
PAGES = {"overview": "Visão geral", "sla_polo": "SLA por polo", "sla_angel": "SLA por angel",
         "productivity": "Produtividade"}
USERNAME = "bench-manager-{n}"
STEP_TIMEOUT_S = 120

# Installed in every document before the app's scripts: times a wait in the page. `arm(kind)` makes
# the next Enter key (kind "enter") or click (kind "click") the start; the end is the first
# `notRunning` of the app's script state after it left `notRunning` (or, for a run so short that
# the page never showed it running, the first frame after the server's idle message, which the
# e2e tests' websocket watch notes in __idleSince), plus two animation frames.
_TIMER = """(() => {
    if (window.__bench) return;
    const b = window.__bench = {armed: null, start: null, end: null, busy: false, ending: false, idle: null};
    b.arm = (kind) => { b.armed = kind; b.start = null; b.end = null; b.busy = false; b.ending = false; b.idle = null; };
    const state = () => {
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.getAttribute("data-test-script-state");
    };
    const finish = () => {
        b.ending = true;
        b.idle = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => { b.end = performance.now(); }));
    };
    const check = () => {
        if (b.start === null || b.end !== null || b.ending) return;
        if (state() !== "notRunning") { b.busy = true; return; }
        if (b.busy || (window.__idleSince || 0) > b.start) finish();
    };
    const poll = () => { check(); if (b.start !== null && !b.ending) requestAnimationFrame(poll); };
    const go = (kind) => {
        if (b.armed !== kind) return;
        b.armed = null;
        b.start = performance.now();
        requestAnimationFrame(poll);
    };
    document.addEventListener("keydown", (e) => { if (e.key === "Enter") go("enter"); }, true);
    document.addEventListener("click", () => go("click"), true);
    new MutationObserver(check).observe(document, {subtree: true, attributes: true,
                                                   attributeFilter: ["data-test-script-state"]});
})()"""


ALL = ""  # the Polo box's "Todos os polos"
ALL_LABEL = "Todos os polos"


# The page's own sort box (inside its fragment): its label and the two options the bench picks in
# turn, in Portuguese.
SORT_BOXES = {"sla_polo": ("Ordenar por", ("Atendimentos vencendo (total)", "Nome do polo")),
              "sla_angel": ("Ordenar a tabela por", ("Atendimentos vencendo (total)", "Nome do angel")),
              "productivity": ("Ordenar a tabela por", ("Atendimentos (total)", "Nome do angel"))}


@dataclass(frozen=True)
class Step:
    """One timed wait of a user on `page`: a switch to it (kind "switch"), a change of the sidebar's
    Polo to `value` (kind "change"; ALL: every polo), or of the page's sort box to `value` ("sort")."""
    page: str
    kind: str = "switch"
    value: str | None = None

    @property
    def polo(self) -> str | None:
        return self.value if self.kind == "change" else None


def plan(pages: list[str], polos: list[str], users: int, changes: int, sorts: int, offset: int) -> list[list[Step]]:
    """Every user's steps, in step with the others: per page a switch, then `changes` Polo changes,
    one polo of its own (user u's i-th change on a page is polo offset + u * changes + i, modulo
    the polos) and back to every polo (1,820 angels, 70 polos) in turn, then `sorts` changes of
    the page's sort box, when it has one."""
    def polo(u: int, i: int) -> str:
        return ALL if i % 2 else polos[(offset + u * changes + i) % len(polos)]

    def page_steps(page: str, u: int) -> list[Step]:
        steps = [Step(page)] + [Step(page, "change", polo(u, i)) for i in range(changes)]
        if page in SORT_BOXES:
            steps += [Step(page, "sort", SORT_BOXES[page][1][i % 2]) for i in range(sorts)]
        return steps

    return [[step for page in pages for step in page_steps(page, u)] for u in range(users)]


def _stats(values: list[float]) -> tuple[float, float, float]:
    """p50, p95 (nearest rank) and max."""
    values = sorted(values)
    if not values:
        return float("nan"), float("nan"), float("nan")
    return statistics.median(values), values[min(len(values) - 1, round(0.95 * (len(values) - 1)))], values[-1]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the database and its users ---------------------------------------------------------------------

def prepare(rows: int, rebuild: bool) -> sa.Engine:
    """The bench database with exactly `rows` demo services (loaded when not)."""
    name = NAME if rows == _full_rows() else f"{NAME}-{rows}"
    engine = bench_engine(name)
    with engine.connect() as conn:
        count = conn.scalar(sa.text("SELECT count(*) FROM services"))
    if rebuild or count != rows:
        print(f"writing and loading the demo files ({rows:,} services, takes a while)...", flush=True)
        print(load_full_demo(engine, name, rows=rows), flush=True)
    return engine


def _full_rows() -> int:
    from core.demo import FULL_ROWS

    return FULL_ROWS


def bench_users(engine: sa.Engine, count: int) -> list[tuple[str, str]]:
    """`count` viewers with fresh passwords, their stored language the default (Portuguese here)."""
    return [(name, bench_user(engine, name, "viewer")) for name in (USERNAME.format(n=n) for n in range(1, count + 1))]


# --- the dashboard --------------------------------------------------------------------------------

class Dashboard:
    """`streamlit run dashboard/app.py` over the bench database; its log (JSON lines) in a file."""

    def __init__(self, engine: sa.Engine, data_dir: Path):
        from tests.e2e.conftest import start_dashboard

        self.log_path = data_dir / "streamlit.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
               "LOGISTICS_DATA_DIR": str(data_dir), "AUTH_COOKIE_KEY": secrets.token_urlsafe(32),
               "API_TOKEN_KEY": secrets.token_urlsafe(32), "ADMIN_PASSWORD": secrets.token_urlsafe(18),
               "LANGUAGE": "pt_BR", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "wb")
        try:
            self.process, self.url = start_dashboard(env, self._log, module="bench.streamlit_timed")
        except RuntimeError:
            self._log.close()
            raise RuntimeError(f"the dashboard did not start: see {self.log_path}") from None

    def page_runs(self, since: float, until: float) -> dict[str, list[float]]:
        """The runs logged between two times (time.time()), in ms: {page: [its page script's runs]}
        as the dashboard logs them, and {"script": [every whole run]} (bench.streamlit_timed)."""
        runs: dict[str, list[float]] = {}
        for line in self.log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            op = str(entry.get("op", ""))
            if not op.startswith(("page.", "script.")) or entry.get("outcome") != "ok":
                continue
            at = datetime.fromisoformat(entry["ts"]).timestamp()
            if since <= at <= until:
                runs.setdefault(op.partition(".")[2] if op.startswith("page.") else "script", []).append(
                    float(entry["duration_ms"]))
        return runs

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


# --- one user: its own Chromium ---------------------------------------------------------------------

def _timed(page, kind: str, act) -> tuple[float, float, float, float]:
    """Arm the page's timer, act, wait for the end: (wait ms, websocket run ms, ms from the page's
    idle state to the end, time.time() of the end)."""
    page.evaluate("(kind) => window.__bench.arm(kind)", kind)
    act()
    page.wait_for_function("window.__bench.end !== null", timeout=STEP_TIMEOUT_S * 1000)
    wait, run, drawn = page.evaluate("[window.__bench.end - window.__bench.start, "
                                     "window.__idleSince - window.__runStarted, window.__bench.end - window.__bench.idle]")
    return wait, run, drawn, time.time()


def _user(n: int, url: str, username: str, password: str, steps: list[Step], barrier, results) -> None:
    """A process: one Chromium, logged in, doing its steps in step with the other users."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, login, wait_idle

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # The login form follows the browser's language (English here, the e2e tests' labels);
            # the pages then speak the bench users' language, the LANGUAGE setting: Portuguese.
            context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
            context.set_default_timeout(STEP_TIMEOUT_S * 1000)
            page = context.new_page()
            page.add_init_script(_TIMER)
            login(page, url, username, password, signed_in="Conectado como")
            sidebar = page.get_by_test_id("stSidebar")
            for step in steps:
                if step.kind == "switch":
                    link = sidebar.locator(f'a[href$="{step.page}"]')
                    barrier.wait(STEP_TIMEOUT_S)
                    started = time.time()
                    wait, run, drawn, ended = _timed(page, "click", link.click)
                    page.get_by_role("heading", name=PAGES[step.page]).first.wait_for()
                elif step.kind == "sort":
                    box = page.get_by_test_id("stSelectbox").filter(has_text=SORT_BOXES[step.page][0])
                    box.get_by_role("combobox").click()
                    page.keyboard.type(step.value)
                    page.get_by_role("option", name=step.value, exact=True).first.wait_for()
                    barrier.wait(STEP_TIMEOUT_S)
                    started = time.time()
                    wait, run, drawn, ended = _timed(page, "enter", lambda: page.keyboard.press("Enter"))
                else:
                    box = sidebar.get_by_test_id("stSelectbox").filter(has_text="Polo")
                    box.get_by_role("combobox").click()
                    label = step.polo or ALL_LABEL
                    page.keyboard.type(label)
                    page.get_by_role("option", name=label, exact=True).first.wait_for()
                    barrier.wait(STEP_TIMEOUT_S)
                    started = time.time()
                    wait, run, drawn, ended = _timed(page, "enter", lambda: page.keyboard.press("Enter"))
                    param = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query).get("polo", [ALL])[0]
                    if param != step.polo:
                        raise RuntimeError(f"user {n} asked for polo {step.polo!r}, the page shows {param!r}")
                wait_idle(page)
                results.put({"user": n, "page": step.page, "kind": step.kind, "polo": step.polo, "wait": wait,
                             "run": run, "drawn": drawn, "started": started, "ended": ended})
            browser.close()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        barrier.abort()
        results.put({"user": n, "error": f"{type(exc).__name__}: {exc}"})
        raise
    results.put({"user": n, "done": True})


def run_phase(dashboard: Dashboard, users: list[tuple[str, str]], steps: list[list[Step]]) -> list[dict]:
    """All users at once, one process (one Chromium) each; their timed steps."""
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(len(steps)), spawn.Queue()
    workers = [spawn.Process(target=_user, args=(n, dashboard.url, *users[n], steps[n], barrier, results))
               for n in range(len(steps))]
    for worker in workers:
        worker.start()
    timings, done = [], 0
    deadline = time.monotonic() + STEP_TIMEOUT_S * (len(steps[0]) + 2)
    try:
        while done < len(workers):
            try:
                item = results.get(timeout=5)
            except queue.Empty:
                if time.monotonic() > deadline or not any(w.is_alive() for w in workers):
                    raise RuntimeError("the users stopped without finishing") from None
                continue
            if "error" in item:
                raise RuntimeError(f"user {item['user']}: {item['error']}")
            if item.get("done"):
                done += 1
            else:
                timings.append(item)
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.terminate()
    return timings


# --- the SQL of the same questions -------------------------------------------------------------------

def questions(conn, page: str, polo: str | None, *, period, as_of: date, country: str) -> None:
    """The core reads `page` makes for a polo with the sidebar's default period (All data: `period`)
    and its default sort, straight from core (no cache)."""
    from core import indicators

    if page == "overview":
        indicators.overview(conn, period=period, polo=polo, as_of=as_of, country=country)
        indicators.trend(conn, period=period, polo=polo, as_of=as_of, country=country)
    elif page == "sla_polo":
        indicators.sla_by_polo(conn, period=period, polo=polo, sort="sla", descending=True, as_of=as_of)
    elif page == "sla_angel":
        indicators.sla_by_angel(conn, period=period, polo=polo, search=None, sort="sla", descending=True,
                                as_of=as_of)
    else:
        indicators.productivity(conn, period=period, polo=polo, search=None, sort="productivity",
                                descending=True, as_of=as_of, country=country)


def sidebar_defaults(conn) -> dict:
    """What every question of a run shares, found once as the page has it cached: the default period
    (All data), today and the holidays' country (questions' keyword arguments)."""
    from core import indicators
    from core.config import load_settings
    from core.definitions import Period
    from core.operation_day import today

    settings, known = load_settings(), indicators.data_range(conn)
    return {"period": Period(known.first, known.last), "as_of": today(settings), "country": settings.holiday_country}


def time_sql(engine: sa.Engine, steps: list[list[Step]], repeat: int) -> dict[str, list[float]]:
    """Each change's questions `repeat` times, in ms, per page."""
    times: dict[str, list[float]] = {}
    with engine.connect() as conn:
        shared = sidebar_defaults(conn)
        for user in steps:
            for step in user:
                if step.kind != "change":
                    continue
                for _ in range(repeat):
                    started = time.perf_counter()
                    questions(conn, step.page, step.polo or None, **shared)
                    times.setdefault(step.page, []).append((time.perf_counter() - started) * 1000)
    return times


def report(timings: list[dict], runs: dict[tuple[str, str], dict[str, list[float]]], sql: dict[str, list[float]],
           pages: list[str]) -> None:
    """The table of a phase: per page, the waits, the server's runs and the SQL, in ms."""
    print(f"{'page':<21} {'n':>3} {'p50':>5} {'p95':>5} {'max':>5} {'polo p50':>8} {'all p50':>7} "
          f"{'server p50':>10} {'p95':>5} {'page p50':>8} {'ws p50':>6} {'draw':>4} {'SQL p50':>7} {'p95':>5}")
    for page in pages:
        for kind in ("change", "sort"):
            mine = [t for t in timings if t["page"] == page and t["kind"] == kind]
            if not mine:
                continue
            p50, p95, top = _stats([t["wait"] for t in mine])
            server = _stats(runs[page, kind].get("script", []))
            line = (f"{PAGES[page] + (' (sort)' if kind == 'sort' else ''):<21} {len(mine):>3} {p50:>5.0f} {p95:>5.0f} "
                    f"{top:>5.0f} ")
            if kind == "change":
                line += (f"{_stats([t['wait'] for t in mine if t['polo']])[0]:>8.0f} "
                         f"{_stats([t['wait'] for t in mine if not t['polo']])[0]:>7.0f} ")
            else:
                line += f"{'':>8} {'':>7} "
            line += f"{server[0]:>10.0f} {server[1]:>5.0f} "
            if kind == "change":  # a sort reruns the page's fragment alone: no page run, no new question
                line += (f"{_stats(runs[page, kind].get(page, []))[0]:>8.0f} ")
            else:
                line += f"{'':>8} "
            line += f"{_stats([t['run'] for t in mine])[0]:>6.0f} {_stats([t['drawn'] for t in mine])[0]:>4.0f}"
            if kind == "change":
                line += f" {_stats(sql.get(page, []))[0]:>7.1f} {_stats(sql.get(page, []))[1]:>5.1f}"
            print(line)
    for kind, label in (("change", "every Polo change"), ("sort", "every sort")):
        mine = [t for t in timings if t["kind"] == kind]
        if mine:
            p50, p95, top = _stats([t["wait"] for t in mine])
            server = _stats([ms for (page, k), found in runs.items() if k == kind for ms in found.get("script", [])])
            print(f"{label:<21} {len(mine):>3} {p50:>5.0f} {p95:>5.0f} {top:>5.0f} {'':>8} {'':>7} {server[0]:>10.0f} "
                  f"{server[1]:>5.0f}")
    switches = [t["wait"] for t in timings if t["kind"] == "switch"]
    p50, p95, top = _stats(switches)
    print(f"{'page switches':<21} {len(switches):>3} {p50:>5.0f} {p95:>5.0f} {top:>5.0f}  "
          + ", ".join(f"{PAGES[p]} {_stats([t['wait'] for t in timings if t['kind'] == 'switch' and t['page'] == p])[0]:.0f}"
                      for p in pages))


# --- profile ------------------------------------------------------------------------------------------

def profile(engine: sa.Engine, page: str, polos: list[str], changes: int) -> None:
    """The page's reruns after Polo changes, in-process (AppTest), under pyinstrument."""
    from pyinstrument import Profiler
    from streamlit.testing.v1 import AppTest

    (username, password), = bench_users(engine, 1)
    data_dir = ROOT / ".data" / f"{NAME}-profile"
    os.environ.update({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                       "LOGISTICS_DATA_DIR": str(data_dir), "AUTH_COOKIE_KEY": secrets.token_urlsafe(32),
                       "API_TOKEN_KEY": secrets.token_urlsafe(32), "LANGUAGE": "pt_BR", "LOG_LEVEL": "WARNING"})
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click().run()
    at.switch_page(f"../pages/{page}.py").run()
    if at.exception:
        raise RuntimeError(at.exception)
    # Profile the thread that runs the script (AppTest runs it in a thread of its own).
    from streamlit.testing.v1 import local_script_runner

    profiler = Profiler(interval=0.0005)
    original = local_script_runner.LocalScriptRunner._run_script

    def profiled(self, *args, **kwargs):
        profiler.start()
        try:
            return original(self, *args, **kwargs)
        finally:
            profiler.stop()

    local_script_runner.LocalScriptRunner._run_script = profiled
    times = []
    try:
        for i in range(changes):
            at.selectbox(key="filters_polo").set_value(ALL if i % 2 else polos[i])
            started = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - started) * 1000)
            if at.exception:
                raise RuntimeError(at.exception)
    finally:
        local_script_runner.LocalScriptRunner._run_script = original
    out = ROOT / ".data" / f"{NAME}-profile-{page}"
    out.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
    out.with_suffix(".html").write_text(profiler.output_html())
    p50, p95, top = _stats(times)
    print(f"{PAGES[page]}: {len(times)} reruns in AppTest, p50 {p50:.0f} ms, max {top:.0f} ms; load {_load()}")
    print(f"profile: {out.with_suffix('.txt')} (and .html)")
    print(profiler.output_text(unicode=True, show_all=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4],
                        help="numbers of users at once, one phase each (default: 1 4)")
    parser.add_argument("--changes", type=int, default=8, help="Polo changes per page and user (default 8)")
    parser.add_argument("--sorts", type=int, default=2,
                        help="changes of the page's sort box per page and user, after the Polo changes (default 2)")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES),
                        help="indicator pages, in the order visited (default: all four)")
    parser.add_argument("--rows", type=int, default=None,
                        help="services in the bench database (default 1,048,575; e.g. 10485750 for the 10M run)")
    parser.add_argument("--rebuild", action="store_true", help="write and load the demo files again")
    parser.add_argument("--sql-repeat", type=int, default=3, help="timed SQL calls per change (default 3)")
    parser.add_argument("--profile", choices=list(PAGES), help="profile PAGE's reruns in-process instead")
    args = parser.parse_args(argv)

    rows = args.rows or _full_rows()
    engine = prepare(rows, args.rebuild)
    with engine.connect() as conn:
        polos = list(conn.scalars(sa.text("SELECT DISTINCT polo FROM sla_polo_daily ORDER BY polo")))
        first, last = conn.execute(sa.text("SELECT min(data_limite), max(data_limite) FROM services")).one()
    if args.profile:
        profile(engine, args.profile, polos, args.changes)
        return 0

    users = bench_users(engine, max(args.users))
    dashboard = Dashboard(engine, ROOT / ".data" / f"{NAME}-app")
    try:
        print(f"dashboard on {dashboard.url}; {rows:,} services, deadlines {first}..{last}; {len(polos)} polos; "
              f"{os.cpu_count()} cpus; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)
        offset = 0
        for count in args.users:
            steps = plan(args.pages, polos, count, args.changes, args.sorts, offset)
            offset += count * args.changes
            print(f"\n{count} user(s) at once, {args.changes} Polo changes per page each; load average "
                  f"{_load()}", flush=True)
            timings = run_phase(dashboard, users, steps)
            # page runs of the changes only: each page's window from its first change to its last
            # the server's runs of each page's Polo changes, and of its sorts: from the first to the last
            runs = {(p, kind): dashboard.page_runs(min(t["started"] for t in mine), max(t["ended"] for t in mine))
                    for p in args.pages for kind in ("change", "sort")
                    if (mine := [t for t in timings if t["page"] == p and t["kind"] == kind])}
            load_after = _load()
            sql = time_sql(engine, steps, args.sql_repeat)
            print(f"load average after the browsers {load_after}. Waits in ms from the keypress to the charts "
                  f"drawn (polo: to one polo, all: back to every polo); server = the server's whole run; page = "
                  f"the page script's run; ws = the run as the browser's websocket saw it; draw = from the "
                  f"page's idle state to the end; SQL = the same questions from core, {args.sql_repeat} calls "
                  f"per change")
            report(timings, runs, sql, args.pages)
    finally:
        dashboard.stop()
    print(f"\nload average at the end {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
