"""The original API's contract (tests/api/original_openapi.yaml) holds against ours, and ours is documented."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ADMIN_PASSWORD, wait_for_loads

ORIGINAL = yaml.safe_load((Path(__file__).with_name("original_openapi.yaml")).read_text())
OPERATIONS = [(method.upper(), path, spec) for path, methods in ORIGINAL["paths"].items()
              for method, spec in methods.items()]


def _body(spec: dict):
    content = (spec.get("requestBody") or {}).get("content", {})
    examples = content.get("application/json", {}).get("examples", {})
    return next(iter(examples.values()))["value"] if examples else None


# The original's examples that the product answers with an error, on purpose.
EXPECTED = {
    "POST /v1/auth/register": 403,     # ALLOW_SIGNUP is off by default (and '123123' is too short)
    "POST /v1/auth/login": 401,        # admin/123123 is not the admin's password
    "PUT /v1/customers/1": 422,        # the example's phone '888888888' has 9 digits, not 10-11
    "DELETE /v1/customers/1": 409,     # customer 1 still has service 1: deleting it needs with_services
}


def test_the_original_has_the_routes_we_expect():
    assert len(OPERATIONS) == 21


@pytest.mark.parametrize("method, path, spec", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_original_route_answers_its_example(client, db, method, path, spec):
    login = client.post("/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    token = login["refresh_token"] if path == "/v1/auth/refresh" else login["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    # the customer and service the original's examples point at (/v1/customers/1, /v1/services/1)
    client.post("/v1/customers", json={"id": 1, "nome": "teste0"}, headers=headers)
    client.post("/v1/services", json={"id": 1, "id_cliente": 1, "angel": "A", "polo": "RJ",
                                      "data_limite": "2024-05-22"}, headers=headers)
    kwargs = {"headers": headers}
    if spec.get("parameters"):
        kwargs["params"] = {p["name"]: p["schema"]["example"] for p in spec["parameters"]}
    if "multipart/form-data" in (spec.get("requestBody") or {}).get("content", {}):
        line = (b"2;1;A;RJ;22/05/2024;-\n" if "services" in path else b"2;teste2;t2@example.com;2199998888\n")
        kwargs["files"] = {"file": ("batch.csv", line, "text/csv")}
    elif _body(spec) is not None:
        kwargs["json"] = _body(spec)
    answer = client.request(method, path, **kwargs)
    assert answer.status_code == EXPECTED.get(f"{method} {path}", answer.status_code), answer.text
    assert answer.status_code in {200, 201, 202} or f"{method} {path}" in EXPECTED, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    if answer.status_code == 202:  # a batch load runs on in the background: let it end before the next test
        wait_for_loads(db)


def test_every_route_is_documented_with_a_summary_its_errors_and_examples(client):
    spec = client.get("/openapi.json").json()
    ours = {(m.upper(), p) for p, ms in spec["paths"].items() for m in ms}
    originals = {(m, p.replace("/1", "/{id}")) for m, p, _ in OPERATIONS}
    assert originals <= ours
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op.get("summary"), (method, path)
            codes = set(op["responses"])
            assert codes - {"200", "201", "202"}, f"{method} {path} documents no error answer"
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
                assert schema.get("examples"), f"{method} {path} has no example body"
            for code, answer in op["responses"].items():
                content = answer.get("content", {}).get("application/json", {})
                ref = content.get("schema", {}).get("$ref")
                example = content.get("example") or (ref and spec["components"]["schemas"][ref.rsplit("/", 1)[1]].get("examples"))
                assert example or not content.get("schema"), f"{method} {path} {code} has no example answer"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text  # works without internet
    script = docs.text.split('<script src="')[1].split('"')[0]
    assert client.get(script).status_code == 200
