"""Merging a staged file into customers or services, in the caller's transaction (serialised
between loads): duplicated ids (the later line wins), stub customers for unknown id_cliente, then
the rows: a plain INSERT into an empty table, else the lines that insert or change a row (one join
against the table) through `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE (...) IS DISTINCT FROM
(...)`, which counts inserted / updated / unchanged exactly. Bulk writes rebuild indexes and
rollups once instead of row by row (core.loading.bulk).
"""
from __future__ import annotations

from contextlib import ExitStack

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import parsing
from core.db import data_version, run_script
from core.loading import bulk
from core.loading.files import raw_lines
from core.loading.job import LoadJob, Steps
from core.loading.staging import stage_table

_MERGE_LOCK = 724_150_002   # advisory lock: serialises merges (two loads writing the same rows)
MERGE_WORK_MEM = "128MB"
MERGE_MAINTENANCE_WORK_MEM = "256MB"   # index builds of the bulk paths


def merge(conn: Connection, *, job: LoadJob, steps: Steps) -> dict[str, int]:
    """Write the job's staged rows; returns its figures: rows = inserted + updated + unchanged +
    rejected, and duplicates, stub_customers, stubs_filled."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MERGE_LOCK})
    conn.execute(sa.text(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'"))
    conn.execute(sa.text(f"SET LOCAL maintenance_work_mem = '{MERGE_MAINTENANCE_WORK_MEM}'"))
    stage = stage_table(job.id)
    write = _merge_services if job.kind == "services" else _merge_customers
    counts = write(conn, job, stage, steps)
    _fill_missing_raw(conn, job)
    rows = conn.scalar(sa.text("SELECT coalesce(sum(lines), 0) FROM load_job_chunks WHERE job_id = :id"),
                       {"id": job.id})
    rejected = conn.scalar(sa.text("SELECT count(*) FROM load_rejects WHERE job_id = :id"), {"id": job.id})
    return dict(rows=rows, inserted=counts["inserted"], updated=counts["updated"],
                unchanged=rows - rejected - counts["inserted"] - counts["updated"], rejected=rejected,
                duplicates=counts["duplicates"], stub_customers=counts["stub_customers"],
                stubs_filled=counts["stubs_filled"])


def merge_again(conn: Connection, *, job: LoadJob, earlier: LoadJob) -> dict[str, int] | None:
    """The figures of loading once more the very file `earlier` loaded (same fingerprint), when
    nothing has been written to the data since its commit (the data version it left is still the
    current one): every line it kept is unchanged, the lines it rejected are rejected again for
    the same reasons. Nothing is read or written but the rejects. None when the data moved
    meanwhile: the caller loads the file."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MERGE_LOCK})
    if data_version(conn) != earlier.data_version_after:
        return None
    conn.execute(sa.text("INSERT INTO load_rejects (job_id, line_no, raw, reason) "
                         "SELECT :job, line_no, raw, reason FROM load_rejects WHERE job_id = :earlier"),
                 {"job": job.id, "earlier": earlier.id})
    rows, rejected = earlier.rows_read, earlier.rejected
    return dict(rows=rows, inserted=0, updated=0, unchanged=rows - rejected, rejected=rejected,
                duplicates=earlier.duplicates or 0, stub_customers=0, stubs_filled=0)


def _ids_surely_unique(conn: Connection, job_id: int) -> bool:
    """True when the blocks' id ranges prove that no id repeats: each block ascending and after
    the one before (a sorted export). False means "not proven": search. A block staged before
    migration 0007 has no id range, so it proves nothing."""
    return bool(conn.scalar(sa.text("""
        SELECT coalesce(bool_and(coalesce(ids_ascending AND (before IS NULL OR first_id > before), false)), true)
        FROM (SELECT ids_ascending, first_id, lag(last_id) OVER (ORDER BY chunk_no) AS before
              FROM load_job_chunks WHERE job_id = :id AND staged > 0) blocks"""), {"id": job_id}))


def _reject_duplicates(conn: Connection, job: LoadJob, stage: str) -> int:
    """Remove all but the last line of each id repeated in the file; list them as rejected."""
    if _ids_surely_unique(conn, job.id) or conn.scalar(
            sa.text(f"SELECT 1 FROM {stage} GROUP BY id HAVING count(*) > 1 LIMIT 1")) is None:
        return 0
    rows = conn.execute(sa.text(f"""
        DELETE FROM {stage} s USING (SELECT id, max(line_no) AS winner FROM {stage} GROUP BY id
                                     HAVING count(*) > 1) w
        WHERE s.id = w.id AND s.line_no < w.winner RETURNING s.line_no, s.id, w.winner""")).all()
    raw = raw_lines(job, {r.line_no for r in rows})
    conn.execute(sa.text("INSERT INTO load_rejects (job_id, line_no, raw, reason) VALUES (:job, :line, :raw, :reason)"),
                 [{"job": job.id, "line": r.line_no, "raw": raw.get(r.line_no),
                   "reason": parsing.reason("repeated_id", id=r.id, line=r.winner)}
                  for r in rows])
    return len(rows)


