"""Plotly figures of the indicator pages. Every SLA chart draws the target (SLA_TARGET setting).

Builders take plain rows (the dataclasses of core.indicators) and return a go.Figure; the pages
render them with st.plotly_chart, whose toolbar gives the PNG download. A figure is built once per
(rows, arguments, language) and kept (`_kept`): the same answer drawn again costs no building.

Margins are decided here, never measured by Plotly in the browser: with an axis's `automargin` on
(Plotly's and Streamlit's theme default) every draw is laid out twice, once to measure the labels and
once with the margins they need. Set here, a Polo change waited 241-301 ms instead of 289-402 (p50
over the four indicator pages, five alternating runs of bench.dashboard, 2026-12-07). Names longer
than LABEL_CHARS are cut with "…" on the axis; the hover and a click keep the whole name.
"""
from __future__ import annotations

import functools
from datetime import datetime, time, timedelta
from typing import Callable, Sequence, TypeVar

import plotly.graph_objects as go
import streamlit as st

from dashboard import i18n
from dashboard.i18n import _

GOOD = "#2e7d32"
BAD = "#c62828"
NEUTRAL = "#1565c0"
TARGET = "#616161"

LABEL_CHARS = 30  # a category label's characters on the axis; longer names end in "…"
CHAR_PX = 6  # a tick label's character at the theme's font, with room for wide letters
TICKS_PX = 30  # a numeric axis's tick labels
TITLED_PX = 70  # a numeric axis's tick labels and its title
DAY_MS = 86_400_000  # a day on a date axis (Plotly's unit for a bar's width there)


Builder = TypeVar("Builder", bound=Callable[..., go.Figure])


@st.cache_resource(max_entries=300, show_spinner=False)
def _built(name: str, language: str, args: tuple, kwargs: dict) -> go.Figure:
    # The figure object itself is kept and shared (st.plotly_chart only reads it): nothing copied.
    return globals()[name].__wrapped__(*args, **kwargs)


def _kept(build: Builder) -> Builder:
    """`build`, its figures kept by (rows, arguments, language): rows are core's NamedTuples of
    numbers and names, so equal answers hash equal (a data change changes the rows)."""
    @functools.wraps(build)
    def kept(*args, **kwargs):
        return _built(build.__name__, i18n.current(), args, kwargs)

    return kept  # type: ignore[return-value]


def _pct(value: float | None) -> str:
    return i18n.percent(value)


def _target(target: float) -> str:
    return _("target {percent}").format(percent=i18n.percent(target, 0))


def _target_line(target: float, *, axis: str) -> dict:
    """The dashed target line across the plot at `target` on the `axis` ("x": a vertical line,
    "y" or "y2": a horizontal one) with its label: layout shapes and annotations, as fig.add_vline
    and add_hline would add them (building the figure from one dict costs a fifth of their calls)."""
    line = {"color": TARGET, "dash": "dash"}
    label = {"showarrow": False, "text": _target(target)}
    if axis == "x":
        return {"shapes": [{"line": line, "type": "line", "x0": target, "x1": target, "xref": "x", "y0": 0, "y1": 1,
                            "yref": "y domain"}],
                "annotations": [{**label, "x": target, "xanchor": "center", "xref": "x", "y": 1, "yanchor": "bottom",
                                 "yref": "y domain"}]}
    return {"shapes": [{"line": line, "type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": target, "y1": target,
                        "yref": axis}],
            "annotations": [{**label, "x": 1, "xanchor": "right", "xref": "x domain", "y": target, "yanchor": "bottom",
                             "yref": axis}]}


