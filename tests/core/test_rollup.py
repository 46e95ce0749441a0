"""The rollups answer exactly what the raw services table answers, whatever writes happened.

Random services go through inserts, updates (visit, deadline, angel, polo), deletes and truncates;
after each run the rollup tables must equal a fresh aggregation of `services`, and the indicator
functions must equal plain queries over `services` written with core/definitions.py's fragments.
"""
import json
from itertools import accumulate
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from core import calendar, indicators
from core.definitions import Period, status_condition

FIRST = date(2022, 1, 20)  # random days fall in 20/01..19/04: partial and whole months
DAYS = 90
POLOS = ("PA", "PB")
ANGELS = ("a1", "a2", "a3")

day_offsets = st.integers(0, DAYS - 1)
visits = st.one_of(st.none(), st.tuples(day_offsets, st.integers(0, 23 * 60 + 59)))
service = st.tuples(st.sampled_from(ANGELS), st.sampled_from(POLOS), day_offsets, visits)


def _visit(v):
    return None if v is None else datetime.combine(FIRST + timedelta(v[0]), datetime.min.time()) \
        + timedelta(minutes=v[1])


operation = st.one_of(
    st.tuples(st.just("insert"), st.lists(service, min_size=1, max_size=12)),
    # a load's upsert: ids from 1 may exist (updated) or not (inserted) in one statement
    st.tuples(st.just("upsert"), st.lists(service, min_size=1, max_size=12)),
    st.tuples(st.just("update_visit"), st.integers(0, 30), visits),
    st.tuples(st.just("update_deadline"), st.integers(0, 30), day_offsets),
    st.tuples(st.just("move"), st.integers(0, 30), st.sampled_from(ANGELS), st.sampled_from(POLOS)),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("truncate")),
    # one row per statement, as the API and the pages write (the triggers' one-row path)
    st.tuples(st.just("insert_one"), service),
    st.tuples(st.just("update_one"), st.integers(1, 30), service),
    st.tuples(st.just("delete_one"), st.integers(1, 30)),
)


def apply(conn, op, next_id):
    kind = op[0]
    if kind in ("insert", "upsert"):
        first = next_id if kind == "insert" else 1
        rows = [{"id": first + i, "angel": a, "polo": p, "deadline": FIRST + timedelta(d),
                 "visit": _visit(v)} for i, (a, p, d, v) in enumerate(op[1])]
        # one statement for the whole batch, like a bulk load
        conn.execute(sa.text(
            "INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
            "SELECT r.id, 1, r.angel, r.polo, r.deadline, r.visit FROM json_to_recordset(CAST(:rows AS json)) "
            "AS r(id bigint, angel text, polo text, deadline date, visit timestamp) "
            "ON CONFLICT (id) DO UPDATE SET angel = excluded.angel, polo = excluded.polo, "
            "data_limite = excluded.data_limite, data_de_atendimento = excluded.data_de_atendimento"),
            {"rows": json.dumps(rows, default=str)})
        return max(next_id, first + len(rows))
    if kind == "insert_one":
        a, p, d, v = op[1]
        conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite, data_de_atendimento) "
                             "VALUES (:id, 1, :a, :p, :d, :v)"),
                     {"id": next_id, "a": a, "p": p, "d": FIRST + timedelta(d), "v": _visit(v)})
        return next_id + 1
    if kind == "update_one":  # any of the four fields, the same values included
        a, p, d, v = op[2]
        conn.execute(sa.text("UPDATE services SET angel = :a, polo = :p, data_limite = :d, data_de_atendimento = :v "
                             "WHERE id = :id"), {"id": op[1], "a": a, "p": p, "d": FIRST + timedelta(d), "v": _visit(v)})
        return next_id
    if kind == "delete_one":
        conn.execute(sa.text("DELETE FROM services WHERE id = :id"), {"id": op[1]})
        return next_id
    # the other operations hit every id with the same remainder: several rows per statement
    match = "id % 7 = :k % 7"
    if kind == "update_visit":
        conn.execute(sa.text(f"UPDATE services SET data_de_atendimento = :v WHERE {match}"),
                     {"k": op[1], "v": _visit(op[2])})
    elif kind == "update_deadline":
        conn.execute(sa.text(f"UPDATE services SET data_limite = :d WHERE {match}"),
                     {"k": op[1], "d": FIRST + timedelta(op[2])})
    elif kind == "move":
        conn.execute(sa.text(f"UPDATE services SET angel = :a, polo = :p WHERE {match}"),
                     {"k": op[1], "a": op[2], "p": op[3]})
    elif kind == "delete":
        conn.execute(sa.text(f"DELETE FROM services WHERE {match}"), {"k": op[1]})
    else:
        conn.execute(sa.text("TRUNCATE services"))
    return next_id


