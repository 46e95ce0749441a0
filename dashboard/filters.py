"""Filters kept in the URL, so a copied link reproduces the view.

The indicator pages' shared sidebar: period (presets or a custom range) and polo, mirrored in the
URL (`?period=last_30&polo=...`, or `period=custom&start=...&end=...`) and kept in the session so it
survives moving between pages; pages receive one frozen `IndicatorFilters`. The record pages' filter
bars go through `UrlFilters`: a followed link fills the bar, and the bar is written back to the URL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable

import streamlit as st

from core import indicators, operation_day, text
from core.definitions import Period
from core.records import ServiceFilter
from dashboard import i18n
from dashboard.common import page_sidebar, read, settings
from dashboard.ui import md
from dashboard.i18n import N_, _

# The default comes first: a selectbox whose state was lost falls back to its first option.
PRESETS = {
    "all": N_("All data"),
    "last_7": N_("Last 7 days"),
    "last_30": N_("Last 30 days"),
    "last_90": N_("Last 90 days"),
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "quarter": N_("This quarter"),
    "ytd": N_("Year to date"),
    "custom": N_("Custom range"),
}
DEFAULT_PRESET = "all"
ALL_POLOS = ""  # the polo selector's "every polo" choice
_STORE = "filters_chosen"  # the last choice, kept across pages (widget state is not)


@dataclass(frozen=True)
class IndicatorFilters:
    """What the sidebar selected: the period, an optional polo, and the day statuses are judged on."""
    period: Period
    polo: str | None
    preset: str
    as_of: date
    anchor: date  # the day relative presets count back from

    def url_params(self) -> dict[str, str]:
        params = {"period": self.preset}
        if self.preset == "custom":
            params |= {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        if self.polo:
            params["polo"] = self.polo
        return params


def preset_period(preset: str, anchor: date, data: indicators.DataRange) -> Period:
    """The period a preset means, counted back from `anchor` (inclusive)."""
    if preset.startswith("last_") and preset[5:].isdigit():
        return Period(anchor - timedelta(days=int(preset[5:]) - 1), anchor)
    if preset == "this_month":
        return Period(anchor.replace(day=1), anchor)
    if preset == "last_month":
        end = anchor.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if preset == "quarter":
        return Period(date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 1), anchor)
    if preset == "ytd":
        return Period(date(anchor.year, 1, 1), anchor)
    return Period(data.first, data.last)


def _parse(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _apply(source: dict, data: indicators.DataRange, polos: list[str]) -> None:
    """Put a stored or linked choice into the widgets' state (unknown values fall back quietly)."""
    preset = source.get("period")
    st.session_state["filters_period"] = preset if preset in PRESETS else DEFAULT_PRESET
    start, end = _parse(source.get("start")), _parse(source.get("end"))
    if not (start and end and start <= end):
        start, end = data.first, data.last
    st.session_state["filters_range"] = (start, end)
    polo = source.get("polo")
    st.session_state["filters_polo"] = polo if polo in polos else ALL_POLOS


def no_data_notice() -> None:
    st.info(_("No services in the database yet. An analyst or admin can load the service history "
              "(Upload page, or `python -m core load services FILE`); the indicators appear at once."),
            icon=":material/inventory_2:")


def sidebar() -> IndicatorFilters:
    """Draw the period and polo selectors; with no services at all, say so and stop the page."""
    data = read(indicators.data_range)
    if data.empty:
        no_data_notice()
        st.stop()
    polos = read(indicators.polos)
    today = operation_day.today(settings())  # the operation's day (TIMEZONE), not the server's
    anchor = min(today, data.last)

    if "filters_period" not in st.session_state:
        # First indicator page of this visit: an opened link's parameters, else the last choice.
        # Later runs trust the widgets: a rerun can carry the URL of a moment ago, which must not
        # undo the choice just made.
        linked = {k: st.query_params.get(k) for k in ("period", "start", "end", "polo")
                  if st.query_params.get(k)}
        _apply(linked or st.session_state.get(_STORE, {}), data, polos)

    with page_sidebar():
        st.caption(_("Indicator filters"))
        preset = st.selectbox(_("Period"), list(PRESETS), format_func={k: _(v) for k, v in PRESETS.items()}.get,
                              key="filters_period")
        if preset == "custom":
            if "filters_range" not in st.session_state:  # cleared while the range was hidden
                st.session_state["filters_range"] = (data.first, data.last)
            chosen = st.date_input(_("From - to"), key="filters_range", format=i18n.date_input_format())
            chosen = tuple(chosen) if isinstance(chosen, (tuple, list)) else (chosen,)
            start = chosen[0] if chosen else data.first
            end = chosen[1] if len(chosen) > 1 else start  # one day picked so far
            period = Period(start, end)
        else:
            period = preset_period(preset, anchor, data)
        polo = st.selectbox(_("Polo"), [ALL_POLOS, *polos], key="filters_polo",
                            format_func=lambda p, every=_("All polos"): p or every)
        st.caption(i18n.date_range(period.start, period.end) + " ("
                   + i18n.ngettext("{n} day", "{n} days", period.days).format(n=i18n.number(period.days)) + ")"
                   + (". " + _("Presets count back from {day}, the last day with data.").format(
                       day=i18n.day(anchor)) if anchor < today and preset not in ("all", "custom") else ""))

    chosen = IndicatorFilters(period=period, polo=None if polo == ALL_POLOS else polo, preset=preset,
                              as_of=today, anchor=anchor)
    params = chosen.url_params()
    st.session_state[_STORE] = params
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)
    return chosen


