-- A file loaded again into a database nothing has written to since is recognised without reading
-- it (core/loading/jobs.py): each job keeps the fingerprint of what it loaded (the file's SHA-256
-- and the loader's own code) and the data version its transaction left.
ALTER TABLE load_jobs
    ADD COLUMN fingerprint text,            -- NULL until the file has been read once
    ADD COLUMN data_version_after bigint;   -- data version as the job's commit left it
CREATE INDEX load_jobs_fingerprint_idx ON load_jobs (fingerprint) WHERE status = 'done';
