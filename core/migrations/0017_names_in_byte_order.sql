-- Polo and angel names compare byte by byte (COLLATE "C"). The database's collation (C.UTF-8 on
-- the embedded server, often en_US.UTF-8 elsewhere) compares text through the C library, which
-- sorts a million names about twice as slowly and without abbreviated keys: the (polo, id) and
-- (angel, id) record indexes took 1.5 s each to build on 1M services, 0.75-0.85 s in byte order
-- (measured on the 2-core machine). The names are upper-case place names and person names, and
-- UTF-8's byte order is its code point order, which is how the pickers sort them already.
-- Every table that compares these names with the services' (a load's staging table, the rollups'
-- name tables) uses the same collation: two different ones cannot be compared.
ALTER TABLE services ALTER COLUMN angel TYPE text COLLATE "C", ALTER COLUMN polo TYPE text COLLATE "C";
ALTER TABLE polos ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE angels ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE sla_polo_daily ALTER COLUMN polo TYPE text COLLATE "C";
ALTER TABLE visits_polo_daily ALTER COLUMN polo TYPE text COLLATE "C";
-- A services load staged before this migration and resumed after it.
DO $$
DECLARE
    stage text;
BEGIN
    FOR stage IN SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                 WHERE c.relname LIKE 'load\_stage\_%' AND c.relkind = 'r' AND a.attname = 'angel' LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN angel TYPE text COLLATE "C", '
                       'ALTER COLUMN polo TYPE text COLLATE "C"', stage);
    END LOOP;
END $$;