def _reason_sql(key: str, **values: str) -> str:
    """SQL writing the reason core.parsing.REASONS[key] (so the reasons written in SQL and in Python
    read alike), each placeholder replaced by an SQL expression of the row, in the order given: the
    one whose value is free text last, so a brace in it is never taken for a placeholder."""
    sql = "'" + parsing.REASONS[key].replace("'", "''") + "'"
    for name, expression in values.items():
        sql = f"replace({sql}, '{{{name}}}', ({expression})::text)"
    return sql


def _upsert_counts(conn: Connection, sql: str) -> tuple[int, int]:
    """(inserted, updated) of an INSERT ... ON CONFLICT ... RETURNING (xmax = 0) AS inserted."""
    return tuple(conn.execute(sa.text(f"""
        WITH up AS ({sql})
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up""")).one())


def _is_empty(conn: Connection, table: str) -> bool:
    return not conn.scalar(sa.text(f"SELECT EXISTS (SELECT 1 FROM {table})"))


def _changes(conn: Connection, stage: str, table: str, columns: tuple[str, ...]) -> int:
    """Stage the lines that insert or change a row (temp table load_changes); returns how many.

    One hash join of the file against the table: an upsert that compares row by row costs ~4x
    more when most lines are unchanged (a file loaded again).
    """
    new, old = (", ".join(f"{alias}.{c}" for c in columns) for alias in ("s", "t"))
    conn.execute(sa.text(f"""
        CREATE TEMP TABLE load_changes ON COMMIT DROP AS
        SELECT s.id, {new} FROM {stage} s LEFT JOIN {table} t ON t.id = s.id
        WHERE t.id IS NULL OR ({old}) IS DISTINCT FROM ({new})"""))
    return conn.scalar(sa.text("SELECT count(*) FROM load_changes"))


