"""Downloads a spreadsheet opens safely: no cell of data becomes a formula (CSV and xlsx)."""
import io
import sys
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from core import exports, loading, records
from core.accounts import CLI_ACTOR
from core.cli import main
from tests.core.test_loading import load

DANGEROUS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR"]


def test_csv_cells_that_start_like_a_formula_get_an_apostrophe_and_every_text_is_quoted():
    rows = [{"name": text, "n": -5} for text in DANGEROUS[:-1]] + [{"name": "Ana = Silva", "n": 1.5},
                                                                  {"name": None, "n": 0}]
    assert exports.csv_text(rows, ("name", "n")) == (
        '"name","n"\n'
        '"\'=HYPERLINK(""http://evil.example"",""click"")",-5\n'
        '"\'+1+1",-5\n"\'-2+3",-5\n"\'@SUM(A1:A2)",-5\n"\'\tTAB",-5\n'
        '"Ana = Silva",1.5\n"",0\n')  # numbers stay numbers, a formula sign inside a text is harmless
    assert exports.neutralise("\rCR") == "'\rCR" and exports.neutralise(-5) == -5


def test_a_table_as_csv_is_neutralised_quoted_and_keeps_the_bom():
    df = pd.DataFrame({"polo": ["=1+1", "RJ - SAO GONÇALO"], "visits": [3, -1], "sla": [0.5, None]})
    assert exports.frame_csv(df) == ('\ufeff"polo","visits","sla"\n"\'=1+1",3,0.5\n'
                                     '"RJ - SAO GONÇALO",-1,""\n').encode("utf-8")
    assert exports.frame_csv(df, sep=";", decimal=",") == ('\ufeff"polo";"visits";"sla"\n"\'=1+1";3;"0,5"\n'
                                                           '"RJ - SAO GONÇALO";-1;""\n').encode("utf-8")


SPLIT_ELSEWHERE = ["Acme;=cmd|' /C calc'!A0", "Acme,=cmd|' /C calc'!A0", "Acme\t=1+1", "Acme; @SUM(A1)",
                   'Acme,"=1+1', "a;-2+3,+1"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_no_reader_splitting_at_another_separator_finds_a_formula(delimiter):
    """Written with one separator, read with any (a reader honouring quotes, or one that splits
    blindly): no cell starts with a formula sign."""
    import csv

    rows = [{"name": text, "n": i} for i, text in enumerate(SPLIT_ELSEWHERE + DANGEROUS[:-1])]
    written = exports.csv_text(rows, ("name", "n"), delimiter=delimiter)
    df = pd.DataFrame({"name": SPLIT_ELSEWHERE, "n": range(len(SPLIT_ELSEWHERE))})
    for text in (written, exports.frame_csv(df, sep=delimiter).decode("utf-8-sig")):
        for separator in (",", ";", "\t"):
            cells = [c for row in csv.reader(io.StringIO(text), delimiter=separator) for c in row]
            cells += [c.strip(' "') for line in text.splitlines() for c in line.split(separator)]
            assert not [c for c in cells if c.lstrip(' "').startswith(exports.FORMULA_STARTS)], (separator, text)
    assert exports.neutralise("Acme;=cmd|' /C calc'!A0") == "Acme;'=cmd|' /C calc'!A0"


def test_xlsx_writes_every_text_as_a_string_never_a_formula():
    texts = DANGEROUS[:-1]  # (xlsx's XML keeps a lone carriage return as a line feed)
    df = pd.DataFrame({"angel": texts, "sla": [0.5] * len(texts), "day": [date(2022, 3, 1)] * len(texts)})
    book = load_workbook(io.BytesIO(exports.frame_xlsx(df, "sla by angel")))
    ws = book["sla by angel"]
    assert [c.value for c in ws[1]] == ["angel", "sla", "day"]
    cells = [ws.cell(row=i + 2, column=1) for i in range(len(texts))]
    assert [c.value for c in cells] == texts and {c.data_type for c in cells} == {"s"}
    assert ws.cell(row=2, column=2).value == 0.5 and ws.cell(row=2, column=2).data_type == "n"


def test_pandas_and_openpyxl_alone_would_write_a_live_formula():
    """Why the helper exists: the plain export stores such a name as a formula."""
    buffer = io.BytesIO()
    pd.DataFrame({"angel": ["=1+1"]}).to_excel(buffer, index=False)
    assert load_workbook(io.BytesIO(buffer.getvalue())).active["A2"].data_type == "f"


def test_the_cli_csv_of_records_is_neutralised(db, monkeypatch, capsys):
    with db.begin() as conn:
        records.create_customer(conn, actor=CLI_ACTOR, id=5, nome="+55 Maria")
        records.create_service(conn, actor=CLI_ACTOR, id=1, id_cliente=5, angel="=cmd|' /C calc'!A0",
                               polo="@RJ", data_limite=date(2022, 3, 1), data_de_atendimento=None,
                               as_of=date(2022, 3, 10))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["services"]) == 0
    out = capsys.readouterr().out
    assert '"\'=cmd|\' /C calc\'!A0";"\'@RJ";' in out and ";=cmd" not in out


def test_rejected_raw_lines_are_neutralised_in_their_csv(db, settings, tmp_path):
    path = tmp_path / "bd_desafio.csv"
    path.write_text("id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
                    "=1+2;10;Ana;SP;30/06/2021;-\n", encoding="utf-8")
    report = load(db, settings, path, "services")
    with db.connect() as conn:
        text = loading.rejects_csv(conn, job_id=report.job_id)
    assert text.splitlines()[1] == '2;"id_atendimento \'=1+2\' is not a whole number";"\'=1+2;10;Ana;SP;30/06/2021;-"'
