"""Indicators on small hand-checked data: every number below was counted by hand.

March 2022 has 23 weekdays and no national holiday; April 2022 has 21 weekdays, two of them
holidays (Good Friday 15th, Tiradentes Thursday 21st). as_of 2022-04-01 unless said otherwise.
"""
from datetime import date

import pytest
import sqlalchemy as sa

from core import calendar, indicators
from core.accounts import Actor
from core.definitions import Period

ADMIN = Actor("admin", "admin")
MARCH = Period(date(2022, 3, 1), date(2022, 3, 31))
AS_OF = date(2022, 4, 1)
RJ, SP = "RJ - SAO GONÇALO", "SP - CAMPINAS"
ANA, BRUNO, CAIO = "Ana Souza de", "Bruno Lima", "Caio Reis"

SERVICES = [  # id, angel, polo, deadline, visit
    (1, ANA, RJ, "2022-03-10", "2022-03-10 09:00"),    # deadline-day visit: on time, slack 0
    (2, ANA, RJ, "2022-03-10", "2022-03-10 23:59"),    # 23:59 on the deadline day: on time
    (3, ANA, RJ, "2022-03-10", "2022-03-11 00:01"),    # a minute into the next day: late, slack -1
    (4, ANA, RJ, "2022-03-15", None),                  # never visited, deadline passed
    (5, BRUNO, RJ, "2022-03-20", "2022-03-19 10:00"),  # Sunday deadline, Saturday visit, slack 1
    (6, BRUNO, RJ, "2022-03-31", None),                # open until 31/03, not visited from 01/04
    (7, BRUNO, RJ, "2022-04-05", "2022-03-31 23:59"),  # due in April, visited in March, slack 5
    (8, CAIO, SP, "2022-03-01", "2022-02-28 08:00"),   # due in March, visited in February, slack 1
    (9, CAIO, SP, "2022-03-02", "2022-03-04 12:00"),   # late, slack -2
    (10, CAIO, SP, "2022-03-25", "2022-03-24 12:00"),  # on time, slack 1
]


def insert_services(conn, services=SERVICES) -> None:
    """The services above (or others of the same shape), for one customer (also used by the CLI, page,
    browser and operation's day tests)."""
    conn.execute(sa.text("INSERT INTO customers (id) VALUES (1)"))
    conn.execute(sa.text(
        "INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
        "VALUES (:id, 1, :angel, :polo, CAST(:deadline AS date), CAST(:visit AS timestamp))"),
        [dict(zip(("id", "angel", "polo", "deadline", "visit"), s)) for s in services])


@pytest.fixture
def data(conn):
    insert_services(conn)
    return conn


def counts(row):
    return (row.total, row.on_time, row.late, row.not_visited)


def test_sla_by_polo_counts_deadline_day_visits_as_on_time(data):
    rows = indicators.sla_by_polo(data, period=MARCH, as_of=AS_OF)
    assert [(r.polo, counts(r), r.open) for r in rows] == [(SP, (3, 2, 1, 0), 0), (RJ, (6, 3, 1, 2), 0)]
    assert rows[0].sla == pytest.approx(2 / 3) and rows[1].sla == 0.5
    assert rows[0].avg_slack_days == 0.0 and rows[1].avg_slack_days == 0.0


def test_an_unvisited_service_is_open_until_its_deadline_passes(data):
    # as_of 31/03: service 6 (due 31/03) can still be met, so it is left out of the SLA
    rj = indicators.sla_by_polo(data, period=MARCH, polo=RJ, as_of=date(2022, 3, 31))
    assert [(counts(r), r.open, r.sla) for r in rj] == [((5, 3, 1, 1), 1, 0.6)]