FRESH = {
    "sla_polo_daily": """
        SELECT data_limite, polo, count(*),
               count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               count(*) FILTER (WHERE data_de_atendimento::date > data_limite),
               count(*) FILTER (WHERE data_de_atendimento IS NULL),
               coalesce(sum(data_limite - data_de_atendimento::date), 0)
        FROM services GROUP BY 1, 2""",
    "visits_polo_daily": """
        SELECT data_de_atendimento::date, polo, count(*),
               count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               sum(data_limite - data_de_atendimento::date),
               count(DISTINCT angel)
        FROM services WHERE data_de_atendimento IS NOT NULL GROUP BY 1, 2""",
}


def fresh_angel_months(conn) -> dict[str, list[tuple]]:
    """The per-angel month rows computed in Python from services: (month, polo, angel, then one
    list of 31 running sums per measure), as the two *_angel_months tables should hold them."""
    sla, visits = {}, {}
    for polo, angel, deadline, visit in conn.execute(sa.text(
            "SELECT polo, angel, data_limite, data_de_atendimento FROM services")):
        day = visit.date() if visit else None
        daily = sla.setdefault((deadline.replace(day=1), polo, angel), [[0] * 31 for _ in range(5)])
        for measure, value in enumerate((1, day is not None and day <= deadline, day is not None and day > deadline,
                                         day is None, (deadline - day).days if day else 0)):
            daily[measure][deadline.day - 1] += int(value)
        if day is not None:
            daily = visits.setdefault((day.replace(day=1), polo, angel), [[0] * 31 for _ in range(4)])
            for measure, value in enumerate((1, day <= deadline, (deadline - day).days)):
                daily[measure][day.day - 1] += int(value)
    for daily in visits.values():
        daily[3] = [int(n > 0) for n in daily[0]]  # worked days
    return {table: sorted((*key, *(list(accumulate(m)) for m in measures)) for key, measures in rows.items())
            for table, rows in (("sla_angel_months", sla), ("visits_angel_months", visits))}


def rollups_equal_fresh(conn) -> None:
    """Each rollup table holds exactly a fresh aggregation of services."""
    for table, fresh in FRESH.items():
        assert conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1, 2, 3")).all() == \
            conn.execute(sa.text(fresh + " ORDER BY 1, 2, 3")).all(), table
    measures = {"sla_angel_months": "total, on_time, late, unvisited, slack_days",
                "visits_angel_months": "visits, on_time, slack_days, worked_days"}
    for table, fresh in fresh_angel_months(conn).items():
        columns = ", ".join(f"m.{c}" for c in measures[table].split(", "))
        assert [tuple(r) for r in conn.execute(sa.text(
            f"SELECT m.month, p.name, a.name, {columns} FROM {table} m JOIN angels a ON a.id = m.angel_id "
            f"JOIN polos p ON p.id = a.polo_id ORDER BY 1, 2, 3"))] == fresh, table


