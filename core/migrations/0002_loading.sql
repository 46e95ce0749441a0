-- File loads: one job row per load, its rejected lines, and the chunks already staged (resume).
-- Staging tables are per job (UNLOGGED load_stage_<job id>), created and dropped by core/loading.py.

CREATE TABLE load_jobs (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('services', 'customers')),
    file_name        text NOT NULL,
    file_size        bigint NOT NULL,
    source_path      text NOT NULL,                 -- the spooled upload, or the CLI's own file
    owns_source      boolean NOT NULL DEFAULT false, -- true: delete the spooled file when the job ends
    username         text NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    phase            text,                          -- what a running job is doing, for the progress bar
    encoding         text,
    delimiter        text,
    has_header       boolean,
    data_start       bigint,                        -- byte offset of the first data line
    block_bytes      bigint,                        -- chunk size in bytes (fixed: resume finds the same chunks)
    bytes_done       bigint NOT NULL DEFAULT 0,
    rows_read        bigint NOT NULL DEFAULT 0,
    inserted         bigint,
    updated          bigint,
    unchanged        bigint,
    rejected         bigint NOT NULL DEFAULT 0,
    duplicates       bigint,
    stub_customers   bigint,
    stubs_filled     bigint,
    message          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    heartbeat_at     timestamptz,
    seconds          double precision,
    rows_per_second  double precision
);
CREATE INDEX load_jobs_created_idx ON load_jobs (created_at DESC);

CREATE TABLE load_job_chunks (
    job_id      bigint NOT NULL REFERENCES load_jobs (id) ON DELETE CASCADE,
    chunk_no    integer NOT NULL,
    byte_start  bigint NOT NULL,
    byte_end    bigint NOT NULL,
    lines       integer NOT NULL,                   -- data lines (blank lines not counted)
    staged      integer NOT NULL,
    rejected    integer NOT NULL,
    PRIMARY KEY (job_id, chunk_no)
);

CREATE TABLE load_rejects (
    job_id   bigint NOT NULL REFERENCES load_jobs (id) ON DELETE CASCADE,
    line_no  bigint NOT NULL,
    raw      text,
    reason   text NOT NULL,
    PRIMARY KEY (job_id, line_no)
);
