"""GET /v1/indicators/today on the hand-checked services of tests/core/test_operation_day.py."""
from __future__ import annotations

import pytest

from tests.core.test_indicators import insert_services
from tests.core.test_operation_day import ANA, BRUNO, RJ, SERVICES, SP

KEYS = ["polo", "due_today_open", "due_tomorrow_open", "overdue_open", "visited_today", "visited_today_on_time",
        "month_to_date_sla", "month_due", "on_time_so_far", "remaining_open", "needed_on_time", "target_reachable"]


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn, SERVICES)
    return db


def test_the_polos_of_a_day_with_exactly_the_issues_keys(client, viewer, data):
    answer = client.get("/v1/indicators/today?date=2022-03-15", headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == ["date", "polos"] and body["date"] == "2022-03-15"
    assert [list(p) for p in body["polos"]] == [KEYS, KEYS]
    assert body["polos"][0] == {
        "polo": RJ, "due_today_open": 2, "due_tomorrow_open": 2, "overdue_open": 3, "visited_today": 2,
        "visited_today_on_time": 1, "month_to_date_sla": 0.2, "month_due": 11, "on_time_so_far": 3,
        "remaining_open": 5, "needed_on_time": 7, "target_reachable": False}
    assert body["polos"][1]["polo"] == SP and body["polos"][1]["target_reachable"] is True


def test_a_polo_brings_its_angels(client, viewer, data):
    body = client.get("/v1/indicators/today", params={"date": "2022-03-15", "polo": RJ}, headers=viewer).json()
    assert [p["polo"] for p in body["polos"]] == [RJ]
    assert [a["angel"] for a in body["angels"]] == [ANA, BRUNO]
    assert list(body["angels"][0]) == ["polo", "angel", *KEYS[1:]]
    assert body["angels"][1] == {
        "polo": RJ, "angel": BRUNO, "due_today_open": 0, "due_tomorrow_open": 2, "overdue_open": 2,
        "visited_today": 0, "visited_today_on_time": 0, "month_to_date_sla": 0.0, "month_due": 4,
        "on_time_so_far": 1, "remaining_open": 2, "needed_on_time": 3, "target_reachable": False}
    unknown = client.get("/v1/indicators/today", params={"date": "2022-03-15", "polo": "XX - NOWHERE"}, headers=viewer)
    assert unknown.json() == {"date": "2022-03-15", "polos": [], "angels": []}


def test_the_day_defaults_to_today_in_the_operations_time_zone(client, viewer, data, api_settings):
    from core import operation_day

    settings = api_settings(timezone="Pacific/Kiritimati")  # UTC+14: from 10:00 UTC already tomorrow there
    body = client.get("/v1/indicators/today", headers=viewer).json()
    assert body["date"] == operation_day.today(settings).isoformat()
    # today, the services of 2022 that were never visited are overdue and open (2, 4, 8, 10, 11, 13)
    assert [(p["polo"], p["overdue_open"], p["month_due"]) for p in body["polos"]] == [(RJ, 6, 0)]


def test_bad_dates_and_no_token(client, viewer, data):
    bad = client.get("/v1/indicators/today?date=2022-02-30", headers=viewer)
    assert bad.status_code == 422 and "date" in bad.json()["error"]
    assert client.get("/v1/indicators/today").status_code == 401
