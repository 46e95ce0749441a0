"""The Upload page in AppTest: preview, start, progress in the job row, summary, rejects, refusal."""
from __future__ import annotations


import sqlalchemy as sa

from core import accounts
from tests.conftest import wait_for_loads
from tests.pages.apptest import logged_in, open_page, texts

SERVICES = ("id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
            "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;2021-06-29 09:09:30\n"
            "2;11;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n"
            "3;11;Ana Silva da;SP - CAMPINAS;31/02/2021;-\n").encode("utf-8")


def test_upload_preview_load_and_summary(db):
    at = open_page(logged_in(), "upload.py")
    assert "No loads yet" in texts(at)
    at.file_uploader(key="upload_file_services").set_value(("bd_desafio.csv", SERVICES, "text/csv")).run()
    assert not at.exception
    page = texts(at)
    assert "Detected: services file (bd_desafio.csv); UTF-8; separated by semicolons; with header line" in page
    preview = at.dataframe[0].value
    assert list(preview.columns)[:2] == ["id_atendimento", "id_cliente"] and len(preview) == 3
    start = at.button(key="upload_start_services")
    assert start.label == r"Load bd\_desafio.csv"  # Markdown escaped: shown as bd_desafio.csv
    start.click().run()
    jobs = wait_for_loads(db)
    assert [(j.status, j.rows_read, j.inserted, j.rejected, j.username) for j in jobs] == \
        [("done", 3, 2, 1, "admin")]
    at.run()
    page = texts(at)
    assert "Loaded 3 lines" in page and f"Load {jobs[0].id}: bd_desafio.csv" in page
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Lines read"], metrics["Inserted"], metrics["Rejected"],
            metrics["New customer ids"]) == ("3", "2", "1", "2")
    rejects = at.dataframe[0].value
    assert rejects.to_dict("records") == [
        {"line": 4, "reason": "data_limite '31/02/2021' is not a real date (read as day/month/year)",
         "raw": "3;11;Ana Silva da;SP - CAMPINAS;31/02/2021;-"}]
    history = at.dataframe[1].value
    assert history[["kind", "status", "lines", "inserted"]].to_dict("records") == [
        {"kind": "services", "status": "done", "lines": 3, "inserted": 2}]
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM services")) == 2


def test_refused_file_shows_why_and_starts_nothing(db):
    at = open_page(logged_in(), "upload.py")
    at.file_uploader(key="upload_file_customers").set_value(("customers.csv", SERVICES, "text/csv")).run()
    assert r"looks like the services file (bd\_desafio.csv), not the customers file" in "\n".join(
        e.value for e in at.error)  # Markdown escaped: shown as typed
    assert not [b for b in at.button if b.label.startswith("Load ")]
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM load_jobs")) == 0


def test_viewer_is_refused(db):
    with db.begin() as conn:
        accounts.create_user(conn, actor=accounts.CLI_ACTOR, username="vera", password="vera-pass-123",
                             role="viewer", rounds=4)
    at = open_page(logged_in("vera", "vera-pass-123"), "upload.py")
    assert "this page needs the **analyst** role" in "\n".join(e.value for e in at.error)
    assert not at.file_uploader
