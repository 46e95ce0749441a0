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


from core.definitions import EXPLAINED
from dashboard import i18n
from dashboard.i18n import N_, _

# Headings of the tables' columns, by the column's (English, stable) name: shown by the tables and
# written as the header row of a download, in the user's language.
COLUMNS = {
    "polo": N_("polo"), "angel": N_("angel"), "sla": N_("SLA"), "total": N_("due"),
    "on_time": N_("on time"), "late": N_("late"), "not_visited": N_("not visited"), "open": N_("open"),
    "avg_slack_days": N_("average slack (days)"), "productivity": N_("productivity"), "visits": N_("visits"),
    "business_days": N_("business days"), "worked_days": N_("worked days"),
    "visits_per_worked_day": N_("visits per worked day"),
}


def heading(column: str) -> str:
    """A column's heading in the user's language (its own name when it has none)."""
    return _(COLUMNS[column]) if column in COLUMNS else column


def definitions(*keys: str) -> None:
    """The definitions (core.definitions.EXPLAINED) a page's numbers rest on, as one caption."""
    st.caption(" ".join(_(EXPLAINED[key]) for key in keys))


def to_csv(df: pd.DataFrame) -> bytes:
    """CSV in the user's convention (pt_BR: ';' and decimal comma, for Excel in Brazil), translated
    header, UTF-8 with BOM so spreadsheets show accents; no cell becomes a formula (core.exports)."""
    return exports.frame_csv(df.rename(columns=heading), **i18n.csv_options())


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
    """Excel with real numbers and dates, headings translated, every text a string (core.exports)."""
    return exports.frame_xlsx(df.rename(columns=heading), sheet)


def download_buttons(df: pd.DataFrame, name: str, *, excel: bool = True, key: str | None = None) -> None:
    """CSV (in the user's convention, see to_csv) and Excel (real numbers and dates: Excel formats
    them) downloads of a table."""
    slug = _slug(name)
    key = key or slug.replace("-", "_")
    cols = st.columns([1, 1, 6]) if excel else st.columns([1, 7])
    cols[0].download_button(_("Download CSV"), to_csv(df),
                            file_name=f"{slug}.csv", mime="text/csv", key=f"{key}_csv",
                            icon=":material/download:")
    if excel:
        cols[1].download_button(_("Download Excel"), to_excel(df, name), file_name=f"{slug}.xlsx",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                key=f"{key}_xlsx", icon=":material/table:")


def localized(df: pd.DataFrame, *, percent: tuple[str, ...] = ()):
    """The table for st.dataframe with its numbers and dates written in the user's language (a
    pandas Styler: the values stay numbers, so sorting and downloads see numbers): whole numbers
    grouped (1.048.575), decimals with two digits (0,65), the `percent` columns as 85,0%, dates as
    26/06/2021; a missing value is `-`."""
    def writer(column: pd.Series):
        if column.name in percent:
            return i18n.percent
        if pd.api.types.is_integer_dtype(column):
            return i18n.number
        if pd.api.types.is_float_dtype(column):
            return i18n.decimal
        if pd.api.types.is_datetime64_any_dtype(column):
            return i18n.moment
        return None

    formats = {name: writer(df[name]) for name in df.columns}
    return df.style.format({name: f for name, f in formats.items() if f}, na_rep="-")
