-- Loading: what a job's merge is doing, for the progress bar. A first load of 1M lines spends
-- ~85% of its time writing (indexes, rollups), so "writing" alone left the bar still for seconds.
-- step: the merge step in plain words; writing_share: share of the writing phase done (0..1).
ALTER TABLE load_jobs
    ADD COLUMN step text,
    ADD COLUMN writing_share double precision;
