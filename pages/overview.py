"""Overview: overall SLA, visits, productivity and misses of the period, against the previous one."""
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings
from dashboard.i18n import _, decimal, number, percent
from dashboard.ui import definitions

actor = require_role("viewer")
cfg = settings()

st.title(_("Overview"))
definitions("sla", "not_visited", "productivity")
st.caption(_("Productivity here is per angel who visited. Changes compare with the period of equal "
             "length just before."))

flt = filters.sidebar()  # stops the page with a notice when there are no services

result = read(indicators.overview, period=flt.period, polo=flt.polo, as_of=flt.as_of,
              country=cfg.holiday_country)
now, before = result.current, result.previous
# No services due and no visits before: a change against nothing says nothing, so none is shown.
compare = before.total > 0 or before.visits > 0


def change(current, previous, scale=1.0, suffix=""):
    if not compare or current is None or previous is None:
        return None
    return decimal((current - previous) * scale, 1, signed=True) + suffix


c1, c2, c3, c4 = st.columns(4)
c1.metric("SLA", percent(now.sla), change(now.sla, before.sla, 100, " pp"),
          help=_("{on_time} on time of {total} due ({late} late, {not_visited} not visited; {open} still "
                 "open). Target {target}.").format(
              on_time=number(now.on_time), total=number(now.total), late=number(now.late),
              not_visited=number(now.not_visited), open=number(now.open), target=percent(cfg.sla_target, 0)),
          border=True)
c2.metric(_("Visits"), number(now.visits), number(now.visits - before.visits, signed=True) if compare else None,
          border=True, help=_("{angels} angels visited on {days} angel-days.").format(
              angels=number(now.angels), days=number(now.worked_days)))
c3.metric(_("Productivity"), decimal(now.productivity),
          change(now.productivity, before.productivity), border=True,
          help=_("Visits per business day per angel: {visits} / {days} business days / {angels} angels. "
                 "Visits per worked day: {per_worked_day}.").format(
              visits=number(now.visits), days=number(now.business_days), angels=number(now.angels),
              per_worked_day=decimal(now.visits_per_worked_day)))
c4.metric(_("Not visited"), number(now.not_visited),
          number(now.not_visited - before.not_visited, signed=True) if compare else None,
          delta_color="inverse", border=True, help=_("Never visited and the deadline has passed."))

if now.total == 0 and now.visits == 0 and now.open == 0:
    st.info(_("Nothing was due and nobody visited in this period. Pick another period (e.g. **All data**)."))
    st.stop()

points = read(indicators.trend, period=flt.period, polo=flt.polo, as_of=flt.as_of,
              country=cfg.holiday_country)
grain = indicators.auto_grain(flt.period)
TITLES = {"day": _("SLA by deadline day and visits by visit day"),
          "week": _("SLA by deadline week and visits by visit week"),
          "month": _("SLA by deadline month and visits by visit month")}
st.plotly_chart(charts.trend(points, target=cfg.sla_target, title=TITLES.get(grain, TITLES["month"])),
                key="overview_trend")

st.caption(_("The services behind the numbers:"))
l1, l2, l3 = st.columns(3)
l1.page_link(filters.SERVICES_PAGE, label=_("Late services ({n})").format(n=number(now.late)),
             icon=":material/schedule:", query_params=filters.services_link(flt, status="late"))
l2.page_link(filters.SERVICES_PAGE, label=_("Not visited ({n})").format(n=number(now.not_visited)),
             icon=":material/cancel:", query_params=filters.services_link(flt, status="not_visited"))
l3.page_link(filters.SERVICES_PAGE, label=_("Open, deadline ahead ({n})").format(n=number(now.open)),
             icon=":material/pending:", query_params=filters.services_link(flt, status="open"))