@dataclass(frozen=True)
class UrlParam:
    """A filter in the URL: its query parameter, the parser of its text (ValueError with a plain
    reason when it cannot be read) and the widget's value when the link does not give it."""
    name: str
    parse: Callable[[str], Any] = str
    empty: Any = ""


def url_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(N_("not a date (YYYY-MM-DD)")) from None


@dataclass(frozen=True)
class UrlFilters:
    """A filter bar kept in the URL: its widgets' state keys are `{prefix}_{param name}`."""
    prefix: str
    params: tuple[UrlParam, ...]

    def follow_link(self) -> None:
        """Before the widgets: when the URL's parameters changed since the last run (a link was
        followed, or the page opened), put them into the widgets' state. A value that cannot be
        read is left out, with a warning."""
        link = {p.name: st.query_params.get(p.name) for p in self.params if st.query_params.get(p.name)}
        if link != st.session_state.get(f"{self.prefix}_link"):
            for p in self.params:
                value = p.empty
                if p.name in link:
                    try:
                        value = p.parse(link[p.name])
                    except ValueError as exc:
                        st.warning(_("The link's {name} {value} is ignored: {reason}.").format(
                            name=p.name, value=md(repr(link[p.name])), reason=md(_(str(exc)))))
                st.session_state[f"{self.prefix}_{p.name}"] = value
            st.session_state[f"{self.prefix}_link"] = link
        for p in self.params:  # the state is the widgets' value (no `value=`): set it once
            st.session_state.setdefault(f"{self.prefix}_{p.name}", p.empty)

    def mirror(self, values: dict[str, Any]) -> None:
        """After the widgets: write their values to the URL (empty ones left out)."""
        current = {k: v.isoformat() if isinstance(v, date) else str(v)
                   for k, v in values.items() if v not in (None, "")}
        if current != {k: st.query_params.get(k) for k in st.query_params}:
            st.query_params.from_dict(current)
        st.session_state[f"{self.prefix}_link"] = current


def services_link(flt: IndicatorFilters, *, status: str | None = None, polo: str | None = None,
                  angel: str | None = None, by: str = "deadline") -> dict[str, str]:
    """Query parameters of the Services page listing the services behind a number."""
    params = {f"{by}_from": flt.period.start.isoformat(), f"{by}_to": flt.period.end.isoformat()}
    if polo or flt.polo:
        params["polo"] = polo or flt.polo
    if angel:
        params["angel"] = angel
    if status:
        params["status"] = status
    return params


def service_filter_link(flt: ServiceFilter) -> dict[str, str]:
    """Query parameters of the Services page listing the services of a core filter (its fields that the
    page's filter bar has)."""
    values = {"polo": flt.polo, "angel": flt.angel, "status": flt.status, "deadline_from": flt.deadline_from,
              "deadline_to": flt.deadline_to, "visit_from": flt.visit_from, "visit_to": flt.visit_to,
              "open_on": flt.open_on}
    return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in values.items() if v}


SERVICES_PAGE = "../pages/services.py"


def missed_services_links(flt: IndicatorFilters, *, late: str, not_visited: str, polo: str | None = None,
                          angel: str | None = None) -> None:
    """Side by side, the links to the late and to the not visited services behind an SLA (of a polo
    or an angel) in the period, labelled `late` and `not_visited` (texts in the user's language)."""
    left, right = st.columns(2)
    left.page_link(SERVICES_PAGE, label=late, icon=":material/schedule:",
                   query_params=services_link(flt, status="late", polo=polo, angel=angel))
    right.page_link(SERVICES_PAGE, label=not_visited, icon=":material/cancel:",
                    query_params=services_link(flt, status="not_visited", polo=polo, angel=angel))


def empty_list_notice(nothing: str, flt: IndicatorFilters, search: str | None) -> None:
    """Why an angel list is empty (`nothing`: what the period lacks), with the polo and the search
    asked, and what to try."""
    st.info(nothing + (" " + _("Polo: {polo}.").format(polo=md(flt.polo)) if flt.polo else "")
            + (" " + _("Search: “{search}”.").format(search=md(search)) if search else "")
            + " " + _("Pick another period or clear the search."))


def angel_list_controls(sorts: dict[str, str], key: str) -> tuple[str | None, str, bool, int]:
    """The row above an angel ranking: name search, sort field, direction, top/bottom N."""
    c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
    search = c1.text_input(_("Search an angel"), key=f"{key}_search",
                           placeholder=_("part of the name, e.g. Wanderley"))
    try:  # core.text's rule, as every text a user types (a NUL would reach the query)
        text.check(search, what=N_("search"), limit=text.LIMITS["angel"])
    except text.TextRefused as exc:
        c1.error(md(i18n.error_text(exc)))
        search = ""
    sort = c2.selectbox(_("Sort the table by"), list(sorts), format_func={k: _(v) for k, v in sorts.items()}.get, key=f"{key}_sort")
    ascending = c3.toggle(_("Ascending"), value=sort == "angel", key=f"{key}_asc")
    top_n = c4.number_input(_("Top / bottom N"), min_value=3, max_value=50, value=10, key=f"{key}_n")
    return search or None, sort, ascending, top_n
