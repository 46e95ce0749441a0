"""Customers and services through the API: the original's keys, filters, paging, ids, conflicts."""
from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from tests.core.test_indicators import insert_services


def test_create_read_update_delete_a_customer(client, analyst, admin):
    created = client.post("/v1/customers", json={"nome": "Tara Jones", "email": "tara@example.com",
                                                 "telefone": "(21) 99876-5432"}, headers=analyst)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer == {"id": 1, "nome": "Tara Jones", "email": "tara@example.com",
                        "telefone": "21998765432", "is_stub": False}
    assert client.get("/v1/customers/1", headers=analyst).json() == customer
    changed = client.put("/v1/customers/1", json={"telefone": "2188888888"}, headers=analyst)
    assert changed.status_code == 200
    assert changed.json() == {**customer, "telefone": "2188888888"}  # fields left out keep their value
    assert client.delete("/v1/customers/1", headers=analyst).status_code == 403
    assert client.delete("/v1/customers/1", headers=admin).json() == {
        "message": "Customer 1 deleted.", "services_deleted": 0}
    assert client.get("/v1/customers/1", headers=admin).status_code == 404


def test_customers_without_id_take_the_next_free_id_and_conflicts_answer_409(client, analyst):
    assert client.post("/v1/customers", json={"id": 41, "nome": "A"}, headers=analyst).status_code == 201
    assert client.post("/v1/customers", json={"nome": "B", "email": "b@example.com"},
                       headers=analyst).json()["id"] == 42
    taken_id = client.post("/v1/customers", json={"id": 41, "nome": "C"}, headers=analyst)
    assert taken_id.status_code == 409 and "41" in taken_id.json()["error"]
    taken_email = client.post("/v1/customers", json={"nome": "D", "email": "B@example.com"}, headers=analyst)
    assert taken_email.status_code == 409 and "b@example.com" in taken_email.json()["error"].lower()
    assert client.get("/v1/customers/total", headers=analyst).json() == {"total": 2}


def test_a_customer_with_services_is_deleted_only_with_them(client, admin, db):
    with db.begin() as conn:
        insert_services(conn)  # 10 services of customer 1
    refused = client.delete("/v1/customers/1", headers=admin)
    assert refused.status_code == 409 and "10 services" in refused.json()["error"]
    assert client.delete("/v1/customers/1?with_services=true", headers=admin).json() == {
        "message": "Customer 1 deleted.", "services_deleted": 10}
    assert client.get("/v1/services/total", headers=admin).json() == {"total": 0}


def test_the_originals_example_service_creates_a_stub_customer_and_says_so(client, analyst):
    body = {"angel": "teste123", "data_de_atendimento": "2024-03-21 00:00:00", "data_limite": "2024-05-22",
            "id_cliente": 2, "polo": "RJ"}
    first = client.post("/v1/services", json=body, headers=analyst)
    assert first.status_code == 201, first.text
    assert first.json() == {"id": 1, "id_cliente": 2, "angel": "teste123", "polo": "RJ",
                            "data_limite": "2024-05-22", "data_de_atendimento": "2024-03-21 00:00:00",
                            "status": "on_time", "stub_customer_created": True}
    second = client.post("/v1/services", json=body, headers=analyst).json()
    assert (second["id"], second["stub_customer_created"]) == (2, False)
    assert client.get("/v1/customers/2", headers=analyst).json() == {
        "id": 2, "nome": None, "email": None, "telefone": None, "is_stub": True}


def test_an_explicit_service_id_is_used_and_a_taken_one_is_409(client, analyst):
    body = {"id": 500, "angel": "A", "polo": "P", "data_limite": "2022-03-10", "id_cliente": 1}
    assert client.post("/v1/services", json=body, headers=analyst).json()["id"] == 500
    taken = client.post("/v1/services", json=body, headers=analyst)
    assert taken.status_code == 409 and "500" in taken.json()["error"]
    assert client.post("/v1/services", json={**body, "id": None}, headers=analyst).json()["id"] == 501


def test_a_far_visit_needs_confirmation(client, analyst):
    body = {"angel": "A", "polo": "P", "data_limite": "2022-03-10", "data_de_atendimento": "2023-06-01 10:00:00",
            "id_cliente": 1}
    refused = client.post("/v1/services", json=body, headers=analyst)
    # 409, not 422: the body is valid (the schema cannot say "confirm"); it conflicts with a rule
    assert refused.status_code == 409 and "448 days after the deadline" in refused.json()["error"]
    assert client.get("/v1/services/total", headers=analyst).json() == {"total": 0}  # nothing written
    assert client.post("/v1/services", json={**body, "confirm_far_visit": True},
                       headers=analyst).status_code == 201