def raw_sla_by_angel(conn, period, as_of):
    cond = {s: status_condition(s) for s in ("on_time", "late", "not_visited", "open")}
    rows = conn.execute(sa.text(f"""
        SELECT polo, angel, count(*) FILTER (WHERE {cond['on_time']}) AS on_time,
               count(*) FILTER (WHERE {cond['late']}) AS late,
               count(*) FILTER (WHERE {cond['not_visited']}) AS not_visited,
               count(*) FILTER (WHERE {cond['open']}) AS open,
               sum(data_limite - data_de_atendimento::date) AS slack
        FROM services WHERE data_limite BETWEEN :s AND :e GROUP BY 1, 2 ORDER BY 1, 2"""),
        {"s": period.start, "e": period.end, "as_of": as_of}).mappings()
    return [(r["polo"], r["angel"], r["on_time"] + r["late"] + r["not_visited"], r["on_time"],
             r["late"], r["not_visited"], r["open"],
             None if r["slack"] is None else round(r["slack"] / (r["on_time"] + r["late"]), 9))
            for r in rows]


def raw_productivity(conn, period):
    return [tuple(r) for r in conn.execute(sa.text("""
        SELECT angel, polo, count(*), count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               count(DISTINCT data_de_atendimento::date),
               round(avg(data_limite - data_de_atendimento::date)::numeric, 9)::float8
        FROM services WHERE data_de_atendimento >= :s AND data_de_atendimento < :e
        GROUP BY 1, 2 ORDER BY 1, 2"""), {"s": period.start, "e": period.end_exclusive})]


def raw_trend(conn, buckets, as_of, angel):
    """(total, on_time, late, not_visited, visits) of each bucket (start, end), from services."""
    cond = {s: status_condition(s) for s in ("on_time", "late", "not_visited")}
    rows = conn.execute(sa.text(f"""
        SELECT b.start,
               (SELECT count(*) FILTER (WHERE {cond['on_time']} OR {cond['late']} OR {cond['not_visited']})
                FROM services WHERE data_limite BETWEEN b.start AND b.end AND angel = coalesce(:angel, angel)),
               (SELECT count(*) FILTER (WHERE {cond['on_time']}) FROM services
                WHERE data_limite BETWEEN b.start AND b.end AND angel = coalesce(:angel, angel)),
               (SELECT count(*) FILTER (WHERE {cond['late']}) FROM services
                WHERE data_limite BETWEEN b.start AND b.end AND angel = coalesce(:angel, angel)),
               (SELECT count(*) FILTER (WHERE {cond['not_visited']}) FROM services
                WHERE data_limite BETWEEN b.start AND b.end AND angel = coalesce(:angel, angel)),
               (SELECT count(*) FROM services WHERE data_de_atendimento >= b.start
                AND data_de_atendimento < b.end + 1 AND angel = coalesce(:angel, angel))
        FROM unnest(CAST(:starts AS date[]), CAST(:ends AS date[])) b(start, "end") ORDER BY b.start"""),
        {"starts": [b[0] for b in buckets], "ends": [b[1] for b in buckets], "as_of": as_of, "angel": angel})
    return [tuple(r[1:]) for r in rows]


periods = st.tuples(st.integers(-5, DAYS + 5), st.integers(0, DAYS + 10)).map(
    lambda t: Period(FIRST + timedelta(t[0]), FIRST + timedelta(t[0] + t[1])))
as_ofs = st.integers(0, DAYS + 40).map(lambda d: FIRST + timedelta(d))


@pytest.fixture(scope="module")
def clean_engine(engine):
    from tests.conftest import reset_database

    reset_database(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id) VALUES (1)"))
    return engine


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=1, max_size=12), period=periods, as_of=as_ofs,
       grain=st.sampled_from(indicators.GRAINS))
