"""Small UI pieces shared by pages."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Callable, Iterator, NoReturn

import numpy as np
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
from core.messages import TextError
from dashboard import i18n
from dashboard.i18n import N_, _

# Headings of the tables' columns, by the column's (English, stable) name: shown by the tables and
# written as the header row of a download, in the user's language. One name, one heading, on every
# page (e.g. `reason` is the reason of a rejected line or of a day off).
COLUMNS = {
    # indicators
    "polo": N_("polo"), "angel": N_("angel"), "sla": N_("SLA"), "total": N_("due"),
    "on_time": N_("on time"), "late": N_("late"), "not_visited": N_("not visited"), "open": N_("open"),
    "avg_slack_days": N_("average slack (days)"), "productivity": N_("productivity"), "visits": N_("visits"),
    "business_days": N_("business days"), "worked_days": N_("worked days"),
    "visits_per_worked_day": N_("visits per worked day"),
    # records (the files' own column names) and a customer's services
    "id": N_("Id"), "id_atendimento": N_("Service id"), "id_cliente": N_("Customer"), "nome": N_("Name"),
    "email": N_("Email"), "telefone": N_("Phone"), "stub": N_("Stub"), "data_limite": N_("Deadline"),
    "data_de_atendimento": N_("Visit date"), "deadline": N_("Deadline"), "visit": N_("Visit date"),
    "status": N_("Status"),
    # loads and their rejected lines
    "load": N_("load"), "when": N_("when (UTC)"), "by": N_("by"), "kind": N_("kind"), "file": N_("file"),
    "MB": N_("MB"), "doing": N_("doing"), "progress": N_("progress"), "lines": N_("lines read"),
    "inserted": N_("inserted"), "updated": N_("updated"), "unchanged": N_("unchanged"), "rejected": N_("rejected"),
    "stubs": N_("new customer ids"), "seconds": N_("seconds"), "rows/s": N_("rows/s"),
    "line": N_("line"), "reason": N_("reason"), "raw": N_("line as read"),
    # monitoring
    "operation": N_("operation"), "runs": N_("runs"), "p50 ms": N_("p50 ms"), "p95 ms": N_("p95 ms"),
    "max ms": N_("max ms"), "failures": N_("failures"), "last run": N_("last run"), "table": N_("table"),
    "rows (estimate)": N_("rows (estimate)"), "size": N_("size"),
    # users, API keys, audit, calendar
    "username": N_("username"), "name": N_("name"), "role": N_("role"), "active": N_("active"),
    "locked until": N_("locked until"), "failed logins": N_("failed logins"), "last login": N_("last login"),
    "prefix": N_("prefix"), "created by": N_("created by"), "created": N_("created"), "last used": N_("last used"),
    "revoked": N_("revoked"), "at": N_("When"), "user": N_("user"), "action": N_("action"), "entity": N_("entity"),
    "changes": N_("changes"), "field": N_("field"), "before": N_("before"), "after": N_("after"),
    "changed": N_("changed"), "day": N_("day"), "weekday": N_("weekday"), "added by": N_("added by"),
}
# Words a table shows as values, in the user's language (the data keeps the English word).
LOAD_KINDS = {"services": N_("Services"), "customers": N_("Customers")}
LOAD_STATUSES = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
                 "interrupted": N_("interrupted")}


def capitalized(text: str) -> str:
    """A text as a heading: its first letter in upper case (headings share their words with the
    pages' prose and values, where they stay lower case: "no prazo", "Situação: no prazo")."""
    return text[:1].upper() + text[1:]


def heading(column: str) -> str:
    """A column's heading in the user's language, capitalized (its own name when it has none)."""
    return capitalized(_(COLUMNS[column])) if column in COLUMNS else column


def definitions(*keys: str) -> None:
    """The definitions (core.definitions.EXPLAINED) a page's numbers rest on, as one caption."""
    st.caption(" ".join(_(EXPLAINED[key]) for key in keys))


def csv_file(df: pd.DataFrame) -> Callable[[], bytes]:
    """The CSV of a table, built when called: in the user's convention (pt_BR: ';' and decimal
    comma, for Excel in Brazil), translated header, UTF-8 with BOM so spreadsheets show accents; no
    cell becomes a formula (core.exports). The language is the run's that asks (a download builds
    it later, outside any run)."""
    headings, options = {c: heading(c) for c in df.columns}, i18n.csv_options()
    return lambda: exports.frame_csv(df.rename(columns=headings), **options)


def to_csv(df: pd.DataFrame) -> bytes:
    """The CSV of a table now (csv_file)."""
    return csv_file(df)()


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


def excel_file(df: pd.DataFrame, sheet: str = "data") -> Callable[[], bytes]:
    """The Excel workbook of a table, built when called: real numbers and dates, headings
    translated (in the language of the run that asks), every text a string (core.exports)."""
    headings = {c: heading(c) for c in df.columns}
    return lambda: exports.frame_xlsx(df.rename(columns=headings), sheet)


def download_buttons(df: pd.DataFrame, name: str, *, excel: bool = True, key: str | None = None) -> None:
    """CSV (in the user's convention, see csv_file) and Excel (real numbers and dates: Excel formats
    them) downloads of a table, each built only when clicked (a run costs nothing for them; the
    click does not rerun the page)."""
    slug = _slug(name)
    key = key or slug.replace("-", "_")
    cols = st.columns([1, 1, 6]) if excel else st.columns([1, 7])
    cols[0].download_button(_("Download CSV"), csv_file(df), file_name=f"{slug}.csv", mime="text/csv",
                            key=f"{key}_csv", icon=":material/download:", on_click="ignore")
    if excel:
        cols[1].download_button(_("Download Excel"), excel_file(df, name), file_name=f"{slug}.xlsx",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                key=f"{key}_xlsx", icon=":material/table:", on_click="ignore")


def word(labels: dict[str, str]):
    """A function writing a value of the data in the user's language by its {value: N_ label} map
    (itself when it has no label). Run it in the script run that draws (a format_func called later
    would miss the run's language)."""
    translated = {value: _(label) for value, label in labels.items()}
    return lambda value: translated.get(value, value)


def _writer(column: pd.Series, language: str, percent: tuple[str, ...], seconds: tuple[str, ...],
            words: dict[str, dict[str, str]]) -> Callable[[object], str]:
    """How a value of the column is written in `language`, the run's (see localized)."""
    if column.name in words:
        return word(words[column.name])
    if column.name in percent:
        return lambda value: i18n.fixed(value, 1, language, percent=True)
    if pd.api.types.is_bool_dtype(column):
        return str
    if pd.api.types.is_integer_dtype(column):
        return lambda value: i18n.fixed(value, 0, language)
    if pd.api.types.is_float_dtype(column):
        return lambda value: i18n.fixed(value, 2, language)
    if pd.api.types.is_datetime64_any_dtype(column):
        return lambda value: i18n.moment(value, seconds=column.name in seconds)
    if pd.api.types.infer_dtype(column, skipna=True) == "date":
        return i18n.day
    return str


@st.cache_data(max_entries=300, show_spinner=False)
def _texts(df: pd.DataFrame, language: str, percent: tuple[str, ...], seconds: tuple[str, ...],
           words: dict[str, dict[str, str]]) -> tuple[list[tuple[int, int]], list[str]]:
    """The cells of `df` whose text in `language`, the run's (see localized), is not what Streamlit
    writes by itself (`str` of the value): their (row, column) and text. Cached by the table's
    content and the language, so the same rows in the same language are written once."""
    shown = np.column_stack([i18n.column_texts(df[name], _writer(df[name], language, percent, seconds, words))
                             .to_numpy() for name in df.columns]) if len(df) else np.empty((0, len(df.columns)))
    rows, cols = np.nonzero(shown != df.astype(str).to_numpy())
    return list(zip(rows.tolist(), cols.tolist())), shown[rows, cols].tolist()


def localized(df: pd.DataFrame, *, percent: tuple[str, ...] = (), seconds: tuple[str, ...] = (),
              words: dict[str, dict[str, str]] | None = None):
    """The table for st.dataframe with its numbers and dates written in the user's language (a
    pandas Styler: the values stay numbers, so sorting and downloads see numbers): whole numbers
    grouped (1.048.575), decimals with two digits (0,65), the `percent` columns as 85,0%, dates as
    26/06/2021, dates with a time to the minute (the `seconds` columns to the second); the `words`
    columns' values through their {value: N_ label} map; a missing value is `-`. (A column_config
    format overrides these.)

    The texts are Babel's (i18n.fixed writes numbers exactly as Babel does; dates go through Babel
    once per distinct date), written once per (rows, language) and cached; st.dataframe is handed
    them ready, instead of pandas formatting every cell of every run (1,820 x 9 cells took 0.3-0.5 s
    a run). It is for st.dataframe only: pandas' own rendering (to_string, to_html) copies the
    Styler without these texts and shows the plain values."""
    cells, texts = _texts(df, i18n.current(), tuple(percent), tuple(seconds), words or {})
    body = [[{"id": f"row{r}_col{c}", "display_value": text} for (r, c), text in zip(cells, texts)]]
    styler = df.style
    # What Streamlit's marshall_styler reads of a Styler: its translated body's cells {"id":
    # "row<r>_col<c>", "display_value": ...}; a cell it is not given shows str(value).
    styler._translate = lambda *args, **kwargs: {"body": body, "cellstyle": [], "table_styles": []}
    return styler


def table(df: pd.DataFrame, *, percent: tuple[str, ...] = (), seconds: tuple[str, ...] = (),
          words: dict[str, dict[str, str]] | None = None, column_config: dict | None = None, **dataframe):
    """st.dataframe of a table in the user's language: headings (`heading`), numbers and dates
    (`localized`); `column_config` adds to or replaces a column's heading. Returns st.dataframe's
    answer (the selection, with on_select)."""
    config = {**{c: heading(c) for c in df.columns}, **(column_config or {})}
    return st.dataframe(localized(df, percent=percent, seconds=seconds, words=words), hide_index=True, width="stretch",
                        column_config=config, **dataframe)


def loads_table(jobs: list, *, live: bool = False) -> None:
    """The loads (core.loading.LoadJob) as a table, newest first; `live` adds what each is doing
    and its progress (Monitoring). Upload's history and Monitoring show the same columns."""
    rows = []
    for job in jobs:
        speed = job.speed
        row = {"load": job.id, "when": job.created_at, "by": job.username, "kind": job.kind, "file": job.file_name,
               "MB": round(job.file_size / 1e6, 1), "status": job.status}
        if live:
            row.update(doing=i18n.text(job.activity) if job.active else "", progress=job.progress)
        row.update(lines=job.rows_read, inserted=job.inserted, updated=job.updated, unchanged=job.unchanged,
                   rejected=job.rejected, stubs=job.stub_customers, seconds=speed.seconds,
                   **{"rows/s": None if speed.rows_per_second is None else round(speed.rows_per_second)})
        rows.append(row)
    df = pd.DataFrame(rows)
    for column in ("inserted", "updated", "unchanged", "rejected", "stubs", "rows/s"):
        df[column] = df[column].astype("Int64")  # counts, possibly missing, stay whole numbers
    config = {"progress": st.column_config.ProgressColumn(heading("progress"), min_value=0.0, max_value=1.0)}
    table(df, seconds=("when",), words={"kind": LOAD_KINDS, "status": LOAD_STATUSES},
          column_config=config if live else None)


def show_refusal(exc: TextError, *, container=st) -> None:
    """A refusal core gave (core.messages.TextError) as an error, in the user's language."""
    container.error(md(i18n.error_text(exc)))


@contextmanager
def refusals_shown(*, stop: bool = False, container=st) -> Iterator[None]:
    """Run an action (the block): when core refuses it (core.messages.TextError: a rule broken, a
    record gone, a role, too many attempts...), the rest of the block is skipped and the reason is
    shown in the user's language (show_refusal); with `stop` the page stops there. The block says
    its success itself (`done`, or st.success), after the action."""
    try:
        yield
    except TextError as exc:
        show_refusal(exc, container=container)
        if stop:
            st.stop()
