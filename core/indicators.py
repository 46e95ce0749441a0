"""Indicators: SLA by polo and by angel, productivity, overall KPIs, trends.

What each counts (on time, SLA, business day, productivity, average slack) is defined in
core/definitions.py, once; business days are counted by core/calendar.py.

Every function reads the rollups (core/sql/rollups.sql, kept exact by triggers on `services`), never
the 1M-row table: per angel, one row per angel and month whose running sums give any part of the
month in two subscripts; per polo (no angel asked), the day x polo tables. Results carry the counts
behind every ratio.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import text
from core.calendar import business_days_begun, count_business_days, days_off
from core.definitions import Period
from core.telemetry import timed

Grain = Literal["day", "week", "month"]
GRAINS = ("day", "week", "month")


# --- result rows -----------------------------------------------------------------------------

# Result rows are NamedTuples: building 1,820 frozen dataclasses took ~3 ms, a tenth of that here.
class SlaRow(NamedTuple):
    """SLA of one polo (angel None) or one angel, with the counts behind it."""
    polo: str
    angel: str | None
    total: int          # on_time + late + not_visited: the SLA cohort
    on_time: int
    late: int
    not_visited: int
    open: int           # due in the period, not visited, deadline not passed yet: outside the SLA
    sla: float | None   # on_time / total; None when total is 0
    avg_slack_days: float | None


class ProductivityRow(NamedTuple):
    """Productivity of one angel over a period, with the counts behind it."""
    angel: str
    polo: str
    visits: int
    on_time: int                 # visits done by their deadline
    business_days: int
    productivity: float | None   # visits / business_days
    worked_days: int
    visits_per_worked_day: float | None
    avg_slack_days: float | None


@dataclass(frozen=True)
class Kpis:
    """Overall figures of a period."""
    period: Period
    total: int
    on_time: int
    late: int
    not_visited: int
    open: int
    sla: float | None
    visits: int
    business_days: int
    angels: int                  # angels with at least one visit
    worked_days: int             # angel-days with at least one visit
    productivity: float | None   # visits / business_days / angels
    visits_per_worked_day: float | None


@dataclass(frozen=True)
class Overview:
    current: Kpis
    previous: Kpis   # the period of equal length just before


@dataclass(frozen=True)
class TrendPoint:
    """One bucket (day, week from Monday, or month) of a trend, clipped to the period."""
    start: date
    end: date
    total: int
    on_time: int
    late: int
    not_visited: int
    sla: float | None
    visits: int
    business_days: int


# --- sorting ---------------------------------------------------------------------------------

# Sort field -> SQL expression of the grouped query. `total_sla` and `avg_time` are the original
# system's names (on-time count, average slack).
SLA_SORTS = {"sla": "sla", "total": "total", "total_sla": "on_time", "on_time": "on_time",
             "late": "late", "not_visited": "not_visited", "avg_time": "avg_slack_days",
             "avg_slack_days": "avg_slack_days", "polo": "polo", "angel": "angel"}
PRODUCTIVITY_SORTS = {"productivity": "productivity", "total": "visits", "visits": "visits",
                      "total_sla": "on_time", "on_time": "on_time", "avg_time": "avg_slack_days",
                      "avg_slack_days": "avg_slack_days", "worked_days": "worked_days",
                      "visits_per_worked_day": "visits_per_worked_day", "angel": "angel",
                      "polo": "polo"}


def _order_by(sorts: dict[str, str], sort: str, descending: bool, tie: str) -> str:
    if sort not in sorts:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {', '.join(sorts)}")
    # Identifiers come from the whitelist above, never from the caller. No SLA sorts last.
    return f"{sorts[sort]} {'DESC' if descending else 'ASC'} NULLS LAST, {tie}"


# --- reading the rollups ---------------------------------------------------------------------

def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _params(period: Period, as_of: date | None, polo: str | None, angel: str | None,
            search: str | None, previous: Period | None = None) -> dict:
    """The statement parameters of a question about `period`, and with `previous` (the period
    just before it, for the Overview) about both at once: rows of the period are part 0, rows of
    `previous` part 1 (the bounds table per angel month, the :split day per polo day)."""
    months, parts, days_before, last_days, last_past_days = [], [], [], [], []
    for part, days in enumerate((period, previous) if previous else (period,)):
        month = days.start.replace(day=1)
        while month <= days.end:  # the part's days in each month it touches
            months.append(month)
            parts.append(part)
            days_before.append(max((days.start - month).days, 0))
            last_days.append(min((days.end - month).days + 1, 31))
            last_past_days.append(min(max((as_of - month).days, days_before[-1]), last_days[-1])
                                  if as_of else last_days[-1])
            month = _next_month(month)
    start = previous.start if previous else period.start
    return {"start": start, "end": period.end, "split": period.start, "m_first": start.replace(day=1),
            "as_of": as_of, "polo": polo or None, "angel": angel or None,
            "search": text.like_pattern(search.strip()) if search and search.strip() else None,
            "bound_months": months, "bound_parts": parts, "bound_days_before": days_before,
            "bound_last_days": last_days, "bound_last_past_days": last_past_days}


# Per angel (sla_angel_months, visits_angel_months: one row per angel and month, each measure an
# array of running sums over the month's days): the part of month m inside the period is
# measure[last_day] - measure[day_before], `last_day` the period's last day in m and `day_before`
# the day before its first (0 when the period starts before m), clipped to 0..31; `last_past_day`
# is the last day before as_of, which splits the unvisited services into not visited and open.
# These bounds come per month from _params, as the table `bounds`: a 30-day window reads 2 rows
# per angel, whatever its alignment. Computing them in SQL from :start, :end and :as_of for each
# month row instead measured the same (2026-12-07 00:39 UTC, load 1.5-1.7, medians of 30 calls,
# here / in SQL: SLA by angel over a month 5.9 / 6.2 ms, 30 days 7.5 / 7.9, all data 28.6 / 28.1;
# productivity 5.8 / 5.8, 6.8 / 6.9, 23.4 / 21.1); the table gives the Overview both of its
# periods in one scan.
_BOUNDS = ("CROSS JOIN unnest(CAST(:bound_months AS date[]), CAST(:bound_parts AS int[]), "
           "CAST(:bound_days_before AS int[]), CAST(:bound_last_days AS int[]), "
           "CAST(:bound_last_past_days AS int[])) bounds(month, part, day_before, last_day, last_past_day)")
_BOUNDED_MONTHS = "m.month >= :m_first AND m.month <= :end AND bounds.month = m.month"


def _span(measure: str, before: str = "bounds.day_before", last: str = "bounds.last_day") -> str:
    """SQL: the sum of `measure` over the days after `before` up to `last` of the month row m."""
    return f"(coalesce(m.{measure}[{last}], 0) - coalesce(m.{measure}[{before}], 0))"


def _day(measure: str) -> str:
    """SQL: the value of `measure` on day i of the month row m."""
    return f"(m.{measure}[i] - coalesce(m.{measure}[i - 1], 0))"


def _angel_filter(polo: str | None, angel: str | None, search: str | None) -> str:
    """SQL restricting the month rows m to the angels the filters name ('' without filters).

    Written in only when a filter asks for it, so each set of filters is a statement of its own:
    one generic condition instead (`CAST(:polo AS text) IS NULL OR p.name = :polo`...) measured
    slower with a polo (2026-12-07 00:40 UTC, load 1.7, medians of 30 calls, here / generic: SLA by
    angel over a month 1.1 / 1.7 ms, 30 days 1.2 / 2.3, all data 2.3 / 6.7; productivity 1.4 / 1.8,
    1.5 / 2.4, 2.5 / 5.9) and the same without filters."""
    conditions = [sql for value, sql in ((polo, "p.name = :polo"), (angel, "a.name = :angel"),
                                         (search and search.strip(), 'a.name COLLATE "default" ILIKE :search')) if value]
    if not conditions:
        return ""
    return ("AND m.angel_id IN (SELECT a.id FROM angels a JOIN polos p ON p.id = a.polo_id WHERE "
            + " AND ".join(conditions) + ")")


_NAMES = "JOIN angels a ON a.id = s.angel_id JOIN polos p ON p.id = a.polo_id"


def _sla_angels(angels: str) -> str:
    """SQL: the services due in the period per angel (and part), the unvisited split by their
    deadline against as_of; `angels` is _angel_filter's condition."""
    return f"""
    SELECT p.name AS polo, a.name AS angel, s.* FROM (
        SELECT m.angel_id, bounds.part, sum({_span('on_time')})::int AS on_time, sum({_span('late')})::int AS late,
               sum({_span('unvisited', last='bounds.last_past_day')})::int AS not_visited,
               sum({_span('unvisited', before='bounds.last_past_day')})::int AS open,
               sum({_span('slack_days')})::int AS slack_days
        FROM sla_angel_months m {_BOUNDS} WHERE {_BOUNDED_MONTHS} {angels}
        GROUP BY m.angel_id, bounds.part) s {_NAMES}
"""


