"""The operation's day: what is still open on a day, where, and what each polo needs for the month.

"Today" is the date in the operation's time zone (TIMEZONE, default America/Sao_Paulo): at 23:30 in
São Paulo it is already the next day in UTC, and still today here. For a day D (DOMAIN.md, issue 22):

- open on D: no visit dated on or before D (never visited, or visited after D).
- due_today_open: deadline D, open on D (at risk: a visit on D still counts on time).
- due_tomorrow_open: deadline D+1, open on D.
- overdue_open: deadline before D, open on D (already a miss, still to visit).
- visited_today / visited_today_on_time: visits dated D, and those of them on or before their deadline.
- month_to_date_sla: the SLA of the services due from the first of D's month to D, as of D, exactly as
  the SLA pages compute it (core.indicators.sla_by_polo / sla_by_angel: open services due D are left
  out). For a D in the past the SLA pages judge the visits recorded since D too, and so does this.
- month_due: services due in D's month; on_time_so_far: those of them visited on time on or before D;
  remaining_open: due in the month on D or later and open on D;
  needed_on_time = max(0, ceil(SLA_TARGET x month_due) - on_time_so_far);
  target_reachable = needed_on_time <= remaining_open.

How it stays cheap (a refresh every minute, on a million services): every count but one comes from the
rollups that the indicators read (per polo and day, or per angel and month of running sums; kept exact
by triggers). The rollups know by deadline day whether a service is on time, late or unvisited *now*,
and by visit day how many visits were on time; "open on D" is derived from them:
- due D and open on D = due D and not on time (a visit on or before D would be on time).
- overdue and open on D = the unvisited services due before D, plus the late ones due before D and
  visited after D; those are the late visits dated after D minus the late services due from D on
  (each of which was visited after its deadline, so after D). Only the first sum reads every day
  before D: the rest reads the days from the first of D's month (deadlines) or from D (visits) on.
- due after D and visited on or before D = visited (now) minus visited after D. The last term is the
  one read from `services`: visits dated after D of services due from D+1 to the end of the month (or
  D+1). For today there are none, and the visit index answers that at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import indicators
from core.config import Settings
from core.definitions import Period
from core.messages import N_
from core.records import ServiceFilter
from core.telemetry import timed

# The numbers of one polo or angel, in the API's order (its keys are these names).
NUMBERS = ("due_today_open", "due_tomorrow_open", "overdue_open", "visited_today", "visited_today_on_time",
           "month_to_date_sla", "month_due", "on_time_so_far", "remaining_open", "needed_on_time",
           "target_reachable")

# What each number means, for the Today page (its definitions caption).
EXPLAINED = {
    "due_today_open": N_("**Due today, open**: deadline today and no visit dated today or before; a visit "
                         "today still counts on time."),
    "due_tomorrow_open": N_("**Due tomorrow, open**: deadline tomorrow and no visit dated today or before."),
    "overdue_open": N_("**Overdue, open**: deadline passed and no visit dated today or before: already a miss "
                       "for the SLA, still to visit."),
    "visited_today": N_("**Visited today**: visits dated today; on time when on or before their deadline."),
    "month_to_date_sla": N_("**Month-to-date SLA**: the SLA of the services due from the first of the month "
                            "to today, as the SLA pages count it (those due today and still open are left out)."),
    "reach": N_("**To reach the target**: on time needed = the target x the services due this month, rounded "
                "up, minus those already on time; reachable while it is no more than the services of the month "
                "still open."),
}


class DayRow(NamedTuple):
    """The day's numbers of one polo (angel None) or of one angel of a polo."""
    polo: str
    angel: str | None
    due_today_open: int
    due_tomorrow_open: int
    overdue_open: int
    visited_today: int
    visited_today_on_time: int
    month_to_date_sla: float | None   # None: nothing counted yet this month (no SLA, never 0%)
    month_to_date_total: int          # the counts behind it (on time + late + not visited)
    month_to_date_on_time: int
    month_due: int
    on_time_so_far: int
    remaining_open: int
    needed_on_time: int
    target_reachable: bool


