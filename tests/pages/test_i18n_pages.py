"""Every page in each language: no text of the other language's catalog shows.

The admin's stored language choice picks the language (as the account box stores it); the pages run
over the small indicator data set so the charts, tables and metrics are drawn.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dashboard import i18n
from tests.conftest import wait_for_loads
from tests.core.test_indicators import insert_services
from tests.pages.apptest import by_label, logged_in, open_page
from tests.test_i18n import catalog

PAGES = ("home.py", "upload.py", "today.py", "overview.py", "sla_polo.py", "sla_angel.py", "productivity.py",
         "customers.py", "services.py", "users.py", "calendar.py", "audit.py", "monitoring.py", "alerts.py")


def shown(at) -> list[str]:
    """Every text of the run a user reads: titles, captions, alerts, metrics, widget labels, options."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("button", "text_input", "selectbox", "date_input", "number_input", "checkbox", "toggle",
                 "expander", "tabs", "metric", "radio", "multiselect", "time_input"):
        for element in getattr(at, kind, []):
            parts.append(str(getattr(element, "label", "") or ""))
            parts += [str(o) for o in getattr(element, "options", []) or []]
            help_text = getattr(getattr(element, "proto", None), "help", "")
            parts.append(str(help_text or ""))
    return [p for p in parts if p]


def fragments(msgid: str, translation: str) -> list[str]:
    """The literal pieces of a msgid (between placeholders) that would betray it: long enough to be
    specific and not also part of its translation."""
    pieces = [p.strip(" .:;,·()*") for p in re.split(r"\{[^}]*\}", msgid)]
    return [p for p in pieces if len(p) >= 12 and p not in translation]


def betrayals(language: str) -> list[tuple[str, str]]:
    """(text to look for, msgid) of the other language's catalog entries that differ between the two."""
    pairs = []
    for message in catalog("pt_BR"):
        if not message.id:
            continue
        english = message.id if isinstance(message.id, str) else message.id[-1]
        portuguese = message.string if isinstance(message.string, str) else message.string[-1]
        if english == portuguese:
            continue
        source, target = (english, portuguese) if language == "pt_BR" else (portuguese, english)
        if "{" not in source:
            pairs.append((source, english))  # a whole element equal to it
        pairs += [(f, english) for f in fragments(source, target)]
    return pairs


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn)
    return db


@pytest.mark.parametrize("language", ["pt_BR", "en"])
@pytest.mark.parametrize("script", PAGES)
def test_a_page_speaks_only_the_users_language(data, script, language):
    with data.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = :l WHERE username = 'admin'"), {"l": language})
    at = open_page(logged_in(), script)
    texts = shown(at)
    joined = "\n".join(texts)
    found = sorted({msgid for text, msgid in betrayals(language)
                    if text in texts or (len(text) >= 12 and text in joined)})
    assert found == [], f"{script} in {language} shows the other language's {found}"
    assert at.session_state[i18n.STATE] == language


def test_the_account_box_switches_the_language_from_the_next_run(data):
    at = open_page(logged_in(), "overview.py")
    assert at.title[0].value == "Overview"
    at.selectbox(key="app_language").set_value("pt_BR").run()
    assert at.title[0].value == "Visão geral"
    assert [m.label for m in at.metric] == ["SLA", "Atendimentos", "Produtividade", "Não visitado"]
    assert at.metric[0].value == "60,0%"
    with data.connect() as conn:
        assert conn.scalar(sa.text("SELECT language FROM users WHERE username = 'admin'")) == "pt_BR"
    # the next session of the same user starts in Portuguese
    again = open_page(logged_in(), "sla_polo.py")
    assert again.title[0].value == "SLA por polo"