def _visits_angels(angels: str) -> str:
    """SQL: the visits made in the period per angel (and part); `angels` as in _sla_angels."""
    return f"""
    SELECT p.name AS polo, a.name AS angel, s.* FROM (
        SELECT m.angel_id, bounds.part, sum({_span('visits')})::int AS visits,
               sum({_span('on_time')})::int AS on_time, sum({_span('slack_days')})::int AS slack_days,
               sum({_span('worked_days')})::int AS worked_days
        FROM visits_angel_months m {_BOUNDS} WHERE {_BOUNDED_MONTHS} {angels}
        GROUP BY m.angel_id, bounds.part) s {_NAMES}
"""


def _days_in_period(angels: str) -> str:
    """SQL: the days i of the month rows m that fall in the period, for the angels `angels` admits."""
    return (f"CROSS JOIN generate_series(1, 31) i WHERE m.month >= :m_first AND m.month <= :end {angels} "
            "AND m.month + i - 1 BETWEEN :start AND :end "
            "AND extract(month FROM m.month + i - 1) = extract(month FROM m.month)")


def _sla_angel_days(angels: str) -> str:
    """SQL: _sla_angels day by day (the trends of the angels a filter names: a few rows each)."""
    return f"""
    SELECT m.month + i - 1 AS day, {_day('on_time')} AS on_time, {_day('late')} AS late,
           CASE WHEN m.month + i - 1 < :as_of THEN {_day('unvisited')} ELSE 0 END AS not_visited,
           CASE WHEN m.month + i - 1 >= :as_of THEN {_day('unvisited')} ELSE 0 END AS open,
           {_day('slack_days')} AS slack_days
    FROM sla_angel_months m {_days_in_period(angels)}
"""


