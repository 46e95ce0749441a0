"""Load jobs: chunks and workers, interruption and resume, concurrent loads, the CLI."""
from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core import cli, demo, loading
from core.accounts import CLI_ACTOR, Actor
from tests.core.test_rollup import rollups_equal_fresh

ANALYST = Actor("ana", "analyst")


@pytest.fixture
def small_chunks(settings):
    """Blocks of ~1000 lines and 2 workers, so a few thousand lines make several chunks."""
    return dataclasses.replace(settings, load_chunk_rows=1000, load_workers=2)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    return demo.write_demo(tmp_path_factory.mktemp("demo"), rows=6000, seed=7, dates=demo.HISTORICAL)


def table(db, sql: str) -> list[tuple]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def snapshot(db) -> tuple[list, list]:
    return (table(db, "SELECT id, id_cliente, angel, polo, data_limite, data_de_atendimento FROM services ORDER BY id"),
            table(db, "SELECT id, nome, email, telefone FROM customers ORDER BY id"))


def with_bad_lines(tmp_path, demo_files):
    """The demo services file plus, at the end (last chunk), the first id again with another
    visit, and an impossible deadline. Returns (path, first id, number of the last line)."""
    lines = demo_files.services.read_text(encoding="utf-8").splitlines()
    fields = lines[1].split(";")
    fields[5] = "-" if fields[5] != "-" else "2021-07-01 10:00:00"
    last_id = int(lines[-1].split(";")[0])
    lines += [";".join(fields), f"{last_id + 1};10;Ana Silva da;SP - CAMPINAS;31/04/2022;-"]
    path = tmp_path / "services.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, fields[0], len(lines)


def test_many_chunks_give_the_same_result_as_one(db, settings, small_chunks, tmp_path, demo_files):
    path, first_id, last_line = with_bad_lines(tmp_path, demo_files)
    chunked = loading.load_file(db, path=path, kind="services", actor=CLI_ACTOR, settings=small_chunks)
    with db.connect() as conn:
        chunks = conn.scalar(sa.text("SELECT count(*) FROM load_job_chunks WHERE job_id = :id"), {"id": chunked.job_id})
    assert chunks >= 4
    assert (chunked.rows, chunked.inserted, chunked.rejected, chunked.duplicates) == (6002, 6000, 2, 1)
    assert [(r["line"], r["reason"]) for r in chunked.rejects] == [
        (2, f"id {first_id} appears again on line {last_line - 1}; that later line was loaded"),
        (last_line, "data_limite '31/04/2022' is not a real date (read as day/month/year)")]
    after_chunked = snapshot(db)
    from tests.conftest import reset_database
    reset_database(db)
    whole = loading.load_file(db, path=path, kind="services", actor=CLI_ACTOR,
                              settings=dataclasses.replace(settings, load_chunk_rows=5_000_000, load_workers=1))
    assert (whole.rows, whole.inserted, whole.rejected) == (6002, 6000, 2)
    assert snapshot(db) == after_chunked


def _interrupt_after_first_chunk(db, settings, path) -> int:
    """Start a load and stop it after its first chunk, as if the process had died there."""
    info = loading.inspect_file(path, kind="services")
    with db.begin() as conn:
        job_id = loading.create_job(conn, actor=ANALYST, info=info, settings=settings)
    calls = []

    def crash(job):
        calls.append(job)
        if job.phase == "staging":
            raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        loading.run_job(db, job_id=job_id, settings=settings, on_progress=crash)
    # A dead process leaves the job 'running' with a heartbeat that stops moving.
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE load_jobs SET status = 'running', heartbeat_at = now() - interval '1 minute' "
                             "WHERE id = :id"), {"id": job_id})
    return job_id


