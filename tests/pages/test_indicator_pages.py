"""Indicator pages in AppTest: empty states, filters change the numbers, drill-down, calendar."""
import json

import pytest

from tests.core.test_indicators import insert_services
from tests.pages.apptest import by_label, logged_in, open_page, texts

PAGES = ("overview.py", "sla_polo.py", "sla_angel.py", "productivity.py")


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn)
    return db


@pytest.mark.parametrize("script", PAGES)
def test_empty_database_shows_a_helpful_state(db, script):
    at = open_page(logged_in(), script)
    assert "No services in the database yet" in texts(at)


def metric(at, label):
    return next(m for m in at.metric if m.label == label)


def test_overview_numbers_follow_the_period(data):
    at = open_page(logged_in(), "overview.py")
    # All data (28/02..05/04/2022): 10 due, 6 on time; 8 visits
    assert metric(at, "SLA").value == "60.0%" and metric(at, "Visits").value == "8"
    assert metric(at, "Not visited").value == "2"
    # nothing before the data starts: no change is shown against an empty previous period
    assert metric(at, "Visits").proto.delta == "" and metric(at, "SLA").proto.delta == ""
    by_label(at.selectbox, "Period").set_value("last_7").run()
    # 30/03..05/04: due 31/03 (never visited) and 05/04 (on time); one visit on 31/03
    assert metric(at, "SLA").value == "50.0%" and metric(at, "Visits").value == "1"
    # the 7 days before (23/03..29/03): service 10, due 25/03 and visited 24/03, on time
    assert metric(at, "Visits").proto.delta == "+0" and metric(at, "SLA").proto.delta == "-50.0 pp"
    assert at.query_params["period"] == "last_7"
    assert not at.exception


def test_sla_by_polo_table_polo_filter_and_drill_down(data):
    at = open_page(logged_in(), "sla_polo.py")
    table = at.dataframe[0].value
    assert list(table["polo"]) == ["SP - CAMPINAS", "RJ - SAO GONÇALO"]
    assert list(table["total"]) == [3, 7] and list(table["on_time"]) == [2, 4]
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert chart["data"][0]["y"] == ["SP - CAMPINAS", "RJ - SAO GONÇALO"]
    assert chart["layout"]["shapes"][0]["x0"] == 0.9  # the SLA target line

    by_label(at.selectbox, "Polo").set_value("SP - CAMPINAS").run()
    assert list(at.dataframe[0].value["polo"]) == ["SP - CAMPINAS"]
    by_label(at.selectbox, "Drill into a polo").set_value("SP - CAMPINAS").run()
    assert list(at.dataframe[1].value["angel"]) == ["Caio Reis"]
    assert "Angels of SP - CAMPINAS" in texts(at)


def test_custom_period_and_empty_period(data):
    at = open_page(logged_in(), "sla_angel.py")
    by_label(at.selectbox, "Period").set_value("custom").run()
    from datetime import date
    at.date_input[0].set_value((date(2022, 3, 10), date(2022, 3, 10))).run()
    table = at.dataframe[0].value
    assert list(table["angel"]) == ["Ana Souza de"] and list(table["total"]) == [3]
    assert at.query_params["start"] == "2022-03-10"
    at.date_input[0].set_value((date(2023, 1, 1), date(2023, 1, 31))).run()
    assert "No services are due in 1/1/2023\u2009–\u20091/31/2023." in texts(at)  # English dates, as Babel writes them
    assert not at.exception


def test_productivity_search_narrows_the_table(data):
    at = open_page(logged_in(), "productivity.py")
    assert sorted(at.dataframe[0].value["angel"]) == ["Ana Souza de", "Bruno Lima", "Caio Reis"]
    by_label(at.text_input, "Search an angel").input("caio").run()
    table = at.dataframe[0].value
    assert list(table["angel"]) == ["Caio Reis"] and list(table["visits"]) == [3]


def test_calendar_page_adds_a_day_for_admins_only(data):
    at = open_page(logged_in(), "calendar.py")
    from datetime import date
    at.number_input(key="calendar_year").set_value(2022).run()
    at.date_input(key="calendar_day").set_value(date(2022, 3, 1))
    at.text_input(key="calendar_reason").input("Carnaval")
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception
    assert "3/1/2022 is now a non-working day." in texts(at)  # English dates, as Babel writes them
    days = at.dataframe[0].value
    assert ("non-working day", "Carnaval") in set(zip(days["kind"], days["reason"]))
    at.selectbox(key="calendar_remove").set_value(date(2022, 3, 1))
    next(b for b in at.button if b.label == "Remove").click().run()
    assert "3/1/2022 is a business day again." in texts(at)
    assert "Carnaval" not in set(at.dataframe[0].value["reason"])


def test_calendar_page_refuses_analysts(data):
    from core import accounts

    with data.begin() as conn:
        accounts.create_user(conn, actor=accounts.CLI_ACTOR, username="ana", password="analyst-pass",
                             role="analyst", rounds=4)
    at = open_page(logged_in("ana", "analyst-pass"), "calendar.py")
    assert "Not allowed: this page needs the **admin** role" in texts(at)


def test_a_link_with_the_period_and_polo_reproduces_the_view(data):
    at = logged_in()
    at.query_params.update({"period": "custom", "start": "2022-03-10", "end": "2022-03-10",
                            "polo": "RJ - SAO GONÇALO"})
    at = open_page(at, "sla_angel.py")
    assert by_label(at.selectbox, "Period").value == "custom"
    assert by_label(at.selectbox, "Polo").value == "RJ - SAO GONÇALO"
    table = at.dataframe[0].value
    assert list(table["angel"]) == ["Ana Souza de"] and list(table["total"]) == [3]