def _visits_angel_days(angels: str) -> str:
    """SQL: the visits of _visits_angels day by day."""
    return f"""
    SELECT m.month + i - 1 AS day, {_day('visits')} AS visits
    FROM visits_angel_months m {_days_in_period(angels)}
"""


# Per polo and day, for questions that do not name angels (much smaller tables).
_POLO_FILTER = "(CAST(:polo AS text) IS NULL OR polo = :polo)"
_POLO_PART = "CASE WHEN day < :split THEN 1 ELSE 0 END"  # the part, as in _params
_SLA_POLO_DAYS = f"""
    SELECT polo, NULL::text AS angel, day, {_POLO_PART} AS part, on_time, late,
           CASE WHEN day < :as_of THEN unvisited ELSE 0 END AS not_visited,
           CASE WHEN day >= :as_of THEN unvisited ELSE 0 END AS open, slack_days
    FROM sla_polo_daily WHERE day >= :start AND day <= :end AND {_POLO_FILTER}
"""
_VISITS_POLO_DAYS = f"""
    SELECT polo, NULL::text AS angel, day, {_POLO_PART} AS part, visits, on_time, slack_days, worked_days
    FROM visits_polo_daily WHERE day >= :start AND day <= :end AND {_POLO_FILTER}
"""


_SLA_AGGREGATES = """
    sum(on_time + late + not_visited)::int AS total, sum(on_time)::int AS on_time,
    sum(late)::int AS late, sum(not_visited)::int AS not_visited, sum(open)::int AS open,
    sum(on_time)::float8 / nullif(sum(on_time + late + not_visited), 0) AS sla,
    sum(slack_days)::float8 / nullif(sum(on_time + late), 0) AS avg_slack_days
"""


@functools.lru_cache(maxsize=256)
def _compiled(sql: str, dialect: sa.Dialect) -> sa.sql.compiler.SQLCompiler:
    return sa.text(sql).compile(dialect=dialect)


