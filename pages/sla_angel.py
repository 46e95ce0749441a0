"""SLA by angel: best and worst N, how the angels spread, search by name, every count."""
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

st.title(_("SLA by angel"))
st.caption(_("Per Green Angel, the services whose **deadline** falls in the period."))
definitions("on_time", "late", "not_visited", "sla", "open", "avg_slack")

flt = filters.sidebar()  # stops the page with a notice when there are no services

SORTS = {"sla": "SLA", "total": N_("Services due (total)"), "total_sla": N_("On time (total_sla)"),
         "avg_time": N_("Average slack (avg_time)"), "late": N_("Late"), "not_visited": N_("Not visited"),
         "angel": N_("Angel name")}
FIELDS = ("angel", "polo", "sla", "total", "on_time", "late", "not_visited", "open", "avg_slack_days")


@st.fragment
def angels(flt: filters.IndicatorFilters) -> None:
    """Everything under the sidebar's filters: a change of its controls (search, sort, N, the angel
    picked) reruns this alone, not the page, its sidebar and login."""
    search, sort, ascending, top_n = filters.angel_list_controls(SORTS, key="sla_angel")
    rows = read(indicators.sla_by_angel, period=flt.period, polo=flt.polo, search=search, sort=sort,
                descending=not ascending, as_of=flt.as_of)
    if not rows:
        period = date_range(flt.period.start, flt.period.end)
        filters.empty_list_notice(_("No services are due in {period}.").format(period=period), flt, search)
        return

    rated = sorted((r for r in rows if r.sla is not None), key=lambda r: (-r.sla, -r.total, r.angel))
    below = sum(1 for r in rated if r.sla < cfg.sla_target)
    st.markdown(_("**{angels}** angels · **{below}** below the {target} target").format(
        angels=number(len(rows)), below=number(below), target=percent(cfg.sla_target, 0)))
    if rated:
        n = number(min(top_n, len(rated)))
        left, right = st.columns(2)
        left.plotly_chart(charts.ranking(rated[:top_n], value="sla", label="angel", target=cfg.sla_target,
                                         percent=True, title=_("Best {n}").format(n=n)), key="sla_angel_top")
        right.plotly_chart(charts.ranking(rated[::-1][:top_n], value="sla", label="angel", target=cfg.sla_target,
                                          percent=True, title=_("Worst {n}").format(n=n)), key="sla_angel_bottom")
        st.plotly_chart(charts.distribution([r.sla for r in rated], title=_("How the angels' SLA spreads"),
                                            axis="SLA", target=cfg.sla_target, percent=True), key="sla_angel_hist")

    table = pd.DataFrame(indicators.as_dicts(rows, FIELDS))
    st.dataframe(localized(table, percent=("sla",)), hide_index=True, width="stretch",
                 column_config={c: heading(c) for c in FIELDS})
    download_buttons(table, "sla-by-angel")

    pick = st.selectbox(_("Services of one angel"), [None, *(r.angel for r in rows)], key="sla_angel_pick",
                        format_func=lambda a, choose=_("Choose an angel..."): choose if a is None else a)
    if pick:
        filters.missed_services_links(flt, angel=pick,
                                      late=_("Late services of {angel}").format(angel=md(pick)),
                                      not_visited=_("Not visited services of {angel}").format(angel=md(pick)))


angels(flt)
