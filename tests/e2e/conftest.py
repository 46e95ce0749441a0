"""Browser harness: the real dashboard (streamlit server) driven by Playwright in Debian's chromium.

`app_url` starts one server per test session against the test database; `browser_page` gives each
test a fresh browser context (no cookies); `login()` logs in through the real form.
"""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def app_url(test_env, engine):
    """Base URL of a dashboard server running against the test database."""
    _require_chromium()
    port = _free_port()
    env = {**os.environ, **test_env, "PYTHONUNBUFFERED": "1"}
    log_path = Path(test_env["LOGISTICS_DATA_DIR"]).parent / "streamlit.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the dashboard did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
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


_COUNT_RUNS = """() => {
    if (window.__runs === undefined) {
        window.__runs = 0;
        const app = document.querySelector('[data-testid="stApp"]');
        new MutationObserver(() => {
            if (app.getAttribute('data-test-script-state') === 'running') window.__runs += 1;
        }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }
    return window.__runs;
}"""


def wait_settled(page, quiet_ms: int = 1500, timeout_ms: int = 30_000) -> None:
    """Wait until no script run has started for `quiet_ms`: the login cookie's component reports
    back with extra reruns after a login, and a widget changed during one of them can be lost."""
    runs = page.evaluate(_COUNT_RUNS)
    waited = 0
    while waited < timeout_ms:
        wait_idle(page)
        page.wait_for_timeout(quiet_ms)
        waited += quiet_ms
        now = page.evaluate(_COUNT_RUNS)
        if now == runs and page.locator(
                '[data-testid="stApp"][data-test-script-state="notRunning"]').count():
            return
        runs = now


def login(page, app_url: str, username: str = "admin", password: str = "admin-test-pass",
          path: str = "") -> None:
    """Log in through the real form, then reload: the session must come back from the cookie.

    The reload also works around a defect seen in headless Chromium: in the browser tab where the
    login form was submitted, a later widget change sometimes sends nothing to the server (no
    websocket frame) until the page is reloaded.
    """
    page.goto(f"{app_url}/{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Signed in as").wait_for()
    wait_settled(page)
    page.reload()
    page.get_by_text("Signed in as").wait_for()
    wait_settled(page)
