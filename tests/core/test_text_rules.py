"""One text rule (core/text.py) for the forms, the filters, the loader and the database: no control
character, a length limit per field, searches that take % and _ literally."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from core import indicators, loading, parsing, records, text
from core.accounts import CLI_ACTOR, Actor
from core.definitions import Period
from tests.core.test_indicators import insert_services

ANALYST = Actor("ana", "analyst")


@pytest.mark.parametrize("value, position", [
    ("Ana\x00Souza", 4), ("\tAna", 1), ("Ana\n", 4), ("An\x85a", 3), ("A\x7f", 2), ("Ana\ud800", 4),
])
def test_a_control_character_is_refused_at_its_position(value, position):
    assert text.control_position(value) == position
    with pytest.raises(text.TextRefused, match=f"name has a control character .* at position {position}"):
        text.check(value, what="name")


def test_accents_symbols_and_spaces_pass_and_a_limit_is_counted_in_characters():
    assert text.check("João D'Ávila – 100% «ok» 😀", what="name", limit=26) == "João D'Ávila – 100% «ok» 😀"
    with pytest.raises(text.TextRefused, match="too long: 27 characters, at most 26"):
        text.check("João D'Ávila – 100% «ok» 😀!", what="name", limit=26)
    assert text.check(None, what="name") is None


def test_forms_refuse_control_characters_and_long_text_and_write_nothing(conn):
    for values in ({"nome": "Ana\x00"}, {"nome": "Ana", "email": "ana\x01@example.com"},
                   {"nome": "Ana", "telefone": "21\t987654321"}, {"nome": "A" * 201}):
        with pytest.raises(records.RecordError):
            records.create_customer(conn, actor=ANALYST, **values)
    assert records.create_customer(conn, actor=ANALYST, nome="  " + "A" * 200 + "  ").nome == "A" * 200
    for values in ({"angel": "Ana\x00"}, {"polo": "RJ\x1fx"}, {"polo": "P" * 201}):
        with pytest.raises(records.RecordError):
            records.create_service(conn, actor=ANALYST, as_of=date(2022, 3, 10), **{
                "id_cliente": 1, "angel": "Ana", "polo": "RJ", "data_limite": "2022-03-10", **values})
    assert conn.scalar(sa.text("SELECT count(*) FROM services")) == 0
    assert conn.scalar(sa.text("SELECT count(*) FROM customers")) == 1


def test_filters_refuse_control_characters_before_any_sql():
    with pytest.raises(records.RecordError, match="name has a control character"):
        records.CustomerFilter(nome="a\x00")
    with pytest.raises(records.RecordError, match="polo has a control character"):
        records.ServiceFilter(polo="RJ\x00")
    with pytest.raises(records.RecordError, match="too long"):
        records.ServiceFilter(angel="A" * 201)


def test_dates_outside_the_years_the_loader_takes_are_refused(conn):
    for deadline in ("1899-12-31", "2101-01-01", date(9999, 12, 31)):
        with pytest.raises(records.RecordError, match="between 1900-01-01 and 2100-12-31"):
            records.create_service(conn, actor=ANALYST, id_cliente=1, angel="Ana", polo="RJ", data_limite=deadline,
                                   as_of=date(2022, 3, 10))


def test_the_loader_rejects_such_lines_with_a_reason_and_loads_the_rest():
    block = parsing.parse_services(
        ("1;10;Ana\x00Souza;RJ;10/03/2022;-\n2;10;Ana;RJ\x07;10/03/2022;-\n"
         f"3;10;Ana;{'P' * 201};10/03/2022;-\n4;10;Ana;RJ;10/03/2022;-\n").encode(), first_line=1, delimiter=";")
    assert block.good.column("id").to_pylist() == [4]
    assert [(line, reason) for line, _, reason in block.rejects] == [
        (1, "angel has a control character (such as a NUL byte) at position 4"),
        (2, "polo has a control character (such as a NUL byte) at position 3"),
        (3, "polo is longer than 200 characters")]
    assert block.rejects[0][1] == "1;10;Ana\ufffdSouza;RJ;10/03/2022;-"  # a NUL cannot be stored: kept as U+FFFD
    customers = parsing.parse_customers("1;Ana\x1b;;\n2;Ana;ana@x.com\x00;\n3;Ana;;\n".encode(), first_line=1,
                                        delimiter=";")
    assert [reason for _, _, reason in customers.rejects] == [
        "nome has a control character (such as a NUL byte) at position 4",
        "email has a control character (such as a NUL byte) at position 10"]
    assert all(parsing.read_reason(reason) is not None for _, _, reason in block.rejects + customers.rejects)


def test_a_nul_after_the_files_first_bytes_rejects_its_line_not_the_load(db, settings, tmp_path):
    # The first 64 KB decide whether a file is text (a NUL there refuses it as binary); later, a
    # NUL is one bad line. Before, the line's COPY failed and with it the whole load.
    lines = [f"{i};10;Ana Souza;RJ;10/03/2022;-" for i in range(1, 3001)]
    lines[2500] = "2501;10;Ana\x00Souza;RJ;10/03/2022;-"
    path = tmp_path / "services.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    report = loading.load_file(db, path=path, kind="services", actor=CLI_ACTOR, settings=settings)
    assert (report.inserted, report.rejected) == (2999, 1)
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT line_no, raw, reason FROM load_rejects")).one() == (
            2501, "2501;10;Ana\ufffdSouza;RJ;10/03/2022;-",
            "angel has a control character (such as a NUL byte) at position 4")


def test_the_database_holds_the_same_limits(conn):
    def stored(sql: str, value: str) -> bool:
        try:
            with conn.begin_nested():
                conn.execute(sa.text(sql), {"v": value})
            return True
        except sa.exc.IntegrityError:
            return False

    for field, limit in (("nome", text.LIMITS["nome"]), ("email", text.LIMITS["email"])):
        value = "a@b." + "c" * (limit - 4)
        assert stored(f"INSERT INTO customers (id, {field}) VALUES ({limit}, :v)", value)
        assert not stored(f"INSERT INTO customers (id, {field}) VALUES ({limit + 1}, :v)", value + "c")
    for field in ("angel", "polo"):
        other = "polo" if field == "angel" else "angel"
        sql = (f"INSERT INTO services (id, id_cliente, {field}, {other}, data_limite) "
               "VALUES ((SELECT coalesce(max(id), 0) + 1 FROM services), 200, :v, 'x', '2022-03-10')")
        assert stored(sql, "a" * text.LIMITS[field]) and not stored(sql, "a" * (text.LIMITS[field] + 1))


def test_an_angel_search_takes_percent_and_underscore_literally(conn):
    insert_services(conn)
    march = Period(date(2022, 3, 1), date(2022, 3, 31))
    names = lambda search: {r.angel for r in indicators.sla_by_angel(conn, period=march, search=search,  # noqa: E731
                                                                     as_of=date(2022, 4, 1))}
    assert names("a") == {"Ana Souza de", "Bruno Lima", "Caio Reis"}
    assert names("%") == names("_") == names("Ana_Souza") == set()  # before: every angel, and Ana Souza de
    assert names("Ana Souza") == {"Ana Souza de"}
    assert {r.angel for r in indicators.productivity(conn, period=march, search="%", country="BR",
                                                     as_of=date(2022, 4, 1))} == set()