def test_sla_by_angel_and_the_original_sort_fields(data):
    by_sla = indicators.sla_by_angel(data, period=MARCH, as_of=AS_OF)
    assert [(r.angel, r.polo, counts(r)) for r in by_sla] == [
        (CAIO, SP, (3, 2, 1, 0)), (ANA, RJ, (4, 2, 1, 1)), (BRUNO, RJ, (2, 1, 0, 1))]
    by_total = indicators.sla_by_angel(data, period=MARCH, as_of=AS_OF, sort="total")
    assert [r.angel for r in by_total] == [ANA, CAIO, BRUNO]
    by_slack = indicators.sla_by_angel(data, period=MARCH, as_of=AS_OF, sort="avg_time", descending=False)
    assert [(r.angel, r.avg_slack_days) for r in by_slack] == [
        (ANA, pytest.approx(-1 / 3)), (CAIO, 0.0), (BRUNO, 1.0)]
    by_on_time = indicators.sla_by_angel(data, period=MARCH, as_of=AS_OF, sort="total_sla", descending=False)
    assert [r.angel for r in by_on_time] == [BRUNO, ANA, CAIO]


def test_filters_and_name_search(data):
    assert [r.angel for r in indicators.sla_by_angel(data, period=MARCH, as_of=AS_OF, polo=RJ)] == [ANA, BRUNO]
    assert [r.angel for r in indicators.sla_by_angel(data, period=MARCH, as_of=AS_OF, search="bru")] == [BRUNO]
    assert indicators.sla_by_polo(data, period=MARCH, as_of=AS_OF, angel=CAIO)[0].total == 3


def test_productivity_counts_visits_by_visit_date_over_business_days(data):
    rows = indicators.productivity(data, period=MARCH, as_of=AS_OF, sort="angel", descending=False, country="BR")
    assert [(r.angel, r.visits, r.on_time, r.business_days, r.worked_days) for r in rows] == [
        (ANA, 3, 2, 23, 2), (BRUNO, 2, 2, 23, 2), (CAIO, 2, 1, 23, 2)]
    ana, bruno, caio = rows
    assert ana.productivity == pytest.approx(3 / 23) and ana.visits_per_worked_day == 1.5
    assert ana.avg_slack_days == pytest.approx(-1 / 3)
    assert bruno.avg_slack_days == 3.0 and caio.avg_slack_days == -0.5
    assert [r.angel for r in indicators.productivity(data, period=MARCH, as_of=AS_OF, country="BR")] == [ANA, BRUNO, CAIO]


def test_admin_non_working_day_removes_a_business_day(data):
    calendar.add_non_working_day(data, actor=ADMIN, day="2022-03-01", reason="Carnaval")
    ana = indicators.productivity(data, period=MARCH, as_of=AS_OF, angel=ANA, country="BR")[0]
    assert ana.business_days == 22 and ana.productivity == pytest.approx(3 / 22)
    calendar.remove_non_working_day(data, actor=ADMIN, day=date(2022, 3, 1))
    assert calendar.business_days(data, period=MARCH, country="BR") == 23


def test_business_days_not_yet_begun_do_not_count(data):
    # as_of 10/03: 1..10 March hold 8 weekdays
    ana = indicators.productivity(data, period=MARCH, as_of=date(2022, 3, 10), angel=ANA, country="BR")[0]
    assert (ana.visits, ana.business_days) == (3, 8)


def test_single_day_and_weekend_day(data):
    day = Period(date(2022, 3, 10), date(2022, 3, 10))
    assert [(r.angel, counts(r)) for r in indicators.sla_by_angel(data, period=day, as_of=AS_OF)] == [
        (ANA, (3, 2, 1, 0))]
    ana = indicators.productivity(data, period=day, as_of=AS_OF, country="BR")
    assert [(r.angel, r.visits, r.business_days, r.productivity) for r in ana] == [(ANA, 2, 1, 2.0)]
    saturday = Period(date(2022, 3, 19), date(2022, 3, 19))
    bruno = indicators.productivity(data, period=saturday, as_of=AS_OF, country="BR")
    assert [(r.angel, r.visits, r.business_days, r.productivity) for r in bruno] == [(BRUNO, 1, 0, None)]


