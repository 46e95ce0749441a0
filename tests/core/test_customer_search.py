"""The customers search through customer_search_blocks (migration 0020) answers exactly what a
plain scan of customers answers, whatever wrote to customers (statements of many rows, one row,
the record functions, loads, a rewrite, truncates, concurrent writers), and the blocks stay a
superset of every customer's searched values."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from core import loading, records
from core.accounts import CLI_ACTOR, Actor, PermissionDenied
from core.db import DEFINITIONS_DIR, definition_files, migrate, pending_migrations
from core.records import CustomerFilter
from core.text import control_position, like_pattern
from tests.concurrency import Blocked

DEFINITIONS = "sql/customer_search.sql"
FUNCTIONS = ("rebuild_customer_search_blocks", "compact_customer_search_blocks", "customer_search_append",
             "customer_search_truncate")

# Ids sharing few blocks (id % 1024), so block texts hold several values one after another.
IDS = [b + 1024 * k for b in (1, 2, 700) for k in range(0, 8) if b + 1024 * k > 0]
ALPHABET = "abAÁá%_\\."
texts = st.text(ALPHABET, min_size=1, max_size=5)
values = st.one_of(st.none(), texts)
person = st.tuples(values, values)  # (name, email local part)

operation = st.one_of(
    st.tuples(st.just("upsert"), st.lists(st.tuples(st.sampled_from(IDS), person), min_size=1, max_size=10,
                                          unique_by=lambda r: r[0])),
    st.tuples(st.just("update_one"), st.sampled_from(IDS), person),
    st.tuples(st.just("update_block"), st.sampled_from([1, 2, 700]), values),  # every customer of a block
    st.tuples(st.just("stubs"), st.lists(st.sampled_from(IDS), min_size=1, max_size=5)),
    st.tuples(st.just("delete_one"), st.sampled_from(IDS)),
    st.tuples(st.just("truncate")),
)


def _email(local, id):
    return None if local is None else f"{local}@{id}.Ex"  # unique per id (emails are unique)


def apply(conn, op):
    kind = op[0]
    if kind == "upsert":  # one statement: inserts and updates together, as a load's upsert
        rows = [{"id": i, "nome": n, "email": _email(e, i)} for i, (n, e) in op[1]]
        conn.execute(sa.text(
            "INSERT INTO customers AS t (id, nome, email) SELECT r.id, r.nome, r.email "
            "FROM json_to_recordset(CAST(:rows AS json)) AS r(id bigint, nome text, email text) "
            "ON CONFLICT (id) DO UPDATE SET nome = excluded.nome, email = excluded.email"),
            {"rows": json.dumps(rows)})
    elif kind == "update_one":
        i, (n, e) = op[1], op[2]
        conn.execute(sa.text("UPDATE customers SET nome = :n, email = :e WHERE id = :id"),
                     {"id": i, "n": n, "e": _email(e, i)})
    elif kind == "update_block":
        conn.execute(sa.text("UPDATE customers SET nome = :n WHERE id % 1024 = :b"), {"b": op[1], "n": op[2]})
    elif kind == "stubs":
        conn.execute(sa.text("INSERT INTO customers (id) SELECT unnest(CAST(:ids AS bigint[])) "
                             "ON CONFLICT (id) DO NOTHING"), {"ids": sorted(set(op[1]))})
    elif kind == "delete_one":
        conn.execute(sa.text("DELETE FROM customers WHERE id = :id"), {"id": op[1]})
    else:
        conn.execute(sa.text("TRUNCATE customers CASCADE"))


def assert_superset(conn):
    """Every customer's email_busca and nome_busca is a substring of its block's text."""
    missing = conn.execute(sa.text("""
        SELECT c.id, c.nome_busca, c.email_busca FROM customers c
        LEFT JOIN customer_search_blocks b ON b.block = c.id % 1024
        WHERE (c.email_busca IS NOT NULL AND strpos(coalesce(b.emails, ''), c.email_busca) = 0)
           OR (c.nome_busca IS NOT NULL AND strpos(coalesce(b.names, ''), c.nome_busca) = 0)""")).all()
    assert missing == []


def plain(conn, field, term, also="TRUE"):
    """The ids a scan of customers finds, the term cleaned as the filters clean it."""
    column, pattern = {"nome": ("nome_busca", "fold_text(:p)"), "email": ("email_busca", "lower(:p)")}[field]
    return list(conn.scalars(sa.text(f"SELECT id FROM customers WHERE {column} LIKE {pattern} ESCAPE '\\' "
                                     f"AND {also} ORDER BY id"), {"p": like_pattern(records._text(term))}))


def search_terms(conn, extra=()):
    """Absent and present terms, substrings, and the end of one value + the start of the next
    (which a block holds across a boundary, with a newline in between)."""
    terms = {"zz-no-such", "%", "_", "\\", "a%", "a_b", "Á", ".ex", "@"} | set(extra)
    for text in conn.scalars(sa.text("SELECT names || chr(10) || emails FROM customer_search_blocks")):
        for part in text.split("\n"):
            if part:
                terms |= {part, part[1:], part[:2]}
        for i in range(len(text) - 1):
            if text[i] == "\n" and 0 < i < len(text) - 1:
                terms.add(text[i - 1] + text[i + 1])
    return sorted(t for t in terms if records._text(t) and control_position(t) is None)  # as a filter takes them


def assert_search_exact(conn, terms):
    for field in ("nome", "email"):
        for term in terms:
            expected = plain(conn, field, term)
            f = CustomerFilter(**{field: term})
            assert [c.id for c in records.list_customers(conn, filters=f, limit=1000)] == expected, (field, term)
            assert records.count_customers(conn, filters=f) == len(expected), (field, term)
            # with the other filters and the keyset, as the pages ask
            real = plain(conn, field, term, also="NOT is_stub")
            page = records.list_customers(conn, filters=CustomerFilter(stubs=False, **{field: term}),
                                          after=real[0] if real else None, limit=2)
            assert [c.id for c in page] == real[1:3], (field, term)
    both = records.count_customers(conn, filters=CustomerFilter(nome="a", email="b"))
    assert both == conn.scalar(sa.text("SELECT count(*) FROM customers WHERE nome_busca LIKE '%a%' "
                                       "AND email_busca LIKE '%b%'"))


@pytest.fixture(params=[records.SEARCH_BLOCKS_RECHECKED, 1, 0], ids=["recheck", "threshold1", "no-recheck"])
def threshold(request, monkeypatch):
    """The blocks' three outcomes: recheck of the matched blocks, the plain query past the
    threshold, and no block (nothing read)."""
    monkeypatch.setattr(records, "SEARCH_BLOCKS_RECHECKED", request.param)
    return request.param


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_search_equals_a_plain_scan_after_random_writes(db, threshold, ops):
    with db.begin() as conn:
        conn.execute(sa.text("TRUNCATE customers CASCADE"))
        for op in ops:
            apply(conn, op)
        assert_superset(conn)
        assert_search_exact(conn, search_terms(conn))


def test_record_functions_keep_the_blocks(conn):
    admin = Actor("admin", "admin")
    records.create_customer(conn, actor=admin, id=5, nome="Ana Júlia", email="ana.julia@example.com")
    records.create_customer(conn, actor=admin, id=5 + 1024, nome="Bruno", email="bruno@example.com")
    records.ensure_customer(conn, actor=admin, id=5 + 2048)
    records.update_customer(conn, actor=admin, id=5 + 2048, nome="Carla Dias", email="CARLA@Example.com")
    records.update_customer(conn, actor=admin, id=5, nome="Ana Julia Souza", email=None)
    records.delete_customer(conn, actor=admin, id=5 + 1024)
    assert_superset(conn)
    assert_search_exact(conn, search_terms(conn, ["julia souza", "carla@", "bruno", "ana.julia"]))
    with pytest.raises(records.RecordError):  # a term across two of a block's values cannot be asked
        CustomerFilter(nome="a\nb")
    assert records.count_customers(conn, filters=CustomerFilter(nome="zz-no-such")) == 0
    assert records.list_customers(conn, filters=CustomerFilter(email="zz-no-such")) == []


def test_loads_and_a_rewrite_keep_the_blocks(db, settings, tmp_path, monkeypatch):
    def load(text, name):
        path = tmp_path / name
        path.write_text("id;nome;email;telefone\n" + text, encoding="utf-8")
        return loading.load_file(db, path=path, kind="customers", actor=CLI_ACTOR, settings=settings)

    load("".join(f"{i};Cliente {i};c{i}@example.com;\n" for i in range(1, 40)), "c1.csv")  # upsert path
    with db.begin() as conn:
        assert_superset(conn)
        assert_search_exact(conn, ["cliente 3", "c39@", "zz-no-such", "9@ex"])
    monkeypatch.setattr(loading.bulk, "BULK_MIN_ROWS", 10)  # the rewrite path with a small file
    report = load("".join(f"{i};Nova {i};n{i}@example.com;\n" for i in range(1, 60, 2)), "c2.csv")
    assert report.updated + report.inserted == 30
    with db.begin() as conn:
        assert_superset(conn)
        # compacted: the rewrite rebuilt them from the table, old values gone
        assert not conn.scalar(sa.text("SELECT bool_or(emails LIKE '%c1@%') FROM customer_search_blocks"))
        assert_search_exact(conn, ["nova 5", "n59@", "cliente 2", "c2@", "zz-no-such"])
        conn.execute(sa.text("TRUNCATE customers CASCADE"))
        assert conn.scalar(sa.text("SELECT count(*) FROM customer_search_blocks")) == 0


def test_compacting_rebuilds_only_grown_blocks(conn):
    conn.execute(sa.text("INSERT INTO customers (id, nome, email) SELECT g, 'Nome ' || g, 'e' || g || '@x.com' "
                         "FROM generate_series(1, 2000) g"))
    conn.execute(sa.text("ANALYZE customers"))
    assert conn.scalar(sa.text("SELECT compact_customer_search_blocks()")) is False
    # every edit appends: the blocks grow past twice the live values + 1 MB (names are at most 200
    # characters: six edits of each)
    for letter in "uvwxyz":
        conn.execute(sa.text("UPDATE customers SET nome = 'Nome ' || id || repeat(:l, 190)"), {"l": letter})
    assert conn.scalar(sa.text("SELECT compact_customer_search_blocks()")) is True
    assert_superset(conn)
    assert conn.scalar(sa.text("SELECT sum(octet_length(names)) FROM customer_search_blocks")) == \
        conn.scalar(sa.text("SELECT sum(octet_length(nome_busca)) FROM customers")) + 2000 - 1024


def test_concurrent_writers_of_one_block_both_end_in_its_text(db):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id, nome, email) VALUES (3, 'Um', 'um@x.com'), "
                             "(1027, 'Dois', 'dois@x.com')"))

    def second_writer(other):
        other.execute(sa.text("UPDATE customers SET email = 'segundo@x.com' WHERE id = 1027"))
        other.execute(sa.text("INSERT INTO customers (id, nome) VALUES (2051, 'Terceiro')"))

    with db.begin() as first:
        first.execute(sa.text("UPDATE customers SET email = 'primeiro@x.com' WHERE id = 3"))
        first.execute(sa.text("INSERT INTO customers (id, nome) VALUES (4099, 'Quarto')"))
        second = Blocked(db, second_writer)
        assert second.waiting()  # for this transaction's lock on block 3's row
    second.finish()
    with db.begin() as conn:
        assert_superset(conn)
        text = conn.execute(sa.text("SELECT emails, names FROM customer_search_blocks WHERE block = 3")).one()
        for value in ("primeiro@x.com", "segundo@x.com"):
            assert value in text.emails
        for value in ("terceiro", "quarto"):
            assert value in text.names
        assert records.count_customers(conn, filters=CustomerFilter(email="segundo")) == 1
        assert records.count_customers(conn, filters=CustomerFilter(nome="quarto")) == 1


def blocks(conn):
    return conn.execute(sa.text("SELECT block, emails, names FROM customer_search_blocks ORDER BY block")).all()


def test_the_search_block_functions_in_the_database_are_those_of_customer_search_sql(conn):
    source = (DEFINITIONS_DIR / "customer_search.sql").read_text()
    functions = dict(conn.execute(sa.text("SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(:names)"),
                                  {"names": list(FUNCTIONS)}).all())
    assert sorted(functions) == sorted(FUNCTIONS)
    for name, body in functions.items():
        assert body.strip() in source, name
    # the triggers of migration 0020 call these functions
    triggers = dict(conn.execute(sa.text(
        "SELECT t.tgname, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = 'customers'::regclass AND t.tgname LIKE 'customers_search_%'")).all())
    assert triggers == {"customers_search_insert": "customer_search_append",
                        "customers_search_update": "customer_search_append",
                        "customers_search_truncate": "customer_search_truncate"}


def _forget_definitions(engine):
    """As on a database migrated before the file existed, or since it changed: pending again."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM schema_definitions WHERE name = :n"), {"n": DEFINITIONS})


