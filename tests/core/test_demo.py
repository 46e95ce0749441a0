"""Demo files: shaped like the real export, deterministic per seed, load without a reject."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime

import holidays
import sqlalchemy as sa

from core import cli, demo, loading
from core.accounts import CLI_ACTOR


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = demo.write_demo(tmp_path / "a", rows=2000, seed=3, dates=demo.HISTORICAL)
    b = demo.write_demo(tmp_path / "b", rows=2000, seed=3, dates=demo.HISTORICAL)
    c = demo.write_demo(tmp_path / "c", rows=2000, seed=4, dates=demo.HISTORICAL)
    assert a.services.read_bytes() == b.services.read_bytes()
    assert a.customers.read_bytes() == b.customers.read_bytes()
    assert a.services.read_bytes() != c.services.read_bytes()


def test_shape_of_the_services_file(tmp_path):
    files = demo.write_demo(tmp_path, rows=20_000, seed=1, dates=demo.HISTORICAL)
    lines = files.services.read_text(encoding="utf-8").splitlines()
    assert lines[0] == demo.SERVICES_HEADER
    rows = [line.split(";") for line in lines[1:]]
    assert len(rows) == 20_000 and all(len(r) == 6 for r in rows)
    ids = [int(r[0]) for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len(demo.POLOS) == 70 and all(re.fullmatch(r"[A-Z]{2} - [A-ZÀ-Ý0-9 ]+", p) for p in demo.POLOS)
    polo_of = {}
    for r in rows:
        assert polo_of.setdefault(r[2], r[3]) == r[3]  # each angel in exactly one polo
        assert len(r[2].split(" ")) == 3
    assert len(polo_of) <= 70 * 26
    br = holidays.country_holidays("BR", years=[2021, 2022])
    deadlines = {datetime.strptime(r[4], "%d/%m/%Y").date() for r in rows}
    assert min(deadlines) >= date(2021, 6, 30) and max(deadlines) <= date(2022, 6, 3)
    assert not any(d in br for d in deadlines)
    assert any(d.weekday() >= 5 for d in deadlines)
    visits = Counter("-" if r[5] == "-" else "iso" if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[5])
                     else "other" for r in rows)
    assert 0.02 < visits["-"] / len(rows) < 0.07
    assert 0.88 < visits["iso"] / len(rows) < 0.94   # ~95% of the visited ones
    assert visits["other"] > 400
    customers = files.customers.read_text(encoding="utf-8").splitlines()
    assert not customers[0].startswith("id;")    # no header, like the real file
    assert 0.50 < len(customers) / len(rows) < 0.60
    assert {int(r[1]) for r in rows} == {int(c.split(";")[0]) for c in customers}


def test_demo_files_load_without_a_reject_and_look_real(db, settings, tmp_path):
    files = demo.write_demo(tmp_path, rows=5000, seed=2, dates=demo.HISTORICAL)
    services = loading.load_file(db, path=files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    customers = loading.load_file(db, path=files.customers, kind="customers", actor=CLI_ACTOR, settings=settings)
    assert (services.rows, services.inserted, services.rejected) == (5000, 5000, 0)
    assert services.stub_customers == files.customers_rows
    assert (customers.rows, customers.updated, customers.stubs_filled, customers.rejected) == \
        (files.customers_rows, files.customers_rows, files.customers_rows, 0)
    with db.connect() as conn:
        on_time, late, never = conn.execute(sa.text("""
            SELECT count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
                   count(*) FILTER (WHERE data_de_atendimento::date > data_limite),
                   count(*) FILTER (WHERE data_de_atendimento IS NULL) FROM services""")).one()
        assert conn.scalar(sa.text("SELECT count(*) FROM customers WHERE is_stub")) == 0
    assert on_time > 4 * late > 0 and 0 < never < late   # mostly on time, some late, a few never visited


def _visit_day(text: str) -> date | None:
    if text == "-":
        return None
    found = re.match(r"(\d{4})-(\d\d)-(\d\d)", text) or re.match(r"(\d\d) ?/(\d\d) ?/?(\d{2,4})", text)
    if text[4] == "-":
        return date(*map(int, found.groups()))
    day, month, year = map(int, found.groups())
    return date(year + 2000 if year < 100 else year, month, day)


def test_a_live_demo_ends_a_few_days_after_today_with_todays_visits_partly_done(tmp_path):
    today = date(2026, 12, 7)  # a Monday
    dates = demo.live(today)
    assert (dates.first, dates.last, dates.today) == (date(2026, 1, 7), date(2026, 12, 11), today)
    assert dates.last - dates.first == demo.HISTORICAL.last - demo.HISTORICAL.first
    files = demo.write_demo(tmp_path / "a", rows=20_000, seed=1, dates=dates)
    assert files.services.read_bytes() == demo.write_demo(tmp_path / "b", rows=20_000, seed=1, dates=dates).services.read_bytes()
    rows = [line.split(";") for line in files.services.read_text(encoding="utf-8").splitlines()[1:]]
    deadlines = [datetime.strptime(r[4], "%d/%m/%Y").date() for r in rows]
    assert min(deadlines) >= dates.first and max(deadlines) == dates.last
    assert not any(d in holidays.country_holidays("BR", years=[2026]) for d in deadlines)
    visits = [(_visit_day(r[5]), r[5]) for r in rows]
    assert max(day for day, _ in visits if day) == today  # nothing visited after today
    todays = [text for day, text in visits if day == today]
    assert todays and all(int(text[11:13]) < demo.MORNING_ENDS for text in todays if len(text) > 13 and text[4] == "-")
    due_ahead = [r for r, d in zip(rows, deadlines) if d > today]
    assert due_ahead and all(_visit_day(r[5]) is None or _visit_day(r[5]) <= today for r in due_ahead)
    assert sum(r[5] == "-" for r, d in zip(rows, deadlines) if d > today) > len(due_ahead) / 2  # mostly still open


def test_demo_command(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--rows", "300", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "300 services" in out and "python -m core load services" in out
    assert len((tmp_path / demo.SERVICES_FILE).read_text(encoding="utf-8").splitlines()) == 301
    assert cli.main(["demo", "--out", str(tmp_path / "h"), "--rows", "300", "--historical"]) == 0
    assert "deadlines 2021-06-30..2022-06-03, every visit done" in capsys.readouterr().out
    assert cli.main(["demo", "--out", str(tmp_path / "t"), "--rows", "300", "--today", "2022-03-15"]) == 0
    assert "deadlines 2021-04-15..2022-03-19, visits up to 2022-03-15 (its morning)" in capsys.readouterr().out
