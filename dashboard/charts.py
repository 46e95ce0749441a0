"""Plotly figures of the indicator pages. Every SLA chart draws the target (SLA_TARGET setting).

Builders take plain rows (the dataclasses of core.indicators) and return a go.Figure; the pages
render them with st.plotly_chart, whose toolbar gives the PNG download.
"""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import i18n
from dashboard.i18n import _

GOOD = "#2e7d32"
BAD = "#c62828"
NEUTRAL = "#1565c0"
TARGET = "#616161"


def _pct(value: float | None) -> str:
    return i18n.percent(value)


def _target(target: float) -> str:
    return _("target {percent}").format(percent=i18n.percent(target, 0))


def _layout(fig: go.Figure, *, title: str, height: int) -> go.Figure:
    # separators: the locale's decimal and thousands marks in every number Plotly writes (ticks,
    # hover labels); d3 formats below then only say how many digits.
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                      showlegend=False, hoverlabel=dict(align="left"), separators=i18n.plotly_separators())
    return fig


def sla_bars(rows: Sequence, *, label: str, target: float, title: str) -> go.Figure:
    """Horizontal SLA bars in the rows' order, green at or above the target, red below.

    Rows without an SLA (nothing due) are left out: there is nothing to draw, not a 0%.
    """
    rows = [r for r in rows if r.sla is not None]
    names = [getattr(r, label) for r in rows]
    fig = go.Figure(go.Bar(
        x=[r.sla for r in rows], y=names, orientation="h",
        marker_color=[GOOD if r.sla >= target else BAD for r in rows],
        customdata=[[r.total, r.on_time, r.late, r.not_visited] for r in rows],
        text=[_pct(r.sla) for r in rows], textposition="auto",
        hovertemplate="<b>%{y}</b><br>SLA %{x:.1%}<br>" + _(
            "due {total}: on time {on_time}, late {late}, not visited {not_visited}").format(
            total="%{customdata[0]:,}", on_time="%{customdata[1]:,}", late="%{customdata[2]:,}",
            not_visited="%{customdata[3]:,}") + "<extra></extra>"))
    fig.add_vline(x=target, line_dash="dash", line_color=TARGET,
                  annotation_text=_target(target), annotation_position="top")
    fig.update_xaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_yaxes(autorange="reversed", type="category")  # first row on top
    return _layout(fig, title=title, height=max(300, 60 + 22 * len(rows)))


def ranking(rows: Sequence, *, value: str, label: str, title: str, target: float | None = None,
            percent: bool = False) -> go.Figure:
    """Bars of `value` per `label`, in the rows' order (give it the top or bottom N)."""
    rows = [r for r in rows if getattr(r, value) is not None]
    values = [getattr(r, value) for r in rows]
    colours = ([GOOD if v >= target else BAD for v in values] if target is not None else NEUTRAL)
    fig = go.Figure(go.Bar(
        x=values, y=[getattr(r, label) for r in rows], orientation="h", marker_color=colours,
        text=[(_pct(v) if percent else i18n.decimal(v)) for v in values], textposition="auto",
        hovertemplate="<b>%{y}</b><br>%{x" + (":.1%" if percent else ":.2f") + "}<extra></extra>"))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color=TARGET,
                      annotation_text=_target(target), annotation_position="top")
    if percent:
        fig.update_xaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, title=title, height=max(260, 60 + 22 * len(rows)))


def distribution(values: Sequence[float], *, title: str, axis: str, target: float | None = None,
                 percent: bool = False) -> go.Figure:
    """Histogram of a value across angels (how many are where)."""
    fig = go.Figure(go.Histogram(x=list(values), nbinsx=30, marker_color=NEUTRAL,
                                 hovertemplate="%{x}: " + _("{n} angels").format(n="%{y:,}")
                                 + "<extra></extra>"))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color=TARGET,
                      annotation_text=_target(target), annotation_position="top")
    fig.update_xaxes(title=axis, tickformat=".0%" if percent else None)
    fig.update_yaxes(title=_("angels"))
    return _layout(fig, title=title, height=320)


def trend(points: Sequence, *, target: float, title: str) -> go.Figure:
    """SLA per bucket (line, left axis, with the target) and visits per bucket (bars, right axis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = [p.start for p in points]
    day = "%{x|" + i18n.d3_date_format() + "}"
    fig.add_trace(go.Bar(x=x, y=[p.visits for p in points], name=_("visits"), marker_color="#90caf9",
                         hovertemplate=day + ": " + _("{n} visits").format(n="%{y:,}") + "<extra></extra>"),
                  secondary_y=True)
    fig.add_trace(go.Scatter(
        x=x, y=[p.sla for p in points], name="SLA", mode="lines+markers", line_color=GOOD,
        customdata=[[p.total, p.on_time] for p in points], connectgaps=False,
        hovertemplate=day + ": SLA %{y:.1%} (" + _("{on_time} of {total}").format(
            on_time="%{customdata[1]:,}", total="%{customdata[0]:,}") + ")<extra></extra>"),
        secondary_y=False)
    fig.add_hline(y=target, line_dash="dash", line_color=TARGET, annotation_text=_target(target),
                  secondary_y=False)
    fig.update_yaxes(title_text="SLA", range=[0, 1.02], tickformat=".0%", secondary_y=False)
    fig.update_xaxes(tickformat=i18n.d3_date_format())
    fig.update_yaxes(title_text=_("visits"), secondary_y=True, showgrid=False, rangemode="tozero",
                     tickformat=",d", tickmode="auto", nticks=6)
    fig = _layout(fig, title=title, height=380)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.1, x=1, xanchor="right"))
    return fig
