"""Customers, Services and Audit log pages through AppTest, per role."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from core import accounts, records
from core.accounts import Actor
from tests.pages.apptest import logged_in, open_page, texts

AS_OF = date(2022, 3, 10)  # the day statuses are as of, where a test reads them

ADMIN = Actor("admin", "admin")


@pytest.fixture
def data(db):
    """Two customers (one with two services), a stub, and users of every role."""
    with db.begin() as conn:
        for username, role in (("vera", "viewer"), ("ana", "analyst")):
            accounts.create_user(conn, actor=ADMIN, username=username, password="password-123", role=role,
                                 rounds=4)
        records.create_customer(conn, actor=ADMIN, id=1, nome="José da Silva", email="jose@example.com",
                                telefone="21998765432")
        records.create_customer(conn, actor=ADMIN, id=2, nome="Maria Souza")
        conn.execute(sa.text("INSERT INTO customers (id) VALUES (3)"))
        for id, visit in ((10, datetime(2022, 3, 1, 9, 0)), (11, datetime(2022, 3, 5, 9, 0))):
            records.create_service(conn, as_of=AS_OF, actor=ADMIN, id=id, id_cliente=1, angel="Pedro Wanderley de",
                                   polo="RJ - SAO GONÇALO", data_limite=date(2022, 3, 1), data_de_atendimento=visit)
        records.create_service(conn, as_of=AS_OF, actor=ADMIN, id=20, id_cliente=2, angel="Ana Lima da",
                               polo="PR - FOZ DO IGUAÇU", data_limite=date(2022, 3, 1), data_de_atendimento=None)
    return db


def as_user(username, script):
    at = logged_in(username, "admin-test-pass" if username == "admin" else "password-123")
    return open_page(at, script)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def expanders(at):
    return [e.label for e in at.expander]


def table(at, i=0):
    return at.dataframe[i].value


def test_viewer_reads_customers_but_cannot_edit(data):
    at = as_user("vera", "customers.py")
    df = table(at)
    assert list(df["id"]) == [1, 2, 3] and list(df["stub"]) == [False, False, True]
    assert "3** customers" in texts(at)
    at.text_input(key="customers_f_nome").input("jose").run()  # accent- and case-insensitive
    assert list(table(at)["id"]) == [1]
    # one match: shown whole, with its services, and no edit or delete for a viewer
    assert "Customer 1: José da Silva" in texts(at)
    assert list(table(at, 1)["id"]) == [10, 11]
    assert expanders(at) == []
    assert not [b for b in at.button if b.label in ("Save changes", "Delete customer", "Register customer")]


def test_analyst_registers_and_corrects_but_cannot_delete(data, engine):
    at = as_user("ana", "customers.py")
    assert expanders(at) == ["Register a customer"]
    at.text_input(key="customers_new_id").input("7")
    at.text_input(key="customers_new_nome").input("Carla Dias")
    at.text_input(key="customers_new_tel").input("123")
    button(at, "Register customer").click().run()
    assert "The phone must have 10 or 11 digits" in texts(at)  # nothing saved, input kept
    at.text_input(key="customers_new_tel").input("(11) 3333-4444")
    button(at, "Register customer").click().run()
    assert "Customer 7 registered." in texts(at)
    # open the stub and give it a name
    at.text_input(key="customers_f_id").input("3").run()
    assert "Customer 3 (stub)" in texts(at)
    assert expanders(at) == ["Correct this customer", "Register a customer"]  # no delete
    at.text_input(key="customers_edit_3_nome").input("Paulo Reis")
    button(at, "Save changes").click().run()
    assert "Customer 3 saved." in texts(at)
    with engine.connect() as conn:
        assert records.get_customer(conn, id=3).nome == "Paulo Reis"
        assert records.get_customer(conn, id=7).telefone == "1133334444"


def test_admin_deletes_a_customer_only_after_confirming(data, engine):
    at = as_user("admin", "customers.py")
    at.text_input(key="customers_f_id").input("1").run()
    assert "Delete this customer" in expanders(at)
    assert button(at, "Delete customer").disabled
    at.checkbox(key="customers_delete_1").check().run()
    button(at, "Delete customer").click().run()
    assert "Customer 1 has 2 services" in texts(at)
    at.checkbox(key="customers_delete_services_1").check().run()
    button(at, "Delete customer").click().run()
    assert "Customer 1 deleted, with 2 services." in texts(at)
    with engine.connect() as conn:
        assert records.get_customer(conn, id=1) is None
        assert records.count_services(conn, as_of=AS_OF) == 1


def test_services_page_reads_the_indicator_links_query_parameters(data):
    at = logged_in()
    at.query_params["polo"] = "RJ - SAO GONÇALO"
    at.query_params["status"] = "late"
    at.query_params["deadline_from"] = "2022-03-01"
    at.query_params["deadline_to"] = "2022-03-31"
    open_page(at, "services.py")
    assert at.selectbox(key="services_f_polo").value == "RJ - SAO GONÇALO"
    assert at.selectbox(key="services_f_status").value == "late"
    assert at.date_input(key="services_f_deadline_from").value == date(2022, 3, 1)
    assert list(table(at)["id"]) == [11]
    assert "Service 11 · late" in texts(at)


def test_viewer_cannot_edit_services_and_analyst_cannot_delete(data):
    at = as_user("vera", "services.py")
    assert list(table(at)["id"]) == [10, 11, 20]
    assert list(table(at)["status"]) == ["on time", "late", "not visited"]
    at.text_input(key="services_f_id").input("11").run()
    assert "Service 11 · late" in texts(at)
    assert expanders(at) == []
    at = as_user("ana", "services.py")
    at.text_input(key="services_f_id").input("11").run()
    assert expanders(at) == ["Correct this service", "Register a service"]


def test_analyst_corrects_a_visit_and_confirms_a_far_one(data, engine):
    at = as_user("ana", "services.py")
    at.text_input(key="services_f_id").input("11").run()
    at.date_input(key="services_edit_11_visit_day").set_value(date(2022, 3, 1))
    button(at, "Save changes").click().run()
    assert "Service 11 saved." in texts(at)
    assert "Service 11 · on time" in texts(at)
    # a visit two years after the deadline asks for confirmation instead of failing
    at.date_input(key="services_edit_11_visit_day").set_value(date(2024, 3, 1))
    button(at, "Save changes").click().run()
    assert "731 days after the deadline" in texts(at)
    with engine.connect() as conn:
        assert records.get_service(conn, as_of=AS_OF, id=11).data_de_atendimento == datetime(2022, 3, 1, 9, 0)
    button(at, "Save anyway: the dates are right").click().run()
    assert "Service 11 saved." in texts(at)
    with engine.connect() as conn:
        assert records.get_service(conn, as_of=AS_OF, id=11).data_de_atendimento == datetime(2024, 3, 1, 9, 0)


def test_register_a_service_offers_the_next_id_and_an_unknown_customer(data, engine):
    at = as_user("ana", "services.py")
    assert at.text_input(key="services_new_id").value == "21"
    at.text_input(key="services_new_cliente").input("555")
    at.selectbox(key="services_new_polo").set_value("PR - FOZ DO IGUAÇU")
    at.selectbox(key="services_new_angel").set_value("Ana Lima da")
    at.date_input(key="services_new_deadline").set_value(date(2022, 4, 1))
    button(at, "Register service").click().run()
    assert "There is no customer 555" in texts(at)
    button(at, "Create customer 555 (a stub to complete later) and save").click().run()
    assert "Service 21 registered." in texts(at)
    assert at.text_input(key="services_new_id").value == "22"
    with engine.connect() as conn:
        assert records.get_customer(conn, id=555).is_stub
        assert records.get_service(conn, as_of=AS_OF, id=21).data_de_atendimento is None


def test_audit_page_is_admin_only_and_filters(data):
    at = as_user("ana", "audit.py")
    assert "Not allowed" in texts(at)
    at = as_user("admin", "audit.py")
    at.selectbox(key="audit_entity").set_value("service").run()
    assert list(table(at)["id"]) == ["20", "11", "10"]
    assert "3** entries" in texts(at)


def test_services_filters_are_mirrored_in_the_url(data):
    at = as_user("admin", "services.py")
    at.selectbox(key="services_f_status").set_value("late").run()
    at.date_input(key="services_f_deadline_from").set_value(date(2022, 3, 1)).run()
    assert dict(at.query_params) == {"status": "late", "deadline_from": "2022-03-01"}
    assert list(table(at)["id"]) == [11]


def test_a_link_opens_a_customer_and_the_filters_follow_to_the_url(data):
    at = logged_in()
    at.query_params["id"] = "2"
    open_page(at, "customers.py")
    assert "Customer 2: Maria Souza" in texts(at)
    at.text_input(key="customers_f_id").input("").run()
    at.text_input(key="customers_f_nome").input("silva").run()
    assert dict(at.query_params) == {"nome": "silva"} and list(table(at)["id"]) == [1]


def test_audit_page_walks_pages_newest_first(db):
    from core import audit

    with db.begin() as conn:
        for i in range(1, 131):
            audit.record(conn, username="ana", action="update", entity="service", entity_id=i)
    at = as_user("admin", "audit.py")
    at.selectbox(key="audit_user").set_value("ana").run()

    def shown():
        ids = [int(i) for i in table(at)["id"]]
        return ids[0], ids[-1], len(ids)

    assert shown() == (130, 81, 50) and "**130** entries · rows 1-50 · page 1 of 3" in texts(at)
    button(at, "Next").click().run()
    assert shown() == (80, 31, 50)
    button(at, "Last").click().run()
    assert shown() == (30, 1, 30) and button(at, "Next").disabled
    button(at, "Previous").click().run()
    assert shown() == (80, 31, 50)
    button(at, "First").click().run()
    assert shown() == (130, 81, 50)


def test_pager_walks_keyset_pages_forward_back_and_to_the_end(db):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id) VALUES (1)"))
        conn.execute(sa.text(  # 120 services, ids 3, 6, ..., 360 (gaps, like the export)
            "INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
            "SELECT 3 * g, 1, 'Ana Lima da', 'RJ - SAO GONÇALO', DATE '2022-03-01' FROM generate_series(1, 120) g"))
    at = as_user("admin", "services.py")

    def shown():
        ids = list(table(at)["id"])
        return ids[0], ids[-1], len(ids)

    assert shown() == (3, 150, 50) and "page 1 of 3" in texts(at)
    button(at, "Next").click().run()
    assert shown() == (153, 300, 50) and "rows 51-100 · page 2 of 3" in texts(at)
    button(at, "Last").click().run()
    assert shown() == (303, 360, 20) and "rows 101-120 · page 3 of 3" in texts(at)
    assert button(at, "Next").disabled
    button(at, "Previous").click().run()
    assert shown() == (153, 300, 50) and "page 2 of 3" in texts(at)
    button(at, "First").click().run()
    assert shown() == (3, 150, 50) and button(at, "Previous").disabled
    at.selectbox(key="services_size").set_value(100).run()
    button(at, "Last").click().run()
    assert shown() == (303, 360, 20) and "rows 101-120 · page 2 of 2" in texts(at)
