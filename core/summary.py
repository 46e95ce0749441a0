"""The daily summary: yesterday's SLA and visits per polo against the target, and today's open
services at risk. The alerts worker sends it at DAILY_SUMMARY_TIME to the daily-summary rules'
channels (core/alerts.py); the e-mail carries the whole table as CSV (core.exports: no cell can
become a spreadsheet formula).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy.engine import Connection

from core import exports, indicators, operation_day
from core.definitions import Period
from core.messages import N_, Count, Text
from core.notifications import Day, Ratio

LINES = 15  # polos written in the message (most at risk first); the CSV has them all


class SummaryRow(NamedTuple):
    """One polo of the summary; its fields, in order, are the CSV's columns (machine names, as the
    CLI's and the API's CSV and JSON)."""
    polo: str
    yesterday_due: int           # the SLA cohort of the services due yesterday, as of today
    yesterday_on_time: int
    yesterday_sla: float | None
    target: float
    yesterday_visits: int
    yesterday_visits_on_time: int
    due_today_open: int
    due_tomorrow_open: int
    overdue_open: int
    month_to_date_sla: float | None
    needed_on_time: int
    target_reachable: bool


@dataclass(frozen=True)
class Summary:
    day: date                    # today; "yesterday" is the day before
    target: float
    rows: list[SummaryRow]       # every polo with something yesterday or today, most at risk today first

    def csv(self) -> str:
        return exports.csv_text([r._asdict() for r in self.rows], SummaryRow._fields)

    def lines(self) -> list[Text]:
        """The message, line by line: a heading, yesterday's totals, today's, then the polos most at risk."""
        lines = [Text(N_("Daily summary of {day}, SLA target {target}."), day=Day(self.day), target=Ratio(self.target))]
        due = sum(r.yesterday_due for r in self.rows)
        on_time = sum(r.yesterday_on_time for r in self.rows)
        lines.append(Text(N_("Yesterday: SLA {sla} ({on_time} of {due} on time), {visits} visits; {below} polos "
                             "under the target."), sla=Ratio(on_time / due if due else None), on_time=Count(on_time),
                          due=Count(due), visits=Count(sum(r.yesterday_visits for r in self.rows)),
                          below=Count(sum(1 for r in self.rows if r.yesterday_sla is not None
                                          and r.yesterday_sla < self.target))))
        lines.append(Text(N_("Today: {open} services due and still open, {overdue} overdue."),
                          open=Count(sum(r.due_today_open for r in self.rows)),
                          overdue=Count(sum(r.overdue_open for r in self.rows))))
        for r in [r for r in self.rows if r.due_today_open or r.overdue_open][:LINES]:
            lines.append(Text(N_("{polo}: yesterday {sla}, {visits} visits; today {open} due and open, {overdue} "
                                 "overdue; month {month}."), polo=r.polo, sla=Ratio(r.yesterday_sla),
                              visits=Count(r.yesterday_visits), open=Count(r.due_today_open),
                              overdue=Count(r.overdue_open), month=Ratio(r.month_to_date_sla)))
        return lines


def daily_summary(conn: Connection, *, day: date, target: float) -> Summary:
    """The summary sent on `day` (today in TIMEZONE): yesterday's SLA (as of today, as the SLA pages
    count it) and visits per polo, and today's numbers (core.operation_day)."""
    yesterday = day - timedelta(days=1)
    sla = {r.polo: r for r in indicators.sla_by_polo(conn, period=Period(yesterday, yesterday), as_of=day)}
    before = {r.polo: r for r in operation_day.day_by_polo(conn, day=yesterday, target=target)}
    now = {r.polo: r for r in operation_day.day_by_polo(conn, day=day, target=target)}
    rows = []
    for polo in [*now, *sorted((set(sla) | set(before)) - set(now))]:  # today's most at risk first
        s, v, t = sla.get(polo), before.get(polo), now.get(polo)
        rows.append(SummaryRow(
            polo=polo, yesterday_due=s.total if s else 0, yesterday_on_time=s.on_time if s else 0,
            yesterday_sla=s.sla if s else None, target=target, yesterday_visits=v.visited_today if v else 0,
            yesterday_visits_on_time=v.visited_today_on_time if v else 0,
            due_today_open=t.due_today_open if t else 0, due_tomorrow_open=t.due_tomorrow_open if t else 0,
            overdue_open=t.overdue_open if t else 0, month_to_date_sla=t.month_to_date_sla if t else None,
            needed_on_time=t.needed_on_time if t else 0, target_reachable=t.target_reachable if t else True))
    return Summary(day=day, target=target, rows=rows)
