"""The vectorised parser of the export's lines (core/parsing.py): dates, reasons, quoting, id order.

The loader's tests (test_loading.py) go through a real load; these check the parser on its own,
against Python's calendar and PostgreSQL's own quoting, on many generated values.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from core import parsing

FORMS = {   # how the export writes a visit (DOMAIN.md), as format strings of the same moment
    "iso": "{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}",
    "iso T": "{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}",
    "dmy seconds": "{d:02d}/{mo:02d}/{y:04d} {h:02d}:{mi:02d}:{s:02d}",
    "dmy minutes": "{d:02d}/{mo:02d}/{y:04d} {h:02d}:{mi:02d}",
    "dmy": "{d:02d}/{mo:02d}/{y:04d}",
    "lost slash": "{d:02d}/{mo:02d}{y:04d} {h:02d}:{mi:02d}",
    "two-digit year": "{d:02d}/{mo:02d}/{yy:02d}  ",
    "spaced slashes": "{d:02d} /{mo:02d} /{y:04d} {h:02d}:{mi:02d}:{s:02d}",
    "single digits": "{d}/{mo}/{y:04d}",
    "dots": "{d:02d}.{mo:02d}.{y:04d}",
}
EXPECTED_PRECISION = {"dmy minutes": "minute", "lost slash": "minute", "dmy": "day", "two-digit year": "day",
                      "single digits": "day", "dots": "day"}


def visit_line(value: str, n: int = 1) -> str:
    return f"{n};10;Ana Silva da;SP - CAMPINAS;30/06/2021;{value}"


def parse(*lines: str, first_line: int = 2) -> parsing.Block:
    return parsing.parse_services(("\n".join(lines) + "\n").encode(), first_line=first_line, delimiter=";")


def truncated(moment: datetime, form: str) -> datetime:
    precision = EXPECTED_PRECISION.get(form, "second")
    if precision == "day":
        return datetime(moment.year, moment.month, moment.day)
    if precision == "minute":
        return moment.replace(second=0)
    return moment


@hsettings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
           lambda m: m.replace(microsecond=0)),
       form=st.sampled_from(sorted(FORMS)))
def test_every_form_reads_the_same_moment_day_first(moment, form):
    text = FORMS[form].format(y=moment.year, yy=moment.year % 100, mo=moment.month, d=moment.day,
                              h=moment.hour, mi=moment.minute, s=moment.second)
    block = parse(visit_line(text))
    assert block.rejects == []
    assert block.good.column("data_de_atendimento").to_pylist() == [truncated(moment, form)]


@hsettings(max_examples=200, deadline=None)
@given(year=st.integers(1990, 2040), month=st.integers(1, 12), day=st.integers(1, 31),
       form=st.sampled_from(["dmy", "dmy seconds", "iso", "single digits", "spaced slashes"]))
def test_a_day_the_month_does_not_have_is_not_a_real_date(year, month, day, form):
    text = FORMS[form].format(y=year, yy=year % 100, mo=month, d=day, h=10, mi=0, s=0)
    block = parse(visit_line(text))
    real = day <= calendar.monthrange(year, month)[1]
    assert (block.good.num_rows, len(block.rejects)) == ((1, 0) if real else (0, 1))
    if not real:
        assert block.rejects[0][2] == (f"data_de_atendimento {parsing.quote_literal(text.strip())} "
                                       "is not a real date (read as day/month/year)")


@pytest.mark.parametrize("value, known", [
    ("31/02/2022", True), ("29/02/2023", True), ("00/01/2021", True), ("10/13/2021", True),
    ("10/10/2021 24:00", True), ("10/10/2021 23:60", True), ("2021-02-30 10:00:00", True),
    ("ontem", False), ("2021/06/29", False), ("29-06-2021 10", False), ("123/06/2021", False), ("29/06", False),
])
def test_impossible_and_unknown_values_have_their_own_reason(value, known):
    [(line, raw, reason)] = parse(visit_line(value)).rejects
    assert (line, raw) == (2, visit_line(value))
    assert reason.endswith("is not a real date (read as day/month/year)" if known
                           else "is not a date in a known form (day/month/year, optionally with a time)")


def test_the_deadline_is_a_date_and_blank_lines_keep_their_numbers():
    block = parse("", visit_line("-", 1), "   ", visit_line("", 2), first_line=5)
    assert block.lines == 2
    assert block.good.column("line_no").to_pylist() == [6, 8]
    assert block.good.column("data_limite").to_pylist() == [date(2021, 6, 30)] * 2
    assert block.good.column("data_de_atendimento").to_pylist() == [None, None]


def test_ids_order_of_a_block():
    assert parse(visit_line("-", 3), visit_line("-", 7)).id_order() == (3, 7, True)
    assert parse(visit_line("-", 7), visit_line("-", 3)).id_order() == (7, 3, False)
    assert parse(visit_line("-", 3), visit_line("-", 3)).id_order() == (3, 3, False)
    assert parse(visit_line("ontem", 3)).id_order() == (None, None, True)


def test_good_rows_go_to_copy_as_csv_with_nulls_unquoted():
    block = parse('1;10;Ana "A" da;SP - CAMPINAS;30/06/2021;-', '2;11;Ana, B;SP;01/07/2021;2021-07-01 10:00:00')
    assert block.good_csv().decode().splitlines() == [
        '2,1,10,"Ana ""A"" da","SP - CAMPINAS",2021-06-30,',
        '3,2,11,"Ana, B","SP",2021-07-01,2021-07-01 10:00:00']


def test_customers_phone_forms():
    data = ("1;Ana;ana@example.com;+55 (21) 98765-4321\n2;Bia;;2134567890\n3;Caio;;\n4;Dani;;55 21 3456 7890\n"
            "5;Edu;;5598765432\n").encode()
    block = parsing.parse_customers(data, first_line=1, delimiter=";")
    assert block.rejects == []
    assert block.good.column("telefone").to_pylist() == ["21987654321", "2134567890", None, "2134567890",
                                                         "5598765432"]


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20))
def test_reasons_quote_values_as_postgresql_does(db, value):
    with db.connect() as conn:
        assert parsing.quote_literal(value) == conn.scalar(sa.text("SELECT format('%L', CAST(:v AS text))"),
                                                           {"v": value})