@pytest.mark.parametrize("staging_lost", [False, True])
def test_interrupted_job_resumes_to_the_exact_final_state(db, settings, small_chunks, tmp_path, demo_files,
                                                          staging_lost):
    path, _, _ = with_bad_lines(tmp_path, demo_files)
    expected = loading.load_file(db, path=path, kind="services", actor=CLI_ACTOR, settings=settings)
    expected_state = snapshot(db)
    from tests.conftest import reset_database
    reset_database(db)

    job_id = _interrupt_after_first_chunk(db, small_chunks, path)
    with db.connect() as conn:
        job = loading.get_job(conn, job_id=job_id)
        staged_chunks = conn.scalar(sa.text("SELECT count(*) FROM load_job_chunks WHERE job_id = :id"), {"id": job_id})
        assert conn.scalar(sa.text("SELECT count(*) FROM services")) == 0  # nothing written before the merge
    assert job.status == "interrupted"
    assert 1 <= staged_chunks < 7
    if staging_lost:  # a server crash empties UNLOGGED tables: the resume must notice and restage
        with db.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE load_stage_{job_id}"))

    report = loading.resume_job(db, job_id=job_id, actor=ANALYST, settings=small_chunks)
    assert (report.rows, report.inserted, report.updated, report.unchanged, report.rejected, report.duplicates) == \
        (expected.rows, expected.inserted, 0, 0, expected.rejected, expected.duplicates)
    assert snapshot(db) == expected_state
    with db.connect() as conn:
        assert loading.get_job(conn, job_id=job_id).status == "done"
        assert conn.scalar(sa.text("SELECT count(*) FROM load_rejects WHERE job_id = :id"), {"id": job_id}) == 2
    with pytest.raises(loading.LoadError, match="only an interrupted or failed load can be resumed"):
        loading.resume_job(db, job_id=job_id, actor=ANALYST, settings=small_chunks)


def test_two_loads_at_the_same_time(db, small_chunks, tmp_path):
    # Two files sharing customers 1..50 (stubs both want to create) and services 1000..1099.
    header = "id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
    a = "".join(f"{i};{i % 50 + 1};Ana Silva da;SP - CAMPINAS;30/06/2021;-\n" for i in range(1, 3000))
    b = "".join(f"{i};{i % 50 + 1};Rui Lima de;RJ - NITERÓI;01/07/2021;-\n" for i in range(1000, 4100))
    (tmp_path / "a.csv").write_text(header + a, encoding="utf-8")
    (tmp_path / "b.csv").write_text(header + b, encoding="utf-8")
    reports, errors = {}, []

    def run(name):
        try:
            reports[name] = loading.load_file(db, path=tmp_path / f"{name}.csv", kind="services", actor=ANALYST,
                                              settings=small_chunks)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ra, rb = reports["a"], reports["b"]
    assert ra.rows == 2999 and rb.rows == 3100
    # Whichever merged second updated the 2000 shared services (1000..2999) instead of inserting.
    assert ra.inserted + rb.inserted == 4099 and ra.updated + rb.updated == 2000
    assert ra.stub_customers + rb.stub_customers == 50
    assert table(db, "SELECT count(*), count(DISTINCT id) FROM services") == [(4099, 4099)]
    assert table(db, "SELECT count(*) FROM customers WHERE is_stub") == [(50,)]


def test_spooled_upload_is_removed_when_its_job_ends(db, settings, tmp_path):
    source = tmp_path / "up.csv"
    source.write_text("id;nome;email;telefone\n1;Ana;ana@example.com;21987654321\n", encoding="utf-8")
    with source.open("rb") as f:
        spooled = loading.spool_upload(settings, source=f, file_name="up (1).csv")
    assert spooled.parent == settings.data_dir / "uploads" and spooled.read_bytes() == source.read_bytes()
    info = loading.inspect_file(spooled, kind="customers", file_name="up (1).csv")
    with db.begin() as conn:
        job_id = loading.create_job(conn, actor=ANALYST, info=info, file_name="up (1).csv", owns_source=True,
                                    settings=settings)
    loading.start_in_background(db, job_id=job_id, actor=ANALYST, settings=settings).join(60)
    with db.connect() as conn:
        job = loading.get_job(conn, job_id=job_id)
    assert (job.status, job.file_name, job.inserted) == ("done", "up (1).csv", 1)
    assert not spooled.exists()


