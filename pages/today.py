"""Today: what is still open today, where, and what each polo needs to reach the month's SLA target.

The numbers (core/operation_day.py) redraw every minute while the page is open (a fragment); each
links to the services behind it on the Services page; a polo's angels show on a click.
"""
from datetime import date

import pandas as pd
import streamlit as st

from core import indicators, operation_day
from dashboard import filters
from dashboard.auth import recheck_role, require_role
from dashboard.common import read, settings
from dashboard.i18n import N_, _, clock, date_input_format, day, ngettext, number, percent
from dashboard.ui import capitalized, heading, md, table

actor = require_role("viewer")
cfg = settings()

REFRESH_SECONDS = 60
# Column headings of the day's numbers (the data keeps the API's keys).
HEADINGS = {
    "due_today_open": N_("due today, open"), "due_tomorrow_open": N_("due tomorrow, open"),
    "overdue_open": N_("overdue, open"), "visited_today": N_("visited today"),
    "visited_today_on_time": N_("of them on time"), "month_to_date_sla": N_("month-to-date SLA"),
    "month_due": N_("due this month"), "on_time_so_far": N_("on time so far"),
    "remaining_open": N_("still open this month"), "needed_on_time": N_("needed on time"),
    "target_reachable": N_("target reachable"),
}
# The numbers with services behind them, each with the icon of its link to the Services page.
LINK_ICONS = {"due_today_open": ":material/alarm:", "due_tomorrow_open": ":material/event_upcoming:",
              "overdue_open": ":material/event_busy:", "visited_today": ":material/check_circle:",
              "visited_today_on_time": ":material/verified:", "month_due": ":material/calendar_month:",
              "on_time_so_far": ":material/task_alt:", "remaining_open": ":material/pending:"}


def link_label(name: str, n: int) -> str:
    """The label of a number's link, with its count."""
    return {
        "due_today_open": ngettext("{n} service due today, still open", "{n} services due today, still open", n),
        "due_tomorrow_open": ngettext("{n} service due tomorrow, still open", "{n} services due tomorrow, still open",
                                      n),
        "overdue_open": ngettext("{n} overdue service, still to visit", "{n} overdue services, still to visit", n),
        "visited_today": ngettext("{n} visit today", "{n} visits today", n),
        "visited_today_on_time": ngettext("{n} visit today on time", "{n} visits today on time", n),
        "month_due": ngettext("{n} service due this month", "{n} services due this month", n),
        "on_time_so_far": ngettext("{n} on time so far this month", "{n} on time so far this month", n),
        "remaining_open": ngettext("{n} service of the month still open", "{n} services of the month still open", n),
    }[name].format(n=number(n))


st.title(_("Today"))
st.caption(_("What is still open today and where, and what each polo still needs to reach the month's SLA "
             "target of {target}. Updated every minute while the page is open.").format(
    target=percent(cfg.sla_target, 0)))
st.caption(" ".join(_(text) for text in operation_day.EXPLAINED.values()))

data = read(indicators.data_range)
if data.empty:
    filters.no_data_notice()
    st.stop()

today = operation_day.today(cfg)


def show_last_day() -> None:
    st.session_state["today_day"] = data.last


left, right = st.columns([1, 3])
left.date_input(_("Day"), value=None, key="today_day", format=date_input_format(),
                help=_("Empty: today in the operation's time zone ({zone}). Pick a day to see it as it was.").format(
                    zone=cfg.timezone))
if data.last < today and not st.session_state.get("today_day"):
    right.info(_("Every service in the database is in the past: the last day with data is {day}. The numbers below "
                 "are today's (only overdue services can be open).").format(day=day(data.last)),
               icon=":material/history:")
    right.button(_("Show {day}, the last day with data").format(day=day(data.last)), on_click=show_last_day,
                 key="today_show_last", icon=":material/event:")


def heading_of(column: str) -> str:
    return capitalized(_(HEADINGS[column])) if column in HEADINGS else heading(column)


def numbers_table(rows: list[operation_day.DayRow], key: str, label: str):
    """The rows as a table (one row selectable); returns the selected row's index or None."""
    columns = [label, *operation_day.NUMBERS]
    df = pd.DataFrame([{label: getattr(r, label), **{n: getattr(r, n) for n in operation_day.NUMBERS}} for r in rows],
                      columns=columns)
    df["month_to_date_sla"] = df["month_to_date_sla"].astype("float64")
    config = {c: st.column_config.Column(heading_of(c)) for c in columns}
    config["target_reachable"] = st.column_config.CheckboxColumn(heading_of("target_reachable"))
    event = table(df, percent=("month_to_date_sla",), column_config=config, on_select="rerun",
                  selection_mode="single-row", key=key)
    picked = event.selection.rows if event and event.selection else []
    return picked[0] if picked else None


