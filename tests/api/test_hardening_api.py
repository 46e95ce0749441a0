"""The API's second hardening round (issue 21): bodies, text, numbers, dates, methods, headers, names."""
from __future__ import annotations

import re
from datetime import date

import anyio
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from pydantic import TypeAdapter, ValidationError

from tests.api.test_loads_api import SERVICES
from tests.conftest import wait_for_loads

NUL = "\x00"


def asgi(method: str, path: str, chunks: list[bytes], headers: dict[str, str] | None = None) -> tuple[int, int, dict]:
    """Send a request to the app by hand, its body in `chunks` (as a chunked upload arrives): (status,
    how many body chunks the app read, the answer's headers)."""
    from api.main import app

    sent, status, answer_headers = 0, None, {}
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        nonlocal sent
        if sent < len(messages):
            sent += 1
            return messages[sent - 1]
        await anyio.sleep(3600)  # the client waits (it never disconnects first)

    async def send(message):
        nonlocal status, answer_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers = {k.decode(): v.decode() for k, v in message["headers"]}

    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path, "raw_path": path.encode(),
             "root_path": "", "scheme": "http", "query_string": b"", "server": ("testserver", 80),
             "client": ("127.0.0.1", 5000), "headers": [(k.lower().encode(), v.encode())
                                                        for k, v in (headers or {}).items()]}

    async def run():
        with anyio.fail_after(30):
            await app(scope, receive, send)

    anyio.run(run)
    return status, sent, answer_headers


