-- Loading: each staged block records the range and order of its ids. When every block of a file
-- is in strictly ascending id order and starts after the one before (the export is sorted by
-- id_atendimento), the file has no duplicated id and the merge skips searching for them.
-- NULL (blocks staged before this migration): unknown, so the search runs.
ALTER TABLE load_job_chunks
    ADD COLUMN first_id bigint,
    ADD COLUMN last_id bigint,
    ADD COLUMN ids_ascending boolean;