def _fetch(conn: Connection, sql: str, params: dict) -> list[tuple]:
    """The rows of `sql` as plain tuples, without parallel workers (starting them, ~5 ms measured,
    costs more than these rollup reads, and a 2-core box has no idle core to give them), through the
    driver's cursor on the connection's transaction: SQLAlchemy's result rows for 1,820 answers
    cost more than the driver's tuples (2026-12-07 00:41 UTC, load 1.2, SQLAlchemy 2.1.9, medians of
    30 calls, here / through SQLAlchemy's execute: SLA by angel over a month 6.0 / 6.8 ms, 30 days
    7.1 / 7.9, all data 24.7 / 26.1; SLA by polo 1.2 / 1.5, 1.1 / 1.4, 7.2 / 7.8). Still one
    parameterised statement (the text compiled once per dialect)."""
    if not conn.in_transaction():
        conn.begin()  # as the first execute would: the caller's commit or rollback ends it
    compiled = _compiled(sql, conn.dialect)
    cursor = conn.connection.driver_connection.cursor()
    try:
        # one round trip: the setting and the statement sent together (the driver binds the values)
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; " + compiled.string,
                       compiled.construct_params(params))
        return cursor.fetchall()
    finally:
        cursor.close()


def _sla_rows(conn: Connection, group: str, *, period: Period, polo: str | None, angel: str | None,
              search: str | None, sort: str, descending: bool, as_of: date) -> list[SlaRow]:
    by_angel = group == "angel"
    order = _order_by(SLA_SORTS, sort, descending, 'polo, angel' if by_angel else 'polo')
    # The ratios sort in SQL but travel as their integer parts, and Python's float division gives
    # the same values: sending the ratios too cost 0.9-2.1 ms more (2026-12-07 00:39 UTC, load 1.5,
    # medians of 30 calls, SLA by angel here / ratios sent: a month 5.8 / 7.2 ms, 30 days 7.6 / 9.7,
    # all data 29.1 / 30.0).
    if by_angel:  # one row per angel already
        sql = (f"SELECT polo, angel, on_time, late, not_visited, open, slack_days FROM ("
               f"SELECT *, on_time::float8 / nullif(on_time + late + not_visited, 0) AS sla, "
               f"slack_days::float8 / nullif(on_time + late, 0) AS avg_slack_days, "
               f"on_time + late + not_visited AS total "
               f"FROM ({_sla_angels(_angel_filter(polo, angel, search))}) s "
               f"WHERE on_time + late + not_visited + open > 0) q ORDER BY {order}")
    else:
        source = _sla_angels(_angel_filter(polo, angel, search)) if angel or search else _SLA_POLO_DAYS
        sql = (f"SELECT polo, angel, on_time, late, not_visited, open, slack FROM ("
               f"SELECT polo, NULL::text AS angel, {_SLA_AGGREGATES}, sum(slack_days)::bigint AS slack "
               f"FROM ({source}) s GROUP BY polo HAVING sum(on_time + late + not_visited + open) > 0) q "
               f"ORDER BY {order}")
    with timed(f"indicators.sla_by_{group}", days=period.days, polo=bool(polo)) as info:
        rows = _fetch(conn, sql, _params(period, as_of, polo, angel, search))
        info["rows"] = len(rows)
    return _sla_result(rows)


def _sla_result(rows) -> list[SlaRow]:
    """SlaRows from (polo, angel, on_time, late, not_visited, open, slack) rows: the ratios are
    computed here."""
    out = []
    for polo, angel, on_time, late, missed, still_open, slack in rows:
        total, visited = on_time + late + missed, on_time + late
        out.append(SlaRow(polo, angel, total, on_time, late, missed, still_open,
                          on_time / total if total else None, slack / visited if visited else None))
    return out


def sla_by_polo(conn: Connection, *, period: Period, polo: str | None = None,
                angel: str | None = None, sort: str = "sla", descending: bool = True,
                as_of: date) -> list[SlaRow]:
    """SLA per polo of the services due in the period (see core/definitions.py), sorted."""
    return _sla_rows(conn, "polo", period=period, polo=polo, angel=angel, search=None, sort=sort,
                     descending=descending, as_of=as_of)


def sla_by_angel(conn: Connection, *, period: Period, polo: str | None = None,
                 angel: str | None = None, search: str | None = None, sort: str = "sla",
                 descending: bool = True, as_of: date) -> list[SlaRow]:
    """SLA per angel of the services due in the period; `search` matches part of the name."""
    return _sla_rows(conn, "angel", period=period, polo=polo, angel=angel, search=search, sort=sort,
                     descending=descending, as_of=as_of)