def multipart(size: int, boundary: str = "b0undary") -> list[bytes]:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    line = b"1;10;Ana Souza;RJ;10/03/2022;-\n" * 2048
    return [head, *[line] * (size // len(line) + 1), f"\r\n--{boundary}--\r\n".encode()]


# --- 1. bodies ------------------------------------------------------------------------------------

def test_a_large_json_body_is_413_whatever_its_length_header_says(client, analyst, db):
    big = b'{"nome": "' + b"x" * 70_000 + b'"}'
    declared = client.post("/v1/customers", content=big, headers={"Content-Type": "application/json"})
    assert (declared.status_code, declared.json()) == (413, {"error": "The body is larger than 64 KB."})
    chunked = client.post("/v1/customers", content=iter([big[:40_000], big[40_000:]]),
                          headers={**analyst, "Content-Type": "application/json"})  # no Content-Length
    assert chunked.status_code == 413 and "Content-Length" not in chunked.request.headers
    status, read, _ = asgi("POST", "/v1/customers", [b"x" * 16_384] * 100, {"content-type": "application/json"})
    assert status == 413 and read == 5  # cut after 64 KB of the 1.6 MB, before any token check
    assert client.get("/v1/customers/total", headers=analyst).json() == {"total": 0}


def test_a_batch_route_checks_the_token_and_role_before_it_reads_a_byte(client, viewer, db, settings):
    boundary = {"content-type": "multipart/form-data; boundary=b0undary"}
    assert asgi("POST", "/v1/services/batch", multipart(2_000_000), boundary)[:2] == (401, 0)
    viewer_header = {"authorization": viewer["Authorization"]}
    assert asgi("POST", "/v1/customers/batch", multipart(2_000_000), {**boundary, **viewer_header})[:2] == (403, 0)
    assert not list((settings.data_dir / "uploads").glob("upload-*"))  # nothing spooled either


def test_a_file_over_upload_max_mb_is_413_counted_as_it_arrives(client, analyst, db, settings, api_settings):
    api_settings(upload_max_mb=1)
    headers = {"content-type": "multipart/form-data; boundary=b0undary", "authorization": analyst["Authorization"]}
    status, read, _ = asgi("POST", "/v1/services/batch", multipart(3_000_000), headers)
    assert status == 413 and read < 30  # of the ~50 chunks: stopped past 1 MB
    declared = client.post("/v1/services/batch", content=b"x" * 10,
                           headers={**analyst, "Content-Length": str(2_000_000), **{
                               "Content-Type": "multipart/form-data; boundary=b0undary"}})
    assert declared.status_code == 413
    assert not list((settings.data_dir / "uploads").glob("upload-*"))  # the part received was deleted


@pytest.mark.parametrize("body, content_type", [
    (b"\xff\xfe{\x00", "application/json"), (b'{"nome": "\xe9"}', "application/json"), (b"{nome:", "application/json"),
])
def test_a_body_that_cannot_be_read_is_422_only_after_the_token_and_role(client, analyst, viewer, body, content_type):
    headers = {"Content-Type": content_type}
    assert client.post("/v1/customers", content=body, headers=headers).status_code == 401
    assert client.post("/v1/customers", content=body, headers={**headers, **viewer}).status_code == 403
    answer = client.put("/v1/customers/1", content=body, headers={**headers, **analyst})
    assert (answer.status_code, answer.json()) == (422, {"error": "The body is not JSON in UTF-8; send the fields "
                                                                  "as a JSON object."})


@pytest.mark.parametrize("body, content_type", [
    (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n1;2", None),
    (b"not multipart at all", None),
    (b"id;nome\n", "text/csv"),
    (b"--b0undary\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b0undary--\r\n", None),
])
def test_a_broken_multipart_is_422_only_after_the_token(client, analyst, db, settings, body, content_type):
    headers = {"Content-Type": content_type or "multipart/form-data; boundary=b0undary"}
    assert client.post("/v1/services/batch", content=body, headers=headers).status_code == 401
    answer = client.post("/v1/services/batch", content=body, headers={**headers, **analyst})
    assert answer.status_code == 422 and "multipart/form-data" in answer.json()["error"], answer.text
    assert not list((settings.data_dir / "uploads").glob("upload-*"))


# --- 6. control characters ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/v1/customers?nome=a%00", "/v1/customers?email=a%00", "/v1/customers?telefone=21%00",
    "/v1/customers/total?nome=%00", "/v1/services?angel=A%00", "/v1/services?polo=%00RJ", "/v1/services/total?polo=%00",
    "/v1/indicators/sla/polo?polo=RJ%00", "/v1/indicators/sla/angel?angel=%00", "/v1/indicators/productivity?polo=%00",
])
def test_a_nul_in_a_query_is_422_naming_it(client, viewer, path):
    answer = client.get(path, headers=viewer)
    field = path.split("?")[1].split("=")[0]
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith(f"{field}: The value has a control character"), answer.text


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/v1/customers", {"nome": f"Ana{NUL}"}),
    ("POST", "/v1/customers", {"nome": "Ana", "email": f"ana{NUL}@example.com"}),
    ("POST", "/v1/customers", {"nome": "Ana", "telefone": f"2198765432{NUL}1"}),
    ("PUT", "/v1/customers/1", {"nome": f"\tAna"}),
    ("POST", "/v1/services", {"id_cliente": 1, "angel": f"A{NUL}", "polo": "RJ", "data_limite": "2022-03-10"}),
    ("PUT", "/v1/services/1", {"polo": f"RJ{NUL}"}),
    ("POST", "/v1/services", {"id_cliente": 1, "angel": "A", "polo": "RJ", "data_limite": f"2022-03-10{NUL}"}),
    ("POST", "/v1/auth/login", {"username": f"admin{NUL}", "password": "x"}),
    ("POST", "/v1/auth/login", {"username": "admin", "password": f"x{NUL}"}),
    ("POST", "/v1/auth/register", {"username": f"ana{NUL}", "password": "a long passphrase"}),
    ("POST", "/v1/auth/register", {"username": "ana", "password": "a long passphrase", "email": f"a{NUL}@b.co"}),
])
def test_a_nul_in_a_body_is_422_naming_the_field_and_writes_nothing(client, analyst, db, method, path, body):
    answer = client.request(method, path, json=body, headers=analyst)
    field = next(k for k, v in body.items() if isinstance(v, str) and (NUL in v or "\t" in v))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith(f"{field}: "), answer.text
    assert client.get("/v1/customers/total", headers=analyst).json() == {"total": 0}


def test_a_lone_surrogate_is_refused_like_a_control_character(client, analyst):
    answer = client.post("/v1/customers", content=b'{"nome": "Ana\\ud800"}',
                         headers={**analyst, "Content-Type": "application/json"})
    assert answer.status_code == 422 and "control character" in answer.json()["error"]


def test_texts_longer_than_their_limit_are_422(client, analyst):
    answer = client.post("/v1/customers", json={"nome": "A" * 201}, headers=analyst)
    assert answer.status_code == 422 and answer.json()["error"].startswith("nome: The value is too long: 201")
    assert client.get("/v1/services?polo=" + "P" * 201, headers=analyst).status_code == 422
    assert client.post("/v1/customers", json={"nome": "A" * 200}, headers=analyst).status_code == 201


