"""Productivity: visits per business day per angel, best and worst N, spread, search, every count."""
import pandas as pd
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings
from dashboard.ui import download_buttons, md

actor = require_role("viewer")
cfg = settings()

st.title("Productivity")
st.caption("Per Green Angel: **productivity** = visits whose **visit date** falls in the period / "
           "**business days** of the period up to today (Monday-Friday, not a national holiday "
           f"({cfg.holiday_country}) and not a non-working day added by an admin; weekend visits still "
           "count). **Worked days** = days with at least one visit; **visits per worked day** = visits / "
           "worked days. **Average slack** = deadline - visit date in days (positive = early). "
           "Angels without a visit in the period are not listed.")

flt = filters.sidebar()  # stops the page with a notice when there are no services

SORTS = {"productivity": "Productivity", "total": "Visits (total)", "total_sla": "On-time visits (total_sla)",
         "avg_time": "Average slack (avg_time)", "worked_days": "Worked days",
         "visits_per_worked_day": "Visits per worked day", "angel": "Angel name"}
search, sort, ascending, top_n = filters.angel_list_controls(SORTS, key="productivity")

rows = read(indicators.productivity, period=flt.period, polo=flt.polo, search=search, sort=sort,
            descending=not ascending, as_of=flt.as_of, country=cfg.holiday_country)
if not rows:
    st.info(f"No visits between {flt.period.start:%d/%m/%Y} and {flt.period.end:%d/%m/%Y}"
            + (f" in {md(flt.polo)}" if flt.polo else "") + (f" by angels matching “{md(search)}”" if search else "")
            + ". Pick another period or clear the search.")
    st.stop()

days = rows[0].business_days
st.markdown(f"**{len(rows):,}** angels · **{days}** business days"
            + ("" if days else " (no business day yet: productivity shows -)"))
ranked = sorted(rows, key=lambda r: (-(r.productivity or 0), -r.visits, r.angel))
if days:
    left, right = st.columns(2)
    left.plotly_chart(charts.ranking(ranked[:top_n], value="productivity", label="angel",
                                     title=f"Most productive {min(top_n, len(ranked))}"), key="productivity_top")
    right.plotly_chart(charts.ranking(ranked[::-1][:top_n], value="productivity", label="angel",
                                      title=f"Least productive {min(top_n, len(ranked))}"), key="productivity_bottom")
    st.plotly_chart(charts.distribution([r.productivity for r in rows], title="How productivity spreads",
                                        axis="visits per business day"), key="productivity_hist")

table = pd.DataFrame(indicators.as_dicts(rows, ("angel", "polo", "productivity", "visits", "business_days",
                                                "worked_days", "visits_per_worked_day", "on_time",
                                                "avg_slack_days")))
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "productivity": st.column_config.NumberColumn("productivity", format="%.2f"),
    "visits_per_worked_day": st.column_config.NumberColumn("visits per worked day", format="%.2f"),
    "on_time": st.column_config.NumberColumn("on-time visits"),
    "avg_slack_days": st.column_config.NumberColumn("avg slack (days)", format="%.2f")})
download_buttons(table, "productivity")

pick = st.selectbox("Visits of one angel", [None, *(r.angel for r in rows)], key="productivity_pick",
                    format_func=lambda a: "Choose an angel..." if a is None else a)
if pick:
    st.page_link("../pages/services.py", label=f"Services {md(pick)} visited in the period", icon=":material/list:",
                 query_params=filters.services_link(flt, angel=pick, by="visit"))