def productivity(conn: Connection, *, period: Period, polo: str | None = None,
                 angel: str | None = None, search: str | None = None,
                 sort: str = "productivity", descending: bool = True, as_of: date,
                 country: str) -> list[ProductivityRow]:
    """Productivity per angel with at least one visit in the period, sorted."""
    with timed("indicators.productivity", days=period.days, polo=bool(polo)) as info:
        days = business_days_begun(period, as_of, days_off(conn, period=period, country=country))
        sql = f"""
            SELECT angel, polo, visits, on_time, worked_days, slack FROM (
                SELECT angel, polo, visits, on_time,
                       visits::float8 / nullif(CAST(:business_days AS int), 0) AS productivity,
                       worked_days, visits::float8 / nullif(worked_days, 0) AS visits_per_worked_day,
                       slack_days::float8 / nullif(visits, 0) AS avg_slack_days, slack_days AS slack
                FROM ({_visits_angels(_angel_filter(polo, angel, search))}) v WHERE visits > 0) q
            ORDER BY {_order_by(PRODUCTIVITY_SORTS, sort, descending, 'angel, polo')}"""
        params = {**_params(period, None, polo, angel, search), "business_days": days}
        rows = _fetch(conn, sql, params)  # ratios computed here, as in _sla_rows
        info["rows"] = len(rows)
    return [ProductivityRow(a, p, visits, on_time, days, visits / days if days else None, worked,
                            visits / worked if worked else None, slack / visits)
            for a, p, visits, on_time, worked, slack in rows]


def _kpis(period: Period, row, business_days: int) -> Kpis:
    """Kpis of `period` from its row of _overview_sql."""
    sla, counts = row[0], (value or 0 for value in row[1:])  # None: nothing in the period
    total, on_time, late, not_visited, still_open, visits, worked_days, angels = counts
    per_angel_day = business_days * angels
    return Kpis(period=period, total=total, on_time=on_time, late=late, not_visited=not_visited,
                open=still_open, sla=sla, visits=visits, business_days=business_days, angels=angels,
                worked_days=worked_days,
                productivity=visits / per_angel_day if per_angel_day else None,
                visits_per_worked_day=visits / worked_days if worked_days else None)


def _overview_sql(sla: str, visits: str, angels: str) -> str:
    """SQL: both periods of the Overview in one statement (part 0 the period, 1 the one before; see
    _params): the SLA and the visits summed from `sla` and `visits` (the per-polo days, or the named
    angel's months), and the angels with a visit counted from the months of every angel `angels`
    (_angel_filter's condition) admits, each read once for both periods."""
    return f"""
    SELECT s.sla, s.total, s.on_time, s.late, s.not_visited, s.open, v.visits, v.worked_days, n.angels
    FROM (VALUES (0), (1)) parts(part)
    LEFT JOIN (SELECT part, {_SLA_AGGREGATES} FROM ({sla}) s GROUP BY part) s USING (part)
    LEFT JOIN (SELECT part, sum(visits)::int AS visits, sum(worked_days)::int AS worked_days
               FROM ({visits}) v GROUP BY part) v USING (part)
    LEFT JOIN (SELECT d.part, count(DISTINCT a.name)::int AS angels
               FROM (SELECT DISTINCT bounds.part, m.angel_id FROM visits_angel_months m {_BOUNDS}
                     WHERE {_BOUNDED_MONTHS} {angels} AND {_span('visits')} > 0) d
               JOIN angels a ON a.id = d.angel_id GROUP BY d.part) n USING (part)
    ORDER BY parts.part
"""


def overview(conn: Connection, *, period: Period, polo: str | None = None, angel: str | None = None,
             as_of: date, country: str) -> Overview:
    """Overall KPIs of the period and of the period of equal length just before it."""
    previous = period.previous()
    params = _params(period, as_of, polo, angel, None, previous=previous)
    angels = _angel_filter(polo, angel, None)
    if angel:
        sla, visits = _sla_angels(angels), _visits_angels(angels)
    else:
        sla, visits = _SLA_POLO_DAYS, _VISITS_POLO_DAYS
    sql = _overview_sql(sla, visits, angels)
    with timed("indicators.overview", days=period.days, polo=bool(polo)):
        current, before = _fetch(conn, sql, params)
        off = days_off(conn, period=Period(previous.start, period.end), country=country)
    return Overview(current=_kpis(period, current, business_days_begun(period, as_of, off)),
                    previous=_kpis(previous, before, business_days_begun(previous, as_of, off)))


