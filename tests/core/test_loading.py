"""Loading the CSV files: every date form, every reject reason, formats, idempotence, stubs."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import loading
from core.accounts import CLI_ACTOR, Actor, PermissionDenied
from core.db import data_version

HEADER = "id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def services_file(tmp_path: Path, *lines: str, name: str = "services.csv", header: bool = True,
                  newline: str = "\n", encoding: str = "utf-8", bom: bool = False) -> Path:
    text = newline.join(([HEADER] if header else []) + list(lines)) + newline
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load(db, settings, path, kind=None):
    return loading.load_file(db, path=path, kind=kind, actor=CLI_ACTOR, settings=settings)


def services(db) -> dict[int, tuple]:
    with db.connect() as conn:
        return {r.id: (r.id_cliente, r.angel, r.polo, r.data_limite, r.data_de_atendimento)
                for r in conn.execute(sa.text("SELECT * FROM services"))}


def customers(db) -> dict[int, tuple]:
    with db.connect() as conn:
        return {r.id: (r.nome, r.email, r.telefone) for r in conn.execute(sa.text("SELECT * FROM customers"))}


def test_every_date_form_is_read_day_first(db, settings, tmp_path):
    path = services_file(
        tmp_path,
        "1;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;2021-06-29 09:09:30",
        "2;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;29/06/2021 10:15:27",
        "3;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;29/06/2021 10:15",
        "4;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;30/06/2021",
        "5;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;30/062021 09:28",
        "6;10;Pedro Wanderley de;RJ - SAO GONÇALO;31/12/2021;31/12/21  ",
        "7;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;28 /06 /2021 10:57:27",
        "8;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;-",
        "9;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;",
        "10;10;Pedro Wanderley de;RJ - SAO GONÇALO;03/07/2021;02/07/2021 08:00:00",  # 2 July, not 7 Feb
        "11;10;Pedro Wanderley de;RJ - SAO GONÇALO;29/02/2024;2024-02-29",
        "12;10;Pedro Wanderley de;RJ - SAO GONÇALO;30/06/2021;2021-06-29T09:09:30",
    )
    report = load(db, settings, path, "services")
    assert (report.rows, report.inserted, report.rejected) == (12, 12, 0)
    visits = {i: row[4] for i, row in services(db).items()}
    assert visits == {
        1: datetime(2021, 6, 29, 9, 9, 30), 2: datetime(2021, 6, 29, 10, 15, 27),
        3: datetime(2021, 6, 29, 10, 15), 4: datetime(2021, 6, 30), 5: datetime(2021, 6, 30, 9, 28),
        6: datetime(2021, 12, 31), 7: datetime(2021, 6, 28, 10, 57, 27), 8: None, 9: None,
        10: datetime(2021, 7, 2, 8, 0), 11: datetime(2024, 2, 29), 12: datetime(2021, 6, 29, 9, 9, 30)}
    assert services(db)[10][3] == date(2021, 7, 3)
    assert services(db)[1][1:3] == ("Pedro Wanderley de", "RJ - SAO GONÇALO")


def test_every_reject_reason_with_line_and_raw_text(db, settings, tmp_path):
    path = services_file(
        tmp_path,
        "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;2021-06-29 09:09:30",   # line 2: good
        "2;10;Ana Silva da;SP - CAMPINAS;31/02/2022;-",                     # 3: impossible deadline
        "3;10;Ana Silva da;SP - CAMPINAS;30/06/2021;06/31/2021",            # 4: impossible visit (no month-first)
        "4;10;Ana Silva da;SP - CAMPINAS;30/06/2021;ontem",                 # 5: unknown form
        "x5;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-",                    # 6: id not a number
        "6;1.5e6;Ana Silva da;SP - CAMPINAS;30/06/2021;-",                  # 7: id_cliente not a number
        "7;10;Ana Silva da;SP - CAMPINAS",                                  # 8: wrong column count
        "8;10;;SP - CAMPINAS;30/06/2021;-",                                 # 9: no angel
        "9;10;Ana Silva da;;30/06/2021;-",                                  # 10: no polo
        "10;10;Ana Silva da;SP - CAMPINAS;;-",                              # 11: no deadline
        "0;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-",                     # 12: id 0
        "12;10;Ana Silva da;SP - CAMPINAS;30/06/2021;29/06/2021 25:10",     # 13: impossible time
    )
    report = load(db, settings, path, "services")
    assert (report.rows, report.inserted, report.updated, report.unchanged, report.rejected) == (12, 1, 0, 0, 11)
    with db.connect() as conn:
        rejects = loading.job_rejects(conn, job_id=report.job_id)
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (3, "data_limite '31/02/2022' is not a real date (read as day/month/year)"),
        (4, "data_de_atendimento '06/31/2021' is not a real date (read as day/month/year)"),
        (5, "data_de_atendimento 'ontem' is not a date in a known form (day/month/year, optionally with a time)"),
        (6, "id_atendimento 'x5' is not a whole number"),
        (7, "id_cliente '1.5e6' is not a whole number"),
        (8, "expected 6 fields separated by ';', found 4"),
        (9, "angel is empty"),
        (10, "polo is empty"),
        (11, "data_limite is empty"),
        (12, "id_atendimento must be greater than 0"),
        (13, "data_de_atendimento '29/06/2021 25:10' is not a real date (read as day/month/year)"),
    ]
    assert rejects[0]["raw"] == "2;10;Ana Silva da;SP - CAMPINAS;31/02/2022;-"
    assert list(services(db)) == [1]
    with db.connect() as conn:
        csv_text = loading.rejects_csv(conn, job_id=report.job_id)
    assert csv_text.splitlines()[:2] == [
        '"line";"reason";"raw"', '3;"data_limite \'31/02/2022\' is not a real date (read as day/month/year)";'
        '"2;10;Ana Silva da;SP - CAMPINAS;31/02/2022;-"']


def test_duplicate_id_later_line_wins_and_earlier_is_listed(db, settings, tmp_path):
    path = services_file(
        tmp_path,
        "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-",
        "2;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-",
        "1;11;Ana Silva da;SP - CAMPINAS;01/07/2021;2021-07-01 10:00:00",
    )
    report = load(db, settings, path, "services")
    assert (report.rows, report.inserted, report.rejected, report.duplicates) == (3, 2, 1, 1)
    assert services(db)[1][0] == 11
    assert report.rejects == [{"line": 2, "reason": "id 1 appears again on line 4; that later line was loaded",
                               "raw": "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-"}]


def test_loading_twice_changes_nothing_and_a_change_is_an_update(db, settings, tmp_path):
    lines = ["1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-", "2;11;Ana Silva da;SP - CAMPINAS;30/06/2021;-"]
    first = load(db, settings, services_file(tmp_path, *lines), "services")
    with db.connect() as conn:
        version = data_version(conn)
    second = load(db, settings, services_file(tmp_path, *lines), "services")
    assert (first.inserted, first.stub_customers) == (2, 2)
    assert (second.rows, second.inserted, second.updated, second.unchanged, second.stub_customers) == (2, 0, 0, 2, 0)
    changed = services_file(tmp_path, lines[0], "2;11;Ana Silva da;SP - CAMPINAS;30/06/2021;2021-06-30 10:00:00",
                            "3;11;Ana Silva da;SP - CAMPINAS;30/06/2021;-")
    third = load(db, settings, changed, "services")
    assert (third.inserted, third.updated, third.unchanged) == (1, 1, 1)
    assert services(db)[2][4] == datetime(2021, 6, 30, 10, 0)
    with db.connect() as conn:  # indicators read after a load see it: the data version moved
        assert data_version(conn) > version


def test_stubs_then_customers_and_customers_then_services(db, settings, tmp_path):
    load(db, settings, services_file(tmp_path, "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-"), "services")
    assert customers(db) == {10: (None, None, None)}
    cust = write(tmp_path, "customers.csv", "10;Maria Souza;maria@example.com;21987654321\n"
                                            "20;João Lima;joao@example.com;(11) 3456-7890\n")
    report = load(db, settings, cust, "customers")
    assert (report.rows, report.inserted, report.updated, report.stubs_filled) == (2, 1, 1, 1)
    assert customers(db) == {10: ("Maria Souza", "maria@example.com", "21987654321"),
                             20: ("João Lima", "joao@example.com", "1134567890")}
    # A service for a customer who is already known creates no stub and keeps the customer.
    later = load(db, settings, services_file(tmp_path, "2;20;Ana Silva da;SP - CAMPINAS;30/06/2021;-"), "services")
    assert later.stub_customers == 0
    assert customers(db)[20][0] == "João Lima"


def test_customer_reject_reasons(db, settings, tmp_path):
    load(db, settings, write(tmp_path, "c1.csv", "id;nome;email;telefone\n5;Old Owner;taken@example.com;1133334444\n"),
         "customers")
    path = write(tmp_path, "c2.csv", "\n".join([
        "id;nome;email;telefone",
        "1;Ana;ana@example.com;21987654321",       # 2: good
        "2;Bia;not-an-email;21987654321",          # 3
        "3;Caio;caio@example.com;12345",           # 4
        "4;;dani@example.com;21987654321",         # 5
        "6;Edu;TAKEN@example.com;21987654321",     # 6: email of customer 5
        "7;Fábio;ana@example.com;21987654321",     # 7: email already on line 2
        "8;Gil;;",                                 # 8: good, no email nor phone
    ]) + "\n")
    report = load(db, settings, path, "customers")
    assert (report.rows, report.inserted, report.rejected) == (7, 2, 5)
    assert [(r["line"], r["reason"]) for r in report.rejects] == [
        (3, "email 'not-an-email' is not an email address"),
        (4, "telefone '12345' must have 10 or 11 digits (DDD + number)"),
        (5, "nome is empty"),
        (6, "email 'TAKEN@example.com' already belongs to customer 5"),
        (7, "email 'ana@example.com' is also on line 2 (customer 1)"),
    ]
    assert report.rejects[3]["raw"] == "6;Edu;TAKEN@example.com;21987654321"
    assert customers(db)[8] == ("Gil", None, None)


@pytest.mark.parametrize("variant", ["crlf", "bom", "comma", "cp1252", "no-header-customers"])
def test_format_variants(db, settings, tmp_path, variant):
    line = "1;10;Ana Silva da;RJ - SÃO GONÇALO;30/06/2021;2021-06-29 09:09:30"
    if variant == "crlf":
        path = services_file(tmp_path, line, newline="\r\n")
    elif variant == "bom":
        path = services_file(tmp_path, line, bom=True)
    elif variant == "comma":
        path = write(tmp_path, "s.csv", HEADER.replace(";", ",") + "\n" + line.replace(";", ",") + "\n")
    elif variant == "cp1252":
        path = services_file(tmp_path, line, encoding="cp1252")
    else:
        path = write(tmp_path, "c.csv", "10;José Gonçalves;jose@example.com;21987654321\n")
        report = load(db, settings, path)
        assert (report.kind, report.has_header, report.inserted) == ("customers", False, 1)
        assert customers(db)[10][0] == "José Gonçalves"
        return
    report = load(db, settings, path, "services")
    assert (report.rows, report.inserted, report.rejected) == (1, 1, 0)
    assert services(db)[1][2] == "RJ - SÃO GONÇALO"
    expected = {"bom": "UTF-8 with BOM", "cp1252": "Windows-1252 (Latin-1)"}.get(variant, "UTF-8")
    assert report.encoding == expected


@pytest.mark.parametrize("content, kind, message", [
    (b"", "services", "is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, "services", "spreadsheet (Excel)"),
    (b"\x00\x01\x02\x03binary" * 50, "services", "not a text file"),
    (b"nome,idade\nAna,3\n", "services", "does not look like the services file"),
    (HEADER.encode() + b"\n", "services", "has a header but no data lines"),
    (b"10;Maria;maria@example.com;21987654321\n", "services", "looks like the customers file"),
])
def test_refused_file_writes_nothing(db, settings, tmp_path, content, kind, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(loading.FileRefused) as err:
        load(db, settings, path, kind)
    assert message in str(err.value)
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM load_jobs")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM services")) == 0


def test_job_row_audit_and_report_json(db, settings, tmp_path):
    report = load(db, settings, services_file(tmp_path, "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-",
                                              "2;10;Ana Silva da;SP - CAMPINAS;31/02/2021;-"), "services")
    payload = report.as_json()
    assert {k: payload[k] for k in ("rows", "inserted", "updated", "unchanged", "rejected", "stub_customers")} == \
        {"rows": 2, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 1, "stub_customers": 1}
    assert payload["rejects"][0]["line"] == 3
    json.dumps(payload, default=str)
    with db.connect() as conn:
        job = loading.get_job(conn, job_id=report.job_id)
        audit = conn.execute(sa.text("SELECT username, action, entity, entity_id, after FROM audit_log "
                                     "WHERE action = 'load'")).one()
        stage_left = conn.scalar(sa.text("SELECT to_regclass(:t)"), {"t": f"load_stage_{report.job_id}"})
    assert (job.status, job.rows_read, job.inserted, job.rejected, job.username) == ("done", 2, 1, 1, "cli")
    assert (job.progress, job.doing) == (1.0, "done")
    assert audit[:4] == ("cli", "load", "services", str(report.job_id))
    assert audit[4]["inserted"] == 1 and audit[4]["rejected"] == 1
    assert stage_left is None


def test_viewer_cannot_load(db, settings, tmp_path):
    with pytest.raises(PermissionDenied):
        loading.load_file(db, path=services_file(tmp_path, "1;10;A B c;P;30/06/2021;-"), kind="services",
                          actor=Actor("v", "viewer"), settings=settings)
