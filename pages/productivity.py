"""Productivity: visits per business day per angel, best and worst N, spread, search, every count."""
import pandas as pd
import streamlit as st

from core import indicators
from dashboard import charts, filters
from dashboard.auth import require_role
from dashboard.common import read, settings
from dashboard.i18n import N_, _, date_range, number
from dashboard.ui import capitalized, definitions, download_buttons, heading, localized, md

actor = require_role("viewer")
cfg = settings()

st.title(_("Productivity"))
definitions("productivity", "worked_days", "avg_slack")
st.caption(_("Per Green Angel; national holidays of {country}. Angels without a visit in the period are "
             "not listed.").format(country=cfg.holiday_country))

flt = filters.sidebar()  # stops the page with a notice when there are no services

SORTS = {"productivity": N_("Productivity"), "total": N_("Visits (total)"),
         "total_sla": N_("On-time visits (total_sla)"), "avg_time": N_("Average slack (avg_time)"),
         "worked_days": N_("Worked days"), "visits_per_worked_day": N_("Visits per worked day"),
         "angel": N_("Angel name")}
FIELDS = ("angel", "polo", "productivity", "visits", "business_days", "worked_days", "visits_per_worked_day",
          "on_time", "avg_slack_days")


@st.fragment
def angels(flt: filters.IndicatorFilters) -> None:
    """Everything under the sidebar's filters: a change of its controls (search, sort, N, the angel
    picked) reruns this alone, not the page, its sidebar and login."""
    search, sort, ascending, top_n = filters.angel_list_controls(SORTS, key="productivity")
    rows = read(indicators.productivity, period=flt.period, polo=flt.polo, search=search, sort=sort,
                descending=not ascending, as_of=flt.as_of, country=cfg.holiday_country)
    if not rows:
        period = date_range(flt.period.start, flt.period.end)
        filters.empty_list_notice(_("No visits in {period}.").format(period=period), flt, search)
        return

    days = rows[0].business_days
    st.markdown(_("**{angels}** angels · **{days}** business days").format(angels=number(len(rows)),
                                                                           days=number(days))
                + ("" if days else " " + _("(no business day yet: productivity shows -)")))
    ranked = sorted(rows, key=lambda r: (-(r.productivity or 0), -r.visits, r.angel))
    if days:
        n = number(min(top_n, len(ranked)))
        left, right = st.columns(2)
        left.plotly_chart(charts.ranking(ranked[:top_n], value="productivity", label="angel",
                                         title=_("Most productive {n}").format(n=n)), key="productivity_top")
        right.plotly_chart(charts.ranking(ranked[::-1][:top_n], value="productivity", label="angel",
                                          title=_("Least productive {n}").format(n=n)), key="productivity_bottom")
        st.plotly_chart(charts.distribution([r.productivity for r in rows], title=_("How productivity spreads"),
                                            axis=_("visits per business day")), key="productivity_hist")

    table = pd.DataFrame(indicators.as_dicts(rows, FIELDS))
    st.dataframe(localized(table), hide_index=True, width="stretch",
                 column_config={**{c: heading(c) for c in FIELDS}, "on_time": capitalized(_("on-time visits"))})
    download_buttons(table, "productivity")

    pick = st.selectbox(_("Visits of one angel"), [None, *(r.angel for r in rows)], key="productivity_pick",
                        format_func=lambda a, choose=_("Choose an angel..."): choose if a is None else a)
    if pick:
        st.page_link(filters.SERVICES_PAGE,
                     label=_("Services {angel} visited in the period").format(angel=md(pick)),
                     icon=":material/list:", query_params=filters.services_link(flt, angel=pick, by="visit"))


angels(flt)
