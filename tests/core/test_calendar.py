"""The calendar: business days, national holidays, and the non-working days an admin adds."""
from datetime import date

import pytest
import sqlalchemy as sa

from core import calendar
from core.accounts import Actor, PermissionDenied
from core.calendar import CalendarError
from core.definitions import Period

ADMIN = Actor("admin", "admin")


def test_holidays_and_weekends_are_not_business_days(conn):
    april = Period(date(2022, 4, 1), date(2022, 4, 30))
    assert calendar.business_days(conn, period=april, country="BR") == 19
    assert set(calendar.national_holidays(april, country="BR")) == {date(2022, 4, 15), date(2022, 4, 21)}
    weekend = Period(date(2022, 3, 19), date(2022, 3, 20))
    assert calendar.business_days(conn, period=weekend, country="BR") == 0


def test_calendar_changes_are_admin_only_audited_and_validated(conn):
    with pytest.raises(PermissionDenied):
        calendar.add_non_working_day(conn, actor=Actor("ana", "analyst"), day="2022-03-01", reason="x")
    with pytest.raises(CalendarError, match="YYYY-MM-DD"):
        calendar.add_non_working_day(conn, actor=ADMIN, day="01/03/2022", reason="Carnaval")
    with pytest.raises(CalendarError, match="why"):
        calendar.add_non_working_day(conn, actor=ADMIN, day="2022-03-01", reason="  ")
    calendar.add_non_working_day(conn, actor=ADMIN, day="2022-03-01", reason="Carnaval")
    with pytest.raises(CalendarError, match="already"):
        calendar.add_non_working_day(conn, actor=ADMIN, day="2022-03-01", reason="again")
    with pytest.raises(CalendarError, match="not in the list"):
        calendar.remove_non_working_day(conn, actor=ADMIN, day="2022-03-02")
    assert [(d.day, d.reason, d.added_by) for d in calendar.non_working_days(conn)] == [
        (date(2022, 3, 1), "Carnaval", "admin")]
    audit = conn.execute(sa.text("SELECT action, entity, entity_id FROM audit_log "
                                 "WHERE entity = 'non_working_day'")).all()
    assert audit == [("create", "non_working_day", "2022-03-01")]


def test_a_calendar_change_bumps_the_data_version(conn):
    from core.db import data_version

    before = data_version(conn)
    calendar.add_non_working_day(conn, actor=ADMIN, day="2022-03-01", reason="Carnaval")
    assert data_version(conn) > before