def test_a_form_refusal_is_in_the_users_language_and_stays_english_in_core(data):
    from core import records

    with data.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = 'pt_BR' WHERE username = 'admin'"))
    at = open_page(logged_in(), "customers.py")
    at.text_input(key="customers_new_id").input("7")
    at.text_input(key="customers_new_nome").input("Carla Dias")
    at.text_input(key="customers_new_tel").input("123")
    next(b for b in at.button if b.label == "Cadastrar cliente").click().run()
    assert "O telefone deve ter 10 ou 11 dígitos (DDD + número); '123' tem 3." in [e.value for e in at.error]
    with pytest.raises(records.RecordError) as refused:
        records.clean_phone("123")
    assert str(refused.value) == "The phone must have 10 or 11 digits (area code + number); '123' has 3."


def headings(element) -> dict[str, str]:
    """The column headings a dataframe shows (its column configuration's labels), by column."""
    import json

    return {name: config.get("label") for name, config in json.loads(element.proto.columns).items()
            if name != "_index"}


def test_upload_in_portuguese_shows_why_a_line_was_rejected_in_portuguese(db):
    from tests.pages.test_upload import SERVICES

    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = 'pt_BR' WHERE username = 'admin'"))
    at = open_page(logged_in(), "upload.py")
    at.file_uploader(key="upload_file_services").set_value(("bd_desafio.csv", SERVICES, "text/csv")).run()
    assert ("Detectado: arquivo de atendimentos (bd_desafio.csv); UTF-8; separado por ponto e vírgula; "
            "com linha de cabeçalho; cerca de 3 linhas (0,0 MB).") in [c.value for c in at.caption]
    assert headings(at.dataframe[0]) == {
        "id_atendimento": "Id do atendimento", "id_cliente": "Cliente", "angel": "Angel", "polo": "Polo",
        "data_limite": "Prazo", "data_de_atendimento": "Data de atendimento"}
    at.button(key="upload_start_services").click().run()
    wait_for_loads(db)
    at.run()
    rejects, history = at.dataframe[0], at.dataframe[1]
    assert rejects.value.to_dict("records") == [
        {"line": 4, "reason": "data_limite '31/02/2021' não é uma data que exista (lida como dia/mês/ano)",
         "raw": "3;11;Ana Silva da;SP - CAMPINAS;31/02/2021;-"}]
    assert headings(rejects) == {"line": "Linha", "reason": "Motivo", "raw": "Linha como lida"}
    assert [headings(history)[c] for c in ("load", "when", "kind", "status", "lines", "rejected")] == [
        "Carga", "Quando (UTC)", "Tipo", "Situação", "Linhas lidas", "Rejeitadas"]
    with db.connect() as conn:  # the database keeps the English reason (the API and the CLI give it)
        assert conn.scalar(sa.text("SELECT reason FROM load_rejects")) == \
            "data_limite '31/02/2021' is not a real date (read as day/month/year)"


def test_a_refused_file_is_explained_in_portuguese(db):
    from tests.pages.test_upload import SERVICES

    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = 'pt_BR' WHERE username = 'admin'"))
    at = open_page(logged_in(), "upload.py")
    at.file_uploader(key="upload_file_customers").set_value(("clientes.csv", SERVICES, "text/csv")).run()
    assert [e.value for e in at.error] == [
        r"clientes.csv parece ser o arquivo de atendimentos (bd\_desafio.csv), não o arquivo de clientes "
        r"(customers\_data.csv). Esperado: o arquivo de clientes (customers\_data.csv): colunas id;nome;email;telefone."]


def test_users_page_refusal_and_headings_in_portuguese(data):
    with data.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = 'pt_BR' WHERE username = 'admin'"))
    at = open_page(logged_in(), "users.py")
    assert [headings(at.dataframe[0])[c] for c in ("username", "role", "active", "last login")] == [
        "Usuário", "Papel", "Ativo", "Último acesso"]
    by_label(at.text_input, "Usuário").input("carla")
    by_label(at.text_input, "Senha inicial").input("short")
    next(b for b in at.button if b.label == "Criar usuário").click().run()
    assert "A senha precisa de pelo menos 8 caracteres." in [e.value for e in at.error]
