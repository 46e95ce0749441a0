"""Customers and services: filters, keyset paging, validation, delete rules, audit in the same transaction."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from core import records
from core.accounts import Actor, PermissionDenied
from core.audit import AuditFilter, count_audit, find_audit, list_audit
from core.records import CustomerFilter, ServiceFilter

ADMIN = Actor("admin", "admin")
ANALYST = Actor("ana", "analyst")
VIEWER = Actor("vera", "viewer")
AS_OF = date(2022, 3, 10)


def audit_rows(conn):
    return conn.execute(sa.text(
        "SELECT username, action, entity, entity_id, before, after FROM audit_log "
        "WHERE entity IN ('customer', 'service') ORDER BY id")).mappings().all()


def add_customer(conn, id, nome, email=None, telefone=None):
    return records.create_customer(conn, actor=ANALYST, id=id, nome=nome, email=email, telefone=telefone)


def add_service(conn, id, id_cliente=1, angel="Pedro Wanderley de", polo="RJ - SAO GONÇALO",
                data_limite=date(2022, 3, 1), visit=None, **kw):
    return records.create_service(conn, as_of=AS_OF, actor=ANALYST, id=id, id_cliente=id_cliente, angel=angel, polo=polo,
                                  data_limite=data_limite, data_de_atendimento=visit, **kw)


@pytest.fixture
def people(conn):
    add_customer(conn, 1, "José da Silva", "jose@example.com", "21998765432")
    add_customer(conn, 2, "Joana Conceição", "JOANA@Example.com", "(11) 3456-7890")
    add_customer(conn, 3, "Maria Souza")
    conn.execute(sa.text("INSERT INTO customers (id) VALUES (4)"))  # a stub, as a load makes it
    return conn


@pytest.fixture
def five_services(people):
    conn = people
    add_service(conn, 10, visit=datetime(2022, 3, 1, 23, 59))                 # on time (deadline day)
    add_service(conn, 11, visit=datetime(2022, 3, 2, 0, 0))                   # late
    add_service(conn, 12, visit=None)                                         # not visited (past)
    add_service(conn, 13, data_limite=date(2022, 3, 10), visit=None,          # open (deadline = as_of)
                polo="PR - FOZ DO IGUAÇU", angel="Ana Lima da", id_cliente=2)
    add_service(conn, 14, data_limite=date(2022, 2, 1), visit=datetime(2022, 1, 31, 9, 0),
                polo="PR - FOZ DO IGUAÇU", angel="Ana Lima da", id_cliente=2)  # on time
    return conn


# --- customers ---------------------------------------------------------------------------------

def test_create_customer_cleans_the_phone_and_audits(conn):
    customer = add_customer(conn, 7, "  Ana   Paula ", "ana@example.com", "(21) 99876-5432")
    assert (customer.nome, customer.telefone, customer.is_stub) == ("Ana Paula", "21998765432", False)
    [row] = audit_rows(conn)
    assert (row["username"], row["action"], row["entity"], row["entity_id"]) == ("ana", "create", "customer", "7")
    assert row["before"] is None
    assert row["after"] == {"id": 7, "nome": "Ana Paula", "email": "ana@example.com", "telefone": "21998765432"}


@pytest.mark.parametrize("kwargs, message", [
    ({"nome": "  "}, "The name is required."),
    ({"email": "not-an-email"}, "is not a valid address"),
    ({"telefone": "123456789"}, "10 or 11 digits"),
    ({"telefone": "219987654321"}, "10 or 11 digits"),
    ({"telefone": "21 9abc"}, "characters other than digits"),
    ({"id": 0}, "positive whole number"),
    ({"id": "x1"}, "whole number"),
])
def test_customer_validation_messages(conn, kwargs, message):
    values = {"id": 7, "nome": "Ana", "email": None, "telefone": None, **kwargs}
    with pytest.raises(records.RecordError, match=message):
        records.create_customer(conn, actor=ANALYST, **values)
    assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 0
    assert audit_rows(conn) == []


def test_email_is_unique_ignoring_case(people):
    with pytest.raises(records.RecordError, match="already used by customer 1"):
        add_customer(people, 9, "Outro", "JOSE@example.COM")
    with pytest.raises(records.RecordError, match="already used by customer 2"):
        records.update_customer(people, actor=ANALYST, id=3, nome="Maria Souza", email="joana@example.com")


def test_duplicate_customer_id_is_refused_with_a_hint_for_stubs(people):
    with pytest.raises(records.RecordError, match="Customer 1 already exists.$"):
        add_customer(people, 1, "Again")
    with pytest.raises(records.RecordError, match="stub from a service load"):
        add_customer(people, 4, "Filled")


def test_editing_a_stub_makes_it_a_real_customer(people):
    assert records.get_customer(people, id=4).is_stub
    customer = records.update_customer(people, actor=ANALYST, id=4, nome="Carla", telefone="1133334444")
    assert not customer.is_stub and customer.nome == "Carla"
    row = audit_rows(people)[-1]
    assert row["before"] == {"id": 4, "nome": None, "email": None, "telefone": None}
    assert row["after"] == {"id": 4, "nome": "Carla", "email": None, "telefone": "1133334444"}


def test_an_update_that_changes_nothing_writes_no_audit_row(people):
    n = len(audit_rows(people))
    records.update_customer(people, actor=ANALYST, id=1, nome="José da Silva", email="jose@example.com",
                            telefone="(21) 99876-5432")
    assert len(audit_rows(people)) == n


def test_failed_update_leaves_no_change_and_no_audit_row(people):
    n = len(audit_rows(people))
    with pytest.raises(records.RecordError):
        records.update_customer(people, actor=ANALYST, id=1, nome="José", telefone="12")
    # a violation only the database sees (the email check is bypassed by racing it): savepoint rollback
    people.execute(sa.text("UPDATE customers SET email = 'race@example.com' WHERE id = 3"))
    original = records._check_email_free
    records._check_email_free = lambda *a: None
    try:
        with pytest.raises(records.RecordError, match="already used by another customer"):
            records.update_customer(people, actor=ANALYST, id=1, nome="José", email="RACE@example.com")
    finally:
        records._check_email_free = original
    customer = records.get_customer(people, id=1)
    assert (customer.nome, customer.email, customer.telefone) == ("José da Silva", "jose@example.com",
                                                                  "21998765432")
    assert len(audit_rows(people)) == n


def test_customer_filters_ignore_case_and_accents(people):
    def ids(**kw):
        return [c.id for c in records.list_customers(people, filters=CustomerFilter(**kw))]

    assert ids(nome="jose") == [1]
    assert ids(nome="CONCEICAO") == [2]
    assert ids(nome="jo") == [1, 2]
    assert ids(nome="%") == []          # wildcards are literal
    assert ids(email="EXAMPLE.com") == [1, 2]
    assert ids(telefone="3456-78") == [2]
    assert ids(id=3) == [3]
    assert ids(stubs=True) == [4]
    assert ids(stubs=False, nome="a") == [1, 2, 3]
    assert records.count_customers(people, filters=CustomerFilter(nome="jo")) == 2


def test_roles_are_checked_in_core(people):
    with pytest.raises(PermissionDenied):
        records.create_customer(people, actor=VIEWER, id=8, nome="X")
    with pytest.raises(PermissionDenied):
        records.update_customer(people, actor=VIEWER, id=1, nome="X")
    with pytest.raises(PermissionDenied):
        records.delete_customer(people, actor=ANALYST, id=3)
    with pytest.raises(PermissionDenied):
        records.create_service(people, as_of=AS_OF, actor=VIEWER, id=50, id_cliente=1, angel="a", polo="p", data_limite=date(2022, 1, 1))


# --- delete rules ---------------------------------------------------------------------------------

def test_delete_customer_with_services_is_refused_with_the_count(five_services):
    conn = five_services
    with pytest.raises(records.CustomerHasServices, match="Customer 1 has 3 services") as exc:
        records.delete_customer(conn, actor=ADMIN, id=1)
    assert exc.value.count == 3
    assert records.get_customer(conn, id=1) is not None


def test_admin_deletes_customer_with_services_each_audited(five_services):
    conn = five_services
    n = len(audit_rows(conn))
    assert records.delete_customer(conn, actor=ADMIN, id=1, with_services=True) == 3
    assert records.get_customer(conn, id=1) is None
    assert records.count_services(conn, as_of=AS_OF, filters=ServiceFilter(id_cliente=1)) == 0
    new = audit_rows(conn)[n:]
    assert [(r["action"], r["entity"], r["entity_id"]) for r in new] == [
        ("delete", "service", "10"), ("delete", "service", "11"), ("delete", "service", "12"),
        ("delete", "customer", "1")]
    assert new[0]["before"]["data_de_atendimento"] == "2022-03-01T23:59:00" and new[0]["after"] is None


def test_delete_customer_without_services_and_missing_ones(people):
    assert records.delete_customer(people, actor=ADMIN, id=3) == 0
    with pytest.raises(records.NotFound, match="There is no customer 3"):
        records.delete_customer(people, actor=ADMIN, id=3)


def test_delete_service(five_services):
    conn = five_services
    deleted = records.delete_service(conn, as_of=AS_OF, actor=ADMIN, id=12)
    assert deleted.status == "not_visited"
    assert records.get_service(conn, as_of=AS_OF, id=12) is None
    with pytest.raises(PermissionDenied):
        records.delete_service(conn, as_of=AS_OF, actor=ANALYST, id=11)
    assert audit_rows(conn)[-1]["action"] == "delete"


# --- services ------------------------------------------------------------------------------------

def test_statuses_follow_the_definitions(five_services):
    got = {s.id: s.status for s in records.list_services(five_services, as_of=AS_OF)}
    assert got == {10: "on_time", 11: "late", 12: "not_visited", 13: "open", 14: "on_time"}


@pytest.mark.parametrize("kw, expected", [
    ({}, [10, 11, 12, 13, 14]),
    ({"status": "on_time"}, [10, 14]),
    ({"status": "late"}, [11]),
    ({"status": "not_visited"}, [12]),
    ({"status": "open"}, [13]),
    ({"polo": "PR - FOZ DO IGUAÇU"}, [13, 14]),
    ({"angel": "Pedro Wanderley de"}, [10, 11, 12]),
    ({"id_cliente": 2}, [13, 14]),
    ({"id": 12}, [12]),
    ({"deadline_from": date(2022, 3, 1), "deadline_to": date(2022, 3, 1)}, [10, 11, 12]),
    ({"deadline_to": date(2022, 2, 28)}, [14]),
    ({"visit_from": date(2022, 3, 1), "visit_to": date(2022, 3, 1)}, [10]),  # 23:59 on the last day is in
    ({"visit_from": date(2022, 3, 2)}, [11]),
    ({"polo": "RJ - SAO GONÇALO", "status": "late", "deadline_from": date(2022, 3, 1)}, [11]),
])
def test_service_filters(five_services, kw, expected):
    filters = ServiceFilter(**kw)
    rows, total = records.find_services(five_services, filters=filters, as_of=AS_OF)
    assert [s.id for s in rows] == expected
    assert total == len(expected)


def test_bad_filters_are_plain_errors():
    with pytest.raises(records.RecordError, match="Unknown status"):
        ServiceFilter(status="lost")
    with pytest.raises(records.RecordError, match="starts .* after it ends"):
        ServiceFilter(deadline_from=date(2022, 2, 1), deadline_to=date(2022, 1, 1))


def test_keyset_paging_boundaries(people):
    conn = people
    for i in range(1, 8):  # ids 2, 4, ..., 14: gaps, like the export
        add_service(conn, i * 2)
    page1 = records.list_services(conn, as_of=AS_OF, limit=3)
    assert [s.id for s in page1] == [2, 4, 6]
    page2 = records.list_services(conn, as_of=AS_OF, after=6, limit=3)
    assert [s.id for s in page2] == [8, 10, 12]
    page3 = records.list_services(conn, as_of=AS_OF, after=12, limit=3)
    assert [s.id for s in page3] == [14]                      # a short last page
    assert records.list_services(conn, as_of=AS_OF, after=14, limit=3) == []
    assert [s.id for s in records.list_services(conn, as_of=AS_OF, before=8, limit=3)] == [2, 4, 6]  # back
    assert [s.id for s in records.list_services(conn, as_of=AS_OF, before=6, limit=3)] == [2, 4]
    assert [s.id for s in records.list_services(conn, as_of=AS_OF, from_end=True, limit=1)] == [14]
    assert [s.id for s in records.list_services(conn, as_of=AS_OF, from_end=True, limit=3)] == [10, 12, 14]
    assert [s.id for s in records.list_services(conn, as_of=AS_OF, after=3, before=9, limit=10)] == [4, 6, 8]
    assert records.count_services(conn, as_of=AS_OF) == 7
    with pytest.raises(records.RecordError, match="page size"):
        records.list_services(conn, as_of=AS_OF, limit=0)
    all_ids = [s.id for s in records.iter_services(conn, as_of=AS_OF, batch=2)]
    assert all_ids == [2, 4, 6, 8, 10, 12, 14]


def test_customers_keyset_paging(people):
    assert [c.id for c in records.list_customers(people, limit=2)] == [1, 2]
    assert [c.id for c in records.list_customers(people, after=2, limit=2)] == [3, 4]
    assert [c.id for c in records.list_customers(people, from_end=True, limit=3)] == [2, 3, 4]
    rows, total = records.find_customers(people, filters=CustomerFilter(nome="a"), limit=2)
    assert [c.id for c in rows] == [1, 2] and total == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"angel": " "}, "The angel is required."),
    ({"polo": ""}, "The polo is required."),
    ({"data_limite": "31/02/2022"}, "not a valid date"),
    ({"data_limite": None}, "The deadline is required."),
    ({"visit": "2022-13-01 10:00"}, "not a valid date and time"),
    ({"id": -1}, "positive whole number"),
    ({"id_cliente": "abc"}, "customer id must be a whole number"),
])
def test_service_validation_messages(people, kwargs, message):
    n = len(audit_rows(people))
    with pytest.raises(records.RecordError, match=message):
        add_service(people, **{"id": 20, **kwargs})
    assert records.count_services(people, as_of=AS_OF) == 0
    assert len(audit_rows(people)) == n


def test_dates_given_as_text_are_day_first(people):
    service = add_service(people, 20, data_limite="05/03/2022", visit="04/03/2022 10:15")
    assert service.data_limite == date(2022, 3, 5)
    assert service.data_de_atendimento == datetime(2022, 3, 4, 10, 15)


def test_duplicate_service_id_suggests_the_next_free_one(five_services):
    assert records.next_service_id(five_services) == 15
    with pytest.raises(records.RecordError, match="Service 12 already exists .the next free id is 15"):
        add_service(five_services, 12)


def test_unknown_customer_is_offered_as_a_stub(people):
    with pytest.raises(records.UnknownCustomer, match="There is no customer 99") as exc:
        add_service(people, 20, id_cliente=99)
    assert exc.value.id_cliente == 99
    assert records.get_customer(people, id=99) is None
    add_service(people, 20, id_cliente=99, create_missing_customer=True)
    assert records.get_customer(people, id=99).is_stub
    assert [(r["entity"], r["entity_id"]) for r in audit_rows(people)[-2:]] == [("customer", "99"),
                                                                             ("service", "20")]


def test_a_far_visit_needs_confirmation(people):
    with pytest.raises(records.FarVisit, match="366 days after the deadline") as exc:
        add_service(people, 20, data_limite=date(2022, 1, 1), visit=datetime(2023, 1, 2, 8, 0))
    assert exc.value.days == 366
    assert records.count_services(people, as_of=AS_OF) == 0
    add_service(people, 20, data_limite=date(2022, 1, 1), visit=datetime(2023, 1, 2, 8, 0),
                confirm_far_visit=True)
    add_service(people, 21, data_limite=date(2022, 1, 1), visit=datetime(2022, 12, 31, 8, 0))  # 364 days: fine
    assert records.count_services(people, as_of=AS_OF) == 2


def test_correcting_the_visit_changes_the_status_and_audits_before_after(five_services):
    conn = five_services
    service = records.update_service(conn, as_of=AS_OF, actor=ANALYST, id=11, id_cliente=1, angel="Pedro Wanderley de",
                                     polo="RJ - SAO GONÇALO", data_limite=date(2022, 3, 1),
                                     data_de_atendimento=datetime(2022, 3, 1, 9, 0))
    assert service.status == "on_time"
    row = audit_rows(conn)[-1]
    assert (row["action"], row["entity"], row["entity_id"]) == ("update", "service", "11")
    assert row["before"]["data_de_atendimento"] == "2022-03-02T00:00:00"
    assert row["after"]["data_de_atendimento"] == "2022-03-01T09:00:00"
    [entry], total = find_audit(conn, filters=AuditFilter(entity="service", entity_id=11, action="update"))
    assert total == 1
    assert entry.changes() == {"data_de_atendimento": ("2022-03-02T00:00:00", "2022-03-01T09:00:00")}


def test_failed_service_update_changes_nothing(five_services):
    conn = five_services
    n = len(audit_rows(conn))
    with pytest.raises(records.UnknownCustomer):
        records.update_service(conn, as_of=AS_OF, actor=ANALYST, id=11, id_cliente=77, angel="X", polo="Y",
                               data_limite=date(2022, 3, 1), data_de_atendimento=None)
    with pytest.raises(records.NotFound, match="There is no service 999"):
        records.update_service(conn, as_of=AS_OF, actor=ANALYST, id=999, id_cliente=1, angel="X", polo="Y",
                               data_limite=date(2022, 3, 1))
    service = records.get_service(conn, as_of=AS_OF, id=11)
    assert (service.angel, service.polo, service.id_cliente) == ("Pedro Wanderley de", "RJ - SAO GONÇALO", 1)
    assert len(audit_rows(conn)) == n


def test_audit_row_is_in_the_same_transaction_as_the_change(db):
    # a change whose transaction rolls back leaves no audit row either
    with pytest.raises(RuntimeError):
        with db.begin() as conn:
            add_customer(conn, 5, "Rolled Back")
            assert len(audit_rows(conn)) == 1
            raise RuntimeError("abort")
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE entity = 'customer'")) == 0


def test_choices_and_audit_listing(five_services):
    conn = five_services
    assert records.service_choices(conn) == {
        "polos": ["PR - FOZ DO IGUAÇU", "RJ - SAO GONÇALO"],
        "angels": ["Ana Lima da", "Pedro Wanderley de"]}
    assert records.angels_of_polo(conn, polo="PR - FOZ DO IGUAÇU") == ["Ana Lima da"]
    anas = AuditFilter(username="ana", entity="service")
    entries, total = find_audit(conn, filters=anas, limit=2)
    assert total == 5 and [e.entity_id for e in entries] == ["14", "13"]  # newest first
    older = list_audit(conn, filters=anas, after=entries[-1].id, limit=2)
    assert [e.entity_id for e in older] == ["12", "11"]
    assert [e.entity_id for e in list_audit(conn, filters=anas, before=older[0].id, limit=10)] == ["14", "13"]
    assert [e.entity_id for e in list_audit(conn, filters=anas, from_end=True, limit=2)] == ["11", "10"]
    # today: 3 customers, 5 services and the admin were created
    assert count_audit(conn, filters=AuditFilter(since=date.today(), until=date.today())) == 9
    assert count_audit(conn, filters=AuditFilter(until=date(2000, 1, 1))) == 0


# --- CLI -------------------------------------------------------------------------------------------

def test_cli_finds_services_and_customers_with_keyset_paging(five_services, capsys):
    from core.cli import main

    five_services.commit()  # the CLI reads through its own connection
    assert main(["services", "--polo", "RJ - SAO GONÇALO", "--limit", "2"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == '"id";"id_cliente";"angel";"polo";"data_limite";"data_de_atendimento";"status"'
    assert [line.split(";")[0] for line in out.splitlines()[1:]] == ["10", "11"]  # numbers unquoted
    assert err.splitlines()[-1] == "2 of 3 shown; next page: --after 11"  # after the JSON log lines
    assert main(["services", "--polo", "RJ - SAO GONÇALO", "--after", "11"]) == 0
    out, err = capsys.readouterr()
    assert [line.split(";")[0] for line in out.splitlines()[1:]] == ["12"] and err.splitlines()[-1] == "1 of 3 shown"
    assert main(["customers", "--name", "CONCEICAO"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[1] == '2;"Joana Conceição";"JOANA@Example.com";"1134567890";False'
    assert main(["audit", "--entity", "service", "--limit", "1"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1].split(";")[3:] == ['"create"', '"service"', '"14"', '""']
    assert err.splitlines()[-1] == "1 of 5 shown"
    assert main(["services", "--deadline-from", "2022-03-02", "--deadline-to", "2022-03-01"]) == 2
    assert "starts (2022-03-02) after it ends" in capsys.readouterr().err


def test_a_refused_write_answers_a_plain_message_without_the_values(conn):
    from core import records

    with pytest.raises(records.RecordError) as caught:  # telefone breaks its CHECK; the driver's text names the row
        records._write(conn, "INSERT INTO customers (id, nome, telefone) VALUES (:id, :nome, :tel)",
                       {"id": 77, "nome": "Maria Segredo", "tel": "12"})
    assert "Maria Segredo" not in str(caught.value) and "12" not in str(caught.value)
    assert str(caught.value).startswith("The database refused the change")
