"""Helpers for AppTest: run the real entrypoint, log in through the real form, open a page."""
from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


def start() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def logged_in(username: str = "admin", password: str = "admin-test-pass") -> AppTest:
    """A session logged in through the login form (cookies are not available in AppTest)."""
    at = start()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, script: str) -> AppTest:
    """Switch to pages/<script> and run it."""
    at.switch_page(f"../pages/{script}").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """All markdown, captions, titles and alerts of the last run, joined (for `in` checks), as shown:
    the backslashes of escaped data (dashboard.ui.md) removed."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return re.sub(r"\\([\\`*_\[\]!<>~$|#])", r"\1", "\n".join(parts))


def by_label(elements, label: str):
    """The one element of a list (e.g. at.text_input) with this label."""
    found = [e for e in elements if e.label == label]
    assert len(found) == 1, f"{len(found)} elements labelled {label!r}: {[e.label for e in elements]}"
    return found[0]
