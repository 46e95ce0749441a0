"""The database layer: migrations, data version, embedded server."""
import pytest
import sqlalchemy as sa

from core.db import (DEFINITIONS_DIR, data_version, definition_files, describe_url, migrate, migration_files,
                     normalise_url, pending_migrations, run_script)


def test_all_migrations_applied_and_rerun_is_a_no_op(engine):
    assert migrate(engine) == []
    with engine.connect() as conn:
        assert pending_migrations(conn) == []
        names = list(conn.scalars(sa.text("SELECT name FROM schema_migrations ORDER BY name")))
        definitions = list(conn.scalars(sa.text("SELECT name FROM schema_definitions ORDER BY name")))
    assert names == [p.stem for p in migration_files()]
    assert definitions == [f"sql/{p.name}" for p in definition_files()] == [
        "sql/customer_search.sql", "sql/rollups.sql"]


def test_a_changed_definitions_file_is_pending_then_applied_again(engine):
    with engine.begin() as conn:  # as if rollups.sql had changed since it was applied
        conn.execute(sa.text("UPDATE schema_definitions SET checksum = 'old' WHERE name = 'sql/rollups.sql'"))
        conn.execute(sa.text("CREATE OR REPLACE FUNCTION rollup_tables() RETURNS text[] LANGUAGE sql "
                             "RETURN ARRAY['sla_daily']"))
        assert pending_migrations(conn) == ["sql/rollups.sql"]
    assert migrate(engine) == ["sql/rollups.sql"]
    with engine.connect() as conn:
        assert pending_migrations(conn) == []
        assert len(conn.scalar(sa.text("SELECT rollup_tables()"))) == 4


def test_the_rollup_functions_in_the_database_are_those_of_rollups_sql(conn):
    source = (DEFINITIONS_DIR / "rollups.sql").read_text()
    functions = dict(conn.execute(sa.text(
        "SELECT proname, prosrc FROM pg_proc WHERE proname IN ('services_rollup', 'services_rollup_truncate', "
        "'compute_services_rollups', 'rebuild_services_rollups', 'rollup_tables', 'truncate_rollups', "
        "'running_add', 'running_worked_days', 'rollup_months_sql', 'rollup_names_sql')")).all())
    assert len(functions) == 10
    for name, body in functions.items():
        assert body.strip() in source, name
    tables = conn.scalar(sa.text("SELECT rollup_tables()"))
    assert conn.scalar(sa.text("SELECT count(*) FROM unnest(CAST(:t AS text[])) t WHERE to_regclass(t) IS NOT NULL"),
                       {"t": tables}) == 4


def test_scripts_run_as_written_percent_signs_included(conn):
    # Migrations and definitions go to the driver without parameters: '%' is PostgreSQL's, not a placeholder.
    run_script(conn, sql="CREATE TEMP TABLE percent AS SELECT format('%s%% of %I', 50, 'sla daily') AS v")
    assert conn.scalar(sa.text("SELECT v FROM percent")) == '50% of "sla daily"'


def test_every_write_bumps_the_data_version(conn):
    v0 = data_version(conn)
    conn.execute(sa.text("INSERT INTO customers (id, nome) VALUES (1, 'Ana')"))
    v1 = data_version(conn)
    conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
                         "VALUES (10, 1, 'Pedro Wanderley de', 'RJ - NITERÓI', '2022-01-10')"))
    v2 = data_version(conn)
    conn.execute(sa.text("DELETE FROM services"))
    assert v0 < v1 < v2 < data_version(conn)


def test_constraints_live_in_the_database(conn):
    import pytest
    for bad in ("INSERT INTO customers (id, nome, telefone) VALUES (2, 'A', '123')",
                "INSERT INTO customers (id, nome, email) VALUES (3, 'A', 'not-an-email')",
                "INSERT INTO services (id, id_cliente, angel, polo, data_limite) VALUES (1, 999, 'a', 'p', '2022-01-01')"):
        with pytest.raises(sa.exc.IntegrityError):
            with conn.begin_nested():
                conn.execute(sa.text(bad))


def test_urls_are_normalised_and_printed_without_password():
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert "p@" not in describe_url("postgresql+psycopg2://u:secret@h:5432/db")
    assert describe_url("postgresql+psycopg2://u:secret@h:5432/db").endswith("u@h:5432/db")


def test_concurrent_writers_do_not_wait_for_each_other_on_the_data_version(db):
    with db.connect() as reader:
        v0 = data_version(reader)
        reader.rollback()
        with db.connect() as first, db.connect() as second:
            first.begin()
            first.execute(sa.text("INSERT INTO customers (id) VALUES (1)"))
            second.begin()
            second.execute(sa.text("SET LOCAL lock_timeout = '1s'"))  # a wait would fail the test
            second.execute(sa.text("INSERT INTO customers (id) VALUES (2)"))
            assert data_version(reader) == v0  # nothing committed: nothing visible, no new version
            reader.rollback()
            first.commit()
            v1 = data_version(reader)
            reader.rollback()
            second.commit()
            assert v0 < v1 < data_version(reader)


def test_database_errors_never_carry_the_statements_values(engine):
    import sqlalchemy as sa

    with pytest.raises(sa.exc.DBAPIError) as caught:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 / 0 WHERE :secret <> ''"), {"secret": "hunter2-customer-name"})
    assert "division by zero" in str(caught.value) and "hunter2-customer-name" not in str(caught.value)


def test_plain_error_names_a_database_error_by_its_kind_only(engine):
    from core.db import plain_error

    with pytest.raises(sa.exc.DBAPIError) as caught:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT CAST(:v AS integer)"), {"v": "maria@example.com"})
    assert plain_error(caught.value) == ("the database refused it (InvalidTextRepresentation); the details are "
                                         "in the server log")
    assert plain_error(ValueError("no")) == "ValueError: no"


def test_the_embedded_server_memory_is_sized_from_the_machine_or_the_setting(tmp_path):
    from core.db import EMBEDDED_MARKER, configure_embedded, embedded_memory

    auto = embedded_memory()
    assert 128 <= int(auto["shared_buffers"].removesuffix("MB")) <= 512
    assert embedded_memory(1024)["shared_buffers"] == "1024MB" and embedded_memory(1024)["work_mem"] == "16MB"
    assert embedded_memory(64)["work_mem"] == "4MB"
    conf = tmp_path / "postgresql.conf"
    conf.write_text(f"port = 5432\n\n{EMBEDDED_MARKER}\nwal_level = minimal\n")  # an older block
    configure_embedded(conf, 256)
    configure_embedded(conf, 256)  # unchanged: written once
    text = conf.read_text()
    assert text.startswith("port = 5432\n") and text.count(EMBEDDED_MARKER) == 1
    assert "shared_buffers = 256MB\nwork_mem = 8MB\n" in text and "max_wal_size = 4GB" in text