# --- 7. numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/customers", "/v1/services"])
def test_numbers_out_of_range_are_422_before_any_sql(client, viewer, path):
    assert client.get(f"{path}?offset=9223372036854775808", headers=viewer).status_code == 422
    assert client.get(f"{path}?offset=9007199254740991", headers=viewer).status_code == 200  # 2^53 - 1
    assert client.get(f"{path}?offset=9007199254740992", headers=viewer).status_code == 422
    assert client.get(f"{path}?after=9223372036854775808", headers=viewer).status_code == 422
    assert client.get(f"{path}?id=9223372036854775808", headers=viewer).status_code == 422
    assert client.get(f"{path}/9223372036854775808", headers=viewer).status_code == 422


# --- 13. the contract -----------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["start_date=0", "end_date=1700000000", "start_date=2022-3-1",
                                   "start_date=20220301", "end_date=2101-01-01", "start_date=2023-02-29"])
def test_a_date_parameter_takes_only_a_day_written_yyyy_mm_dd(client, viewer, query):
    assert client.get(f"/v1/indicators/sla/angel?{query}", headers=viewer).status_code == 422
    field = query.split("=")[0].replace("start_date", "deadline_from").replace("end_date", "deadline_to")
    assert client.get(f"/v1/services?{field}={query.split('=')[1]}", headers=viewer).status_code == 422


def test_a_range_that_ends_before_it_starts_is_empty_not_an_error(client, viewer, db):
    assert client.get("/v1/indicators/sla/polo?start_date=2022-04-01&end_date=2022-03-01",
                      headers=viewer).json() == {"sla_polo": []}
    assert client.get("/v1/services?deadline_from=2022-04-01&deadline_to=2022-03-01",
                      headers=viewer).json() == {"atendimentos": [], "total_por_pagina": 0}
    assert client.get("/v1/services/total?deadline_from=2022-04-01&deadline_to=2022-03-01",
                      headers=viewer).json() == {"total": 0}


def test_ids_in_bodies_are_json_integers(client, analyst, db):
    base = {"angel": "A", "polo": "RJ", "data_limite": "2022-03-10"}
    for bad in ("2", True, 2.5, 0):
        answer = client.post("/v1/services", json={**base, "id_cliente": bad}, headers=analyst)
        assert answer.status_code == 422 and answer.json()["error"].startswith("id_cliente"), (bad, answer.text)
    assert client.post("/v1/services", json={**base, "id_cliente": 2.0}, headers=analyst).status_code == 201


def test_status_and_kinds_are_enums_in_the_schema(client):
    spec = client.get("/openapi.json").json()
    status = next(p for p in spec["paths"]["/v1/services"]["get"]["parameters"] if p["name"] == "status")
    assert spec["components"]["schemas"]["ServiceStatus"]["enum"] == ["on_time", "late", "not_visited", "open"]
    assert "ServiceStatus" in str(status["schema"])
    assert spec["components"]["schemas"]["JobStatus"]["enum"] == ["queued", "running", "done", "failed", "interrupted"]


def test_405_lists_every_method_of_the_path(client, analyst):
    for method, path, allowed in (("PUT", "/v1/customers/total", "GET"), ("DELETE", "/v1/customers", "GET, POST"),
                                  ("OPTIONS", "/v1/services/7", "DELETE, GET, PUT"),
                                  ("PATCH", "/v1/services/batch", "POST")):
        answer = client.request(method, path, headers=analyst)
        assert (answer.status_code, answer.headers.get("allow")) == (405, allowed), (method, path, answer.text)
    assert client.get("/v1/customers/abc", headers=analyst).json()["error"].startswith("id: ")  # still 422


def test_list_routes_keep_the_null_fields_the_schema_requires(client, analyst, db):
    client.post("/v1/services", json={"id_cliente": 5, "angel": "A", "polo": "RJ", "data_limite": "2022-03-10"},
                headers=analyst)
    assert client.get("/v1/customers", headers=analyst).json() == {"clientes": [
        {"id": 5, "nome": None, "email": None, "telefone": None, "is_stub": True}], "total_por_pagina": 1}
    service = client.get("/v1/services", headers=analyst).json()["atendimentos"][0]
    assert service["data_de_atendimento"] is None


# --- 10 and 12. health and headers ----------------------------------------------------------------