def test_rollups_equal_the_raw_table_after_any_writes(clean_engine, ops, period, as_of, grain):
    with clean_engine.connect() as conn:
        tx = conn.begin()  # rolled back: every example starts from no services
        try:
            next_id = 1
            for op in ops:
                next_id = apply(conn, op, next_id)
            rollups_equal_fresh(conn)

            got = indicators.sla_by_angel(conn, period=period, as_of=as_of, sort="polo", descending=False)
            assert [(r.polo, r.angel, r.total, r.on_time, r.late, r.not_visited, r.open,
                     None if r.avg_slack_days is None else round(r.avg_slack_days, 9))
                    for r in got] == raw_sla_by_angel(conn, period, as_of)

            raw = raw_sla_by_angel(conn, period, as_of)
            by_polo = indicators.sla_by_polo(conn, period=period, as_of=as_of, sort="polo", descending=False)
            assert [(r.polo, r.total, r.on_time, r.late, r.not_visited, r.open) for r in by_polo] == [
                (p, *(sum(r[i] for r in raw if r[0] == p) for i in range(2, 7)))
                for p in sorted({r[0] for r in raw})]

            prod = indicators.productivity(conn, period=period, as_of=as_of, sort="angel", descending=False, country="BR")
            assert [(r.angel, r.polo, r.visits, r.on_time, r.worked_days, round(r.avg_slack_days, 9))
                    for r in prod] == raw_productivity(conn, period)

            overview = indicators.overview(conn, period=period, as_of=as_of, country="BR")
            one = indicators.overview(conn, period=period, as_of=as_of, angel="a1", country="BR")
            for everyone, angel in ((overview.current, one.current), (overview.previous, one.previous)):
                sla, visits = raw_sla_by_angel(conn, everyone.period, as_of), raw_productivity(conn, everyone.period)
                for kpis, named in ((everyone, lambda angel: True), (angel, lambda angel: angel == "a1")):
                    assert (kpis.total, kpis.on_time, kpis.late, kpis.not_visited, kpis.open) == tuple(
                        sum(r[i] for r in sla if named(r[1])) for i in range(2, 7))
                    assert (kpis.visits, kpis.worked_days, kpis.angels) == (
                        sum(r[2] for r in visits if named(r[0])), sum(r[4] for r in visits if named(r[0])),
                        len({r[0] for r in visits if named(r[0])}))
                    assert kpis.business_days == (calendar.business_days(
                        conn, period=Period(kpis.period.start, min(kpis.period.end, as_of)), country="BR")
                        if as_of >= kpis.period.start else 0)
            total = overview.current
            points = indicators.trend(conn, period=period, grain="month", as_of=as_of, country="BR")
            assert sum(p.total for p in points) == total.total
            assert sum(p.visits for p in points) == total.visits == sum(r[2] for r in raw_productivity(conn, period))
            for angel in (None, "a1"):  # every bucket of every grain, all angels and one
                points = indicators.trend(conn, period=period, grain=grain, angel=angel, as_of=as_of, country="BR")
                assert [(p.total, p.on_time, p.late, p.not_visited, p.visits) for p in points] == \
                    raw_trend(conn, [(p.start, p.end) for p in points], as_of, angel)
        finally:
            tx.rollback()


@hsettings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(service, min_size=0, max_size=30))
def test_a_rebuild_from_services_or_from_computed_tables_equals_the_raw_table(clean_engine, rows):
    with clean_engine.connect() as conn:
        tx = conn.begin()
        try:
            if rows:
                apply(conn, ("insert", rows), 1)
            conn.execute(sa.text("TRUNCATE sla_angel_months, visits_polo_daily"))  # rollups gone wrong
            conn.execute(sa.text("SELECT rebuild_services_rollups()"))
            rollups_equal_fresh(conn)
            # computed from another relation under a prefix, then copied in (a first bulk load)
            for table in conn.scalar(sa.text("SELECT rollup_tables()")):
                conn.execute(sa.text(f"CREATE TEMP TABLE ahead_{table} (LIKE {table})"))
            conn.execute(sa.text("SELECT compute_services_rollups('services', 'ahead_')"))
            conn.execute(sa.text("TRUNCATE sla_polo_daily"))
            conn.execute(sa.text("SELECT rebuild_services_rollups('ahead_')"))
            rollups_equal_fresh(conn)
        finally:
            tx.rollback()


NAMES = {"a1": "Álvaro", "a2": "bruno", "a3": "Bruno", "PA": "Pólo Sul", "PB": "Polo Norte"}  # byte order: B b P Pó Á
SLA_ORDER = {"sla": "on_time::float8 / nullif(total, 0)", "total": "total", "on_time": "on_time", "late": "late",
             "not_visited": "not_visited", "avg_slack_days": "slack::float8 / nullif(on_time + late, 0)",
             "polo": "polo", "angel": "angel"}
