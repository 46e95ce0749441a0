"""`python -m core indicators ...` and `python -m core calendar ...`: exact output."""
import io
import json
import sys

from core.cli import main
from tests.core.test_indicators import insert_services

MARCH = ["--start", "2022-03-01", "--end", "2022-03-31", "--as-of", "2022-04-01"]


def run(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def load(engine):
    with engine.begin() as conn:
        insert_services(conn)


def test_sla_polo_json_has_the_issue_keys(db, monkeypatch, capsys):
    load(db)
    code, out, _ = run(monkeypatch, capsys, "indicators", "sla-polo", *MARCH, "--json")
    assert code == 0
    assert json.loads(out) == [
        {"polo": "SP - CAMPINAS", "total": 3, "on_time": 2, "late": 1, "not_visited": 0, "sla": 0.6667},
        {"polo": "RJ - SAO GONÇALO", "total": 6, "on_time": 3, "late": 1, "not_visited": 2, "sla": 0.5}]


def test_sla_angel_csv_sorted_by_total_ascending_and_filtered(db, monkeypatch, capsys):
    load(db)
    code, out, _ = run(monkeypatch, capsys, "indicators", "sla-angel", *MARCH, "--polo", "RJ - SAO GONÇALO",
                       "--sort", "total", "--asc", "--csv")
    assert code == 0
    assert out == ('"polo","angel","total","on_time","late","not_visited","sla"\n'  # every text quoted
                   '"RJ - SAO GONÇALO","Bruno Lima",2,1,0,1,0.5\n'
                   '"RJ - SAO GONÇALO","Ana Souza de",4,2,1,1,0.5\n')


def test_productivity_json_and_text_table(db, monkeypatch, capsys):
    load(db)
    code, out, _ = run(monkeypatch, capsys, "indicators", "productivity", *MARCH, "--angel", "Ana Souza de",
                       "--json")
    assert code == 0
    assert json.loads(out) == [{"angel": "Ana Souza de", "polo": "RJ - SAO GONÇALO", "visits": 3,
                                "business_days": 23, "productivity": 0.1304, "worked_days": 2,
                                "visits_per_worked_day": 1.5, "avg_slack_days": -0.3333}]
    code, out, _ = run(monkeypatch, capsys, "indicators", "sla-polo", "--start", "2022-03-10",
                       "--end", "2022-03-10", "--as-of", "2022-04-01")
    assert out == ("polo              total  on_time  late  not_visited  sla\n"
                   "RJ - SAO GONÇALO  3      2        1     0            0.6667\n")


def test_empty_database_and_bad_input(db, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "indicators", "sla-polo", "--json")
    assert (code, json.loads(out)) == (0, []) and "No services in the database" in err
    load(db)
    code, out, err = run(monkeypatch, capsys, "indicators", "sla-polo", "--start", "2023-01-01",
                         "--end", "2023-01-31")
    assert (code, out) == (0, "No services in this period.\n")
    code, _, err = run(monkeypatch, capsys, "indicators", "sla-polo", "--sort", "speed")
    assert code == 2 and "cannot sort by 'speed'" in err
    code, _, err = run(monkeypatch, capsys, "indicators", "sla-polo", "--start", "2022-04-01", "--end", "2022-03-01")
    assert code == 2 and "starts (2022-04-01) after it ends" in err


def test_calendar_add_list_remove(db, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "calendar", "add", "2022-03-01", "--reason", "Carnaval")
    assert (code, out) == (0, "2022-03-01 is now a non-working day (Carnaval)\n")
    code, out, _ = run(monkeypatch, capsys, "calendar", "list")
    assert out == "2022-03-01  non-working day, added by cli  Carnaval\n"
    code, _, err = run(monkeypatch, capsys, "calendar", "add", "2022-03-01", "--reason", "again")
    assert code == 2 and "already a non-working day" in err
    code, out, _ = run(monkeypatch, capsys, "calendar", "remove", "2022-03-01")
    assert code == 0
    code, out, _ = run(monkeypatch, capsys, "calendar", "list", "--year", "2022")
    assert out.splitlines()[0] == "2022-01-01  national holiday (BR)  Universal Fraternization Day"
    assert out.splitlines()[-1].startswith("No non-working days added")