def test_empty_period_has_no_sla_rather_than_zero(data):
    empty = Period(date(2023, 1, 1), date(2023, 1, 31))
    assert indicators.sla_by_polo(data, period=empty, as_of=AS_OF) == []
    assert indicators.productivity(data, period=empty, as_of=AS_OF, country="BR") == []
    kpis = indicators.overview(data, period=empty, as_of=AS_OF, country="BR").current
    assert (kpis.total, kpis.sla, kpis.visits, kpis.productivity) == (0, None, 0, None)


def test_empty_database(conn):
    assert indicators.data_range(conn).empty
    assert indicators.polos(conn) == []
    assert indicators.sla_by_angel(conn, as_of=AS_OF, period=MARCH) == []


def test_overview_compares_with_the_previous_period(data):
    result = indicators.overview(data, period=MARCH, as_of=AS_OF, country="BR")
    now = result.current
    assert (now.total, now.on_time, now.late, now.not_visited, now.open) == (9, 5, 2, 2, 0)
    assert now.sla == pytest.approx(5 / 9)
    assert (now.visits, now.angels, now.business_days, now.worked_days) == (7, 3, 23, 6)
    assert now.productivity == pytest.approx(7 / 23 / 3) and now.visits_per_worked_day == pytest.approx(7 / 6)
    before = result.previous  # 29/01..28/02: only the visit of service 8
    assert before.period == Period(date(2022, 1, 29), date(2022, 2, 28))
    assert (before.total, before.sla, before.visits, before.angels) == (0, None, 1, 1)


def test_trend_by_month_clips_partial_months(data):
    points = indicators.trend(data, period=Period(date(2022, 2, 15), date(2022, 4, 10)), grain="month",
                              as_of=AS_OF, country="BR")
    assert [(p.start, p.end, p.total, p.on_time, p.sla, p.visits) for p in points] == [
        (date(2022, 2, 15), date(2022, 2, 28), 0, 0, None, 1),
        (date(2022, 3, 1), date(2022, 3, 31), 9, 5, pytest.approx(5 / 9), 7),
        (date(2022, 4, 1), date(2022, 4, 10), 1, 1, 1.0, 0)]
    assert [p.business_days for p in points] == [10, 23, 6]


def test_trend_by_day_and_week(data):
    days = indicators.trend(data, period=Period(date(2022, 3, 9), date(2022, 3, 11)), grain="day",
                            as_of=AS_OF, country="BR")
    assert [(p.start, p.total, p.on_time, p.visits) for p in days] == [
        (date(2022, 3, 9), 0, 0, 0), (date(2022, 3, 10), 3, 2, 2), (date(2022, 3, 11), 0, 0, 1)]
    weeks = indicators.trend(data, period=MARCH, grain="week", as_of=AS_OF, country="BR")
    assert [p.start for p in weeks] == [date(2022, 3, d) for d in (1, 7, 14, 21, 28)]
    assert [(p.total, p.visits) for p in weeks] == [(2, 1), (3, 3), (2, 1), (1, 1), (1, 1)]


def test_trend_buckets_count_business_days_as_business_days_does(data):
    calendar.add_non_working_day(data, actor=ADMIN, day=date(2022, 4, 12), reason="Carnaval")
    april = Period(date(2022, 4, 1), date(2022, 4, 30))
    weeks = indicators.trend(data, period=april, grain="week", as_of=AS_OF, country="BR")
    # 21 weekdays, minus Good Friday (15th), Tiradentes (21st) and the added Tuesday 12th
    assert [p.business_days for p in weeks] == [1, 5, 3, 4, 5]
    assert [p.business_days for p in weeks] == [
        calendar.business_days(data, period=Period(p.start, p.end), country="BR") for p in weeks]


def test_bad_sort_field_is_refused_in_plain_words(data):
    with pytest.raises(ValueError, match="cannot sort by 'speed'"):
        indicators.sla_by_polo(data, as_of=AS_OF, period=MARCH, sort="speed")
