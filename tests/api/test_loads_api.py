"""Batch loads through the API: 202 and a job, the same report as the CLI, refusals write nothing."""
from __future__ import annotations

import json

from core import loading
from tests.conftest import wait_for_loads

SERVICES = (
    "id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
    "1;10;Ana Souza de;RJ - SAO GONÇALO;10/03/2022;2022-03-10 09:00:00\n"
    "2;11;Ana Souza de;RJ - SAO GONÇALO;10/03/2022;30/02/2022 10:00\n"      # impossible date
    "3;10;Bruno Lima;RJ - SAO GONÇALO;15/03/2022;-\n"
    "4;12;Caio Reis;SP - CAMPINAS;2022-13-01;2022-03-10 09:00:00\n"          # impossible deadline
    "5;12;Caio Reis;SP - CAMPINAS;25/03/2022;24/03/2022 12:00:00\n"
).encode()


def test_a_services_file_loads_as_a_job_with_the_clis_report(client, analyst, db, tmp_path, monkeypatch, capsys):
    answer = client.post("/v1/services/batch", files={"file": ("bd_desafio.csv", SERVICES, "text/csv")},
                         headers=analyst)
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status_url"] == f"/v1/jobs/{accepted['job_id']}"
    wait_for_loads(db)
    job = client.get(accepted["status_url"], headers=analyst).json()
    assert {k: job[k] for k in ("status", "progress", "rows", "inserted", "updated", "unchanged", "rejected",
                                "stub_customers")} == {
        "status": "done", "progress": 1.0, "rows": 5, "inserted": 3, "updated": 0, "unchanged": 0,
        "rejected": 2, "stub_customers": 2}
    rejects = client.get(f"/v1/jobs/{accepted['job_id']}/rejects", headers=analyst).json()["rejects"]
    assert [r["line"] for r in rejects] == [3, 5]
    assert "30/02/2022" in rejects[0]["raw"]

    # the same file through the CLI (`python -m core load services PATH --json`) on an empty database
    from tests.core.test_cli import run
    from tests.conftest import reset_database

    reset_database(db)
    path = tmp_path / "bd_desafio.csv"
    path.write_bytes(SERVICES)
    code, out, _ = run(monkeypatch, capsys, "load", "services", str(path), "--json")
    report = json.loads(out)
    figures = ("rows", "inserted", "updated", "unchanged", "rejected", "duplicates", "stub_customers", "stubs_filled")
    assert code == 0 and {k: report[k] for k in figures} == {k: job[k] for k in figures}
    assert [r["line"] for r in report["rejects"]] == [r["line"] for r in rejects]
    assert [r["reason"] for r in report["rejects"]] == [r["reason"] for r in rejects]


def test_a_file_that_is_not_a_services_file_is_422_and_writes_nothing(client, analyst, db, settings):
    customers = b"1;Tara Jones;tara@example.com;21998765432\n"
    answer = client.post("/v1/services/batch", files={"file": ("clientes.csv", customers, "text/csv")},
                         headers=analyst)
    assert answer.status_code == 422 and "looks like the customers file" in answer.json()["error"]
    with db.connect() as conn:
        assert loading.list_jobs(conn) == []
    assert list(loading.spool_dir(settings).glob("upload-*clientes*")) == []


def test_a_customers_file_loads(client, analyst, engine):
    answer = client.post("/v1/customers/batch", files={"file": ("c.csv", b"7;Tara Jones;tara@example.com;"
                                                                         b"21998765432\n", "text/csv")},
                         headers=analyst)
    wait_for_loads(engine)
    job = client.get(answer.json()["status_url"], headers=analyst).json()
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
