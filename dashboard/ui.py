"""Small UI pieces shared by pages."""
from __future__ import annotations

import io
import re
from typing import NoReturn

import pandas as pd
import streamlit as st


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


def to_excel(df: pd.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        df.to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def download_buttons(df: pd.DataFrame, name: str, *, excel: bool = True, key: str | None = None) -> None:
    """CSV (UTF-8 with BOM, so spreadsheets show accents) and Excel downloads of a table."""
    slug = _slug(name)
    key = key or slug.replace("-", "_")
    cols = st.columns([1, 1, 6]) if excel else st.columns([1, 7])
    cols[0].download_button("Download CSV", df.to_csv(index=False).encode("utf-8-sig"),
                            file_name=f"{slug}.csv", mime="text/csv", key=f"{key}_csv",
                            icon=":material/download:")
    if excel:
        cols[1].download_button("Download Excel", to_excel(df, name), file_name=f"{slug}.xlsx",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                key=f"{key}_xlsx", icon=":material/table:")
