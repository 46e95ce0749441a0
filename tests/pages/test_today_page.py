"""The Today page in AppTest: empty states, the last day with data, the day's numbers, a polo's angels, the links."""
from datetime import date, datetime, timezone
from urllib.parse import parse_qs

import pytest

from core import operation_day
from core.config import load_settings
from tests.core.test_indicators import insert_services
from tests.core.test_operation_day import ANA, BRUNO, RJ, SERVICES, SP
from tests.pages.apptest import by_label, logged_in, open_page, texts


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn, SERVICES)
    return db


def test_an_empty_database_says_what_to_do(db):
    at = open_page(logged_in(), "today.py")
    assert "No services in the database yet" in texts(at)


def test_a_database_in_the_past_offers_its_last_day(data):
    at = open_page(logged_in(), "today.py")
    assert "Every service in the database is in the past: the last day with data is 4/1/2022." in texts(at)
    # today, only the services never visited can be open: overdue, in RJ only
    assert list(at.dataframe[0].value["polo"]) == [RJ]
    assert list(at.dataframe[0].value["overdue_open"]) == [6]
    next(b for b in at.button if b.label.startswith("Show 4/1/2022")).click().run()
    assert at.date_input(key="today_day").value == date(2022, 4, 1)
    assert "in the past" not in texts(at)
    assert list(at.dataframe[0].value["due_today_open"]) == [1]  # 13, due 1 April


def test_the_numbers_of_a_day_and_a_polos_angels(data):
    at = open_page(logged_in(), "today.py")
    at.date_input(key="today_day").set_value(date(2022, 3, 15)).run()
    polos = at.dataframe[0].value
    assert list(polos["polo"]) == [RJ, SP]
    assert polos.iloc[0].to_dict() == {
        "polo": RJ, "due_today_open": 2, "due_tomorrow_open": 2, "overdue_open": 3, "visited_today": 2,
        "visited_today_on_time": 1, "month_to_date_sla": 0.2, "month_due": 11, "on_time_so_far": 3,
        "remaining_open": 5, "needed_on_time": 7, "target_reachable": False}
    assert [m.value for m in at.metric] == ["3", "2", "3", "3", "28.6%"]
    assert "All polos: The month's 90% target is out of reach: 9 more on time would be needed" in texts(at)
    by_label(at.selectbox, "A polo's angels").set_value(RJ).run()
    angels = at.dataframe[1].value
    assert list(angels["angel"]) == [ANA, BRUNO] and list(angels["overdue_open"]) == [1, 2]
    assert "Month-to-date SLA: **20.0%** (1 of 5 on time)" in texts(at)
    assert not at.exception


def test_each_number_links_to_its_services(data):
    at = open_page(logged_in(), "today.py")
    at.date_input(key="today_day").set_value(date(2022, 3, 15)).run()
    by_label(at.selectbox, "A polo's angels").set_value(RJ).run()
    links = {link.proto.label: {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
             for link in at.get("page_link") if link.proto.query_string}
    assert links["3 services due today, still open"] == {  # every polo
        "deadline_from": "2022-03-15", "deadline_to": "2022-03-15", "open_on": "2022-03-15"}
    assert links["3 overdue services, still to visit"] == {"polo": RJ, "deadline_to": "2022-03-14", "open_on": "2022-03-15"}
    assert links["3 on time so far this month"] == {"polo": RJ, "status": "on_time", "deadline_from": "2022-03-01",
                                                    "deadline_to": "2022-03-31", "visit_to": "2022-03-15"}
    # the Services page lists exactly the services behind the number
    for key, value in links["2 services due tomorrow, still open"].items():
        at.query_params[key] = value
    at.switch_page("../pages/services.py").run()
    assert at.date_input(key="services_f_open_on").value == date(2022, 3, 15)
    assert sorted(at.dataframe[0].value["id"]) == [4, 6]


def test_the_demo_from_an_empty_home_opens_on_a_live_today(db):
    at = logged_in()
    next(b for b in at.button if b.label == "Load the demo data").click().run()
    assert "Today: what is still open, where" in [link.proto.label for link in at.get("page_link")]
    open_page(at, "today.py")
    assert "in the past" not in texts(at)
    polos = at.dataframe[0].value
    assert len(polos) == 70  # every polo has services due this month
    assert polos["due_today_open"].sum() > 0 and polos["visited_today"].sum() > 0  # today: partly done


class _AtNightInSaoPaulo(datetime):
    """The clock at 22:30 on 15 March 2022 in São Paulo: 01:30 on the 16th in UTC."""

    @classmethod
    def now(cls, tz=None):
        moment = datetime(2022, 3, 16, 1, 30, tzinfo=timezone.utc)
        return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)


def test_at_night_the_services_page_and_the_today_page_say_the_same_day(db, monkeypatch):
    """22:30 in São Paulo is already tomorrow in UTC: a service due today and not visited yet is still
    open on both pages (on the server's or UTC's date it would be a miss already)."""
    with db.begin() as conn:
        insert_services(conn, [(1, ANA, RJ, "2022-03-15", None), (2, ANA, RJ, "2022-03-14", None)])
    monkeypatch.setattr(operation_day, "datetime", _AtNightInSaoPaulo)
    assert operation_day.today(load_settings()) == date(2022, 3, 15)
    at = open_page(logged_in(), "today.py")
    assert "3/15/2022 in America/Sao_Paulo · updated at 10:30:00\u202fPM" in texts(at)  # the operation's clock too
    day = at.dataframe[0].value.iloc[0]
    assert (day["polo"], day["due_today_open"], day["overdue_open"]) == (RJ, 1, 1)
    at.switch_page("../pages/services.py").run()
    services = at.dataframe[0].value
    assert dict(zip(services["id"], services["status"])) == {1: "open", 2: "not visited"}