def test_cli_load_json_and_refusal(db, tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text("id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
                    "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n2;10;x;y;99/99/2021;-\n", encoding="utf-8")
    assert cli.main(["load", "services", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("rows", "inserted", "updated", "unchanged", "rejected", "stub_customers")} == \
        {"rows": 2, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 1, "stub_customers": 1}
    assert out["rejects"] == [{"line": 3, "reason": "data_limite '99/99/2021' is not a real date (read as "
                               "day/month/year)", "raw": "2;10;x;y;99/99/2021;-"}]
    assert out["seconds"] > 0
    assert cli.main(["load", "customers", str(path)]) == 2
    assert "looks like the services file" in capsys.readouterr().err
    assert cli.main(["load", "jobs"]) == 0
    assert "s.csv" in capsys.readouterr().out
    assert cli.main(["load", "rejects", str(out["job_id"])]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith('3;"data_limite')


def test_first_bulk_load_rebuilds_every_index_and_foreign_key(db, settings, tmp_path, demo_files, monkeypatch):
    def schema():
        return table(db, """
            SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
            WHERE indrelid IN ('services'::regclass, 'customers'::regclass)
            UNION ALL
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid IN ('services'::regclass, 'customers'::regclass)
            ORDER BY 1, 2""")

    before = schema()
    monkeypatch.setattr(loading.bulk, "BULK_MIN_ROWS", 1000)  # take the bulk path with a small file
    services = loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    assert "rebuild_services_indexes" in services.timings and "rebuild_customers_indexes" in services.timings
    customers = loading.load_file(db, path=demo_files.customers, kind="customers", actor=CLI_ACTOR, settings=settings)
    assert "rebuild_customers_indexes" in customers.timings
    assert (services.inserted, customers.stubs_filled) == (6000, demo_files.customers_rows)
    assert schema() == before
    # the rollups were rebuilt in one pass instead of by the triggers, which are on again
    assert "rebuild_rollups" in services.timings
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM sla_angel_months")) > 0
        rollups_equal_fresh(conn)
        assert set(conn.scalars(sa.text(
            "SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'services'::regclass AND NOT tgisinternal"))) == {"O"}
    with db.connect() as conn:  # the rebuilt foreign key holds
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
                                 "VALUES (1, 999999999999, 'a', 'p', '2021-07-01')"))


def test_a_bulk_customers_file_rewrites_the_table_and_keeps_what_it_does_not_name(db, settings, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(loading.bulk, "BULK_MIN_ROWS", 2)
    services = tmp_path / "services.csv"
    services.write_text("".join(f"{i};{c};Ana Silva da;SP - CAMPINAS;30/06/2021;-\n"
                                for i, c in ((1, 10), (2, 11), (3, 12))), encoding="utf-8")
    loading.load_file(db, path=services, kind="services", actor=CLI_ACTOR, settings=settings)
    with db.begin() as conn:  # 12: a stub the file will not name; 10 and 12 were created long ago
        conn.execute(sa.text("UPDATE customers SET created_at = '2021-01-01' WHERE id IN (10, 12)"))
    customers = tmp_path / "customers.csv"
    customers.write_text("10;Maria Souza;maria@example.com;21987654321\n11;João Lima;;\n13;Rita Reis;;\n",
                         encoding="utf-8")
    report = loading.load_file(db, path=customers, kind="customers", actor=CLI_ACTOR, settings=settings)
    assert "rewrite" in report.timings
    assert (report.rows, report.inserted, report.updated, report.stubs_filled) == (3, 1, 2, 2)
    assert table(db, "SELECT id, nome, email, is_stub, created_at::date::text FROM customers ORDER BY id") == [
        (10, "Maria Souza", "maria@example.com", False, "2021-01-01"),
        (11, "João Lima", None, False, table(db, "SELECT current_date::text")[0][0]),
        (12, None, None, True, "2021-01-01"),
        (13, "Rita Reis", None, False, table(db, "SELECT current_date::text")[0][0])]
    with db.connect() as conn:  # the foreign key and the unique email are back
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO services (id, id_cliente, angel, polo, data_limite) "
                                 "VALUES (9, 999, 'a', 'p', '2021-07-01')"))
    with db.connect() as conn:
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("UPDATE customers SET email = 'MARIA@example.com' WHERE id = 11"))


