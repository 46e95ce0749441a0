-- The customers search blocks' functions as they are now: their one definition. Migration 0020
-- first wrote them and stays as history; this file is applied after the migrations whenever it
-- changes (core/db.py compares its checksum), so every function here is whole and CREATE OR
-- REPLACE. The schema stays in 0020_customer_search_blocks.sql: the table customer_search_blocks,
-- the partial index on customers (id % 1024) and the triggers on customers that call the
-- trigger functions below. core/records.py (_customer_where) reads the blocks; the loader
-- (core/loading/bulk.py, core/loading/merge.py) calls rebuild and compact, and
-- core.records.compact_search_blocks (`python -m core db compact-search`) rebuilds on demand.
-- tests/core/test_customer_search.py checks the search against a plain scan.
--
-- A block (id % 1024) holds its customers' email_busca and nome_busca one after another, separated
-- by a newline: a SUPERSET of every current customer's values (stale text only costs a recheck).

-- work_mem: the ~30 MB of aggregated text in memory (measured on 577k customers: 0.35 s, against
-- 0.7 s with the embedded server's 16 MB and 0.9 s with PostgreSQL's default 4 MB).
CREATE OR REPLACE FUNCTION rebuild_customer_search_blocks() RETURNS void LANGUAGE plpgsql SET work_mem = '64MB' AS $fn$
BEGIN
    TRUNCATE customer_search_blocks;
    INSERT INTO customer_search_blocks (block, emails, names)
    SELECT id % 1024, coalesce(string_agg(email_busca, chr(10)), ''), coalesce(string_agg(nome_busca, chr(10)), '')
    FROM customers WHERE email_busca IS NOT NULL OR nome_busca IS NOT NULL
    GROUP BY 1;
END $fn$;

-- Appended text only grows (edits, partial loads): rebuild when the blocks hold more than twice
-- what the customers' values take by the planner's statistics (cheap: octet_length of uncompressed
-- text reads only its TOAST pointer). Returns whether it rebuilt. The loader calls it after a
-- customers upsert.
CREATE OR REPLACE FUNCTION compact_customer_search_blocks() RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
    held bigint;
    live double precision;
BEGIN
    SELECT coalesce(sum(octet_length(emails) + octet_length(names)), 0) INTO held FROM customer_search_blocks;
    SELECT greatest(c.reltuples, 0) * coalesce((SELECT sum(s.avg_width) FROM pg_stats s
                                               WHERE s.schemaname = 'public' AND s.tablename = 'customers'
                                                 AND s.attname IN ('email_busca', 'nome_busca')), 0)
    INTO live FROM pg_class c WHERE c.oid = 'customers'::regclass;
    IF held <= 2 * live + 1048576 THEN
        RETURN false;
    END IF;
    PERFORM rebuild_customer_search_blocks();
    RETURN true;
END $fn$;

-- The insert and update triggers (0020). Appends the values of new rows, and of updated rows the
-- values that changed (a row whose id changed counts as new). Blocks in order, so two writers lock
-- them in the same order. ON CONFLICT DO UPDATE works on the latest committed version under READ
-- COMMITTED, so concurrent writers never lose each other's values. Deletes leave the text.
CREATE OR REPLACE FUNCTION customer_search_append() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_search_blocks AS b (block, emails, names)
        SELECT id % 1024, coalesce(string_agg(email_busca, chr(10)), ''), coalesce(string_agg(nome_busca, chr(10)), '')
        FROM new_rows WHERE email_busca IS NOT NULL OR nome_busca IS NOT NULL
        GROUP BY 1 ORDER BY 1
        ON CONFLICT (block) DO UPDATE SET
            emails = CASE WHEN excluded.emails = '' THEN b.emails ELSE b.emails || chr(10) || excluded.emails END,
            names = CASE WHEN excluded.names = '' THEN b.names ELSE b.names || chr(10) || excluded.names END;
    ELSE
        INSERT INTO customer_search_blocks AS b (block, emails, names)
        SELECT block, coalesce(string_agg(email, chr(10)), ''), coalesce(string_agg(nome, chr(10)), '')
        FROM (SELECT n.id % 1024 AS block,
                     CASE WHEN o.id IS NULL OR n.email_busca IS DISTINCT FROM o.email_busca THEN n.email_busca END AS email,
                     CASE WHEN o.id IS NULL OR n.nome_busca IS DISTINCT FROM o.nome_busca THEN n.nome_busca END AS nome
              FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id) changed
        WHERE email IS NOT NULL OR nome IS NOT NULL
        GROUP BY 1 ORDER BY 1
        ON CONFLICT (block) DO UPDATE SET
            emails = CASE WHEN excluded.emails = '' THEN b.emails ELSE b.emails || chr(10) || excluded.emails END,
            names = CASE WHEN excluded.names = '' THEN b.names ELSE b.names || chr(10) || excluded.names END;
    END IF;
    RETURN NULL;
END $fn$;

-- The truncate trigger (0020): no customers, no blocks.
CREATE OR REPLACE FUNCTION customer_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE customer_search_blocks;
    RETURN NULL;
END $fn$;

-- Blocks a migration emptied (to change their text's shape) are refilled once the functions above
-- exist: a searchable customer with no block is never right.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM customer_search_blocks)
       AND EXISTS (SELECT 1 FROM customers WHERE email_busca IS NOT NULL OR nome_busca IS NOT NULL) THEN
        PERFORM rebuild_customer_search_blocks();
    END IF;
END $$;
