"""Ids of records created without one, concurrent creates, taken ids and emails, stub customers."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from core import records
from core.accounts import Actor, PermissionDenied
from core.records import ServiceFilter
from tests.concurrency import wait_until_blocked

ANALYST = Actor("ana", "analyst")
VIEWER = Actor("vera", "viewer")
AS_OF = date(2022, 3, 10)  # the day statuses are as of


def new_service(conn, id=None, id_cliente=1, **kw):
    values = {"angel": "Pedro Wanderley de", "polo": "RJ - SAO GONÇALO", "data_limite": date(2022, 3, 1), **kw}
    return records.create_service(conn, as_of=AS_OF, actor=ANALYST, id=id, id_cliente=id_cliente,
                                  create_missing_customer=True, **values)


def audit_of(conn, entity):
    return conn.execute(sa.text("SELECT entity_id, after FROM audit_log WHERE entity = :e ORDER BY id"),
                        {"e": entity}).all()


# --- next free id ----------------------------------------------------------------------------------

def test_a_service_without_id_gets_the_next_free_one_above_every_existing_id(conn):
    assert new_service(conn).id == 1
    assert new_service(conn).id == 2
    assert new_service(conn, id=500).id == 500                     # explicit, as the operation's export
    assert new_service(conn).id == 501                             # above it, not 3
    conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
                         "VALUES (9000, 1, 'A', 'P', '2022-03-01')"))  # as a file load writes
    assert new_service(conn).id == 9001
    assert [r.entity_id for r in audit_of(conn, "service")] == ["1", "2", "500", "501", "9001"]
    assert audit_of(conn, "service")[-1].after == {
        "id": 9001, "id_cliente": 1, "angel": "Pedro Wanderley de", "polo": "RJ - SAO GONÇALO",
        "data_limite": "2022-03-01", "data_de_atendimento": None}


def test_a_customer_without_id_gets_the_next_free_one(conn):
    conn.execute(sa.text("INSERT INTO customers (id) VALUES (573670)"))  # a stub from a load
    customer = records.create_customer(conn, actor=ANALYST, nome="Ana Paula", email="ana@example.com")
    assert (customer.id, customer.nome, customer.is_stub) == (573671, "Ana Paula", False)
    assert records.create_customer(conn, actor=ANALYST, nome="Bia").id == 573672
    assert [(r.entity_id, r.after["nome"]) for r in audit_of(conn, "customer")] == [
        ("573671", "Ana Paula"), ("573672", "Bia")]


def test_the_sequences_start_again_on_an_emptied_database(conn):
    # tests/conftest.py empties with TRUNCATE ... RESTART IDENTITY: the first ids are 1 again
    assert new_service(conn, id_cliente=7).id == 1
    assert records.create_customer(conn, actor=ANALYST, nome="Carla").id == 8  # above the stub 7


def test_creates_without_id_check_roles_and_values_first(conn):
    with pytest.raises(PermissionDenied):
        records.create_customer(conn, actor=VIEWER, nome="X")
    with pytest.raises(PermissionDenied):
        records.create_service(conn, as_of=AS_OF, actor=VIEWER, id_cliente=1, angel="A", polo="P", data_limite=date(2022, 3, 1))
    with pytest.raises(records.RecordError, match="The name is required."):
        records.create_customer(conn, actor=ANALYST, nome=" ")
    with pytest.raises(records.RecordError, match="The polo is required."):
        new_service(conn, polo="")
    assert conn.scalar(sa.text("SELECT count(*) FROM services")) == 0
    assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 0
    assert audit_of(conn, "service") == [] and audit_of(conn, "customer") == []


# --- taken ids and emails ----------------------------------------------------------------------------

def test_taken_ids_and_emails_raise_their_own_errors(conn):
    records.create_customer(conn, actor=ANALYST, id=1, nome="Ana", email="ana@example.com")
    new_service(conn, id=10)
    with pytest.raises(records.IdTaken, match="Customer 1 already exists."):
        records.create_customer(conn, actor=ANALYST, id=1, nome="Other")
    with pytest.raises(records.IdTaken, match=r"Service 10 already exists \(the next free id is 11\)."):
        new_service(conn, id=10)
    with pytest.raises(records.EmailTaken, match="The email ANA@example.com is already used by customer 1."):
        records.create_customer(conn, actor=ANALYST, nome="Ana Two", email="ANA@example.com")
    records.create_customer(conn, actor=ANALYST, id=2, nome="Bia", email="bia@example.com")
    with pytest.raises(records.EmailTaken, match="already used by customer 1"):
        records.update_customer(conn, actor=ANALYST, id=2, nome="Bia", email="ana@EXAMPLE.com")
    assert issubclass(records.IdTaken, records.RecordError) and issubclass(records.EmailTaken, records.RecordError)


def test_an_email_taken_between_the_check_and_the_write_is_email_taken(conn, monkeypatch):
    records.create_customer(conn, actor=ANALYST, nome="Ana", email="ana@example.com")
    monkeypatch.setattr(records, "_check_email_free", lambda *a, **k: None)  # as if a concurrent create won
    with pytest.raises(records.EmailTaken, match="The email ana@example.com is already used by another customer."):
        records.create_customer(conn, actor=ANALYST, nome="Ana Two", email="ana@example.com")
    with pytest.raises(records.EmailTaken):
        records.create_customer(conn, actor=ANALYST, id=5, nome="Ana Two", email="ana@example.com")
    assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 1  # the transaction is still usable


def test_an_id_taken_by_a_transaction_not_yet_committed_is_id_taken(db):
    with db.begin() as conn:
        records.create_customer(conn, actor=ANALYST, id=1, nome="Ana")
    holder = db.connect()
    holder.begin()
    new_service(holder, id=50)                       # not committed yet: invisible to the check
    with ThreadPoolExecutor(1) as pool:
        def create():
            with db.begin() as conn:
                return new_service(conn, id=50, angel="Other")
        future = pool.submit(create)
        wait_until_blocked(db)                       # the insert waits on the primary key
        holder.commit()
        with pytest.raises(records.IdTaken, match="The id 50 is already taken."):
            future.result(timeout=10)
    holder.close()


# --- stub customers ------------------------------------------------------------------------------

def test_ensure_customer_creates_a_stub_once_audited(conn):
    assert records.ensure_customer(conn, actor=ANALYST, id=77) is True
    assert records.ensure_customer(conn, actor=ANALYST, id="77") is False
    stub = records.get_customer(conn, id=77)
    assert (stub.nome, stub.is_stub) == (None, True)
    assert [tuple(r) for r in audit_of(conn, "customer")] == [
        ("77", {"id": 77, "nome": None, "email": None, "telefone": None})]
    with pytest.raises(PermissionDenied):
        records.ensure_customer(conn, actor=VIEWER, id=78)
    with pytest.raises(records.RecordError, match="positive whole number"):
        records.ensure_customer(conn, actor=ANALYST, id=0)


def test_two_clients_creating_services_for_the_same_new_customer_both_succeed(db):
    holder = db.connect()
    holder.begin()
    new_service(holder, id_cliente=4242)             # creates the stub, not committed yet
    with ThreadPoolExecutor(1) as pool:
        def create():
            with db.begin() as conn:
                return new_service(conn, id_cliente=4242)
        future = pool.submit(create)
        wait_until_blocked(db)                       # the second stub insert waits for the first
        holder.commit()
        second = future.result(timeout=10)
    holder.close()
    with db.connect() as conn:
        assert second.id_cliente == 4242
        assert [s.id for s in records.list_services(conn, as_of=AS_OF)] == [1, 2]
        assert [r.entity_id for r in audit_of(conn, "customer")] == ["4242"]  # one stub, audited once


# --- filters ------------------------------------------------------------------------------------------

def test_visit_at_matches_the_exact_visit_timestamp(conn):
    new_service(conn, data_de_atendimento=datetime(2022, 3, 1, 9, 9, 30))
    new_service(conn, data_de_atendimento=datetime(2022, 3, 1, 9, 9, 31))
    new_service(conn, data_de_atendimento=None)
    found = records.list_services(conn, as_of=AS_OF, filters=ServiceFilter(visit_at=datetime(2022, 3, 1, 9, 9, 30)))
    assert [s.id for s in found] == [1]
    assert records.count_services(conn, as_of=AS_OF, filters=ServiceFilter(visit_at=datetime(2022, 3, 1, 9, 9))) == 0
    assert records.count_services(conn, as_of=AS_OF, filters=ServiceFilter(
        visit_at=datetime(2022, 3, 1, 9, 9, 31), visit_from=date(2022, 3, 1), visit_to=date(2022, 3, 1))) == 1


# --- concurrency ---------------------------------------------------------------------------------------

THREADS, CREATES = 8, 50


def test_concurrent_creates_without_id_lose_nothing_and_never_collide(db):
    """8 clients x 50 creates, each in its own transaction: 400 services with ids 1..400 (sharing 5
    new customers, created as stubs by whoever comes first), and 8 x 10 customers."""
    with db.begin() as conn:  # new customers get ids above 500000, clear of the stubs' 100..104
        records.create_customer(conn, actor=ANALYST, id=500_000, nome="First")
    start = threading.Barrier(THREADS)

    def client(n):
        start.wait()
        ids = []
        for i in range(CREATES):
            with db.begin() as conn:
                ids.append(new_service(conn, id_cliente=100 + i % 5, angel=f"Angel {n}").id)
            if i % 5 == 0:
                with db.begin() as conn:
                    records.create_customer(conn, actor=ANALYST, nome=f"Client {n}-{i}")
        return ids

    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        ids = [id for result in pool.map(client, range(THREADS)) for id in result]
    seconds = time.perf_counter() - began
    print(f"\n{len(ids)} service creates + {THREADS * 10} customer creates by {THREADS} clients "
          f"in {seconds:.2f} s: {(len(ids) + THREADS * 10) / seconds:.0f} creates/s")
    with db.connect() as conn:
        stored = list(conn.scalars(sa.text("SELECT id FROM services ORDER BY id")))
        assert sorted(ids) == stored == list(range(1, THREADS * CREATES + 1))
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE entity = 'service'")) == 400
        assert list(conn.scalars(sa.text("SELECT id FROM customers WHERE is_stub ORDER BY id"))) == [
            100, 101, 102, 103, 104]
        real = list(conn.scalars(sa.text("SELECT id FROM customers WHERE NOT is_stub AND id > 500000")))
        assert sorted(real) == list(range(500_001, 500_001 + THREADS * 10))
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE entity = 'customer'")) == 1 + 5 + 80
        assert conn.scalar(sa.text("SELECT sum(total) FROM sla_polo_daily")) == 400  # rollups kept exact


def test_an_explicit_high_id_inserted_meanwhile_moves_the_next_ids_above_it(db):
    half = threading.Barrier(THREADS + 1)
    resume = threading.Barrier(THREADS + 1)

    def client(n):
        before, after = [], []
        for ids in (before, after):
            for _ in range(CREATES // 2):
                with db.begin() as conn:
                    ids.append(new_service(conn, angel=f"Angel {n}").id)
            if ids is before:
                half.wait()
                resume.wait()
        return before, after

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(client, n) for n in range(THREADS)]
        half.wait()                                  # every client made 25
        with db.begin() as conn:                     # another client (or a load) takes a high id
            new_service(conn, id=1_000_000)
        resume.wait()
        results = [f.result() for f in futures]
    before = sorted(id for b, _ in results for id in b)
    after = sorted(id for _, a in results for id in a)
    assert before == list(range(1, THREADS * CREATES // 2 + 1))
    assert len(set(after)) == len(after) == THREADS * CREATES // 2 and min(after) > 1_000_000
    with db.begin() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM services")) == THREADS * CREATES + 1
        assert new_service(conn).id == max(after) + 1