def test_unused_spooled_uploads_are_removed_after_a_day(db, settings, tmp_path):
    import os
    import time
    spool = loading.spool_dir(settings)
    for old in spool.glob("upload-*"):
        old.unlink()
    orphan_old, orphan_new, resumable = (spool / f"upload-{n}.csv" for n in ("old", "new", "job"))
    for path in (orphan_old, orphan_new, resumable):
        path.write_text("1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n", encoding="utf-8")
    two_days_ago = time.time() - 48 * 3600
    os.utime(orphan_old, (two_days_ago, two_days_ago))
    os.utime(resumable, (two_days_ago, two_days_ago))
    with db.begin() as conn:  # an interrupted load still needs its file
        loading.create_job(conn, actor=ANALYST, info=loading.inspect_file(resumable, kind="services"),
                           owns_source=True, settings=settings)
    assert loading.clean_spool(db, settings=settings) == 1
    assert (orphan_old.exists(), orphan_new.exists(), resumable.exists()) == (False, True, True)


def test_the_merge_publishes_its_steps_and_the_bar_only_moves_forward(db, settings, demo_files, monkeypatch):
    monkeypatch.setattr(loading.bulk, "BULK_MIN_ROWS", 1000)  # the first-load path, as for a full file
    seen = []
    announce = loading.jobs._announce

    def record(engine, job_id, step):
        announce(engine, job_id, step)
        with engine.connect() as conn:
            job = loading.get_job(conn, job_id=job_id)
        seen.append((step, job.step, job.progress, job.doing))

    monkeypatch.setattr(loading.jobs, "_announce", record)
    report = loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    assert [s[0] for s in seen] == ["duplicates", "stub_customers", "upsert", "rebuild_services_indexes",
                                    "rebuild_rollups"]
    label, share = loading.WRITING_STEPS["rebuild_rollups"]
    assert seen[4][1:] == (label, loading.STAGING_SHARE + (1 - loading.STAGING_SHARE) * share,
                           "writing to the database: rebuilding the indicator rollups")
    shares = [s[2] for s in seen]
    assert shares == sorted(shares) and shares[0] == loading.STAGING_SHARE
    with db.connect() as conn:
        job = loading.get_job(conn, job_id=report.job_id)
    assert (job.status, job.step, job.progress) == ("done", None, 1.0)


STARTED = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)


def a_job(**values) -> loading.LoadJob:
    """A job as read back, half way through staging unless `values` say otherwise."""
    fields = dict(id=1, kind="services", file_name="bd_desafio.csv", file_size=1000, source_path="/x",
                  owns_source=False, username="ana", status="running", phase="staging", step=None,
                  writing_share=None, encoding="UTF8", delimiter=";", has_header=True, data_start=0,
                  block_bytes=65536, bytes_done=500, rows_read=12_345, inserted=None, updated=None,
                  unchanged=None, rejected=0, duplicates=None, stub_customers=None, stubs_filled=None,
                  message=None, created_at=STARTED, started_at=STARTED, finished_at=None,
                  heartbeat_at=STARTED, seconds=None, rows_per_second=None)
    return loading.LoadJob(**{**fields, **values})


def test_progress_of_a_running_job():
    job = a_job()
    assert (job.progress, job.doing) == (0.1, "12,345 lines read")
    job = a_job(phase="writing", bytes_done=1000, step="building the record indexes", writing_share=0.63)
    assert job.progress == pytest.approx(0.2 + 0.8 * 0.63)
    assert job.doing == "writing to the database: building the record indexes"
    assert a_job(phase="writing", writing_share=1.5).progress == 0.99   # done only when the job says so


def test_speed_so_far_and_time_left():
    ten_seconds_in = STARTED + timedelta(seconds=10)
    assert a_job().speed_at(ten_seconds_in) == (10.0, 1234.5, 90.0)  # 10% done in 10 s: 90 s left
    assert a_job(started_at=None).speed_at(ten_seconds_in) == (None, None, None)
    done = a_job(status="done", phase=None, seconds=4.5, rows_per_second=2743.3)
    assert done.speed_at(ten_seconds_in) == (4.5, 2743.3, 0.0)
    # a job that stopped is timed to its end, or to its last heartbeat when its process died
    failed = a_job(status="failed", finished_at=STARTED + timedelta(seconds=5))
    assert failed.speed_at(ten_seconds_in) == (5.0, 2469.0, None)
    interrupted = a_job(status="interrupted", heartbeat_at=STARTED + timedelta(seconds=2))
    assert interrupted.speed_at(ten_seconds_in).seconds == 2.0


