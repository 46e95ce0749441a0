"""The operation's day on hand-checked services, and against a plain SQL recount of `services`.

Day D = Tuesday 2022-03-15 unless said otherwise; SLA target 0.90. Every number in the asserts was
counted by hand from SERVICES (the comments say why each service counts where it does).
"""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core import operation_day, records
from core.operation_day import needed_on_time
from tests.core.test_indicators import insert_services

D = date(2022, 3, 15)
TARGET = 0.9
RJ, SP = "RJ - SAO GONÇALO", "SP - CAMPINAS"
ANA, BRUNO, CAIO = "Ana Souza de", "Bruno Lima", "Caio Reis"

SERVICES = [  # id, angel, polo, deadline, visit
    (1, ANA, RJ, "2022-03-15", "2022-03-15 23:59"),    # visited at 23:59 on its deadline, D: on time, not open
    (2, ANA, RJ, "2022-03-15", None),                  # due D, never visited: due today, open
    (3, ANA, RJ, "2022-03-15", "2022-03-16 10:00"),    # due D, visited after D: open on D
    (4, BRUNO, RJ, "2022-03-16", None),                # due tomorrow, open
    (5, BRUNO, RJ, "2022-03-16", "2022-03-14 08:00"),  # due tomorrow, visited before D: on time so far
    (6, BRUNO, RJ, "2022-03-16", "2022-03-17 08:00"),  # due tomorrow, visited after D: open on D
    (7, ANA, RJ, "2022-03-10", "2022-03-15 09:00"),    # overdue, visited on D (late): not open any more
    (8, ANA, RJ, "2022-03-10", None),                  # overdue, open
    (9, BRUNO, RJ, "2022-03-12", "2022-03-20 12:00"),  # overdue, visited after D: open on D
    (10, BRUNO, RJ, "2022-02-28", None),               # overdue since February: open, not in March
    (11, ANA, RJ, "2022-03-31", None),                 # due later this month, open
    (12, ANA, RJ, "2022-03-31", "2022-03-14 16:00"),   # due later this month, visited early: on time so far
    (13, ANA, RJ, "2022-04-01", None),                 # next month: outside March's numbers
    (14, CAIO, SP, "2022-03-01", "2022-03-01 10:00"),  # on time in March
    (15, CAIO, SP, "2022-03-15", "2022-03-16 09:00"),  # due D, visited after D: open on D
    (16, CAIO, SP, "2022-03-20", "2022-03-22 09:00"),  # due later this month, visited after D: open on D
    (17, CAIO, SP, "2022-02-10", "2022-03-15 07:00"),  # overdue since February, visited on D
]


@pytest.fixture
def data(conn):
    insert_services(conn, SERVICES)
    return conn


def numbers(row):
    return {name: getattr(row, name) for name in operation_day.NUMBERS}


def test_the_polos_of_the_day_counted_by_hand(data):
    rows = operation_day.day_by_polo(data, day=D, target=TARGET)
    assert [r.polo for r in rows] == [RJ, SP]  # RJ has more due today and open
    rj, sp = rows
    assert numbers(rj) == dict(
        due_today_open=2, due_tomorrow_open=2, overdue_open=3, visited_today=2, visited_today_on_time=1,
        month_to_date_sla=0.2,  # due 1-15 March: on time 1; late 3, 7, 9; not visited 8; 2 open, left out
        month_due=11, on_time_so_far=3, remaining_open=5,
        needed_on_time=7, target_reachable=False)  # ceil(0.9 x 11) = 10, minus 3; only 5 left open
    assert (rj.month_to_date_on_time, rj.month_to_date_total) == (1, 5)
    assert numbers(sp) == dict(
        due_today_open=1, due_tomorrow_open=0, overdue_open=0, visited_today=1, visited_today_on_time=0,
        month_to_date_sla=0.5, month_due=3, on_time_so_far=1, remaining_open=2,
        needed_on_time=2, target_reachable=True)  # ceil(2.7) = 3, minus 1: 2 of the 2 still open