def links(row: operation_day.DayRow, the_day: date) -> None:
    """Each number of a polo or angel (or of every polo) as a link to its services."""
    cols = st.columns(2)  # two wide columns: a label such as "4.067 overdue services, still to visit" fits
    for i, (name, icon) in enumerate(LINK_ICONS.items()):
        n = getattr(row, name)
        behind = operation_day.services_behind(name, day=the_day, polo=row.polo or None, angel=row.angel)
        cols[i % 2].page_link(filters.SERVICES_PAGE, label=link_label(name, n), icon=icon,
                              query_params=filters.service_filter_link(behind), disabled=not n)


def reach(row: operation_day.DayRow) -> str:
    """The month's reach in a sentence."""
    target = percent(cfg.sla_target, 0)
    if not row.month_due:
        return _("Nothing is due this month.")
    if not row.needed_on_time:
        return _("The month's {target} target is reached: {on_time} of {due} services on time.").format(
            target=target, on_time=number(row.on_time_so_far), due=number(row.month_due))
    if row.target_reachable:
        return _("To reach {target} this month: **{needed}** more on time, of the {open} services still open.").format(
            target=target, needed=number(row.needed_on_time), open=number(row.remaining_open))
    return _("The month's {target} target is out of reach: {needed} more on time would be needed, and only {open} "
             "services are still open.").format(target=target, needed=number(row.needed_on_time),
                                               open=number(row.remaining_open))


def month_sla(row: operation_day.DayRow) -> str:
    if row.month_to_date_sla is None:
        return _("Month-to-date SLA: - (nothing counted yet)")
    return _("Month-to-date SLA: **{sla}** ({on_time} of {total} on time)").format(
        sla=percent(row.month_to_date_sla), on_time=number(row.month_to_date_on_time),
        total=number(row.month_to_date_total))


@st.fragment(run_every=REFRESH_SECONDS)
def panel() -> None:
    recheck_role("viewer")  # a timed rerun of the fragment skips the entrypoint's checks
    the_day = st.session_state.get("today_day") or operation_day.today(cfg)
    report = read(operation_day.operation_day, day=the_day, target=cfg.sla_target)
    # The refresh's time in the operation's zone, like the day: at 22:55 in São Paulo a manager reads
    # "updated 22:55", not the next day's UTC.
    st.caption(_("{day} in {zone} · updated at {time}").format(
        day=day(the_day), zone=cfg.timezone, time=clock(operation_day.local_now(cfg))))
    total = report.totals
    if total is None:
        st.info(_("Nothing is due, open or visited on {day}.").format(day=day(the_day)), icon=":material/event_available:")
        return

    c = st.columns(5)
    c[0].metric(_("Due today, open"), number(total.due_today_open))
    c[1].metric(_("Due tomorrow, open"), number(total.due_tomorrow_open))
    c[2].metric(_("Overdue, open"), number(total.overdue_open))
    c[3].metric(_("Visited today"), number(total.visited_today),
                help=_("{n} of them on time").format(n=number(total.visited_today_on_time)))
    c[4].metric(_("Month-to-date SLA"), "-" if total.month_to_date_sla is None else percent(total.month_to_date_sla),
                help=month_sla(total))
    st.markdown(_("All polos: {reach}").format(reach=reach(total)))
    links(total, the_day)

    st.subheader(_("Polos, most at risk first"))
    st.caption(_("Sorted by the services due today and still open, then due tomorrow, then overdue. Click a polo "
                 "for its angels and its services."))
    names = [r.polo for r in report.polos]
    clicked = numbers_table(report.polos, "today_polos_table", "polo")
    clicked = names[clicked] if clicked is not None else None
    if clicked and clicked != st.session_state.get("today_clicked"):  # a new click, not a rerun
        st.session_state["today_polo"] = clicked
    st.session_state["today_clicked"] = clicked
    if st.session_state.get("today_polo") not in (None, *names):
        st.session_state["today_polo"] = None  # nothing on this day any more
    polo = st.selectbox(_("A polo's angels"), [None, *names], key="today_polo",
                        format_func=lambda p, choose=_("Choose a polo..."): choose if p is None else p)
    if not polo:
        return
    (row,) = [r for r in report.polos if r.polo == polo]
    st.subheader(md(polo))
    st.markdown(month_sla(row) + " · " + reach(row))
    links(row, the_day)
    angels = read(operation_day.day_by_angel, day=the_day, polo=polo, target=cfg.sla_target)
    picked = numbers_table(angels, "today_angels_table", "angel")
    if picked is not None:
        angel = angels[picked]
        st.markdown(_("**{angel}**: {reach}").format(angel=md(angel.angel), reach=reach(angel)))
        links(angel, the_day)


panel()
