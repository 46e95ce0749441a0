"""Minimal reproduction of a Streamlit defect: a file dropped as a rerun starts is lost.

    .venv/bin/python scripts/repro_streamlit_upload_race.py [--runs 20] [--patched]

No product code: a three-line app (a file uploader, a checkbox, the uploaded file's name) served by
plain Streamlit and driven by Debian's chromium. In one browser task a file is put on the uploader
and the checkbox is clicked, so the browser sends a file_urls_request and, right after, a rerun
request. The server answers the first by queueing a file_urls_response, but the rerun's
SCRIPT_STARTED clears the browser queue before it is flushed (ForwardMsgQueue.clear keeps only
lifecycle messages and toasts): the uploader never gets its upload URL, sends no PUT, and the file
is silently gone. Seen with Streamlit 1.67.0: 6-8 files lost in 20. `--patched` keeps
file_urls_response messages through the clear, and none is lost.

In the dashboard the rerun comes from the login cookie's component, which reports the cookie it
stored a moment after a login (README, Known issues).
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APP = '''
import streamlit as st

file = st.file_uploader("Drop a file")
st.checkbox("Another widget")
st.write(f"file: {file.name if file else None}")
'''

# Run as the server with --patched: the queue keeps file_urls_response messages when it is cleared.
PATCHED_SERVER = '''
import sys
from streamlit.runtime import forward_msg_queue
from streamlit.web.cli import main

clear = forward_msg_queue.ForwardMsgQueue.clear


def keep_file_urls(self, *args, **kwargs):
    kept = [m for m in self._queue if m.WhichOneof("type") == "file_urls_response"]
    clear(self, *args, **kwargs)
    self._queue = kept + self._queue


forward_msg_queue.ForwardMsgQueue.clear = keep_file_urls
sys.exit(main())
'''

DROP_AND_CLICK = """() => {
    const input = document.querySelector('[data-testid="stFileUploaderDropzoneInput"]');
    const files = new DataTransfer();
    files.items.add(new File(["a;b\\n1;2\\n"], "small.csv", {type: "text/csv"}));
    input.files = files.files;
    input.dispatchEvent(new Event("change", {bubbles: true}));
    document.querySelector('[data-testid="stCheckbox"] input').click();  // the same browser task
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="files to drop")
    parser.add_argument("--patched", action="store_true", help="keep file_urls_response when the queue is cleared")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Debian's chromium")
    args = parser.parse_args()

    from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright

    work = Path(tempfile.mkdtemp(prefix="upload-race-"))
    (work / "app.py").write_text(APP)
    (work / "server.py").write_text(PATCHED_SERVER)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = [sys.executable, str(work / "server.py")] if args.patched else [sys.executable, "-m", "streamlit"]
    proc = subprocess.Popen([*server, "run", str(work / "app.py"), "--server.port", str(port),
                             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    lost = 0
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--headless", "--no-sandbox"])
            for _ in range(args.runs):
                context = browser.new_context()
                page = context.new_page()
                puts = []
                page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
                page.goto(url)
                page.get_by_text("file: None").wait_for()
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
                for widget in ('[data-testid="stFileUploaderDropzoneInput"]', '[data-testid="stCheckbox"] input'):
                    page.locator(widget).wait_for(state="attached")
                page.evaluate(DROP_AND_CLICK)
                try:
                    page.get_by_text("file: small.csv").wait_for(timeout=5000)
                except PlaywrightTimeout:
                    lost += 1
                    print(f"lost: the uploader sent {len(puts)} PUT request(s)")
                context.close()
            browser.close()
    finally:
        proc.terminate()
    print(f"{'patched' if args.patched else 'plain'} Streamlit: {lost} of {args.runs} files lost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