def _category_axis(labels: Sequence[str]) -> tuple[dict, int]:
    """A y axis of `labels`, first on top, names cut to LABEL_CHARS, and the left margin it needs."""
    shown = [label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…" for label in labels]
    axis = {"autorange": "reversed", "type": "category"}
    if shown != list(labels):
        axis |= {"tickmode": "array", "tickvals": list(labels), "ticktext": shown}
    return axis, 12 + CHAR_PX * max(map(len, shown), default=0)


def _figure(data: list[dict], layout: dict, *, title: str, height: int, margin: dict,
            legend: dict | None = None) -> go.Figure:
    """The figure with its `margin` (left, right, bottom: l, r, b) and no axis measuring its own."""
    # separators: the locale's decimal and thousands marks in every number Plotly writes (ticks,
    # hover labels); d3 formats below then only say how many digits.
    axes = {name: {**layout.get(name, {}), "automargin": False}
            for name in {"xaxis", "yaxis", *(k for k in layout if k.startswith(("xaxis", "yaxis")))}}
    return go.Figure({"data": data, "layout": {
        **layout, **axes, "margin": {"l": 10, "r": 10, "t": 50, "b": TICKS_PX, **margin},
        "hoverlabel": dict(align="left"), "title": {"text": title},
        "height": height, "showlegend": legend is not None, "separators": i18n.plotly_separators(),
        **({"legend": legend} if legend else {})}})


@_kept
def sla_bars(rows: Sequence, *, label: str, target: float, title: str) -> go.Figure:
    """Horizontal SLA bars in the rows' order, green at or above the target, red below.

    Rows without an SLA (nothing due) are left out: there is nothing to draw, not a 0%.
    """
    rows = [r for r in rows if r.sla is not None]
    names = [getattr(r, label) for r in rows]
    yaxis, left = _category_axis(names)
    bars = {
        "type": "bar", "x": [r.sla for r in rows], "y": names, "orientation": "h",
        "marker": {"color": [GOOD if r.sla >= target else BAD for r in rows]},
        "customdata": [[r.total, r.on_time, r.late, r.not_visited] for r in rows],
        "text": [_pct(r.sla) for r in rows], "textposition": "auto",
        "hovertemplate": "<b>%{y}</b><br>SLA %{x:.1%}<br>" + _(
            "due {total}: on time {on_time}, late {late}, not visited {not_visited}").format(
            total="%{customdata[0]:,}", on_time="%{customdata[1]:,}", late="%{customdata[2]:,}",
            not_visited="%{customdata[3]:,}") + "<extra></extra>"}
    layout = {**_target_line(target, axis="x"), "xaxis": {"range": [0, 1.02], "tickformat": ".0%"}, "yaxis": yaxis}
    return _figure([bars], layout, title=title, height=max(300, 80 + 22 * len(rows)), margin={"l": left})


@_kept
def ranking(rows: Sequence, *, value: str, label: str, title: str, target: float | None = None,
            percent: bool = False) -> go.Figure:
    """Bars of `value` per `label`, in the rows' order (give it the top or bottom N)."""
    rows = [r for r in rows if getattr(r, value) is not None]
    values = [getattr(r, value) for r in rows]
    colours = ([GOOD if v >= target else BAD for v in values] if target is not None else NEUTRAL)
    names = [getattr(r, label) for r in rows]
    yaxis, left = _category_axis(names)
    bars = {"type": "bar", "x": values, "y": names, "orientation": "h",
            "marker": {"color": colours}, "text": [(_pct(v) if percent else i18n.decimal(v)) for v in values],
            "textposition": "auto",
            "hovertemplate": "<b>%{y}</b><br>%{x" + (":.1%" if percent else ":.2f") + "}<extra></extra>"}
    layout = {"yaxis": yaxis}
    if target is not None:
        layout |= _target_line(target, axis="x")
    if percent:
        layout["xaxis"] = {"range": [0, 1.02], "tickformat": ".0%"}
    return _figure([bars], layout, title=title, height=max(260, 80 + 22 * len(rows)), margin={"l": left})


def distribution(values: Sequence[float], *, title: str, axis: str, target: float | None = None,
                 percent: bool = False) -> go.Figure:
    """Histogram of a value across angels (how many are where). Not kept: hashing 1,820 values as
    a list costs Streamlit more (9 ms) than building the figure (5-8 ms)."""
    bars = {"type": "histogram", "x": list(values), "nbinsx": 30, "marker": {"color": NEUTRAL},
            "hovertemplate": "%{x}: " + _("{n} angels").format(n="%{y:,}") + "<extra></extra>"}
    layout = {"xaxis": {"title": {"text": axis}, **({"tickformat": ".0%"} if percent else {})},
              "yaxis": {"title": {"text": _("angels")}}}
    if target is not None:
        layout |= _target_line(target, axis="x")
    return _figure([bars], layout, title=title, height=340, margin={"l": TITLED_PX, "b": TITLED_PX - 10})


@_kept
def trend(points: Sequence, *, target: float, title: str) -> go.Figure:
    """SLA per bucket (line, left axis, with the target) and visits per bucket (bars, right axis).

    The visits are the base axis and the SLA the one overlaying it, so the line is drawn over the bars."""
    # Each bucket is drawn over its own days, centred on them: a bucket clipped by the period (its
    # first days of a month) is narrower, and the others keep their width (Plotly's own bar width is
    # the closest two bars' distance, which made every month as thin as a clipped first week).
    days = [(p.end - p.start).days + 1 for p in points]
    x = [datetime.combine(p.start, time()) + timedelta(days=n / 2) for p, n in zip(points, days)]
    when = [i18n.date_range(p.start, p.end) for p in points]
    visits = {"type": "bar", "x": x, "y": [p.visits for p in points], "name": _("visits"),
              "width": [n * DAY_MS * 0.8 for n in days], "customdata": when,
              "marker": {"color": "#90caf9"}, "xaxis": "x", "yaxis": "y",
              "hovertemplate": "%{customdata}: " + _("{n} visits").format(n="%{y:,}") + "<extra></extra>"}
    sla = {"type": "scatter", "x": x, "y": [p.sla for p in points], "name": "SLA", "mode": "lines+markers",
           "line": {"color": GOOD}, "customdata": [[p.total, p.on_time, w] for p, w in zip(points, when)],
           "connectgaps": False, "xaxis": "x", "yaxis": "y2",
           "hovertemplate": "%{customdata[2]}: SLA %{y:.1%} (" + _("{on_time} of {total}").format(
               on_time="%{customdata[1]:,}", total="%{customdata[0]:,}") + ")<extra></extra>"}
    # Two y axes over one x axis, laid out as make_subplots(specs=[[{"secondary_y": True}]]) does.
    layout = {**_target_line(target, axis="y2"),
              "xaxis": {"anchor": "y", "domain": [0.0, 0.94], "tickformat": i18n.d3_date_format()},
              "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "side": "right", "title": {"text": _("visits")},
                        "showgrid": False, "rangemode": "tozero", "tickformat": ",d", "tickmode": "auto", "nticks": 6},
              "yaxis2": {"anchor": "x", "overlaying": "y", "side": "left", "title": {"text": "SLA"}, "range": [0, 1.02],
                         "tickformat": ".0%", "tickmode": "linear", "tick0": 0, "dtick": 0.2, "showgrid": True}}
    return _figure([visits, sla], layout, title=title, height=380, margin={"l": TITLED_PX, "r": TITLED_PX + 10},
                   legend=dict(orientation="h", y=1.1, x=1, xanchor="right"))