PRODUCTIVITY_ORDER = {"productivity": "visits::float8 / nullif(:days, 0)", "visits": "visits", "on_time": "on_time", "worked_days": "worked_days",
                      "visits_per_worked_day": "visits::float8 / worked_days", "avg_slack_days": "slack::float8 / visits",
                      "angel": "angel", "polo": "polo"}


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(service, min_size=0, max_size=25), period=periods, as_of=as_ofs,
       sla_sort=st.sampled_from(sorted(SLA_ORDER)), productivity_sort=st.sampled_from(sorted(PRODUCTIVITY_ORDER)),
       descending=st.booleans())
def test_rows_come_in_the_order_sql_would_sort_them(clean_engine, rows, period, as_of, sla_sort, productivity_sort,
                                                   descending):
    """Sorted in Python, the rows come as ORDER BY <field> NULLS LAST, then the names in byte order,
    over the raw table would give them (the names include accents and capitals)."""
    direction = "DESC" if descending else "ASC"
    with clean_engine.connect() as conn:
        tx = conn.begin()
        try:
            if rows:
                apply(conn, ("insert", [(NAMES[a], NAMES[p], d, v) for a, p, d, v in rows]), 1)
            due = f"""SELECT polo, angel, count(*) FILTER (WHERE {status_condition('on_time')}) AS on_time,
                             count(*) FILTER (WHERE {status_condition('late')}) AS late,
                             count(*) FILTER (WHERE {status_condition('not_visited')}) AS not_visited,
                             count(*) FILTER (WHERE {status_condition('not_visited')} OR {status_condition('late')}
                                                 OR {status_condition('on_time')}) AS total,
                             count(*) FILTER (WHERE {status_condition('open')}) AS open,
                             sum(data_limite - data_de_atendimento::date) AS slack
                      FROM services WHERE data_limite BETWEEN :s AND :e GROUP BY {{group}}"""
            params = {"s": period.start, "e": period.end, "as_of": as_of}
            expected = conn.execute(sa.text(
                f"SELECT polo, angel FROM ({due.format(group='1, 2')}) q "
                f"ORDER BY {SLA_ORDER[sla_sort]} {direction} NULLS LAST, polo COLLATE \"C\", angel COLLATE \"C\""),
                params).all()
            got = indicators.sla_by_angel(conn, period=period, as_of=as_of, sort=sla_sort, descending=descending)
            assert [(r.polo, r.angel) for r in got] == [tuple(r) for r in expected]

            if sla_sort != "angel":
                expected = conn.execute(sa.text(
                    f"SELECT polo FROM ({due.replace('polo, angel,', 'polo, NULL AS angel,').format(group='1')}) q "
                    f"ORDER BY {SLA_ORDER[sla_sort]} {direction} NULLS LAST, polo COLLATE \"C\""), params).scalars().all()
                got = indicators.sla_by_polo(conn, period=period, as_of=as_of, sort=sla_sort, descending=descending)
                assert [r.polo for r in got] == expected

            expected = conn.execute(sa.text(f"""
                SELECT angel, polo FROM (
                    SELECT angel, polo, count(*) AS visits, count(*) FILTER (WHERE data_de_atendimento::date <= data_limite) AS on_time,
                           count(DISTINCT data_de_atendimento::date) AS worked_days,
                           sum(data_limite - data_de_atendimento::date) AS slack
                    FROM services WHERE data_de_atendimento >= :s AND data_de_atendimento < :e GROUP BY 1, 2) q
                ORDER BY {PRODUCTIVITY_ORDER[productivity_sort]} {direction} NULLS LAST,
                         angel COLLATE "C", polo COLLATE "C" """),
                {"s": period.start, "e": period.end_exclusive, "days": calendar.business_days(
                    conn, period=Period(period.start, min(period.end, as_of)), country="BR") if as_of >= period.start else 0}
            ).all()
            got = indicators.productivity(conn, period=period, as_of=as_of, sort=productivity_sort,
                                          descending=descending, country="BR")
            assert [(r.angel, r.polo) for r in got] == [tuple(r) for r in expected]
        finally:
            tx.rollback()