@dataclass(frozen=True)
class OperationDay:
    """The day's numbers per polo, sorted by what is at risk, and per angel when one polo was asked."""
    day: date
    target: float
    polos: list[DayRow]
    angels: list[DayRow] | None

    @property
    def totals(self) -> DayRow | None:
        """Every polo's numbers added up (the month's reach and SLA recomputed from the sums); None
        without polos."""
        if not self.polos:
            return None
        s = {f: sum(getattr(r, f) for r in self.polos) for f in DayRow._fields
             if f not in ("polo", "angel", "month_to_date_sla", "needed_on_time", "target_reachable")}
        needed = needed_on_time(month_due=s["month_due"], on_time_so_far=s["on_time_so_far"], target=self.target)
        mtd = s["month_to_date_total"]
        return DayRow(polo="", angel=None, **s, month_to_date_sla=s["month_to_date_on_time"] / mtd if mtd else None,
                      needed_on_time=needed, target_reachable=needed <= s["remaining_open"])


# --- the day itself ------------------------------------------------------------------------------

def local_now(settings: Settings, *, now: datetime | None = None) -> datetime:
    """The moment `now` (default: this one) in the operation's time zone."""
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        raise ValueError("now must carry its time zone")
    return moment.astimezone(ZoneInfo(settings.timezone))


def today(settings: Settings, *, now: datetime | None = None) -> date:
    """Today in the operation's time zone (TIMEZONE): the day the Today page, the API and alerts mean."""
    return local_now(settings, now=now).date()


# --- the numbers ---------------------------------------------------------------------------------

# What the statements below give for each polo or angel: counts from which the numbers follow
# (_row). Both statements name them alike, so one rule computes the numbers from either.
_COUNTS = ("unvisited_before", "late_from_d", "late_visits_after_d", "due_today_open", "due_tomorrow",
           "visited_tomorrow", "month_due", "on_time_month_to_d", "due_later_month", "visited_later_month",
           "visited_today", "visited_today_on_time", "visited_after_tomorrow", "visited_after_month")

_POLO_FILTER = "(CAST(:polo AS text) IS NULL OR polo = :polo)"

# Visits dated after D of services due from D+1 to the month's end (or D+1): the one count that the
# rollups cannot give. The visit index finds none at once when D is today.
_VISITED_AFTER = """
    SELECT {group}, count(*) FILTER (WHERE data_limite = :d1) AS visited_after_tomorrow,
           count(*) FILTER (WHERE data_limite <= :e) AS visited_after_month
    FROM services WHERE data_de_atendimento >= :d1 AND data_limite > :d AND data_limite <= :last AND {where}
    GROUP BY {group}
"""

# Per polo, from the day x polo rollups. Only the unvisited services due before D are summed over
# every day before D (one plain sum); the other counts read the days from the first of D's month on
# (deadline side) and from D on (visit side): for today, a month and the days ahead.
_BY_POLO = f"""
    WITH u AS (
        SELECT polo, sum(unvisited) AS unvisited_before FROM sla_polo_daily
        WHERE day < :d AND {_POLO_FILTER} GROUP BY polo),
    s AS (
        SELECT polo,
               sum(late) FILTER (WHERE day >= :d) AS late_from_d,
               sum(total - on_time) FILTER (WHERE day = :d) AS due_today_open,
               sum(total) FILTER (WHERE day = :d1) AS due_tomorrow,
               sum(total - unvisited) FILTER (WHERE day = :d1) AS visited_tomorrow,
               sum(total) FILTER (WHERE day <= :e) AS month_due,
               sum(on_time) FILTER (WHERE day <= :d) AS on_time_month_to_d,
               sum(total) FILTER (WHERE day > :d AND day <= :e) AS due_later_month,
               sum(total - unvisited) FILTER (WHERE day > :d AND day <= :e) AS visited_later_month
        FROM sla_polo_daily WHERE day >= :f AND {_POLO_FILTER} GROUP BY polo),
    v AS (
        SELECT polo, sum(visits - on_time) FILTER (WHERE day > :d) AS late_visits_after_d,
               sum(visits) FILTER (WHERE day = :d) AS visited_today,
               sum(on_time) FILTER (WHERE day = :d) AS visited_today_on_time
        FROM visits_polo_daily WHERE day >= :d AND {_POLO_FILTER} GROUP BY polo),
    z AS ({_VISITED_AFTER.format(group="polo", where=_POLO_FILTER)})
    SELECT polo, NULL::text AS angel, {", ".join(_COUNTS)}
    FROM u FULL JOIN s USING (polo) FULL JOIN v USING (polo) LEFT JOIN z USING (polo)
"""


def _at(measure: str, k: str) -> str:
    """SQL: the running sum of `measure` up to day `k` of the month row m (0 before day 1)."""
    return f"coalesce(m.{measure}[{k}], 0)"


def _on(measure: str, k: str) -> str:
    """SQL: `measure` on day `k` of the month row m."""
    return f"({_at(measure, k)} - {_at(measure, f'{k} - 1')})"


