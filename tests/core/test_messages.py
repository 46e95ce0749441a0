"""Texts a user reads, kept by core in English with their template (core.messages.Text): errors
say str() in English and keep `text`; a stored reason is read back to its template and values."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from core import accounts, calendar, contact, loading, parsing, throttle
from core.messages import Count, Text, TextError


def test_a_text_is_english_with_its_values_and_nested_texts():
    inner = Text("the {kind}: columns {columns}", kind=Text("services file (bd_desafio.csv)"), columns="a;b")
    outer = Text("{name} is empty. Expected {expected}.", name="x.csv", expected=inner)
    assert str(outer) == "x.csv is empty. Expected the services file (bd_desafio.csv): columns a;b."
    assert str(Text("{n} lines read", n=Count(1_048_575))) == "1,048,575 lines read"
    assert str(Text("Log in first.")) == "Log in first."


@pytest.mark.parametrize("raise_it, english", [
    (lambda: accounts.check_password_rules("short", username="ana"), "The password needs at least 8 characters."),
    (lambda: accounts.require(None, "admin"), "This action needs the admin role."),
    (lambda: accounts._normalise_username("Root"), "The username 'root' is reserved for the system; choose another."),
    (lambda: calendar._parse_day("31/02"), "'31/02' is not a date; write it as YYYY-MM-DD."),
    (lambda: contact.clean_email("ana@"), "The email 'ana@' is not a valid address."),
])
def test_errors_a_user_reads_keep_their_english_message_and_their_text(raise_it, english):
    with pytest.raises(TextError) as raised:
        raise_it()
    assert str(raised.value) == english
    assert str(raised.value.text) == english
    assert isinstance(raised.value.text, Text) and raised.value.text.template != english


def test_every_error_class_a_user_reads_is_a_text_error():
    for cls in (accounts.AccountError, accounts.UsernameTaken, accounts.PermissionDenied, calendar.CalendarError,
                loading.LoadError, loading.FileRefused, contact.ContactError, throttle.Throttled):
        assert issubclass(cls, TextError), cls
    assert issubclass(accounts.PermissionDenied, PermissionError)  # callers catching PermissionError still do
    assert str(throttle.Throttled(30)) == "Too many attempts from your address; wait 30 s and try again."


def test_calendar_error_keeps_the_day_as_a_date(db):
    with db.begin() as conn:
        calendar.add_non_working_day(conn, actor=accounts.CLI_ACTOR, day="2022-03-01", reason="Carnaval")
        with pytest.raises(calendar.CalendarError) as raised:
            calendar.add_non_working_day(conn, actor=accounts.CLI_ACTOR, day="2022-03-01", reason="again")
    assert str(raised.value) == "2022-03-01 is already a non-working day."
    assert raised.value.text.values == {"day": date(2022, 3, 1)}


def test_file_refused_keeps_the_kinds_as_texts(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n1;2;a;b;01/01/2022;-\n")
    with pytest.raises(loading.FileRefused) as raised:
        loading.inspect_file(path, kind="customers")
    assert str(raised.value) == (
        "customers.csv looks like the services file (bd_desafio.csv), not the customers file (customers_data.csv). "
        "Expected the customers file (customers_data.csv): columns id;nome;email;telefone.")
    values = raised.value.text.values
    assert (values["found"], values["kind"]) == (Text("services file (bd_desafio.csv)"),
                                                 Text("customers file (customers_data.csv)"))


# --- reasons of rejected lines ------------------------------------------------------------------

EXAMPLES = {
    "fields": {"expected": "6", "delimiter": "';'", "found": "5"},
    "not_number": {"field": "id_cliente", "value": "'12 is empty'"},   # a value that reads like another reason
    "not_positive": {"field": "id_atendimento"},
    "unknown_date": {"field": "data_de_atendimento", "value": "'ontem, 10h'"},
    "impossible_date": {"field": "data_limite", "value": "'31/02/2021'"},
    "email": {"value": "'ana@'"},
    "phone": {"value": "'123'"},
    "repeated_id": {"id": "7", "line": "9"},
    "email_in_file": {"email": "'ana@example.com'", "line": "2", "id": "1"},
    "email_taken": {"email": "'o''brien@example.com'", "id": "5"},
    "empty": {"field": "angel"},
    "control": {"field": "nome", "position": "4"},
    "too_long": {"field": "polo", "limit": "200"},
    "too_large": {"field": "id", "value": "'99999999999999999'", "limit": "9007199254740991"},
}


def test_every_reason_reads_back_to_its_template_and_values():
    assert set(EXAMPLES) == set(parsing.REASONS)
    for key, values in EXAMPLES.items():
        found = parsing.read_reason(parsing.reason(key, **values))
        assert (found.template, found.values) == (parsing.REASONS[key], values), key


def test_a_text_no_reason_wrote_is_not_read():
    assert parsing.read_reason("the disk is full") is None
    assert parsing.read_reason("") is None


def test_reasons_written_by_the_database_read_back(db, tmp_path, settings):
    path = tmp_path / "customers.csv"
    path.write_text("id;nome;email;telefone\n1;Ana;ana@example.com;\n2;Bia;ANA@example.com;\n")
    report = loading.load_file(db, path=path, kind="customers", actor=accounts.CLI_ACTOR, settings=settings)
    assert [r["reason"] for r in report.rejects] == ["email 'ANA@example.com' is also on line 2 (customer 1)"]
    found = parsing.read_reason(report.rejects[0]["reason"])
    assert (found.template, found.values) == (parsing.REASONS["email_in_file"],
                                              {"email": "'ANA@example.com'", "line": "2", "id": "1"})
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT reason FROM load_rejects")) == report.rejects[0]["reason"]
