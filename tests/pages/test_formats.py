"""Numbers and dates as a user reads them: the tables' texts written once per (rows, language) are
exactly Babel's, in both languages, missing values and negative numbers included."""
from __future__ import annotations

import io
import math
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pytest
from babel.dates import format_skeleton, format_time
from babel.numbers import format_decimal, format_percent
from hypothesis import given, settings as hsettings, strategies as st
from streamlit.elements.lib.pandas_styler_utils import marshall_styler
from streamlit.proto.ArrowData_pb2 import ArrowData

from dashboard import i18n, ui

LANGUAGES = ("pt_BR", "en")


def babel(value, digits: int, language: str, *, percent: bool = False) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + ("%" if percent else "")
    return (format_percent if percent else format_decimal)(value, pattern, locale=language)


HAND = [0, 1, -1, 999, 1000, 1_048_575, -1_048_575, 0.0, -0.0, 0.5, -0.001, 0.125, 0.375, 2.675, 1.005,
        0.8527, 85.0, 1 / 3, -1 / 3, 2 / 3, 1234567.675, 1e-7, 1e16, 123456789012.345, math.nan, math.inf]


@pytest.mark.parametrize("language", LANGUAGES)
def test_fixed_writes_exactly_what_babel_writes(language):
    for value in HAND:
        for digits in (0, 1, 2):
            assert i18n.fixed(value, digits, language) == babel(value, digits, language), (value, digits)
            assert i18n.fixed(value, digits, language, percent=True) == babel(value, digits, language, percent=True)
    # the conventions themselves, written out
    assert [i18n.fixed(v, d, language) for v, d in ((1_048_575, 0), (-1234.5, 2), (-0.001, 2))] == (
        ["1.048.575", "-1.234,50", "-0,00"] if language == "pt_BR" else ["1,048,575", "-1,234.50", "-0.00"])
    assert i18n.fixed(0.85, 1, language, percent=True) == ("85,0%" if language == "pt_BR" else "85.0%")
    assert i18n.fixed(2.675, 2, language) == ("2,68" if language == "pt_BR" else "2.68")  # half even on "2.675"


@hsettings(max_examples=400, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
                       st.integers(min_value=-10**15, max_value=10**15)),
       digits=st.integers(min_value=0, max_value=3), percent=st.booleans(), language=st.sampled_from(LANGUAGES))
def test_fixed_agrees_with_babel_on_any_number(value, digits, percent, language):
    assert i18n.fixed(value, digits, language, percent=percent) == babel(value, digits, language, percent=percent)


def shown(styler) -> pd.DataFrame:
    """The texts st.dataframe sends for a Styler's cells (Streamlit's own marshalling)."""
    proto = ArrowData()
    marshall_styler(proto, styler, "test")
    return pa.ipc.open_stream(io.BytesIO(proto.styler.display_values)).read_pandas()


TABLE = pd.DataFrame({
    "angel": ["Ana Souza de", None, "Caio Reis"],
    "sla": [0.8527, None, 1.0],
    "total": [1_048_575, 0, -3],
    "stubs": pd.array([None, 1500, 7], dtype="Int64"),
    "avg_slack_days": [-0.333333, 2.675, math.nan],
    "day": [date(2021, 6, 26), None, date(2022, 1, 2)],
    "at": pd.to_datetime(["2021-06-26 09:05:07", None, "2022-01-02 18:30:00"]),
    "when": pd.to_datetime(["2021-06-26 09:05:07", "2021-06-26 09:05:07", None]),
    "kind": ["services", "customers", "other"],
    "active": [True, False, True],
})


def the_former_styler(df: pd.DataFrame, language: str):
    """The table as localized() wrote it before: Babel called for every cell through the Styler."""
    words = {"services": "Services", "customers": "Customers"} if language == "en" else {
        "services": "Atendimentos", "customers": "Clientes"}
    day = lambda v: format_skeleton("yMMdd", v, locale=language)  # noqa: E731
    return df.style.format({
        "sla": lambda v: babel(v, 1, language, percent=True), "total": lambda v: babel(v, 0, language),
        "stubs": lambda v: babel(v, 0, language), "avg_slack_days": lambda v: babel(v, 2, language),
        "day": day, "at": lambda v: f"{day(v)} {format_time(v, 'short', locale=language)}",
        "when": lambda v: f"{day(v)} {format_time(v, 'medium', locale=language)}",
        "kind": lambda v: words.get(v, v)}, na_rep="-")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_table_shows_the_same_texts_as_when_babel_wrote_every_cell(monkeypatch, language):
    monkeypatch.setattr(i18n, "current", lambda: language)
    new = shown(ui.localized(TABLE, percent=("sla",), seconds=("when",), words={"kind": ui.LOAD_KINDS}))
    assert new.equals(shown(the_former_styler(TABLE, language)))
    if language == "pt_BR":
        assert new.to_dict("list") == {
            "angel": ["Ana Souza de", "-", "Caio Reis"], "sla": ["85,3%", "-", "100,0%"],
            "total": ["1.048.575", "0", "-3"], "stubs": ["-", "1.500", "7"],
            "avg_slack_days": ["-0,33", "2,68", "-"], "day": ["26/06/2021", "-", "02/01/2022"],
            "at": ["26/06/2021 09:05", "-", "02/01/2022 18:30"], "when": ["26/06/2021 09:05:07"] * 2 + ["-"],
            "kind": ["Atendimentos", "Clientes", "other"], "active": ["True", "False", "True"]}
    else:
        assert new["total"].tolist() == ["1,048,575", "0", "-3"] and new["sla"].tolist() == ["85.3%", "-", "100.0%"]
        assert new["day"].tolist() == ["6/26/2021", "-", "1/2/2022"]


def test_the_table_texts_follow_the_language_of_each_run(monkeypatch):
    for language, expected in (("pt_BR", "1.048.575"), ("en", "1,048,575"), ("pt_BR", "1.048.575")):
        monkeypatch.setattr(i18n, "current", lambda language=language: language)
        assert shown(ui.localized(TABLE))["total"][0] == expected
