"""SLA by polo: sorted bars against the target, every count in the table, drill into a polo's angels."""
import pandas as pd
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings
from dashboard.ui import download_buttons, md

actor = require_role("viewer")
cfg = settings()

st.title("SLA by polo")
st.caption("Per polo, the services whose **deadline** falls in the period. **On time** = visited on or "
           "before the deadline day (a visit at 23:59 on that day counts); **late** = visited after it; "
           "**not visited** = never visited and the deadline has passed. SLA = on time / (on time + late "
           "+ not visited). **Open** services (not visited, deadline today or later) are not counted yet. "
           "No services due: no SLA (-), never 0%.")

flt = filters.sidebar()  # stops the page with a notice when there are no services

SORTS = {"sla": "SLA", "total": "Services due (total)", "total_sla": "On time (total_sla)",
         "avg_time": "Average slack (avg_time)", "not_visited": "Not visited", "polo": "Polo name"}
s1, s2 = st.columns([3, 1])
sort = s1.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="sla_polo_sort")
ascending = s2.toggle("Ascending", value=sort == "polo", key="sla_polo_asc")

rows = read(indicators.sla_by_polo, period=flt.period, polo=flt.polo, sort=sort, descending=not ascending,
            as_of=flt.as_of)
if not rows:
    st.info(f"No services are due between {flt.period.start:%d/%m/%Y} and {flt.period.end:%d/%m/%Y}"
            + (f" in {md(flt.polo)}" if flt.polo else "") + ". Pick another period (e.g. **All data**).")
    st.stop()

below = sum(1 for r in rows if r.sla is not None and r.sla < cfg.sla_target)
st.markdown(f"**{len(rows)}** polos · **{below}** below the {cfg.sla_target:.0%} target")
event = st.plotly_chart(
    charts.sla_bars(rows, label="polo", target=cfg.sla_target, title="SLA by polo (click a bar to drill in)"),
    key="sla_polo_chart", on_select="rerun", selection_mode="points")

table = pd.DataFrame(indicators.as_dicts(rows, ("polo", "sla", "total", "on_time", "late", "not_visited",
                                                "open", "avg_slack_days")))
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "sla": st.column_config.NumberColumn("SLA", format="percent"),
    "avg_slack_days": st.column_config.NumberColumn("avg slack (days)", format="%.2f",
                                                    help="deadline - visit date; positive = early")})
download_buttons(table, "sla-by-polo")

# --- drill into one polo: its angels, and the services behind its misses ------------------------
points = (event.selection.points if event and event.selection else []) or []
clicked = points[0].get("y") if points else None
names = [r.polo for r in rows]
if clicked in names and clicked != st.session_state.get("sla_polo_clicked"):  # a new click, not a rerun
    st.session_state["sla_polo_drill"] = clicked
st.session_state["sla_polo_clicked"] = clicked
drill = st.selectbox("Drill into a polo", [None, *names], key="sla_polo_drill",
                     format_func=lambda p: "Choose a polo..." if p is None else p)
if drill:
    st.subheader(f"Angels of {md(drill)}")
    angels = read(indicators.sla_by_angel, period=flt.period, polo=drill, sort=sort if sort != "polo" else "angel",
                  descending=not ascending, as_of=flt.as_of)
    st.plotly_chart(charts.sla_bars(angels, label="angel", target=cfg.sla_target,
                                    title=f"SLA by angel in {drill}"), key="sla_polo_drill_chart")
    drill_table = pd.DataFrame(indicators.as_dicts(angels, ("angel", "sla", "total", "on_time", "late",
                                                            "not_visited", "open", "avg_slack_days")))
    st.dataframe(drill_table, hide_index=True, width="stretch",
                 column_config={"sla": st.column_config.NumberColumn("SLA", format="percent")})
    download_buttons(drill_table, f"sla-by-angel-{drill}", key="sla_polo_drill_download")
    l1, l2 = st.columns(2)
    l1.page_link("../pages/services.py", label=f"Late services of {md(drill)} in the period",
                 icon=":material/schedule:", query_params=filters.services_link(flt, status="late", polo=drill))
    l2.page_link("../pages/services.py", label=f"Not visited services of {md(drill)} in the period",
                 icon=":material/cancel:",
                 query_params=filters.services_link(flt, status="not_visited", polo=drill))