def test_the_angels_of_a_polo_add_up_to_the_polo(data):
    angels = operation_day.day_by_angel(data, day=D, polo=RJ, target=TARGET)
    assert [(a.polo, a.angel) for a in angels] == [(RJ, ANA), (RJ, BRUNO)]
    ana, bruno = angels
    assert numbers(ana) == dict(
        due_today_open=2, due_tomorrow_open=0, overdue_open=1, visited_today=2, visited_today_on_time=1,
        month_to_date_sla=0.25, month_due=7, on_time_so_far=2, remaining_open=3, needed_on_time=5,
        target_reachable=False)
    assert numbers(bruno) == dict(
        due_today_open=0, due_tomorrow_open=2, overdue_open=2, visited_today=0, visited_today_on_time=0,
        month_to_date_sla=0.0, month_due=4, on_time_so_far=1, remaining_open=2, needed_on_time=3,
        target_reachable=False)
    report = operation_day.operation_day(data, day=D, target=TARGET, polo=RJ)
    assert [r.polo for r in report.polos] == [RJ] and report.angels == angels


def test_the_totals_add_the_polos_and_recompute_the_month(data):
    total = operation_day.operation_day(data, day=D, target=TARGET).totals
    assert numbers(total) == dict(
        due_today_open=3, due_tomorrow_open=2, overdue_open=3, visited_today=3, visited_today_on_time=1,
        month_to_date_sla=2 / 7, month_due=14, on_time_so_far=4, remaining_open=7, needed_on_time=9,
        target_reachable=False)


def test_month_boundaries(data):
    last = {r.polo: r for r in operation_day.day_by_polo(data, day=date(2022, 3, 31), target=TARGET)}
    rj = last[RJ]
    assert (rj.due_today_open, rj.due_tomorrow_open) == (1, 1)  # 11 due the 31st; 13 due 1 April
    assert (rj.month_due, rj.remaining_open) == (11, 1)
    first = {r.polo: r for r in operation_day.day_by_polo(data, day=date(2022, 4, 1), target=TARGET)}
    rj = first[RJ]
    assert (rj.due_today_open, rj.month_due, rj.on_time_so_far, rj.remaining_open) == (1, 1, 0, 1)
    assert rj.overdue_open == 5  # 2, 4, 8, 10, 11 (3, 6 and 9 were visited late, before 1 April)
    assert rj.month_to_date_sla is None  # nothing counted yet: 13 is due today and open
    assert SP not in first  # SP has nothing due, open or visited from 1 April


def test_a_day_with_no_services(data, conn):
    assert operation_day.day_by_polo(data, day=date(2021, 1, 4), target=TARGET) == []
    assert operation_day.operation_day(data, day=date(2021, 1, 4), target=TARGET).totals is None
    conn.execute(sa.text("DELETE FROM services"))
    assert operation_day.day_by_polo(conn, day=D, target=TARGET) == []
    assert operation_day.day_by_angel(conn, day=D, polo=RJ, target=TARGET) == []


def test_needed_on_time_has_no_float_noise():
    assert 0.55 * 100 != 55  # 55.00000000000001: a plain ceil would ask for 56
    assert needed_on_time(month_due=100, on_time_so_far=0, target=0.55) == 55
    assert needed_on_time(month_due=11, on_time_so_far=3, target=0.9) == 7
    assert needed_on_time(month_due=10, on_time_so_far=10, target=0.9) == 0


def test_today_is_the_date_in_the_operations_time_zone(settings):
    late_evening = datetime(2022, 3, 16, 2, 30, tzinfo=timezone.utc)  # 23:30 on the 15th in São Paulo
    assert settings.timezone == "America/Sao_Paulo"
    assert operation_day.today(settings, now=late_evening) == date(2022, 3, 15)
    assert operation_day.local_now(settings, now=late_evening).strftime("%H:%M") == "23:30"
    assert operation_day.today(settings, now=datetime(2022, 3, 16, 3, 0, tzinfo=timezone.utc)) == date(2022, 3, 16)
    with pytest.raises(ValueError):
        operation_day.today(settings, now=datetime(2022, 3, 16, 2, 30))


