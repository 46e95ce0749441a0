-- Operation timings from every process (dashboard, CLI), for the monitoring page's p50/p95.
-- Written in batches by core/telemetry.py (flush_timings); rows older than a week are pruned.
-- No personal data: the operation's name, how long it took, how it ended, how many rows.

CREATE TABLE operation_timings (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,            -- when the operation ended
    operation    text NOT NULL,                   -- e.g. indicators.sla_by_polo, page.home
    duration_ms  double precision NOT NULL,
    outcome      text NOT NULL,                   -- ok, stopped, rerun, or the exception's class name
    rows         bigint,
    source       text NOT NULL                    -- dashboard or cli
);
CREATE INDEX operation_timings_at_idx ON operation_timings (at);
CREATE INDEX operation_timings_operation_at_idx ON operation_timings (operation, at);
