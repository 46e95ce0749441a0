"""Overview: overall SLA, visits, productivity and misses of the period, against the previous one."""
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings

actor = require_role("viewer")
cfg = settings()

st.title("Overview")
st.caption("**SLA** = services visited on or before their deadline day / services due in the period "
           "(deadline in the period) that were visited or whose deadline has passed; a service never "
           "visited after its deadline counts as a miss. **Productivity** = visits made in the period "
           "/ business days (Mon-Fri, no national holiday or added non-working day) / angels who visited. "
           "Changes compare with the period of equal length just before.")

flt = filters.sidebar()  # stops the page with a notice when there are no services

result = read(indicators.overview, period=flt.period, polo=flt.polo, as_of=flt.as_of,
              country=cfg.holiday_country)
now, before = result.current, result.previous
# No services due and no visits before: a change against nothing says nothing, so none is shown.
compare = before.total > 0 or before.visits > 0


def change(current, previous, scale=1.0, suffix=""):
    if not compare or current is None or previous is None:
        return None
    return f"{(current - previous) * scale:+.1f}{suffix}"


c1, c2, c3, c4 = st.columns(4)
c1.metric("SLA", "-" if now.sla is None else f"{now.sla:.1%}", change(now.sla, before.sla, 100, " pp"),
          help=f"{now.on_time:,} on time of {now.total:,} due ({now.late:,} late, {now.not_visited:,} "
               f"not visited; {now.open:,} still open). Target {cfg.sla_target:.0%}.", border=True)
c2.metric("Visits", f"{now.visits:,}", f"{now.visits - before.visits:+,}" if compare else None, border=True,
          help=f"{now.angels:,} angels visited on {now.worked_days:,} angel-days.")
c3.metric("Productivity", "-" if now.productivity is None else f"{now.productivity:.2f}",
          change(now.productivity, before.productivity), border=True,
          help=f"Visits per business day per angel: {now.visits:,} / {now.business_days} business days "
               f"/ {now.angels:,} angels. Visits per worked day: "
               + ("-" if now.visits_per_worked_day is None else f"{now.visits_per_worked_day:.2f}."))
c4.metric("Not visited", f"{now.not_visited:,}",
          f"{now.not_visited - before.not_visited:+,}" if compare else None,
          delta_color="inverse", border=True, help="Never visited and the deadline has passed.")

if now.total == 0 and now.visits == 0 and now.open == 0:
    st.info("Nothing was due and nobody visited in this period. Pick another period (e.g. **All data**).")
    st.stop()

points = read(indicators.trend, period=flt.period, polo=flt.polo, as_of=flt.as_of,
              country=cfg.holiday_country)
grain = indicators.auto_grain(flt.period)
st.plotly_chart(charts.trend(points, target=cfg.sla_target,
                             title=f"SLA by deadline {grain} and visits by visit {grain}"),
                key="overview_trend")

st.caption("The services behind the numbers:")
l1, l2, l3 = st.columns(3)
l1.page_link("../pages/services.py", label=f"Late services ({now.late:,})", icon=":material/schedule:",
             query_params=filters.services_link(flt, status="late"))
l2.page_link("../pages/services.py", label=f"Not visited ({now.not_visited:,})", icon=":material/cancel:",
             query_params=filters.services_link(flt, status="not_visited"))
l3.page_link("../pages/services.py", label=f"Open, deadline ahead ({now.open:,})", icon=":material/pending:",
             query_params=filters.services_link(flt, status="open"))