def leftover_tables(db) -> list[str]:
    """Tables a load creates for itself: its staging table and its rollups computed ahead."""
    return [r[0] for r in table(db, "SELECT tablename FROM pg_tables WHERE tablename ~ '^load_([0-9]+|stage)_' "
                                    "ORDER BY 1")]


@pytest.fixture
def rollups_ahead(monkeypatch) -> list:
    """The first-load path on small files; each run of the rollups computed ahead appends its error
    (None: it succeeded) to the returned list."""
    monkeypatch.setattr(loading.bulk, "BULK_MIN_ROWS", 1000)
    runs = []

    class Recorded(loading.bulk.RollupsAhead):
        def run(self):
            super().run()
            runs.append(self.error)

    monkeypatch.setattr(loading.bulk, "RollupsAhead", Recorded)
    return runs


def test_a_first_bulk_load_takes_the_rollups_computed_ahead(db, settings, demo_files, rollups_ahead):
    report = loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    assert rollups_ahead == [None]    # computed in the other connection, without error, and used
    assert leftover_tables(db) == []  # its tables and the staging table are gone
    with db.connect() as conn:
        rollups_equal_fresh(conn)
    assert report.inserted == 6000


def test_a_failed_first_load_leaves_no_rollups_computed_ahead(db, settings, demo_files, monkeypatch):
    monkeypatch.setattr(loading.bulk, "BULK_MIN_ROWS", 1000)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loading.merge, "_upsert_counts", broken)   # not reached on a first load...
    monkeypatch.setattr(loading.bulk, "indexes_rebuilt", broken)  # ...this is, after the rollups started
    with pytest.raises(RuntimeError, match="disk full"):
        loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    assert [t for t in leftover_tables(db) if not t.startswith("load_stage_")] == []
    assert table(db, "SELECT count(*) FROM services") == [(0,)]


def test_rollups_left_by_a_killed_run_do_not_stop_the_next_one(db, settings, demo_files, rollups_ahead):
    info = loading.inspect_file(demo_files.services, kind="services")
    with db.begin() as conn:
        job_id = loading.create_job(conn, actor=ANALYST, info=info, settings=settings)
        conn.execute(sa.text(f"CREATE UNLOGGED TABLE load_{job_id}_sla_polo_daily (LIKE sla_polo_daily)"))  # a killed run's
        conn.execute(sa.text(f"INSERT INTO load_{job_id}_sla_polo_daily VALUES ('2021-07-01', 'P', 99, 99, 0, 0, 0)"))
    loading.run_job(db, job_id=job_id, settings=settings)
    assert rollups_ahead == [None] and leftover_tables(db) == []
    assert table(db, "SELECT count(*) FROM sla_polo_daily WHERE polo = 'P'") == [(0,)]


def test_blocks_without_an_id_range_prove_nothing(db, settings, tmp_path):
    """A block staged before the id ranges existed (migration 0007) has NULLs there: the duplicate
    search must still run, or an id repeated across blocks would break the plain first insert."""
    path = tmp_path / "services.csv"
    path.write_text("1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n2;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n",
                    encoding="utf-8")
    info = loading.inspect_file(path, kind="services")
    with db.begin() as conn:
        job_id = loading.create_job(conn, actor=ANALYST, info=info, settings=settings)
        conn.execute(sa.text("INSERT INTO load_job_chunks (job_id, chunk_no, byte_start, byte_end, lines, staged, "
                             "rejected, first_id, last_id, ids_ascending) VALUES "
                             "(:id, 0, 0, 1, 1, 1, 0, NULL, NULL, NULL), (:id, 1, 1, 2, 1, 1, 0, 1, 1, true)"),
                        {"id": job_id})
        assert loading.merge._ids_surely_unique(conn, job_id) is False
        conn.execute(sa.text("UPDATE load_job_chunks SET first_id = 0, last_id = 0, ids_ascending = true "
                             "WHERE job_id = :id AND chunk_no = 0"), {"id": job_id})
        assert loading.merge._ids_surely_unique(conn, job_id) is True