# Per angel of one polo, from the month rows of running sums (element k = days 1..k, element 31 the
# month; see docs/indicators.md): :m is D's month and :dd its day, :m1 and :dd1 those of D+1.
_BY_ANGEL = f"""
    WITH ids AS (SELECT a.id, a.name FROM angels a JOIN polos p ON p.id = a.polo_id WHERE p.name = :polo),
    s AS (
        SELECT m.angel_id,
               sum(CASE WHEN m.month < :m THEN m.unvisited[31]
                        WHEN m.month = :m THEN {_at('unvisited', ':dd - 1')} END) AS unvisited_before,
               sum(CASE WHEN m.month > :m THEN m.late[31]
                        WHEN m.month = :m THEN m.late[31] - {_at('late', ':dd - 1')} END) AS late_from_d,
               sum(CASE WHEN m.month = :m THEN {_on('total', ':dd')} - {_on('on_time', ':dd')} END) AS due_today_open,
               sum(CASE WHEN m.month = :m1 THEN {_on('total', ':dd1')} END) AS due_tomorrow,
               sum(CASE WHEN m.month = :m1 THEN {_on('total', ':dd1')} - {_on('unvisited', ':dd1')} END)
                   AS visited_tomorrow,
               sum(CASE WHEN m.month = :m THEN m.total[31] END) AS month_due,
               sum(CASE WHEN m.month = :m THEN {_at('on_time', ':dd')} END) AS on_time_month_to_d,
               sum(CASE WHEN m.month = :m THEN m.total[31] - {_at('total', ':dd')} END) AS due_later_month,
               sum(CASE WHEN m.month = :m THEN (m.total[31] - m.unvisited[31])
                                               - ({_at('total', ':dd')} - {_at('unvisited', ':dd')}) END)
                   AS visited_later_month
        FROM sla_angel_months m WHERE m.angel_id IN (SELECT id FROM ids) GROUP BY m.angel_id),
    v AS (
        SELECT m.angel_id,
               sum(CASE WHEN m.month > :m THEN m.visits[31] - m.on_time[31]
                        ELSE (m.visits[31] - m.on_time[31]) - ({_at('visits', ':dd')} - {_at('on_time', ':dd')}) END)
                   AS late_visits_after_d,
               sum(CASE WHEN m.month = :m THEN {_on('visits', ':dd')} END) AS visited_today,
               sum(CASE WHEN m.month = :m THEN {_on('on_time', ':dd')} END) AS visited_today_on_time
        FROM visits_angel_months m WHERE m.angel_id IN (SELECT id FROM ids) AND m.month >= :m GROUP BY m.angel_id),
    z AS ({_VISITED_AFTER.format(group="angel", where="polo = :polo")})
    SELECT CAST(:polo AS text) AS polo, ids.name AS angel, {", ".join(_COUNTS)}
    FROM ids LEFT JOIN s ON s.angel_id = ids.id LEFT JOIN v ON v.angel_id = ids.id LEFT JOIN z ON z.angel = ids.name
"""


def _params(day: date, polo: str | None) -> dict:
    tomorrow = day + timedelta(days=1)
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {"d": day, "d1": tomorrow, "f": first, "e": last, "last": max(last, tomorrow), "polo": polo,
            "m": first, "dd": day.day, "m1": tomorrow.replace(day=1), "dd1": tomorrow.day}


def needed_on_time(*, month_due: int, on_time_so_far: int, target: float) -> int:
    """max(0, ceil(target x month_due) - on_time_so_far), without float noise (0.55 x 100 is 55, not 56)."""
    return max(0, math.ceil(round(target * month_due, 9)) - on_time_so_far)


