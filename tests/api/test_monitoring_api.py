"""Health without a token, metrics for admins with per-route timings, the request log, bad input."""
from __future__ import annotations

import json
import logging

import pytest


def test_health_needs_no_token_and_says_only_the_status(client, db, admin, monkeypatch):
    answer = client.get("/v1/health")
    # No PostgreSQL version, user, socket, PID, data dir or disk for anyone without a token.
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    checks = {c["name"]: c["ok"] for c in client.get("/v1/metrics", headers=admin).json()["checks"]}
    assert checks["database reachable"] and checks["migrations current"]  # the details: admins only
    from core import operations

    failing = operations.Check("database reachable", False, "PostgreSQL 18 at postgres@/run/secret (pid 42)")
    monkeypatch.setattr(operations, "health", lambda settings, engine: [failing])
    answer = client.get("/v1/health")
    assert (answer.status_code, answer.json()) == (503, {"status": "failing"})


def test_metrics_give_totals_loads_and_per_route_percentiles(client, admin, viewer):
    for _ in range(3):
        assert client.get("/v1/services/1", headers=viewer).status_code == 404
    assert client.get("/v1/metrics", headers=viewer).status_code == 403
    metrics = client.get("/v1/metrics", headers=admin).json()
    assert metrics["totals"]["services"] == 0 and metrics["loads"] == []
    route = next(r for r in metrics["routes"] if r["route"] == "GET /v1/services/{id}")
    assert route["count"] >= 3 and route["p50_ms"] <= route["p95_ms"]
    assert {"cpus", "memory_total", "process_memory"} <= set(metrics["host"])


def test_each_request_is_one_json_line_without_personal_data(client, viewer, capsys):
    from core import telemetry

    stream = __import__("io").StringIO()
    telemetry.configure_logging("INFO", stream=stream)
    try:
        client.get("/v1/customers?nome=Maria Silva&email=maria@example.com", headers=viewer)
    finally:
        telemetry.configure_logging("INFO", stream=__import__("sys").stderr)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    entry = next(e for e in lines if e.get("route") == "/v1/customers")
    assert {k: entry[k] for k in ("method", "route", "status", "user")} == {
        "method": "GET", "route": "/v1/customers", "status": 200, "user": "vic.viewer"}
    assert isinstance(entry["duration_ms"], float)
    assert "Maria" not in stream.getvalue() and "maria@example.com" not in stream.getvalue()


@pytest.mark.parametrize("method, path, field", [
    ("GET", "/v1/services?limit=abc", "limit"),
    ("GET", "/v1/services?limit=5000", "limit"),
    ("GET", "/v1/services?data_limite=2022-02-30", "data_limite"),
    ("GET", "/v1/services?data_de_atendimento=yesterday", "data_de_atendimento"),
    ("GET", "/v1/services?status=lost", "status"),
    ("GET", "/v1/services/abc", "id"),
    ("GET", "/v1/services/99999999999999999999999", "id"),
    ("GET", "/v1/customers?id=-3", "id"),
    ("GET", "/v1/jobs/abc", "job_id"),
])
def test_bad_input_is_422_naming_the_field_never_500(client, analyst, method, path, field):
    answer = client.request(method, path, headers=analyst)
    assert answer.status_code == 422 and answer.json()["error"].startswith(field), answer.text


@pytest.mark.parametrize("body, field", [
    ({"polo": "P", "data_limite": "2022-03-10", "id_cliente": 1}, "angel"),
    ({"angel": "A", "polo": "P", "data_limite": "2022-02-30", "id_cliente": 1}, "data_limite"),
    ({"angel": "A", "polo": "P", "data_limite": "2022-03-10", "id_cliente": "x"}, "id_cliente"),
    ({"angel": "A", "polo": "P", "data_limite": "2022-03-10", "id_cliente": 0}, "id_cliente"),
    ({"angel": "A", "polo": "P", "data_limite": "2022-03-10", "id_cliente": 2**70}, "id_cliente"),
])
def test_bad_bodies_are_422_with_a_message(client, analyst, body, field):
    answer = client.post("/v1/services", json=body, headers=analyst)
    assert answer.status_code == 422 and answer.json()["error"].startswith(field), answer.text


def test_an_invalid_json_body_and_an_unknown_route(client, analyst):
    broken = client.post("/v1/customers", content=b"{nome:", headers={**analyst, "content-type": "application/json"})
    assert broken.status_code == 422 and "error" in broken.json()
    assert client.get("/v1/nothing", headers=analyst).json()["error"].startswith("There is no route")


def test_an_unexpected_error_is_a_plain_500_without_a_trace(client, viewer, monkeypatch):
    from core import records

    def broken(conn, **kwargs):
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(records, "get_service", broken)
    answer = client.get("/v1/services/1", headers=viewer)
    assert answer.status_code == 500
    assert answer.json() == {"error": "Something went wrong on the server; it was logged. Try again, or tell an admin."}