def _merge_services(conn: Connection, job: LoadJob, stage: str, steps: Steps) -> dict[str, int]:
    with steps.step("duplicates"):
        counts = {"duplicates": _reject_duplicates(conn, job, stage), "stubs_filled": 0}
    first = _is_empty(conn, "services")
    if first:
        # Other writers (the record pages) wait until commit; emptiness is checked again under the
        # lock. Empty tables emptied again in this transaction get new files: with wal_level =
        # minimal (the embedded server) what is written to them next skips the WAL.
        conn.execute(sa.text("LOCK TABLE services, customers IN EXCLUSIVE MODE"))
        first = _is_empty(conn, "services")
    bulk_first = first and conn.scalar(sa.text(f"SELECT count(*) FROM {stage}")) >= bulk.BULK_MIN_ROWS
    ahead = None
    if bulk_first and not counts["duplicates"]:
        ahead = bulk.RollupsAhead(conn.engine, job.id, stage)
        ahead.start_when_ready()
    try:
        return _write_services(conn, stage, steps, counts, first=first, bulk_first=bulk_first, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.join()  # on a failure too: its tables are dropped after the rollback (run_job)


def _write_services(conn: Connection, stage: str, steps: Steps, counts: dict[str, int], *,
                    first: bool, bulk_first: bool, ahead: bulk.RollupsAhead | None) -> dict[str, int]:
    columns = ("id_cliente", "angel", "polo", "data_limite", "data_de_atendimento")
    cols = ", ".join(columns)
    if first:
        run_script(conn, sql="TRUNCATE services, customers" if _is_empty(conn, "customers") else "TRUNCATE services")
    with ExitStack() as stack:
        if bulk_first:
            # A first load: plain INSERT (ids are distinct after the duplicates step), indexes and
            # rollups built once at the end; exited in reverse, so the indexes are built while the
            # rollups computed ahead are still being computed on the other core, and copied in
            # after. Entered before the stubs: with the services' foreign key gone, the stubs can
            # rebuild the customers' primary key instead of inserting into it.
            stack.enter_context(bulk.rollups_rebuilt(conn, steps=steps, ahead=ahead))
            stack.enter_context(bulk.indexes_rebuilt(conn, table="services", steps=steps, unique=True))
        _stub_customers(conn, stage, steps, counts, locked=first)
        with steps.step("upsert"):
            if first:
                counts["inserted"] = conn.execute(sa.text(
                    f"INSERT INTO services (id, {cols}) SELECT id, {cols} FROM {stage}")).rowcount
                counts["updated"] = 0
                return counts
    with steps.step("upsert"), ExitStack() as stack:
        with steps.step("compare"):
            changed = _changes(conn, stage, "services", columns)
        if bulk.is_bulk(conn, table="services", changing=changed):
            stack.enter_context(bulk.indexes_rebuilt(conn, table="services", steps=steps))
            stack.enter_context(bulk.rollups_rebuilt(conn, steps=steps))
        counts["inserted"], counts["updated"] = _upsert_counts(conn, f"""
            INSERT INTO services AS t (id, {cols})
            SELECT id, {cols} FROM load_changes
            ON CONFLICT (id) DO UPDATE SET
                {", ".join(f"{c} = EXCLUDED.{c}" for c in columns)}, updated_at = now()
            WHERE ({", ".join(f"t.{c}" for c in columns)}) IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in columns)})
            RETURNING (xmax = 0) AS inserted""")
    return counts


def _stub_customers(conn: Connection, stage: str, steps: Steps, counts: dict[str, int], *, locked: bool) -> None:
    """A customer with only its id for every id_cliente the database does not know. `locked`: the
    caller holds the customers table (no other writer can add an id meanwhile)."""
    with steps.step("stub_customers"):
        if locked and _is_empty(conn, "customers"):  # every id is new: no table to compare with
            with ExitStack() as stack:
                # the staged rows bound the new ids from above, without counting the distinct ones
                staged = conn.scalar(sa.text(f"SELECT count(*) FROM {stage}"))
                if bulk.is_bulk(conn, table="customers", changing=staged):
                    stack.enter_context(bulk.indexes_rebuilt(conn, table="customers", steps=steps, unique=True))
                counts["stub_customers"] = conn.execute(sa.text(
                    f"INSERT INTO customers (id) SELECT DISTINCT id_cliente FROM {stage} ORDER BY 1")).rowcount
            return
        conn.execute(sa.text(f"""
            CREATE TEMP TABLE load_new_customers ON COMMIT DROP AS
            SELECT DISTINCT s.id_cliente AS id FROM {stage} s
            WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.id_cliente)"""))
        new = conn.scalar(sa.text("SELECT count(*) FROM load_new_customers"))
        with ExitStack() as stack:
            if bulk.is_bulk(conn, table="customers", changing=new):
                stack.enter_context(bulk.indexes_rebuilt(conn, table="customers", steps=steps, unique=True))
            # In id order: appending to the primary key index costs half of inserting at random
            # places (when the bulk path dropped it, building it is cheaper still).
            conflicts = "" if locked else " ON CONFLICT (id) DO NOTHING"
            counts["stub_customers"] = conn.execute(sa.text(
                f"INSERT INTO customers (id) SELECT id FROM load_new_customers ORDER BY id{conflicts}")).rowcount


def _merge_customers(conn: Connection, job: LoadJob, stage: str, steps: Steps) -> dict[str, int]:
    with steps.step("duplicates"):
        counts = {"duplicates": _reject_duplicates(conn, job, stage), "stub_customers": 0}
    # An email is unique (any case): a later line of another customer with the same email, or a
    # line whose email already belongs to another customer in the database, is rejected.
    with steps.step("emails"):
        conn.execute(sa.text(f"""
            WITH clash AS (
                SELECT line_no, id, email, first_line, first_id FROM (
                    SELECT line_no, id, email,
                           first_value(line_no) OVER w AS first_line, first_value(id) OVER w AS first_id
                    FROM {stage} WHERE email IS NOT NULL
                    WINDOW w AS (PARTITION BY lower(email) ORDER BY line_no)) x
                WHERE line_no <> first_line),
            gone AS (DELETE FROM {stage} s USING clash c WHERE s.line_no = c.line_no RETURNING c.*)
            INSERT INTO load_rejects (job_id, line_no, raw, reason)
            SELECT :job, line_no, NULL, {_reason_sql("email_in_file", line="first_line", id="first_id",
                                                     email="quote_literal(email)")}
            FROM gone"""), {"job": job.id})
        conn.execute(sa.text(f"""
            WITH clash AS (
                SELECT s.line_no, s.email, c.id AS owner FROM {stage} s
                JOIN customers c ON lower(c.email) = lower(s.email) AND c.id <> s.id),
            gone AS (DELETE FROM {stage} s USING clash c WHERE s.line_no = c.line_no RETURNING c.*)
            INSERT INTO load_rejects (job_id, line_no, raw, reason)
            SELECT :job, line_no, NULL, {_reason_sql("email_taken", id="owner", email="quote_literal(email)")}
            FROM gone"""), {"job": job.id})
    columns = ("nome", "email", "telefone")
    with steps.step("compare"):
        changed = _changes(conn, stage, "customers", columns)
    counts["stubs_filled"] = conn.scalar(sa.text(
        "SELECT count(*) FROM load_changes s JOIN customers c ON c.id = s.id WHERE c.nome IS NULL"))
    if bulk.is_bulk(conn, table="customers", changing=changed):
        with steps.step("rewrite"):
            counts["inserted"], counts["updated"] = _rewrite_customers(conn, steps)
        return counts
    with steps.step("upsert"):
        counts["inserted"], counts["updated"] = _upsert_counts(conn, """
            INSERT INTO customers AS t (id, nome, email, telefone)
            SELECT id, nome, email, telefone FROM load_changes
            ON CONFLICT (id) DO UPDATE SET nome = EXCLUDED.nome, email = EXCLUDED.email,
                telefone = EXCLUDED.telefone, updated_at = now()
            WHERE (t.nome, t.email, t.telefone) IS DISTINCT FROM (EXCLUDED.nome, EXCLUDED.email, EXCLUDED.telefone)
            RETURNING (xmax = 0) AS inserted""")
        # the triggers appended the changed values to the search blocks: compacted when they grew
        conn.execute(sa.text("SELECT compact_customer_search_blocks()"))
    return counts


def _rewrite_customers(conn: Connection, steps: Steps) -> tuple[int, int]:
    """Apply load_changes when they are most of the table (the customers file after a services
    file made them stubs): rewrite the table in id order instead of updating it row by row.

    An UPDATE of 577k stubs costs ~10 s here (a new version of every row, every index entry, the
    folded name); emptying the table and inserting every row once, indexes and keys built after,
    a fraction of that. Rows the file does not change keep their values and timestamps.
    Returns (inserted, updated), as the upsert would.
    """
    conn.execute(sa.text("LOCK TABLE customers IN EXCLUSIVE MODE"))  # no edit between copy and rewrite
    inserted, updated = conn.execute(sa.text("""
        SELECT count(*) FILTER (WHERE c.id IS NULL), count(*) FILTER (WHERE c.id IS NOT NULL)
        FROM load_changes s LEFT JOIN customers c ON c.id = s.id""")).one()
    conn.execute(sa.text("""
        CREATE TEMP TABLE load_customers_after ON COMMIT DROP AS
        SELECT c.id, c.nome, c.email, c.telefone, c.created_at, c.updated_at FROM customers c
        WHERE NOT EXISTS (SELECT 1 FROM load_changes s WHERE s.id = c.id)
        UNION ALL
        SELECT s.id, s.nome, s.email, s.telefone, coalesce(c.created_at, now()), now()
        FROM load_changes s LEFT JOIN customers c ON c.id = s.id"""))
    # Foreign keys to customers go first and come back last: the primary key they need is rebuilt
    # in between. Emails were checked before, so the rebuilt unique email index holds.
    # The search blocks (core/sql/customer_search.sql) are rebuilt once from the new rows, before the indexes.
    with bulk.foreign_keys_to(conn, table="customers", steps=steps), \
            bulk.indexes_rebuilt(conn, table="customers", steps=steps, unique=True), \
            bulk.search_blocks_rebuilt(conn, steps=steps):
        run_script(conn, sql="TRUNCATE customers")
        conn.execute(sa.text("""
            INSERT INTO customers (id, nome, email, telefone, created_at, updated_at)
            SELECT id, nome, email, telefone, created_at, updated_at FROM load_customers_after ORDER BY id"""))
    return inserted, updated


def _fill_missing_raw(conn: Connection, job: LoadJob) -> None:
    """Rejects found at merge time (email clashes) get their raw line from the file."""
    missing = set(conn.scalars(sa.text("SELECT line_no FROM load_rejects WHERE job_id = :id AND raw IS NULL"),
                               {"id": job.id}))
    if missing:
        raw = raw_lines(job, missing)
        conn.execute(sa.text("UPDATE load_rejects SET raw = :raw WHERE job_id = :job AND line_no = :line"),
                     [{"raw": text, "job": job.id, "line": n} for n, text in raw.items()])
