"""Batch loads through the API: 202 and a job, the same report as the CLI, refusals write nothing."""
from __future__ import annotations

import json
import time

import pytest

from core import accounts, loading

SERVICES = (
    "id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
    "1;10;Ana Souza de;RJ - SAO GONÇALO;10/03/2022;2022-03-10 09:00:00\n"
    "2;11;Ana Souza de;RJ - SAO GONÇALO;10/03/2022;30/02/2022 10:00\n"      # impossible date
    "3;10;Bruno Lima;RJ - SAO GONÇALO;15/03/2022;-\n"
    "4;12;Caio Reis;SP - CAMPINAS;2022-13-01;2022-03-10 09:00:00\n"          # impossible deadline
    "5;12;Caio Reis;SP - CAMPINAS;25/03/2022;24/03/2022 12:00:00\n"
).encode()


def wait_done(client, headers, status_url: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(status_url, headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


def test_a_services_file_loads_as_a_job_with_the_clis_report(client, analyst, db, settings, tmp_path):
    answer = client.post("/v1/services/batch", files={"file": ("bd_desafio.csv", SERVICES, "text/csv")},
                         headers=analyst)
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status_url"] == f"/v1/jobs/{accepted['job_id']}"
    job = wait_done(client, analyst, accepted["status_url"])
    assert {k: job[k] for k in ("status", "progress", "rows", "inserted", "updated", "unchanged", "rejected",
                                "stub_customers")} == {
        "status": "done", "progress": 1.0, "rows": 5, "inserted": 3, "updated": 0, "unchanged": 0,
        "rejected": 2, "stub_customers": 2}
    rejects = client.get(f"/v1/jobs/{accepted['job_id']}/rejects", headers=analyst).json()["rejects"]
    assert [r["line"] for r in rejects] == [3, 5]
    assert "30/02/2022" in rejects[0]["raw"]

    # the same file through the CLI's code path, on an empty database: the same figures
    from tests.conftest import reset_database

    reset_database(db)
    path = tmp_path / "bd_desafio.csv"
    path.write_bytes(SERVICES)
    report = loading.load_file(db, path=path, kind="services", actor=accounts.CLI_ACTOR, settings=settings)
    assert {k: getattr(report, k) for k in ("rows", "inserted", "updated", "unchanged", "rejected",
                                            "stub_customers", "duplicates")} == {
        k: job[k] for k in ("rows", "inserted", "updated", "unchanged", "rejected", "stub_customers", "duplicates")}
    assert [r["line"] for r in report.rejects] == [3, 5]


def test_a_file_that_is_not_a_services_file_is_422_and_writes_nothing(client, analyst, db, settings):
    customers = b"1;Tara Jones;tara@example.com;21998765432\n"
    answer = client.post("/v1/services/batch", files={"file": ("clientes.csv", customers, "text/csv")},
                         headers=analyst)
    assert answer.status_code == 422 and "looks like the customers file" in answer.json()["error"]
    with db.connect() as conn:
        assert loading.list_jobs(conn) == []
    assert list(loading.spool_dir(settings).glob("upload-*clientes*")) == []


def test_a_customers_file_loads(client, analyst):
    answer = client.post("/v1/customers/batch", files={"file": ("c.csv", b"7;Tara Jones;tara@example.com;"
                                                                         b"21998765432\n", "text/csv")},
                         headers=analyst)
    job = wait_done(client, analyst, answer.json()["status_url"])
    assert (job["status"], job["inserted"]) == ("done", 1)
    assert client.get("/v1/customers/7", headers=analyst).json()["nome"] == "Tara Jones"


def test_a_file_over_the_limit_is_413(client, analyst, api_settings):
    api_settings(upload_max_mb=1)
    big = SERVICES + b"6;12;Caio Reis;SP - CAMPINAS;25/03/2022;-\n" * 30_000  # ~1.3 MB
    answer = client.post("/v1/services/batch", files={"file": ("big.csv", big, "text/csv")}, headers=analyst)
    assert answer.status_code == 413 and "1 MB" in answer.json()["error"]


def test_a_viewer_cannot_load_and_an_unknown_job_is_404(client, viewer, analyst):
    assert client.post("/v1/services/batch", files={"file": ("a.csv", SERVICES, "text/csv")},
                       headers=viewer).status_code == 403
    assert client.get("/v1/jobs/999", headers=analyst).status_code == 404