def _row(polo: str, angel: str | None, *, target: float, sla: float | None, mtd_total: int, mtd_on_time: int,
         unvisited_before: int, late_from_d: int, late_visits_after_d: int, due_today_open: int, due_tomorrow: int, visited_tomorrow: int,
         month_due: int, on_time_month_to_d: int, due_later_month: int, visited_later_month: int,
         visited_today: int, visited_today_on_time: int, visited_after_tomorrow: int,
         visited_after_month: int) -> DayRow:
    """The numbers from the counts (module docstring): the one place that combines them."""
    # late, due before D and visited after D: the late visits after D, less the late services due from D
    # on (each of those was visited after its deadline, so after D)
    late_across_d = late_visits_after_d - late_from_d
    early_tomorrow = visited_tomorrow - visited_after_tomorrow   # due D+1, visited on or before D
    early_month = visited_later_month - visited_after_month      # due after D in the month, visited by D
    on_time_so_far = on_time_month_to_d + early_month            # a visit by D of a later deadline is on time
    remaining_open = due_today_open + due_later_month - early_month
    needed = needed_on_time(month_due=month_due, on_time_so_far=on_time_so_far, target=target)
    return DayRow(polo=polo, angel=angel, due_today_open=due_today_open,
                  due_tomorrow_open=due_tomorrow - early_tomorrow, overdue_open=unvisited_before + late_across_d,
                  visited_today=visited_today, visited_today_on_time=visited_today_on_time,
                  month_to_date_sla=sla, month_to_date_total=mtd_total, month_to_date_on_time=mtd_on_time,
                  month_due=month_due, on_time_so_far=on_time_so_far, remaining_open=remaining_open,
                  needed_on_time=needed, target_reachable=needed <= remaining_open)


def _rows(conn: Connection, sql: str, params: dict, sla: dict, target: float) -> list[DayRow]:
    rows = []
    for r in conn.execute(sa.text(sql), params):
        counts = {name: int(r[i + 2] or 0) for i, name in enumerate(_COUNTS)}
        month = sla.get(r[1] or r[0])
        row = _row(r[0], r[1], target=target, sla=month.sla if month else None,
                   mtd_total=month.total if month else 0, mtd_on_time=month.on_time if month else 0, **counts)
        if row.due_today_open or row.due_tomorrow_open or row.overdue_open or row.visited_today or row.month_due:
            rows.append(row)
    return sorted(rows, key=at_risk)


def at_risk(row: DayRow) -> tuple:
    """Sort key, most at risk first: due today and open, then due tomorrow, then overdue; then by name."""
    return (-row.due_today_open, -row.due_tomorrow_open, -row.overdue_open, row.polo, row.angel or "")


def day_by_polo(conn: Connection, *, day: date, target: float, polo: str | None = None) -> list[DayRow]:
    """The day's numbers of every polo with something due, open or visited (or only `polo`), most at risk first."""
    month = indicators.sla_by_polo(conn, period=Period(day.replace(day=1), day), polo=polo, as_of=day)
    with timed("operation_day.by_polo", polo=bool(polo)):
        return _rows(conn, _BY_POLO, _params(day, polo), {r.polo: r for r in month}, target)


def day_by_angel(conn: Connection, *, day: date, polo: str, target: float) -> list[DayRow]:
    """The day's numbers of the angels of one polo, most at risk first."""
    month = indicators.sla_by_angel(conn, period=Period(day.replace(day=1), day), polo=polo, as_of=day)
    with timed("operation_day.by_angel"):
        return _rows(conn, _BY_ANGEL, _params(day, polo), {r.angel: r for r in month}, target)


def operation_day(conn: Connection, *, day: date, target: float, polo: str | None = None) -> OperationDay:
    """The day's numbers per polo, and per angel of `polo` when one is given."""
    return OperationDay(day=day, target=target, polos=day_by_polo(conn, day=day, target=target, polo=polo),
                        angels=day_by_angel(conn, day=day, polo=polo, target=target) if polo else None)


def services_behind(number: str, *, day: date, polo: str | None = None, angel: str | None = None) -> ServiceFilter | None:
    """The Services page's filter that lists the services behind one of the day's numbers (None for
    the computed ones: needed_on_time, target_reachable). month_to_date_sla lists every service due
    from the first of the month to the day, the open ones due that day included."""
    p = _params(day, None)
    where = {
        "due_today_open": dict(deadline_from=day, deadline_to=day, open_on=day),
        "due_tomorrow_open": dict(deadline_from=p["d1"], deadline_to=p["d1"], open_on=day),
        "overdue_open": dict(deadline_to=day - timedelta(days=1), open_on=day),
        "visited_today": dict(visit_from=day, visit_to=day),
        "visited_today_on_time": dict(visit_from=day, visit_to=day, status="on_time"),
        "month_to_date_sla": dict(deadline_from=p["f"], deadline_to=day),
        "month_due": dict(deadline_from=p["f"], deadline_to=p["e"]),
        "on_time_so_far": dict(deadline_from=p["f"], deadline_to=p["e"], visit_to=day, status="on_time"),
        "remaining_open": dict(deadline_from=day, deadline_to=p["e"], open_on=day),
    }.get(number)
    return None if where is None else ServiceFilter(polo=polo, angel=angel, **where)