def test_every_answer_carries_the_security_headers(client, admin):
    for answer in (client.post("/v1/auth/login", json={"username": "x", "password": "y"}),
                   client.get("/v1/customers", headers=admin), client.get("/v1/health"),
                   client.get("/v1/nothing"), client.get("/openapi.json")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert "strict-transport-security" not in answer.headers  # plain HTTP
    assert client.get("/v1/customers", headers=admin).headers["cache-control"] == "no-store"
    assert client.post("/v1/auth/login", json={"username": "x", "password": "y"}).headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/openapi.json").headers


def test_hsts_when_the_request_came_over_https(client):
    from fastapi.testclient import TestClient

    from api.main import app

    with TestClient(app, base_url="https://testserver") as secure:
        assert secure.get("/v1/health").headers["strict-transport-security"] == "max-age=31536000"


def test_a_500_carries_the_security_headers_too(client, viewer, monkeypatch):
    from core import records

    monkeypatch.setattr(records, "get_service", lambda conn, **kwargs: 1 / 0)
    answer = client.get("/v1/services/1", headers=viewer)
    assert answer.status_code == 500 and answer.headers["x-frame-options"] == "DENY"


# --- 8. a load's file name ------------------------------------------------------------------------

def test_a_loads_file_name_is_kept_as_text_without_path_or_control_characters(client, analyst, db):
    for sent, kept in (("![t](http://127.0.0.1:9/track.png) **big**.csv", "track.png) **big**.csv"),
                       ("C:\\Users\\ana\\**big** <b>x\x07\tname.csv", "**big** <b>x name.csv"),
                       ("", "services.csv")):
        body = (b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="' + sent.encode()
                + b'"\r\nContent-Type: text/csv\r\n\r\n' + SERVICES + b"\r\n--b0undary--\r\n")
        accepted = client.post("/v1/services/batch", content=body, headers={
            **analyst, "Content-Type": "multipart/form-data; boundary=b0undary"})
        assert accepted.status_code == 202, accepted.text
        wait_for_loads(db)
        job = client.get(accepted.json()["status_url"], headers=analyst).json()
        assert job["file_name"] == kept


# --- the schema's patterns say what the checks do --------------------------------------------------

def test_the_day_pattern_is_exactly_the_days_the_product_takes():
    from api.schemas import DAY_PATTERN
    from core.definitions import FIRST_DAY, LAST_DAY

    for year in range(1896, 2105):
        for month in range(0, 14):
            for day in range(0, 33):
                written = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    taken = FIRST_DAY <= date(year, month, day) <= LAST_DAY
                except ValueError:
                    taken = False
                assert bool(re.fullmatch(DAY_PATTERN, written)) == taken, written


def _agree(annotated, value: str) -> None:
    """The type's JSON Schema pattern and maxLength accept `value` exactly when its check does."""
    adapter = TypeAdapter(annotated)
    schema = adapter.json_schema()
    by_schema = bool(re.fullmatch(schema["pattern"], value)) and len(value) <= schema.get("maxLength", 10**9)
    try:
        adapter.validate_python(value)
        by_check = True
    except ValidationError:
        by_check = False
    assert by_schema == by_check, (value, by_schema, by_check)


PHONE_CHARS = st.sampled_from(list("0123455555 ()-.+\"x\t\x00\u00a0\u2007"))
EMAIL_CHARS = st.sampled_from(list("ab.@@ \"\t\x00\u00a0\x85é-_"))


@hsettings(max_examples=400, deadline=None)
@given(value=st.one_of(st.text(PHONE_CHARS, max_size=20),
                       st.from_regex(r"\A[ \"]?\+?55? ?\(?2[0-9]\)? ?9?[0-9]{4}[-. ]?[0-9]{4}[ \"]?\Z")))
def test_the_phone_pattern_agrees_with_core(value):
    from api.schemas import Phone

    _agree(Phone, value)


@hsettings(max_examples=400, deadline=None)
@given(value=st.one_of(st.text(EMAIL_CHARS, max_size=12),
                       st.from_regex(r'\A[ "]?[a-z"]{1,3}@[a-z]{1,3}\.[a-z"]{0,3}[ "]?\Z')))
def test_the_email_pattern_agrees_with_core(value):
    from api.schemas import Email

    _agree(Email, value)


@hsettings(max_examples=300, deadline=None)
@given(value=st.text(st.sampled_from(list("a \t\x00\u00a0\u3000\x1f\x85é")), max_size=8))
def test_the_name_pattern_agrees_with_core(value):
    from api.schemas import Nome

    _agree(Nome, value)
