"""The dashboard's side of issue 21: core.text's rule in the forms and filters (a clear message, no
crash, nothing written), ids in range, and a load's file name shown as text."""
from __future__ import annotations

import sqlalchemy as sa

from core import loading
from core.accounts import CLI_ACTOR
from tests.core.test_indicators import insert_services
from tests.pages.apptest import by_label, logged_in, open_page, texts


def test_a_nul_in_a_customers_filter_or_form_is_a_message_not_a_crash(db):
    at = open_page(logged_in(), "customers.py")
    at.text_input(key="customers_f_nome").input("Ana\x00").run()
    assert not at.exception and "The name has a control character" in texts(at)
    at.text_input(key="customers_f_nome").input("").run()
    at.text_input(key="customers_new_nome").input("Ana\tSouza")
    at.button(key="FormSubmitter:create_customer-Register customer").click().run()
    assert not at.exception and "The name has a control character" in texts(at)
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 0


def test_an_id_filter_takes_only_a_whole_number_in_range(db):
    at = open_page(logged_in(), "services.py")
    for typed in ("²", "9007199254740992", "-1"):
        at.text_input(key="services_f_id").input(typed).run()
        assert not at.exception and "type a whole number from 1 to 9007199254740991" in texts(at), typed


def test_a_nul_in_an_angel_search_is_a_message(db):
    with db.begin() as conn:
        insert_services(conn)
    at = open_page(logged_in(), "sla_angel.py")
    by_label(at.text_input, "Search an angel").input("Ana\x00").run()
    assert not at.exception and "The search has a control character" in texts(at)
    assert len(at.dataframe[0].value) == 3  # the search is left out: every angel


def test_a_loads_file_name_shows_as_typed_never_as_markdown(db, settings, tmp_path):
    path = tmp_path / "services.csv"
    path.write_bytes(b"1;10;Ana;RJ;10/03/2022;-\n")
    name = "![t](track.png) **big** [x](mailto:a@b.co) <img src=x>.csv"  # (a path's last part is kept)
    with db.begin() as conn:
        info = loading.inspect_file(path, kind="services")
        job_id = loading.create_job(conn, actor=CLI_ACTOR, info=info, file_name=name, settings=settings)
    loading.run_job(db, job_id=job_id, settings=settings)
    at = open_page(logged_in(), "upload.py")
    escaped = r"\!\[t\](track.png) \*\*big\*\* \[x\](mailto:a@b.co) \<img src=x\>.csv"
    heading = next(str(h.value) for h in at.subheader if str(h.value).startswith(f"Load {job_id}"))
    assert escaped in heading  # Markdown: every special character escaped
    assert escaped in at.get("progress")[0].proto.text  # the progress bar's text is Markdown too
    assert f"Load {job_id}: {name}" in texts(at)  # as typed, once the escapes are read
    assert list(at.dataframe[-1].value["file"]) == [name]  # the history table: plain text
