"""Bulk writes: when a load changes most of a table, its indexes, foreign keys and the indicator
rollups are rebuilt once at the end instead of being kept up to date row by row (docs/loading.md).

Everything here runs in the merge's transaction, so a failure restores every index, key and
trigger by rollback; only the rollups computed ahead use a connection of their own.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.db import run_script
from core.loading.job import Steps

log = logging.getLogger(__name__)

BULK_MIN_ROWS = 100_000  # below this, keeping the indexes up to date is cheaper than rebuilding
ROLLUPS_WORK_MEM = "256MB"  # for the aggregations of the rollups computed ahead


def is_bulk(conn: Connection, *, table: str, changing: int) -> bool:
    """True when `changing` rows (new or surely rewritten) are at least half the table after the
    load: rebuilding its indexes afterwards is cheaper than updating them row by row (measured
    2.5x on a first load)."""
    if changing < BULK_MIN_ROWS:
        return False
    existing = conn.scalar(sa.text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) x"),
                           {"n": 2 * changing + 1})
    return existing <= 2 * changing


@contextmanager
def indexes_rebuilt(conn: Connection, *, table: str, steps: Steps, unique: bool = False) -> Iterator[None]:
    """Drop the table's plain indexes and foreign keys, and recreate them from their definitions
    at the end, in the caller's transaction (a failure restores everything by rollback).

    Primary keys and unique indexes stay (ON CONFLICT and uniqueness need them) unless `unique`:
    then they go too (the caller writes rows it knows to be distinct, and rebuilding them checks
    that), except a primary key another table's foreign key needs. Triggers are never
    touched, so rollups kept by other migrations stay exact.
    """
    constraints = conn.execute(sa.text("""
        SELECT format('%I', k.conname) AS name, k.conrelid::regclass::text AS owner,
               pg_get_constraintdef(k.oid) AS definition
        FROM pg_constraint k
        WHERE k.conrelid = CAST(:t AS regclass)
          AND (k.contype = 'f' OR (:unique AND k.contype IN ('p', 'u') AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = k.conindid)))
        ORDER BY k.contype DESC"""), {"t": table, "unique": unique}).all()   # p, u before f on the way back
    indexes = conn.execute(sa.text("""
        SELECT format('%I', c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = CAST(:t AS regclass) AND (:unique OR NOT i.indisunique)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""),
        {"t": table, "unique": unique}).all()
    with steps.step(f"drop_{table}_indexes"):
        drop_constraints(conn, constraints=reversed(constraints))
        for ix in indexes:
            run_script(conn, sql=f"DROP INDEX {ix.name}")
    yield
    with steps.step(f"rebuild_{table}_indexes"):
        add_constraints(conn, constraints=constraints)
        for ix in indexes:
            run_script(conn, sql=ix.definition)


@contextmanager
def foreign_keys_to(conn: Connection, *, table: str, steps: Steps) -> Iterator[None]:
    """Drop the foreign keys of other tables that reference `table`, and add them back (checked)
    at the end, in the caller's transaction."""
    fkeys = conn.execute(sa.text("""
        SELECT format('%I', conname) AS name, conrelid::regclass::text AS owner, pg_get_constraintdef(oid) AS definition
        FROM pg_constraint WHERE confrelid = CAST(:t AS regclass) AND contype = 'f'"""), {"t": table}).all()
    drop_constraints(conn, constraints=fkeys)
    yield
    with steps.step(f"foreign_keys_to_{table}"):
        add_constraints(conn, constraints=fkeys)


def drop_constraints(conn: Connection, *, constraints) -> None:
    """Drop constraints given as rows (name, owner, definition) read from pg_constraint."""
    for k in constraints:
        run_script(conn, sql=f"ALTER TABLE {k.owner} DROP CONSTRAINT {k.name}")


def add_constraints(conn: Connection, *, constraints) -> None:
    """Add back (and so check) constraints dropped by drop_constraints."""
    for k in constraints:
        run_script(conn, sql=f"ALTER TABLE {k.owner} ADD CONSTRAINT {k.name} {k.definition}")


def rollup_tables(conn: Connection) -> list[str]:
    """The indicator rollup tables; their one list is rollup_tables() in core/sql/rollups.sql."""
    return list(conn.scalar(sa.text("SELECT rollup_tables()")))


