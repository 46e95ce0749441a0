"""Browser harness: the real dashboard (streamlit server) driven by Playwright in Debian's chromium.

`app_url` starts one server per test session against the test database; `browser_page` gives each
test a fresh browser context (no cookies); `login()` logs in through the real form. Tests wait for
the app's own state (the script-state attribute, the element that should appear), never a fixed time.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ARTIFACTS = ROOT / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    message = f"Debian's chromium is not installed at {CHROMIUM} (make browser installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def start_dashboard(env: dict, log, module: str = "streamlit") -> tuple[subprocess.Popen, str]:
    """`python -m <module> run dashboard/app.py` (Streamlit's command, or bench.streamlit_timed) with
    `env`, its output to the open file `log`, on a free port of 127.0.0.1: the process and its base
    URL once it answers its health check (RuntimeError, the process killed, if it does not within
    60 s). The browser tests and bench.dashboard use it."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def app_url(test_env, engine):
    """Base URL of a dashboard server running against the test database."""
    _require_chromium()
    env = {**os.environ, **test_env, "PYTHONUNBUFFERED": "1"}
    log_path = Path(test_env["LOGISTICS_DATA_DIR"]).parent / "streamlit.log"
    log = open(log_path, "wb")
    try:
        proc, url = start_dashboard(env, log)
    except RuntimeError:
        pytest.fail(f"the dashboard did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def _browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser, request):
    """A page in a fresh context (no cookies). On failure a screenshot goes to artifacts/."""
    context = _browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def wait_idle(page) -> None:
    """Wait until the Streamlit script has finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


# Installed in a page before its own scripts. It notes, from the app's websocket: when the browser
# first sends the login cookie to the app (the cookie component reporting the cookies it sees, which
# makes the app run once more, unasked); when the server starts a run (its first message names the
# app's script); when the server says no script runs any more (a session_status_changed message,
# field 9, without script_is_running: what the page's own running indicator follows).
_WATCH = """([script, cookie]) => {
    if (window.__watching) return;
    window.__watching = true;
    const bytes = (data) => ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array();
    const text = (data) => new TextDecoder().decode(bytes(data));
    const idle = (b) => b[0] === 0x4a && b.length === 2 + b[1] && !b.slice(2).some((x, i, s) => x === 0x10 && s[i + 1] === 1);
    const Native = window.WebSocket;
    window.WebSocket = function (...args) {
        const socket = new Native(...args);
        socket.addEventListener("message", (event) => {
            if (idle(bytes(event.data))) window.__idleSince = performance.now();
            else if (text(event.data).includes(script)) window.__runStarted = performance.now();
        });
        const send = socket.send.bind(socket);
        socket.send = (data) => {
            if (window.__cookieSent === undefined && text(data).includes(cookie)) window.__cookieSent = performance.now();
            return send(data);
        };
        return socket;
    };
    Object.assign(window.WebSocket, Native);
    window.WebSocket.prototype = Native.prototype;
}"""
_SETTLED = """() => window.__cookieSent !== undefined && window.__runStarted > window.__cookieSent
    && window.__idleSince > window.__runStarted"""


def watch(page) -> None:
    """Install _WATCH in the page's next documents (once is enough; more is harmless)."""
    cookie = os.environ.get("AUTH_COOKIE_NAME") or "logistics_auth"
    page.add_init_script(f"({_WATCH})({json.dumps([str(ROOT / 'dashboard' / 'app.py'), cookie])})")


def settle(page) -> None:
    """Wait until the app knows the login cookie: the browser has reported it, which makes the app
    run once more unasked, and that run has ended. After it nothing runs unless a widget changes.
    (Needed before a file upload: a run that starts while a file is uploading can lose it, a
    Streamlit defect, see README.)"""
    page.wait_for_function(_SETTLED)
    wait_idle(page)


def login(page, app_url: str, username: str = "admin", password: str = "admin-test-pass",
          path: str = "", signed_in: str = "Signed in as") -> None:
    """Log in through the real form (its English labels: the browser's language) and wait until the
    app has settled (see settle); `signed_in` is the account box's text in the user's language."""
    watch(page)
    page.goto(f"{app_url}/{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(signed_in).wait_for()
    settle(page)
