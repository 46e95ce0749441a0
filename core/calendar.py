"""The calendar: business days, national holidays and the non-working days an admin adds.

What a business day is: core/definitions.py (for people, docs/indicators.md). The national holidays
come from the `holidays` package for the configured country (HOLIDAY_COUNTRY); the non-working days an
admin adds (e.g. Carnival Tuesday and Ash Wednesday) are rows of non_working_days, written here only
(admin, audited). Indicators divide by the business days counted here (core/indicators.py).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Container

import holidays as holidays_package
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import audit
from core.accounts import Actor, require
from core.definitions import Period
from core.messages import N_, TextError


class CalendarError(TextError, ValueError):
    """A calendar change that cannot be made; the message is for the user (str() English, `text` in
    the user's language: core.messages.TextError)."""


# --- reads ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _national_holidays(country: str, year: int) -> dict[date, str]:
    return dict(holidays_package.country_holidays(country, years=year))


def national_holidays(period: Period, *, country: str) -> dict[date, str]:
    """National holidays of `country` inside the period: {date: name}."""
    found: dict[date, str] = {}
    for year in range(period.start.year, period.end.year + 1):
        found.update({d: n for d, n in _national_holidays(country, year).items()
                      if period.start <= d <= period.end})
    return found


@dataclass(frozen=True)
class NonWorkingDay:
    day: date
    reason: str
    added_by: str


def non_working_days(conn: Connection, *, period: Period | None = None) -> list[NonWorkingDay]:
    """Non-working days an admin added, oldest first (optionally only those in the period)."""
    rows = conn.execute(sa.text(
        "SELECT day, reason, added_by FROM non_working_days "
        "WHERE (CAST(:start AS date) IS NULL OR day BETWEEN :start AND :end) ORDER BY day"),
        {"start": period.start if period else None, "end": period.end if period else None})
    return [NonWorkingDay(**r) for r in rows.mappings()]


def days_off(conn: Connection, *, period: Period, country: str) -> dict[date, str]:
    """Weekdays in the period that are not business days: {date: reason} (holidays and admin days)."""
    off = {d: n for d, n in national_holidays(period, country=country).items() if d.weekday() < 5}
    off.update({d.day: d.reason for d in non_working_days(conn, period=period) if d.day.weekday() < 5})
    return off


def business_days(conn: Connection, *, period: Period, country: str) -> int:
    """Monday-Friday days of the period that are neither holidays nor admin non-working days."""
    return count_business_days(period, days_off(conn, period=period, country=country))


def count_business_days(period: Period, off: Container[date]) -> int:
    """The business days of the period, given the weekdays `off` (days_off of a period covering it)."""
    return sum(1 for i in range(period.days)
               if (day := period.start + timedelta(i)).weekday() < 5 and day not in off)


def business_days_begun(period: Period, as_of: date, off: Container[date]) -> int:
    """The business days of the period that have begun by as_of (inclusive), given the weekdays
    `off` (days_off of a period covering it): productivity's divisor."""
    return count_business_days(Period(period.start, min(period.end, as_of)), off) if as_of >= period.start else 0


# --- writes (admin) ------------------------------------------------------------------------------

def _parse_day(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(N_("{value!r} is not a date; write it as YYYY-MM-DD."), value=value) from None


def add_non_working_day(conn: Connection, *, actor: Actor, day: date | str, reason: str) -> NonWorkingDay:
    """Mark a day as non-working (admin); audited."""
    require(actor, "admin")
    day = _parse_day(day)
    reason = (reason or "").strip()
    if not reason:
        raise CalendarError(N_("Say why the operation stops that day (e.g. Carnival)."))
    exists = conn.scalar(sa.text("SELECT 1 FROM non_working_days WHERE day = :d"), {"d": day})
    if exists:
        raise CalendarError(N_("{day} is already a non-working day."), day=day)
    conn.execute(sa.text("INSERT INTO non_working_days (day, reason, added_by) VALUES (:d, :r, :u)"),
                 {"d": day, "r": reason, "u": actor.username})
    added = NonWorkingDay(day, reason, actor.username)
    audit.record(conn, username=actor.username, action="create", entity="non_working_day",
                 entity_id=day.isoformat(), after={"day": day, "reason": reason})
    return added


def remove_non_working_day(conn: Connection, *, actor: Actor, day: date | str) -> None:
    """Make a non-working day a business day again (admin); audited."""
    require(actor, "admin")
    day = _parse_day(day)
    row = conn.execute(sa.text("DELETE FROM non_working_days WHERE day = :d RETURNING reason"),
                       {"d": day}).first()
    if row is None:
        raise CalendarError(N_("{day} is not in the list of non-working days."), day=day)
    audit.record(conn, username=actor.username, action="delete", entity="non_working_day",
                 entity_id=day.isoformat(), before={"day": day, "reason": row.reason})
