"""The product's definitions, stated once for the code: period, service status, SLA, business day,
productivity, worked days, average slack. For people they are stated in docs/indicators.md
("Definitions"); the pages show EXPLAINED (below), in the user's language.
tests/core/test_rule_statements.py checks that the three say the same things.

Period: a date range, inclusive at both ends (2022-03-01..2022-03-31 includes 2022-03-31 23:59).

Status of a service, as of a date (`as_of`: callers pass the operation's today,
core.operation_day.today, or the day they ask about), four exclusive values:
- on_time:     visited, and the visit's DATE is on or before the deadline
               (`data_de_atendimento::date <= data_limite`: a visit at 23:59 on the deadline day is
               on time; comparing the timestamp with a midnight date would call it late).
- late:        visited after the deadline day.
- not_visited: never visited and the deadline has passed (`data_limite < as_of`): a miss, and it
               counts against the SLA so misses cannot vanish.
- open:        never visited, deadline today or later (`data_limite >= as_of`): it can still be met,
               so it is left out of the SLA until the deadline passes.
In SQL, on time and late are the functions is_on_time(visit, deadline) and is_late(visit, deadline)
of core/sql/rollups.sql: the rollups' triggers and rebuilds call them, and so do ON_TIME_SQL and
LATE_SQL below (the record filters), so no query can count otherwise.

SLA for a period = on_time / (on_time + late + not_visited) over the services whose deadline falls
in the period, both ends included. Nothing due: no SLA (None, shown as "-"), never 0%.

Business day: Monday to Friday, not a national holiday of the configured country (HOLIDAY_COUNTRY,
default BR, from the `holidays` package) and not a non-working day an admin added (e.g. Carnival
Tuesday and Ash Wednesday). Counted by core/calendar.py.

Productivity for a period = visits whose visit date falls in the period / business days of the
period up to today (`as_of`: a day not yet begun cannot be worked). Weekend visits still count as
visits. No business day: no productivity (None). The Overview's productivity = visits / business
days / angels with at least one visit.
Worked days = days with at least one visit; visits per worked day = visits / worked days.

Average slack (the original's `avg_time`) = mean of (deadline - visit date) in days over the visited
services, positive = early (slack_days(visit, deadline) in SQL). SLA rows average the services due in
the period, productivity rows the visits made in the period. No visits: None.

Indicators (core/indicators.py) compute these over the rollups; the record filters (core/records.py)
select services by status with status_condition.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.messages import N_

STATUSES = ("on_time", "late", "not_visited", "open")
# The days the product takes, in a file, a form or the API (a deadline or a visit outside them is a
# typo or a spreadsheet's serial number, and date arithmetic near year 9999 overflows).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
# The largest id of a customer or a service (the operation's have 5 to 9 digits): 2^53 - 1, the
# largest integer every JSON reader holds exactly (JavaScript's numbers, JSON Schema validators'
# doubles), well within PostgreSQL's bigint.
ID_MAX = 2**53 - 1


STATUS_LABELS = {"on_time": N_("on time"), "late": N_("late"), "not_visited": N_("not visited"),
                 "open": N_("open")}

# The definitions every page shows under its charts: the rules of the module's docstring in a
# reader's words (the Portuguese of each is its entry in locale/pt_BR/LC_MESSAGES/messages.po;
# tests/core/test_rule_statements.py checks they say what the docstring and docs/indicators.md say).
# Pages pick the ones they need with dashboard.ui.definitions(...).
EXPLAINED = {
    "on_time": N_("**On time**: visited, and the visit's date is on or before the deadline day (a visit "
                  "at 23:59 on that day counts)."),
    "late": N_("**Late**: visited after the deadline day."),
    "not_visited": N_("**Not visited**: never visited and the deadline has passed; counts against the SLA."),
    "open": N_("**Open**: not visited yet, deadline today or later; left out of the SLA until the "
               "deadline passes."),
    "sla": N_("**SLA** = on time / (on time + late + not visited), over the services whose deadline falls "
              "in the period, both ends included. Nothing due: no SLA (-), never 0%."),
    "productivity": N_("**Productivity** = visits whose visit date falls in the period / business days of "
                       "the period up to today (Monday to Friday, not a national holiday nor a non-working "
                       "day an admin added; weekend visits still count)."),
    "worked_days": N_("**Worked days** = days with at least one visit; **visits per worked day** = visits "
                      "/ worked days."),
    "avg_slack": N_("**Average slack** = deadline - visit date in days (positive = early)."),
}

# SQL fragments over a row of `services` (optionally aliased); `:as_of` is a bound date parameter.
# The planner inlines is_on_time and is_late (core/sql/rollups.sql), so a status filter's plan is the
# one of the expression they hold: the late filter still reads the partial index services_late_idx.
ON_TIME_SQL = "is_on_time({t}data_de_atendimento, {t}data_limite)"
LATE_SQL = "is_late({t}data_de_atendimento, {t}data_limite)"
NOT_VISITED_SQL = "({t}data_de_atendimento IS NULL AND {t}data_limite < :as_of)"
OPEN_SQL = "({t}data_de_atendimento IS NULL AND {t}data_limite >= :as_of)"

_STATUS_SQL = {"on_time": ON_TIME_SQL, "late": LATE_SQL, "not_visited": NOT_VISITED_SQL,
               "open": OPEN_SQL}


def status_condition(status: str, alias: str = "") -> str:
    """WHERE fragment selecting services in `status` (needs the `:as_of` parameter)."""
    if status not in _STATUS_SQL:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    return _STATUS_SQL[status].format(t=f"{alias}." if alias else "")


def status_case(alias: str = "") -> str:
    """CASE expression giving the status text of a service (needs the `:as_of` parameter)."""
    whens = " ".join(f"WHEN {status_condition(s, alias)} THEN '{s}'" for s in STATUSES)
    return f"(CASE {whens} END)"


@dataclass(frozen=True)
class Period:
    """A date range, inclusive at both ends: 2022-03-01..2022-03-31 includes 2022-03-31 23:59."""
    start: date
    end: date

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError(f"the period starts ({self.start}) after it ends ({self.end})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_exclusive(self) -> date:
        """First day after the period: compare timestamps with `< end_exclusive`."""
        return self.end + timedelta(days=1)

    def previous(self) -> "Period":
        """The period of equal length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))
