"""The benchmarks' own calls still fit the code they time.

The benchmarks run by hand on a million services, never in CI, so a change to a core signature
breaks them silently (issue 20 made `as_of` required, and bench.api's big answers raised TypeError
until they were run by hand). Here each benchmark asks its questions once, on the small hand data,
and the answers are checked against the product's own."""
from __future__ import annotations

from datetime import date

from bench import api as bench_api, dashboard as bench_dashboard, indicators as bench_indicators
from core import indicators
from core.config import load_settings
from core.definitions import Period
from core.operation_day import today
from tests.core.test_indicators import insert_services

MARCH = Period(date(2022, 3, 1), date(2022, 3, 31))


def test_every_indicator_question_of_the_benchmark_runs_beside_the_original(db):
    with db.begin() as conn:
        insert_services(conn)
    results = bench_indicators.measure(db, repeat=1, original_repeat=1)
    assert {(name, label) for name, label, *_ in results} == {
        (name, label) for name in bench_indicators.QUERIES for label in bench_indicators.PERIODS}
    assert all(median >= 0 and before >= 0 for _, _, before, median, _, _ in results)


def test_the_today_benchmark_reads_what_the_today_page_reads(db):
    with db.begin() as conn:
        insert_services(conn)
    results = bench_indicators.measure_today(db, {"March": date(2022, 3, 15)}, repeat=1)
    assert [(name, label) for name, label, *_ in results] == [
        (name, "March") for name in bench_indicators.TODAY_QUESTIONS]


def test_the_api_benchmark_asks_core_what_the_route_answers(db):
    with db.begin() as conn:
        insert_services(conn)
    settings = load_settings()
    with db.connect() as conn:
        sizes = [len(ask(conn, MARCH, settings.holiday_country, today(settings))) for _, _, ask in bench_api.BIG]
        expected = [len(indicators.sla_by_angel(conn, period=MARCH, as_of=today(settings))),
                    len(indicators.productivity(conn, period=MARCH, as_of=today(settings),
                                                country=settings.holiday_country))]
    assert sizes == expected and all(sizes)


def test_the_dashboard_benchmark_asks_each_page_s_questions(db):
    with db.begin() as conn:
        insert_services(conn)
    with db.connect() as conn:
        shared = bench_dashboard.sidebar_defaults(conn)
        for page in ("overview", "sla_polo", "sla_angel", "productivity"):
            bench_dashboard.questions(conn, page, None, **shared)
