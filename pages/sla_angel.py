"""SLA by angel: best and worst N, how the angels spread, search by name, every count."""
import pandas as pd
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings
from dashboard.ui import download_buttons, md

actor = require_role("viewer")
cfg = settings()

st.title("SLA by angel")
st.caption("Per Green Angel, the services whose **deadline** falls in the period. **On time** = visited "
           "on or before the deadline day (23:59 on that day counts); **late** = visited after it; "
           "**not visited** = never visited and the deadline has passed. SLA = on time / (on time + late "
           "+ not visited); **open** services (deadline today or later, not visited) wait outside the SLA. "
           "No services due: no SLA (-). **Average slack** = deadline - visit date in days (positive = early).")

flt = filters.sidebar()  # stops the page with a notice when there are no services

SORTS = {"sla": "SLA", "total": "Services due (total)", "total_sla": "On time (total_sla)",
         "avg_time": "Average slack (avg_time)", "late": "Late", "not_visited": "Not visited",
         "angel": "Angel name"}
search, sort, ascending, top_n = filters.angel_list_controls(SORTS, key="sla_angel")

rows = read(indicators.sla_by_angel, period=flt.period, polo=flt.polo, search=search, sort=sort,
            descending=not ascending, as_of=flt.as_of)
if not rows:
    st.info(f"No services are due between {flt.period.start:%d/%m/%Y} and {flt.period.end:%d/%m/%Y}"
            + (f" in {md(flt.polo)}" if flt.polo else "") + (f" for angels matching “{md(search)}”" if search else "")
            + ". Pick another period or clear the search.")
    st.stop()

rated = sorted((r for r in rows if r.sla is not None), key=lambda r: (-r.sla, -r.total, r.angel))
below = sum(1 for r in rated if r.sla < cfg.sla_target)
st.markdown(f"**{len(rows):,}** angels · **{below:,}** below the {cfg.sla_target:.0%} target")
if rated:
    left, right = st.columns(2)
    left.plotly_chart(charts.ranking(rated[:top_n], value="sla", label="angel", target=cfg.sla_target,
                                     percent=True, title=f"Best {min(top_n, len(rated))}"), key="sla_angel_top")
    right.plotly_chart(charts.ranking(rated[::-1][:top_n], value="sla", label="angel", target=cfg.sla_target,
                                      percent=True, title=f"Worst {min(top_n, len(rated))}"), key="sla_angel_bottom")
    st.plotly_chart(charts.distribution([r.sla for r in rated], title="How the angels' SLA spreads",
                                        axis="SLA", target=cfg.sla_target, percent=True), key="sla_angel_hist")

table = pd.DataFrame(indicators.as_dicts(rows, ("angel", "polo", "sla", "total", "on_time", "late",
                                                "not_visited", "open", "avg_slack_days")))
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "sla": st.column_config.NumberColumn("SLA", format="percent"),
    "avg_slack_days": st.column_config.NumberColumn("avg slack (days)", format="%.2f")})
download_buttons(table, "sla-by-angel")

pick = st.selectbox("Services of one angel", [None, *(r.angel for r in rows)], key="sla_angel_pick",
                    format_func=lambda a: "Choose an angel..." if a is None else a)
if pick:
    l1, l2 = st.columns(2)
    l1.page_link("../pages/services.py", label=f"Late services of {md(pick)}", icon=":material/schedule:",
                 query_params=filters.services_link(flt, status="late", angel=pick))
    l2.page_link("../pages/services.py", label=f"Not visited services of {md(pick)}", icon=":material/cancel:",
                 query_params=filters.services_link(flt, status="not_visited", angel=pick))
