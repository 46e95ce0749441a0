"""SLA by polo: sorted bars against the target, every count in the table, drill into a polo's angels."""
import pandas as pd
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings
from dashboard.i18n import N_, _, date_range, number, percent
from dashboard.ui import definitions, download_buttons, heading, localized, md

actor = require_role("viewer")
cfg = settings()

st.title(_("SLA by polo"))
st.caption(_("Per polo, the services whose **deadline** falls in the period."))
definitions("on_time", "late", "not_visited", "sla", "open")

flt = filters.sidebar()  # stops the page with a notice when there are no services

SORTS = {"sla": "SLA", "total": N_("Services due (total)"), "total_sla": N_("On time (total_sla)"),
         "avg_time": N_("Average slack (avg_time)"), "not_visited": N_("Not visited"), "polo": N_("Polo name")}
FIELDS = ("polo", "sla", "total", "on_time", "late", "not_visited", "open", "avg_slack_days")
DRILL = ("angel", "sla", "total", "on_time", "late", "not_visited", "open", "avg_slack_days")


def columns(names):
    """Headings in the user's language (the numbers are written by `localized`)."""
    config = {c: heading(c) for c in names}
    config["avg_slack_days"] = st.column_config.Column(heading("avg_slack_days"),
                                                       help=_("deadline - visit date; positive = early"))
    return config


@st.fragment
def polos(flt: filters.IndicatorFilters) -> None:
    """Everything under the sidebar's filters: a change of its controls (sort, a bar clicked, the
    polo drilled into) reruns this alone, not the page, its sidebar and login."""
    s1, s2 = st.columns([3, 1])
    sort = s1.selectbox(_("Sort by"), list(SORTS), format_func={k: _(v) for k, v in SORTS.items()}.get,
                        key="sla_polo_sort")
    ascending = s2.toggle(_("Ascending"), value=sort == "polo", key="sla_polo_asc")

    rows = read(indicators.sla_by_polo, period=flt.period, polo=flt.polo, sort=sort, descending=not ascending,
                as_of=flt.as_of)
    if not rows:
        where = date_range(flt.period.start, flt.period.end)
        st.info((_("No services are due in {period} in {polo}.").format(period=where, polo=md(flt.polo)) if flt.polo
                 else _("No services are due in {period}.").format(period=where))
                + " " + _("Pick another period (e.g. **All data**)."))
        return

    below = sum(1 for r in rows if r.sla is not None and r.sla < cfg.sla_target)
    st.markdown(_("**{polos}** polos · **{below}** below the {target} target").format(
        polos=number(len(rows)), below=number(below), target=percent(cfg.sla_target, 0)))
    event = st.plotly_chart(
        charts.sla_bars(rows, label="polo", target=cfg.sla_target, title=_("SLA by polo (click a bar to drill in)")),
        key="sla_polo_chart", on_select="rerun", selection_mode="points")

    table = pd.DataFrame(indicators.as_dicts(rows, FIELDS))
    st.dataframe(localized(table, percent=("sla",)), hide_index=True, width="stretch", column_config=columns(FIELDS))
    download_buttons(table, "sla-by-polo")

    # --- drill into one polo: its angels, and the services behind its misses ------------------------
    points = (event.selection.points if event and event.selection else []) or []
    clicked = points[0].get("y") if points else None
    names = [r.polo for r in rows]
    if clicked in names and clicked != st.session_state.get("sla_polo_clicked"):  # a new click, not a rerun
        st.session_state["sla_polo_drill"] = clicked
    st.session_state["sla_polo_clicked"] = clicked
    drill = st.selectbox(_("Drill into a polo"), [None, *names], key="sla_polo_drill",
                         format_func=lambda p, choose=_("Choose a polo..."): choose if p is None else p)
    if drill:
        st.subheader(_("Angels of {polo}").format(polo=md(drill)))
        angels = read(indicators.sla_by_angel, period=flt.period, polo=drill, sort=sort if sort != "polo" else "angel",
                      descending=not ascending, as_of=flt.as_of)
        st.plotly_chart(charts.sla_bars(angels, label="angel", target=cfg.sla_target,
                                        title=_("SLA by angel in {polo}").format(polo=drill)), key="sla_polo_drill_chart")
        drill_table = pd.DataFrame(indicators.as_dicts(angels, DRILL))
        st.dataframe(localized(drill_table, percent=("sla",)), hide_index=True, width="stretch",
                     column_config=columns(DRILL))
        download_buttons(drill_table, f"sla-by-angel-{drill}", key="sla_polo_drill_download")
        filters.missed_services_links(
            flt, polo=drill, late=_("Late services of {polo} in the period").format(polo=md(drill)),
            not_visited=_("Not visited services of {polo} in the period").format(polo=md(drill)))


polos(flt)
