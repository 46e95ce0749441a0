"""Indicators through the API equal core's on the hand-checked services of tests/core/test_indicators.py."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from core import indicators, operation_day
from core.definitions import Period
from tests.core.test_indicators import ANA, BRUNO, CAIO, MARCH, RJ, SP, insert_services

Q = "start_date=2022-03-01&end_date=2022-03-31"


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn)
    return db


def test_sla_by_polo_keeps_the_originals_keys_and_adds_the_counts(client, viewer, data):
    rows = client.get(f"/v1/indicators/sla/polo?{Q}&sort_field=sla", headers=viewer).json()["sla_polo"]
    assert rows == [
        {"polo": SP, "total_de_atendimentos": 3, "total_de_atendimentos_no_prazo": 2, "sla": "66.67%",
         "on_time": 2, "late": 1, "not_visited": 0, "open": 0, "sla_ratio": pytest.approx(2 / 3),
         "avg_slack_days": 0.0},
        {"polo": RJ, "total_de_atendimentos": 6, "total_de_atendimentos_no_prazo": 3, "sla": "50.00%",
         "on_time": 3, "late": 1, "not_visited": 2, "open": 0, "sla_ratio": 0.5, "avg_slack_days": 0.0}]


def test_sla_by_angel_sorts_by_the_originals_fields(client, viewer, data):
    def angels(query: str) -> list[str]:
        answer = client.get(f"/v1/indicators/sla/angel?{Q}&{query}", headers=viewer)
        assert answer.status_code == 200, answer.text
        return [r["angel"] for r in answer.json()["sla_angel"]]

    assert angels("sort_field=total") == [ANA, CAIO, BRUNO]            # desc is the default
    assert angels("sort_field=total_sla&desc=false") == [BRUNO, ANA, CAIO]
    assert angels("sort_field=avg_time&desc=false") == [ANA, CAIO, BRUNO]
    assert angels("sort_field=total&polo=SP - CAMPINAS") == [CAIO]


def test_productivity_rounds_the_originals_fields_and_adds_the_products(client, viewer, data):
    rows = client.get(f"/v1/indicators/productivity?{Q}&sort_field=total", headers=viewer).json()["produtividade"]
    ana = next(r for r in rows if r["angel"] == ANA)
    # Ana: 3 visits in March (10th twice, 11th), 23 business days; slack 0, 0, -1
    assert ana == {"angel": ANA, "total_de_atendimentos": 3, "tempo_medio_atendimento": -0.33,
                   "produtividade": 0.13, "polo": RJ, "visits": 3, "business_days": 23, "worked_days": 2,
                   "visits_per_worked_day": 1.5, "avg_slack_days": pytest.approx(-1 / 3)}
    # Bruno (19th, 31st) and Caio (4th, 24th; his 28/02 visit is outside) tie at 2: by name
    assert [(r["angel"], r["total_de_atendimentos"]) for r in rows] == [(ANA, 3), (BRUNO, 2), (CAIO, 2)]


def test_the_api_answers_what_core_answers(client, viewer, data, settings):
    today = operation_day.today(settings)  # the API's as_of
    with data.connect() as conn:
        by_polo = indicators.sla_by_polo(conn, period=MARCH, sort="total", as_of=today)
        by_angel = indicators.sla_by_angel(conn, period=MARCH, sort="total", as_of=today)
        productivity = indicators.productivity(conn, period=MARCH, sort="total", country="BR", as_of=today)
    api_polo = client.get(f"/v1/indicators/sla/polo?{Q}", headers=viewer).json()["sla_polo"]
    api_angel = client.get(f"/v1/indicators/sla/angel?{Q}", headers=viewer).json()["sla_angel"]
    api_prod = client.get(f"/v1/indicators/productivity?{Q}", headers=viewer).json()["produtividade"]
    assert [(r["polo"], r["total_de_atendimentos"], r["on_time"], r["late"], r["not_visited"], r["sla_ratio"])
            for r in api_polo] == [(r.polo, r.total, r.on_time, r.late, r.not_visited, r.sla) for r in by_polo]
    assert [(r["angel"], r["polo"], r["total_de_atendimentos"], r["sla_ratio"]) for r in api_angel] == [
        (r.angel, r.polo, r.total, r.sla) for r in by_angel]
    assert [(r["angel"], r["visits"], r["business_days"], r["worked_days"], r["produtividade"]) for r in api_prod] == [
        (r.angel, r.visits, r.business_days, r.worked_days, round(r.productivity, 2)) for r in productivity]


def test_without_dates_the_period_is_all_data(client, viewer, data, settings):
    with data.connect() as conn:
        known = indicators.data_range(conn)
        everything = indicators.sla_by_polo(conn, period=Period(known.first, known.last), sort="total",
                                            as_of=operation_day.today(settings))
    assert (known.first, known.last) == (date(2022, 2, 28), date(2022, 4, 5))
    rows = client.get("/v1/indicators/sla/polo", headers=viewer).json()["sla_polo"]
    assert [(r["polo"], r["total_de_atendimentos"]) for r in rows] == [(r.polo, r.total) for r in everything]
    assert sum(r["total_de_atendimentos"] for r in rows) == 10  # every service is due in the data's range


@pytest.mark.parametrize("path, model", [
    ("/v1/indicators/sla/polo", "SlaPolo"), ("/v1/indicators/sla/angel", "SlaAngel"),
    ("/v1/indicators/productivity", "Productivity")])
@pytest.mark.parametrize("query", [Q, "", "start_date=2022-03-31&end_date=2030-01-31"])
def test_an_answer_is_the_bytes_its_response_model_writes(client, viewer, data, path, model, query):
    """The big answers are written without validating every row through their response_model
    (api/indicators.py): the bytes must still be exactly those the model writes for the same values
    (an int in a float field, a Decimal, a field out of order would differ)."""
    from api import schemas

    with data.begin() as conn:  # open, due later: a row with no SLA and no slack (nulls)
        conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
                             "VALUES (11, 1, 'Dora Luz', :polo, DATE '2029-12-31')"), {"polo": SP})
    answer = client.get(f"{path}?{query}", headers=viewer)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert len(next(iter(answer.json().values()))) > 0
    written = getattr(schemas, model).model_validate_json(answer.content).model_dump_json().encode()
    assert answer.content == written
    if path.endswith("angel") and query.startswith("start_date=2022-03-31"):
        assert b'"sla":null' in answer.content and b'"avg_slack_days":null' in answer.content


def test_an_empty_database_answers_empty_lists(client, viewer):
    assert client.get("/v1/indicators/sla/angel", headers=viewer).json() == {"sla_angel": []}
    assert client.get("/v1/indicators/productivity", headers=viewer).json() == {"produtividade": []}


@pytest.mark.parametrize("query, field", [
    ("start_date=2022-02-30", "start_date"),
    ("end_date=31/03/2022", "end_date"),
    ("sort_field=speed", "sort_field"),
    ("desc=maybe", "desc"),
    ("start_date=0", "start_date"),  # a Unix timestamp is not a day
])
def test_bad_queries_are_422_naming_the_field(client, viewer, query, field):
    answer = client.get(f"/v1/indicators/sla/polo?{query}", headers=viewer)
    assert answer.status_code == 422 and answer.json()["error"].startswith(field), answer.text
