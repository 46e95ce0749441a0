"""Pieces shared by the record pages (Customers, Services, Audit log): keyset pager, record table, id inputs."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd
import streamlit as st

from core import exports
from core.definitions import ID_MAX
from core.records import PAGE_SIZES
from dashboard import i18n
from dashboard.i18n import _
from dashboard.ui import table, to_csv


@dataclass(frozen=True)
class PageRequest:
    """Which page to read: keyword arguments for core.records.list_* plus the page number."""
    number: int
    pages: int
    after: int | None
    before: int | None
    from_end: bool
    limit: int

    def kwargs(self) -> dict[str, Any]:
        return {"after": self.after, "before": self.before, "from_end": self.from_end, "limit": self.limit}


def _state(key: str) -> dict:
    return st.session_state.setdefault(f"{key}_pager", {})


def page_request(key: str, *, signature: Any, total: int) -> PageRequest:
    """The page to show for this filter. A new filter or page size starts again at page 1.

    Pages are keyset pages: 'next' reads after the last id shown, 'previous' before the first, and
    'last' reads the final rows from the end, so no page costs an OFFSET over what came before.
    """
    size = st.session_state.get(f"{key}_size", PAGE_SIZES[1])
    pages = max(1, math.ceil(total / size))
    state = _state(key)
    if state.get("signature") != (signature, size, total) or state.get("number", 1) > pages:
        state.clear()
        state.update(signature=(signature, size, total), number=1, after=None, before=None, from_end=False)
    number = state["number"]
    limit = size
    if state["from_end"]:
        limit = total - (pages - 1) * size or size
    return PageRequest(number, pages, state["after"], state["before"], state["from_end"], limit)


def _go(key: str, where: str, first_id: int | None, last_id: int | None, pages: int) -> None:
    state = _state(key)
    moves = {
        "first": dict(number=1, after=None, before=None, from_end=False),
        "previous": dict(number=state.get("number", 1) - 1, after=None, before=first_id, from_end=False),
        "next": dict(number=state.get("number", 1) + 1, after=last_id, before=None, from_end=False),
        "last": dict(number=pages, after=None, before=None, from_end=True),
    }
    state.update(moves[where])
    if state["number"] <= 1:  # page 1 is always read from the start
        state.update(moves["first"])
    st.session_state.pop(f"{key}_table", None)  # a selection on the old page means nothing now


def pager_controls(key: str, request: PageRequest, total: int, ids: list[int], count: str) -> None:
    """Page size choice, position, and first/previous/next/last buttons. `count` is the total said
    in words, e.g. ngettext("**{n}** service", "**{n}** services", total)."""
    first_id, last_id = (ids[0], ids[-1]) if ids else (None, None)
    cols = st.columns([2, 1, 1, 1, 1, 2], vertical_alignment="center")
    start = (request.number - 1) * st.session_state.get(f"{key}_size", PAGE_SIZES[1]) + 1
    cols[0].markdown(count.format(n=i18n.number(total)) + (" · " + _("rows {first}-{last} · page {page} of {pages}").format(
        first=i18n.number(start), last=i18n.number(start + len(ids) - 1), page=i18n.number(request.number),
        pages=i18n.number(request.pages)) if ids else ""))
    at_start, at_end = request.number <= 1, request.number >= request.pages
    for col, (label, where, disabled) in zip(cols[1:5], (
            (_("First"), "first", at_start), (_("Previous"), "previous", at_start),
            (_("Next"), "next", at_end), (_("Last"), "last", at_end))):
        col.button(label, key=f"{key}_{where}", disabled=disabled, width="stretch",
                   on_click=_go, args=(key, where, first_id, last_id, request.pages))
    cols[5].selectbox(_("Rows per page"), PAGE_SIZES, index=1, key=f"{key}_size", label_visibility="collapsed",
                      format_func=lambda n, label=_("{n} rows per page"): label.format(n=n))


def record_table(key: str, df: pd.DataFrame, column_config: dict | None = None) -> int | None:
    """A table where one row can be selected (in the user's language: dashboard.ui.table); returns
    the selected row's `id`."""
    event = table(df, column_config=column_config, on_select="rerun", selection_mode="single-row",
                  key=f"{key}_table")
    rows = event.selection.rows if event else []
    if rows and rows[0] < len(df):
        return int(df.iloc[rows[0]]["id"])
    return None


def id_input(label: str, key: str, *, help: str | None = None, container=st) -> int | None:
    """A text box for an id: None when empty; a plain error (and None) when not a whole number
    from 1 to core.definitions.ID_MAX (ASCII digits: '²' is a digit to str.isdigit, not to int)."""
    text = container.text_input(label, key=key, help=help).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= ID_MAX:
        container.error(_("{label}: type a whole number from 1 to {max}.").format(label=label, max=ID_MAX))
        return None
    return int(text)


def download_all(key: str, name: str, total: int, rows: Callable[[], pd.DataFrame], *, none: str,
                 count: str) -> None:
    """A CSV download of every row the filter matches, or a note (`none`) that nothing matches.

    The CSV (the user's convention, dashboard.ui.to_csv) is built only when the button is
    clicked: a filter may match a million rows, and most runs never download.
    """
    if not total:
        st.info(none)
        return
    st.download_button(_("Download CSV ({count})").format(count=count.format(n=i18n.number(total))),
                       icon=":material/download:", file_name=f"{name}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", data=lambda: to_csv(rows()))