def _buckets(period: Period, grain: str) -> list[Period]:
    """The period cut into days, weeks (Monday first) or calendar months, clipped to the period."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    buckets, start = [], period.start
    while start <= period.end:
        if grain == "day":
            after = start + timedelta(days=1)
        elif grain == "week":
            after = start + timedelta(days=7 - start.weekday())
        else:
            after = _next_month(start)
        buckets.append(Period(start, min(after - timedelta(days=1), period.end)))
        start = after
    return buckets


def auto_grain(period: Period) -> Grain:
    """A readable number of points: days up to two months, weeks up to half a year, else months."""
    return "day" if period.days <= 62 else "week" if period.days <= 183 else "month"


def trend(conn: Connection, *, period: Period, grain: Grain | None = None, polo: str | None = None,
          angel: str | None = None, as_of: date, country: str) -> list[TrendPoint]:
    """SLA (by deadline) and visits (by visit day) per day, week or month of the period."""
    grain = grain or auto_grain(period)
    buckets = _buckets(period, grain)
    bucket_sql = "day" if grain == "day" else f"date_trunc('{grain}', day::timestamp)::date"
    if angel:
        angels = _angel_filter(polo, angel, None)
        sla_source, visits_source = _sla_angel_days(angels), _visits_angel_days(angels)
    else:
        sla_source, visits_source = _SLA_POLO_DAYS, _VISITS_POLO_DAYS
    params = _params(period, as_of, polo, angel, None)
    bucket = f"greatest({bucket_sql}, CAST(:start AS date)) AS bucket"
    sql = (f"SELECT bucket, s.total, s.on_time, s.late, s.not_visited, s.sla, v.visits "
           f"FROM (SELECT {bucket}, {_SLA_AGGREGATES} FROM ({sla_source}) s GROUP BY 1) s "
           f"FULL JOIN (SELECT {bucket}, sum(visits)::int AS visits FROM ({visits_source}) v GROUP BY 1) v "
           f"USING (bucket)")
    with timed("indicators.trend", days=period.days, grain=grain, polo=bool(polo)):
        rows = {row[0]: row[1:] for row in _fetch(conn, sql, params)}  # SLA and visits in one statement
        off = days_off(conn, period=period, country=country)
    points = []
    for b in buckets:
        total, on_time, late, not_visited, sla, visits = rows.get(b.start, (None,) * 6)
        points.append(TrendPoint(start=b.start, end=b.end, total=total or 0, on_time=on_time or 0,
                                 late=late or 0, not_visited=not_visited or 0, sla=sla, visits=visits or 0,
                                 business_days=count_business_days(b, off)))
    return points


# --- what the filters offer ------------------------------------------------------------------

@dataclass(frozen=True)
class DataRange:
    """First and last day with data (deadlines or visits); None when there are no services."""
    first: date | None
    last: date | None

    @property
    def empty(self) -> bool:
        return self.first is None


def data_range(conn: Connection) -> DataRange:
    """The days the data covers, for period presets and defaults."""
    row = conn.execute(sa.text("""
        SELECT least((SELECT min(day) FROM sla_polo_daily), (SELECT min(day) FROM visits_polo_daily)) AS first,
               greatest((SELECT max(day) FROM sla_polo_daily), (SELECT max(day) FROM visits_polo_daily)) AS last
    """)).one()
    return DataRange(row.first, row.last)


def polos(conn: Connection) -> list[str]:
    """Every polo with services, alphabetically."""
    return list(conn.scalars(sa.text(
        "SELECT p.name FROM polos p WHERE EXISTS (SELECT 1 FROM angels a JOIN sla_angel_months m "
        "ON m.angel_id = a.id WHERE a.polo_id = p.id) ORDER BY p.name")))


def as_dicts(rows: Iterable[object], fields: Iterable[str]) -> list[dict]:
    """Rows as plain dicts with only `fields`, in that order (CLI JSON/CSV, tables)."""
    fields = list(fields)
    return [{f: getattr(r, f) for f in fields} for r in rows]
