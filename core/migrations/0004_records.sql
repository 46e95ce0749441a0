-- Records: finding customers and services fast, at any page depth.
--
-- Lists page by keyset on the primary key (`id > :after ORDER BY id LIMIT n`), so every index
-- below ends in `id`: a filtered page walks one index in id order and stops after n rows.

-- Case- and accent-insensitive text matching. The embedded server ships no `unaccent`, and
-- unaccent() is not IMMUTABLE anyway, so fold with translate(): IMMUTABLE, usable in an index,
-- and the same function folds the search term, so both sides always agree.
CREATE FUNCTION fold_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(translate(value,
        'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿ',
        'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOoooooUUUUuuuuYyy'));

-- The folded name is stored: folding in the query costs ~1 s per scan of 0.6M customers, reading
-- a stored copy ~0.06 s (measured, see bench/paging.py).
ALTER TABLE customers ADD COLUMN nome_busca text GENERATED ALWAYS AS (fold_text(nome)) STORED;

-- Partial match ("contains") needs trigram indexes. pg_trgm is in PostgreSQL's contrib (the
-- official docker image has it) but not in the embedded server: there the customers filters
-- scan the table (about 0.6M rows), which stays correct, only slower.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX customers_nome_trgm_idx ON customers USING gin (nome_busca gin_trgm_ops);
        CREATE INDEX customers_email_trgm_idx ON customers USING gin (lower(email) gin_trgm_ops);
        CREATE INDEX customers_telefone_trgm_idx ON customers USING gin (telefone gin_trgm_ops);
    END IF;
END $$;

-- Services: the filter bar's exact-value filters, in id order for keyset pages.
CREATE INDEX services_polo_id_idx ON services (polo, id);
CREATE INDEX services_angel_id_idx ON services (angel, id);
-- (id_cliente has its index since 0001: a customer has a handful of services, sorting is free.)
CREATE INDEX services_data_limite_idx ON services (data_limite, id);
CREATE INDEX services_visit_idx ON services (data_de_atendimento, id);

-- Status filters over the rare statuses (late, not visited, open are a few % of the rows):
-- without these a keyset page of late services would read the whole table in id order when the
-- matches are sparse. The predicates are the ones of core/definitions.py, so the planner can
-- prove the partial index covers the query.
CREATE INDEX services_late_idx ON services (id)
    WHERE data_de_atendimento IS NOT NULL AND data_de_atendimento::date > data_limite;
CREATE INDEX services_unvisited_idx ON services (id)
    WHERE data_de_atendimento IS NULL;