def test_a_load_stopped_by_the_database_says_so_without_the_drivers_text(db, settings, demo_files, monkeypatch):
    def refused(*args, **kwargs):
        raise sa.exc.IntegrityError("INSERT INTO customers ...", {"nome": "Maria Segredo"},
                                    Exception('duplicate key: Key (email)=(maria@example.com) already exists'))

    monkeypatch.setattr(loading.jobs, "_finish", refused)
    with pytest.raises(sa.exc.IntegrityError):
        loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    with db.connect() as conn:
        job = loading.list_jobs(conn, limit=1)[0]
    assert job.status == "failed"
    assert job.message == "The load stopped: the database refused it (Exception); the details are in the server log"


def test_the_file_of_a_load_abandoned_for_a_week_is_cleaned(db, settings):
    spool = loading.spool_dir(settings)
    for old in spool.glob("upload-*"):
        old.unlink()
    fresh, abandoned = spool / "upload-fresh.csv", spool / "upload-abandoned.csv"
    for path in (fresh, abandoned):
        path.write_text("1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n", encoding="utf-8")
        two_days_ago = time.time() - 48 * 3600
        os.utime(path, (two_days_ago, two_days_ago))
    with db.begin() as conn:
        for path in (fresh, abandoned):
            loading.create_job(conn, actor=ANALYST, info=loading.inspect_file(path, kind="services"),
                               owns_source=True, settings=settings)
        conn.execute(sa.text("UPDATE load_jobs SET status = 'failed', created_at = now() - interval '8 days', "
                             "heartbeat_at = now() - interval '8 days', finished_at = now() - interval '8 days' "
                             "WHERE source_path = :p"), {"p": str(abandoned)})
    assert loading.clean_spool(db, settings=settings) == 1
    assert (fresh.exists(), abandoned.exists()) == (True, False)


def test_the_spool_is_cleaned_on_a_timer_without_any_upload(db, settings):
    spool = loading.spool_dir(settings)
    orphan = spool / "upload-orphan.csv"
    orphan.write_text("x\n", encoding="utf-8")
    two_days_ago = time.time() - 48 * 3600
    os.utime(orphan, (two_days_ago, two_days_ago))
    loading.stop_spool_cleaners()  # the dashboard's, if a page test started one
    try:
        thread = loading.start_spool_cleaner(db, settings=settings, every_seconds=0.05)
        assert loading.start_spool_cleaner(db, settings=settings, every_seconds=0.05) is thread  # one per process
        deadline = time.time() + 10
        while orphan.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert not orphan.exists() and thread.is_alive()
    finally:
        loading.stop_spool_cleaners()


def test_the_same_file_into_unchanged_data_is_not_read_again_and_reports_the_same(db, settings, demo_files):
    first = loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    with db.connect() as conn:
        stored = loading.get_job(conn, job_id=first.job_id)
        assert stored.fingerprint == loading.files.fingerprint(stored)  # staging's equals one pass
    before = snapshot(db)
    again = loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    assert "same_file" in again.timings and "staging" in again.timings and "upsert" not in again.timings
    assert (again.rows, again.inserted, again.updated, again.rejected) == (first.rows, 0, 0, first.rejected)
    assert again.unchanged == first.rows - first.rejected and again.rejects == first.rejects
    assert snapshot(db) == before
    with db.begin() as conn:  # a write since: the file is read and compared again
        conn.execute(sa.text("UPDATE services SET angel = 'Someone Else' WHERE id = (SELECT min(id) FROM services)"))
    third = loading.load_file(db, path=demo_files.services, kind="services", actor=CLI_ACTOR, settings=settings)
    assert "upsert" in third.timings and (third.updated, third.unchanged) == (1, again.unchanged - 1)
    assert snapshot(db) == before


def test_a_load_whose_file_is_gone_is_marked_failed_with_the_reason(db, settings, tmp_path):
    path = tmp_path / "services.csv"
    path.write_text("id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n"
                    "1;10;Ana Silva da;SP - CAMPINAS;30/06/2021;-\n")
    with db.begin() as conn:
        job_id = loading.create_job(conn, actor=CLI_ACTOR, info=loading.inspect_file(path), settings=settings)
    path.unlink()
    with pytest.raises(loading.LoadError) as refused:
        loading.run_job(db, job_id=job_id, settings=settings)
    assert str(refused.value) == f"The file of load {job_id} (services.csv) is no longer on the server."
    with db.connect() as conn:
        job = loading.get_job(conn, job_id=job_id)
    assert (job.status, job.message) == ("failed", "The file of this load is no longer on the server; load it again.")
