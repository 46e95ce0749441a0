"""Take the README's screenshots from the real product on demo data.

    .venv/bin/python scripts/screenshots.py [--rows 300000]

Uses a throwaway data dir (.data/screenshots): writes demo files, loads them with the CLI, starts
the dashboard, logs in as admin in Debian's chromium and saves PNGs to docs/screenshots/: Overview
in English first (overview-en.png), then, after choosing Portuguese in the account box, every page
in Portuguese.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".data" / "screenshots"
OUT = ROOT / "docs" / "screenshots"
PASSWORD = "screenshot-admin"
PAGES = [("today", "today.png"), ("overview", "overview.png"), ("sla_polo", "sla-by-polo.png"),
         ("productivity", "productivity.png"), ("upload", "upload.png"), ("services", "services.png")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000, help="demo services lines")
    parser.add_argument("--port", type=int, default=8599, help="dashboard port")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    # English to log in (the test harness's login() reads English labels) and for overview-en.png.
    env = {**os.environ, "LOGISTICS_DATA_DIR": str(WORK / "data"), "ADMIN_PASSWORD": PASSWORD, "LANGUAGE": "en"}
    env.pop("DATABASE_URL", None)
    core = [sys.executable, "-m", "core"]
    subprocess.run([*core, "demo", "--out", str(WORK / "files"), "--rows", str(args.rows)], env=env, cwd=ROOT, check=True)
    subprocess.run([*core, "load", "services", str(WORK / "files" / "bd_desafio.csv")], env=env, cwd=ROOT, check=True)
    subprocess.run([*core, "load", "customers", str(WORK / "files" / "customers_data.csv")], env=env, cwd=ROOT, check=True)

    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(args.port),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        from playwright.sync_api import sync_playwright

        sys.path.insert(0, str(ROOT))
        from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, login, settle

        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(60_000)
            login(page, url, password=PASSWORD, path="overview")
            page.get_by_role("heading", name="Overview").wait_for()
            drawn(page, settle)
            page.screenshot(path=str(OUT / "overview-en.png"))
            print("saved", OUT / "overview-en.png")
            language = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Language")
            language.get_by_role("combobox").click()
            page.get_by_role("option", name="Português (Brasil)").click()
            page.get_by_role("heading", name="Visão geral").wait_for()
            for path, name in PAGES:
                page.goto(f"{url}/{path}")
                page.get_by_text("Conectado como").wait_for()
                drawn(page, settle)
                page.screenshot(path=str(OUT / name))
                print("saved", OUT / name)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    return 0


def drawn(page, settle) -> None:
    """Wait until the page's run has ended and what it drew is on screen: some widgets (the date
    inputs) load their code lazily and show a placeholder until it arrives, after the run has
    ended, and a Plotly chart draws its SVG after its frame appears."""
    settle(page)
    page.wait_for_function("""() => !document.querySelector('[data-testid="stSkeleton"]')
        && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('svg.main-svg'))""")


if __name__ == "__main__":
    raise SystemExit(main())