def test_re_applying_the_definitions_changes_nothing(db):
    assert DEFINITIONS in [f"sql/{p.name}" for p in definition_files()]
    with db.begin() as conn:
        records.create_customer(conn, actor=CLI_ACTOR, id=7, nome="Ana Júlia", email="ana@example.com")
        conn.execute(sa.text("UPDATE customers SET nome = 'Ana Julia Souza' WHERE id = 7"))  # appended
        before = blocks(conn)
    assert len(before) == 1 and before[0].names == "ana julia\nana julia souza"
    _forget_definitions(db)
    with db.connect() as conn:
        assert pending_migrations(conn) == [DEFINITIONS]
    assert migrate(db) == [DEFINITIONS]  # applies on a database that has customers and blocks
    assert migrate(db) == []  # and once only
    with db.begin() as conn:
        assert blocks(conn) == before  # not rebuilt: the appended text is still there
        assert_superset(conn)
        assert_search_exact(conn, search_terms(conn, ["julia souza", "zz-no-such"]))


def test_applying_the_definitions_refills_emptied_blocks(db):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id, nome, email) VALUES (1, 'Um', 'um@x.com'), "
                             "(1025, 'Dois', NULL), (2, NULL, NULL)"))
        conn.execute(sa.text("DELETE FROM customer_search_blocks"))  # as a migration changing their shape
    _forget_definitions(db)
    assert migrate(db) == [DEFINITIONS]
    with db.begin() as conn:
        assert [(b.block, b.emails, sorted(b.names.split("\n"))) for b in blocks(conn)] == [
            (1, "um@x.com", ["dois", "um"])]
        assert_superset(conn)