def test_a_visit_at_23_30_local_time_is_on_that_day(conn, settings):
    """A visit is a local time (the operation's); 23:30 of the 15th counts on the 15th, whatever UTC says."""
    insert_services(conn, [(1, ANA, RJ, "2022-03-15", "2022-03-15 23:30")])
    day = operation_day.today(settings, now=datetime(2022, 3, 16, 2, 45, tzinfo=timezone.utc))
    (rj,) = operation_day.day_by_polo(conn, day=day, target=TARGET)
    assert (rj.visited_today, rj.visited_today_on_time, rj.due_today_open) == (1, 1, 0)


def test_each_number_lists_its_services_on_the_services_page(data):
    """The Services page's filter behind each number counts exactly the number (the page's links)."""
    for day in (D, date(2022, 3, 31), date(2022, 4, 1)):
        polos = operation_day.day_by_polo(data, day=day, target=TARGET)
        angels = [a for p in polos for a in operation_day.day_by_angel(data, day=day, polo=p.polo, target=TARGET)]
        for row in polos + angels:
            for name in ("due_today_open", "due_tomorrow_open", "overdue_open", "visited_today",
                         "visited_today_on_time", "month_due", "on_time_so_far", "remaining_open"):
                behind = operation_day.services_behind(name, day=day, polo=row.polo, angel=row.angel)
                assert records.count_services(data, filters=behind, as_of=day) == getattr(row, name), (day, row, name)
    assert operation_day.services_behind("needed_on_time", day=D) is None
    behind = operation_day.services_behind("month_to_date_sla", day=D, polo=RJ)
    assert records.count_services(data, filters=behind, as_of=D) == 6  # 1, 2, 3, 7, 8, 9


# --- against a plain recount of services, day by day -----------------------------------------------

RECOUNT = """
    SELECT {group},
        count(*) FILTER (WHERE data_limite = :d AND open) AS due_today_open,
        count(*) FILTER (WHERE data_limite = :d + 1 AND open) AS due_tomorrow_open,
        count(*) FILTER (WHERE data_limite < :d AND open) AS overdue_open,
        count(*) FILTER (WHERE visit = :d) AS visited_today,
        count(*) FILTER (WHERE visit = :d AND visit <= data_limite) AS visited_today_on_time,
        count(*) FILTER (WHERE this_month AND data_limite <= :d AND visit <= data_limite)::float8
            / nullif(count(*) FILTER (WHERE this_month AND data_limite <= :d
                                      AND (visit IS NOT NULL OR data_limite < :d)), 0) AS month_to_date_sla,
        count(*) FILTER (WHERE this_month) AS month_due,
        count(*) FILTER (WHERE this_month AND visit <= data_limite AND visit <= :d) AS on_time_so_far,
        count(*) FILTER (WHERE this_month AND data_limite >= :d AND open) AS remaining_open
    FROM (SELECT *, data_de_atendimento::date AS visit,
                 (data_de_atendimento IS NULL OR data_de_atendimento::date > :d) AS open,
                 date_trunc('month', data_limite) = date_trunc('month', CAST(:d AS date)) AS this_month
          FROM services WHERE {where}) s
    GROUP BY {group}
"""


def recount(conn, day: date, polo: str | None = None) -> dict:
    group, where = ("angel", "polo = :polo") if polo else ("polo", "true")
    found = {}
    for r in conn.execute(sa.text(RECOUNT.format(group=group, where=where)), {"d": day, "polo": polo}).mappings():
        r = dict(r)
        needed = needed_on_time(month_due=r["month_due"], on_time_so_far=r["on_time_so_far"], target=TARGET)
        r.update(needed_on_time=needed, target_reachable=needed <= r["remaining_open"])
        if r["due_today_open"] or r["due_tomorrow_open"] or r["overdue_open"] or r["visited_today"] or r["month_due"]:
            found[r.pop(group)] = r
    return found


def test_every_day_equals_a_plain_recount_of_services(data):
    day = date(2022, 2, 1)
    while day <= date(2022, 4, 5):
        assert {r.polo: numbers(r) for r in operation_day.day_by_polo(data, day=day, target=TARGET)} == \
            recount(data, day), day
        for polo in (RJ, SP):
            assert {r.angel: numbers(r) for r in operation_day.day_by_angel(data, day=day, polo=polo,
                                                                            target=TARGET)} == \
                recount(data, day, polo), (day, polo)
        day += timedelta(days=1)
