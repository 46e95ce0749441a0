"""The charts' layout is decided in Python: no axis measures its own margin in the browser (which
lays a figure out twice), long names are cut on the axis only, and the margins fit the labels."""
from __future__ import annotations

from collections import namedtuple
from datetime import date

import pytest

from dashboard import charts, i18n

Angel = namedtuple("Angel", "angel sla total on_time late not_visited")
Point = namedtuple("Point", "start end total on_time late not_visited sla visits business_days")

LONG = "Francisco de Assis Nascimento Filho Júnior"  # 42 characters
ROWS = [Angel("Ana", 0.95, 20, 19, 1, 0), Angel(LONG, 0.5, 10, 5, 3, 2), Angel("Bia", None, 0, 0, 0, 0)]


@pytest.fixture(autouse=True)
def english():
    """The session's language chosen as a user does (no settings read: they are cached per process)."""
    i18n.use("en")
    yield
    i18n.forget()


def figures():
    """One figure of each builder, built without the cache (the builder itself)."""
    return {
        "ranking": charts.ranking.__wrapped__(ROWS, value="sla", label="angel", title="t", target=0.9, percent=True),
        "sla_bars": charts.sla_bars.__wrapped__(ROWS, label="angel", target=0.9, title="t"),
        "distribution": charts.distribution([0.5, 0.95], title="t", axis="SLA", target=0.9, percent=True),
        "trend": charts.trend.__wrapped__([Point(date(2022, 1, 1), date(2022, 1, 31), 10, 9, 1, 0, 0.9, 12, 21)],
                                          target=0.9, title="t"),
    }


@pytest.mark.parametrize("name", ["ranking", "sla_bars", "distribution", "trend"])
def test_no_axis_measures_its_own_margin(name):
    layout = figures()[name].layout
    axes = [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]
    assert {"xaxis", "yaxis"} <= set(axes)
    assert all(layout[k].automargin is False for k in axes), axes


@pytest.mark.parametrize("name", ["ranking", "sla_bars"])
def test_long_names_are_cut_on_the_axis_only(name):
    fig = figures()[name]
    bars, axis = fig.data[0], fig.layout.yaxis
    assert list(bars.y) == ["Ana", LONG]  # hover and a click on a bar read the whole name
    assert list(axis.tickvals) == ["Ana", LONG]
    assert list(axis.ticktext) == ["Ana", "Francisco de Assis Nascimento…"]
    assert len(axis.ticktext[1]) == charts.LABEL_CHARS == 30
    assert fig.layout.margin.l == 12 + 6 * 30


def test_short_names_keep_the_axis_plain_and_the_margin_narrow():
    fig = charts.ranking.__wrapped__(ROWS[:1], value="sla", label="angel", title="t")
    assert list(fig.data[0].y) == ["Ana"]
    assert fig.layout.yaxis.tickmode is None and fig.layout.yaxis.ticktext is None
    assert fig.layout.margin.l == 12 + 6 * 3


def test_numeric_axes_leave_room_for_their_titles():
    margins = {name: fig.layout.margin for name, fig in figures().items()}
    assert (margins["distribution"].l, margins["distribution"].b) == (70, 60)
    assert (margins["trend"].l, margins["trend"].r, margins["trend"].b) == (70, 80, 30)


def test_trend_bars_span_their_own_days():
    """A period from 26/06 to 09/08 in months: 5, 31 and 9 days. Each bar covers 80% of its
    bucket's days, centred on them (Plotly's own width, the closest two bars' distance, drew every
    month 5 days wide); the hover names the bucket's days."""
    points = [Point(date(2021, 6, 26), date(2021, 6, 30), 10, 9, 1, 0, 0.9, 12, 3),
              Point(date(2021, 7, 1), date(2021, 7, 31), 10, 8, 1, 1, 0.8, 40, 21),
              Point(date(2021, 8, 1), date(2021, 8, 9), 0, 0, 0, 0, None, 7, 6)]
    visits, sla = charts.trend.__wrapped__(points, target=0.9, title="t").data
    day = 86_400_000
    assert list(visits.width) == [5 * day * 0.8, 31 * day * 0.8, 9 * day * 0.8]
    assert [str(x) for x in visits.x] == ["2021-06-28 12:00:00", "2021-07-16 12:00:00", "2021-08-05 12:00:00"]
    assert list(sla.x) == list(visits.x)
    dash = "\u2009–\u2009"  # Babel's interval: thin spaces around an en dash
    assert list(visits.customdata) == [f"6/26/2021{dash}6/30/2021", f"7/1/2021{dash}7/31/2021", f"8/1/2021{dash}8/9/2021"]
    assert [c[2] for c in sla.customdata] == list(visits.customdata)
    one_day = charts.trend.__wrapped__([points[0]._replace(end=date(2021, 6, 26))], target=0.9, title="t").data[0]
    assert list(one_day.customdata) == ["6/26/2021"] and list(one_day.width) == [day * 0.8]


def test_trend_target_line_stands_on_the_sla_axis():
    visits, sla = (fig := figures()["trend"]).data
    assert (visits.yaxis, sla.yaxis) == ("y", "y2")  # the line over the bars: the overlaying axis draws last
    assert [s.yref for s in fig.layout.shapes] == ["y2"] and [a.yref for a in fig.layout.annotations] == ["y2"]
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.range == (0, 1.02)