class RollupsAhead(threading.Thread):
    """The rollups of a first load computed in another connection (so on the other core),
    from the staging table, while the merge's transaction writes the stub customers and the rows;
    the merge then copies them in (rebuild_services_rollups(prefix), core/sql/rollups.sql) instead of
    aggregating after its insert. Only when the staging table holds exactly the rows services
    will hold: a first load without duplicated ids. Its tables: load_<job id>_<rollup>."""

    def __init__(self, engine: Engine, job_id: int, stage: str):
        super().__init__(daemon=True, name=f"load-{job_id}-rollups")
        self.engine, self.stage, self.prefix = engine, stage, rollups_prefix(job_id)
        self.error: BaseException | None = None
        self.created = threading.Event()

    def start_when_ready(self) -> None:
        """Start, and return once its tables exist. Creating them (LIKE the rollups) locks the
        rollups until that commit, and the merge is about to truncate them: it must wait for
        that short commit, or the two would wait for each other."""
        self.start()
        self.created.wait()

    def run(self):
        try:
            with self.engine.begin() as conn:
                drop_rollups_ahead(conn, prefix=self.prefix)  # left by a run of this job that was killed
                for name in rollup_tables(conn):
                    run_script(conn, sql=f"CREATE UNLOGGED TABLE {self.prefix}{name} (LIKE {name})")
            self.created.set()
            with self.engine.begin() as conn:
                conn.execute(sa.text(f"SET LOCAL work_mem = '{ROLLUPS_WORK_MEM}'"))
                conn.execute(sa.text("SELECT compute_services_rollups(CAST(:stage AS regclass), :prefix)"),
                             {"stage": self.stage, "prefix": self.prefix})
        except BaseException as exc:  # the merge falls back to computing them itself
            self.error = exc
        finally:
            self.created.set()


def rollups_prefix(job_id: int) -> str:
    return f"load_{int(job_id)}_"  # an integer from our own sequence: safe in SQL text


def drop_rollups_ahead(conn: Connection, *, prefix: str) -> None:
    run_script(conn, sql="DROP TABLE IF EXISTS " + ", ".join(prefix + name for name in rollup_tables(conn)))


@contextmanager
def rollups_rebuilt(conn: Connection, *, steps: Steps, ahead: RollupsAhead | None = None) -> Iterator[None]:
    """Switch the per-statement rollup triggers off for a bulk upsert and rebuild the rollups from
    the whole table afterwards (one GROUP BY pass instead of merging a million-row delta), or copy
    them from `ahead`, in the caller's transaction. The delete and truncate triggers stay on."""
    for trigger in ("services_rollup_insert", "services_rollup_update"):
        run_script(conn, sql=f"ALTER TABLE services DISABLE TRIGGER {trigger}")
    yield
    for trigger in ("services_rollup_insert", "services_rollup_update"):
        run_script(conn, sql=f"ALTER TABLE services ENABLE TRIGGER {trigger}")
    with steps.step("rebuild_rollups"):
        if ahead is not None:
            ahead.join()
            if ahead.error is not None:
                log.warning("rollups computed ahead failed (%s); computing them now", ahead.error)
        if ahead is not None and ahead.error is None:
            conn.execute(sa.text("SELECT rebuild_services_rollups(:computed)"), {"computed": ahead.prefix})
            drop_rollups_ahead(conn, prefix=ahead.prefix)
        else:
            conn.execute(sa.text("SELECT rebuild_services_rollups()"))


@contextmanager
def search_blocks_rebuilt(conn: Connection, *, steps: Steps) -> Iterator[None]:
    """Switch the customers' search-block insert trigger off for a bulk insert into customers and
    rebuild the blocks from the whole table afterwards (core/sql/customer_search.sql), in the caller's
    transaction: one GROUP BY over the table instead of appending every row through the trigger's
    transition table (measured on 577k customers: ~0.4 s against ~1 s), and compacted blocks. The
    update and truncate triggers stay on."""
    run_script(conn, sql="ALTER TABLE customers DISABLE TRIGGER customers_search_insert")
    yield
    run_script(conn, sql="ALTER TABLE customers ENABLE TRIGGER customers_search_insert")
    with steps.step("rebuild_search_blocks"):
        conn.execute(sa.text("SELECT rebuild_customer_search_blocks()"))