def test_updating_a_service_keeps_what_is_not_sent_and_null_clears_the_visit(client, analyst, db):
    with db.begin() as conn:
        insert_services(conn)
    moved = client.put("/v1/services/3", json={"polo": "RN"}, headers=analyst).json()
    assert (moved["polo"], moved["angel"], moved["data_de_atendimento"]) == ("RN", "Ana Souza de",
                                                                             "2022-03-11 00:01:00")
    cleared = client.put("/v1/services/3", json={"data_de_atendimento": None}, headers=analyst).json()
    assert (cleared["data_de_atendimento"], cleared["status"]) == (None, "not_visited")
    assert client.put("/v1/services/999", json={"polo": "RN"}, headers=analyst).status_code == 404


def test_service_filters_on_every_original_field_and_status(client, viewer, db):
    with db.begin() as conn:
        insert_services(conn)

    def ids(query: str) -> list[int]:
        answer = client.get(f"/v1/services?{query}", headers=viewer)
        assert answer.status_code == 200, answer.text
        return [s["id"] for s in answer.json()["atendimentos"]]

    assert ids("angel=Caio Reis") == [8, 9, 10]
    assert ids("polo=SP - CAMPINAS&data_limite=2022-03-02") == [9]
    assert ids("data_de_atendimento=2022-03-10") == [1, 2]
    assert ids("data_de_atendimento=2022-03-10 23:59:00") == [2]
    assert ids("id_cliente=1&status=not_visited") == [4, 6]
    assert ids("id=7") == [7]
    assert client.get("/v1/services/total?status=late", headers=viewer).json() == {"total": 2}


def test_pages_carry_a_keyset_cursor_with_the_same_filters(client, viewer, db):
    with db.begin() as conn:
        insert_services(conn)
    first = client.get("/v1/services?polo=RJ - SAO GONÇALO&limit=4", headers=viewer).json()
    assert [s["id"] for s in first["atendimentos"]] == [1, 2, 3, 4] and first["total_por_pagina"] == 4
    link = urlsplit(first["proxima_pagina"])
    assert parse_qs(link.query) == {"polo": ["RJ - SAO GONÇALO"], "limit": ["4"], "after": ["4"]}
    second = client.get(f"{link.path}?{link.query}", headers=viewer).json()
    assert [s["id"] for s in second["atendimentos"]] == [5, 6, 7]
    assert "proxima_pagina" not in second  # the last page has no link
    old_style = client.get("/v1/services?limit=3&offset=6", headers=viewer).json()
    assert [s["id"] for s in old_style["atendimentos"]] == [7, 8, 9]
    assert parse_qs(urlsplit(old_style["proxima_pagina"]).query) == {"limit": ["3"], "after": ["9"]}


def test_customer_filters(client, analyst):
    for body in ({"id": 10, "nome": "João da Silva", "email": "joao@example.com", "telefone": "21998765432"},
                 {"id": 11, "nome": "Maria Silveira", "email": "maria@test.org", "telefone": "1133334444"}):
        assert client.post("/v1/customers", json=body, headers=analyst).status_code == 201

    def ids(query: str) -> list[int]:
        return [c["id"] for c in client.get(f"/v1/customers?{query}", headers=analyst).json()["clientes"]]

    assert ids("nome=joao") == [10]  # accents and case ignored
    assert ids("nome=silv") == [10, 11]
    assert ids("email=test.org") == [11]
    assert ids("telefone=3333") == [11]
    assert ids("id=10") == [10]


def test_sixteen_clients_creating_at_once_lose_nothing(client, analyst, db):
    created: list[int] = []
    failures: list[str] = []

    def work(n: int) -> None:
        for i in range(10):
            answer = client.post("/v1/services", json={
                "angel": f"Angel {n}", "polo": "RJ", "data_limite": "2022-03-10", "id_cliente": 1 + i % 3},
                headers=analyst)
            if answer.status_code == 201:
                created.append(answer.json()["id"])
            else:
                failures.append(answer.text)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(created) == list(range(1, 161))
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(DISTINCT id) FROM services")) == 160
        assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 3