def _hand_edited(conn):
    """Three customers in blocks 5 and 6, then edits that append: 72 bytes of text, 34 of them live."""
    admin = Actor("admin", "admin")
    records.create_customer(conn, actor=admin, id=5, nome="Ana", email="ana@x.com")
    records.create_customer(conn, actor=admin, id=5 + 1024, nome="Bruno", email="bruno@x.com")
    records.create_customer(conn, actor=admin, id=6, nome="Carla")
    records.update_customer(conn, actor=admin, id=5, nome="Ana Maria", email="ana.maria@x.com")
    conn.execute(sa.text("UPDATE customers SET nome = 'Carla Dias' WHERE id = 6"))
    records.delete_customer(conn, actor=admin, id=5 + 1024)


COMPACTED_TERMS = ["ana", "ana maria", "bruno", "carla", "carla dias", "ana@", "ana.maria@", "bruno@",
                   "zz-no-such"]


def _found(conn, terms):
    return {(field, term): ([c.id for c in records.list_customers(conn, filters=CustomerFilter(**{field: term}))],
                            records.count_customers(conn, filters=CustomerFilter(**{field: term})))
            for field in ("nome", "email") for term in terms}


def test_compacting_on_demand_drops_the_appended_text_and_keeps_the_results(conn):
    _hand_edited(conn)
    assert [tuple(b) for b in blocks(conn)] == [
        (5, "ana@x.com\nbruno@x.com\nana.maria@x.com", "ana\nbruno\nana maria"),  # 36 + 19 bytes
        (6, "", "carla\ncarla dias")]  # 16 bytes
    found = _found(conn, COMPACTED_TERMS)
    assert found[("nome", "bruno")] == ([], 0)  # a deleted customer's text matched a block: rechecked
    done = records.compact_search_blocks(conn, actor=CLI_ACTOR)
    assert (done.blocks_before, done.blocks_after, done.bytes_before, done.bytes_after) == (2, 2, 72, 34)
    assert [tuple(b) for b in blocks(conn)] == [(5, "ana.maria@x.com", "ana maria"), (6, "", "carla dias")]
    assert 0 <= done.seconds < 30
    assert _found(conn, COMPACTED_TERMS) == found
    assert_superset(conn)
    assert_search_exact(conn, search_terms(conn, COMPACTED_TERMS))
    entry = conn.execute(sa.text("SELECT username, action, entity, entity_id, before, after FROM audit_log "
                                 "WHERE entity = 'database'")).one()
    assert tuple(entry) == ("cli", "update", "database", "customer_search_blocks", {"blocks": 2, "bytes": 72},
                            {"blocks": 2, "bytes": 34})
    # compacted blocks compact to themselves
    again = records.compact_search_blocks(conn, actor=CLI_ACTOR)
    assert (again.bytes_before, again.bytes_after) == (34, 34)


