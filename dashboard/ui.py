"""Small UI pieces shared by pages."""
from __future__ import annotations

import re
from typing import NoReturn

import pandas as pd
import streamlit as st

from core import exports


# What makes Markdown out of plain text in Streamlit: emphasis, code, links and images (their [ and !), HTML, tables,
# headings, strikethrough, LaTeX, and the [ of directives such as :red[...].
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!<>~$|#])")


def md(text: object) -> str:
    """Text from data or the URL, safe inside Markdown: every Markdown (and Streamlit directive)
    character is escaped, so `![](https://...)`, `[link](...)` or `:red[...]` show as typed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def flash(page: str) -> None:
    """Show the messages `done` left for this page on the run before."""
    for message in st.session_state.pop(f"{page}_flash", []):
        st.success(message)


def done(page: str, message: str) -> NoReturn:
    """Keep a success message for the page's next run and rerun it (so everything shown re-reads
    the changed data); the page shows it with `flash`."""
    st.session_state.setdefault(f"{page}_flash", []).append(message)
    st.rerun()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "data"


def download_buttons(df: pd.DataFrame, name: str, *, excel: bool = True, key: str | None = None) -> None:
    """CSV (UTF-8 with BOM, so spreadsheets show accents) and Excel downloads of a table, both safe to open
    (core.exports: no cell becomes a formula)."""
    slug = _slug(name)
    key = key or slug.replace("-", "_")
    cols = st.columns([1, 1, 6]) if excel else st.columns([1, 7])
    cols[0].download_button("Download CSV", exports.frame_csv(df),
                            file_name=f"{slug}.csv", mime="text/csv", key=f"{key}_csv",
                            icon=":material/download:")
    if excel:
        cols[1].download_button("Download Excel", exports.frame_xlsx(df, name), file_name=f"{slug}.xlsx",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                key=f"{key}_xlsx", icon=":material/table:")