def test_compacting_on_demand_needs_the_admin_role(conn):
    _hand_edited(conn)
    with pytest.raises(PermissionDenied):
        records.compact_search_blocks(conn, actor=Actor("ana", "analyst"))
    assert sum(len(b.emails) + len(b.names) for b in blocks(conn)) == 72


def test_a_writer_during_a_compaction_waits_and_its_values_are_found(db):
    """The compaction locks customers (SHARE) before reading them: a writer that comes meanwhile
    waits for its commit, then appends to the compacted blocks; nothing is lost either way."""
    with db.begin() as conn:
        _hand_edited(conn)
    with db.begin() as compacting:
        compacted = records.compact_search_blocks(compacting, actor=CLI_ACTOR)
        writer = Blocked(db, lambda other: records.create_customer(
            other, actor=Actor("admin", "admin"), id=5 + 2048, nome="Davi", email="davi@x.com"))
        assert writer.waiting()  # for the compaction's lock on customers
    writer.finish()
    assert (compacted.bytes_before, compacted.bytes_after) == (72, 34)
    with db.begin() as conn:
        assert [tuple(b) for b in blocks(conn)] == [
            (5, "ana.maria@x.com\ndavi@x.com", "ana maria\ndavi"), (6, "", "carla dias")]
        assert_superset(conn)
        assert_search_exact(conn, search_terms(conn, COMPACTED_TERMS + ["davi", "davi@"]))


def test_a_compaction_waits_for_a_writer_in_flight_and_keeps_its_values(db):
    with db.begin() as conn:
        _hand_edited(conn)
    with db.begin() as writing:
        records.create_customer(writing, actor=Actor("admin", "admin"), id=5 + 2048, nome="Davi", email="davi@x.com")
        compaction = Blocked(db, lambda other: records.compact_search_blocks(other, actor=CLI_ACTOR))
        assert compaction.waiting()  # for this transaction's commit
    compacted = compaction.finish()
    assert (compacted.bytes_before, compacted.bytes_after) == (72 + 16, 34 + 16)  # "\ndavi@x.com" 11 bytes, "\ndavi" 5
    with db.begin() as conn:
        assert [tuple(b) for b in blocks(conn)] == [
            (5, "ana.maria@x.com\ndavi@x.com", "ana maria\ndavi"), (6, "", "carla dias")]
        assert_search_exact(conn, search_terms(conn, COMPACTED_TERMS + ["davi", "davi@"]))
