-- The indicator rollups' functions as they are now: their one definition. The migrations that
-- first wrote them (0003, 0006, 0008, 0010) stay as history; this file is applied after the
-- migrations whenever it changes (core/db.py compares its checksum), so every function here is
-- whole and CREATE OR REPLACE. The tables themselves are schema: 0003_indicators.sql.
--
-- Two sides, because the indicators count by two different days (see 0003):
--   sla_*    keyed by the DEADLINE day: total, on_time, late, unvisited, slack_days;
--   visits_* keyed by the VISIT day: visits, on_time, slack_days, worked_days.
-- The on-time rule is core/definitions.py's: visit DATE <= deadline. tests/core/test_rollup.py
-- checks the triggers and both rebuilds against a fresh aggregation of services.

-- The six rollup tables: the one list (core.loading.bulk reads it too).
CREATE OR REPLACE FUNCTION rollup_tables() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['sla_daily', 'sla_monthly', 'sla_polo_daily', 'visits_daily', 'visits_monthly', 'visits_polo_daily'];

CREATE OR REPLACE FUNCTION truncate_rollups() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', t), ', ') FROM unnest(rollup_tables()) t);
END $fn$;


-- The statement triggers on services (0003) keep the rollups exact row by row. One function for
-- the INSERT, UPDATE and DELETE triggers: each has its own transition tables (one event per
-- trigger), so the delta source is chosen by TG_OP and spliced in with format(). Deltas are
-- applied in key order so two concurrent loads lock rows in the same order. Rows a delete or
-- update empties are deleted by key right after (RETURNING says which).
CREATE OR REPLACE FUNCTION services_rollup() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    delta text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, polo, angel, data_limite, data_de_atendimento AS visit FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, polo, angel, data_limite, data_de_atendimento AS visit FROM old_rows'
        ELSE 'SELECT 1 AS sign, polo, angel, data_limite, data_de_atendimento AS visit FROM new_rows '
             'UNION ALL SELECT -1, polo, angel, data_limite, data_de_atendimento FROM old_rows'
    END;
    empty_daily jsonb;
    empty_monthly jsonb;
    empty_polo jsonb;
BEGIN
    EXECUTE format($q$
        WITH d AS (%s),
        agg AS (
            SELECT data_limite AS day, polo, angel,
                   sum(sign) AS total,
                   sum(sign * (visit IS NOT NULL AND visit::date <= data_limite)::int) AS on_time,
                   sum(sign * (visit IS NOT NULL AND visit::date > data_limite)::int) AS late,
                   sum(sign * (visit IS NULL)::int) AS unvisited,
                   sum(sign * coalesce(data_limite - visit::date, 0)) AS slack_days
            FROM d GROUP BY 1, 2, 3),
        changed AS (
            SELECT * FROM agg WHERE total <> 0 OR on_time <> 0 OR late <> 0 OR unvisited <> 0
                                 OR slack_days <> 0),
        daily AS (
            INSERT INTO sla_daily AS r SELECT * FROM changed ORDER BY day, polo, angel
            ON CONFLICT (day, polo, angel) DO UPDATE SET
                total = r.total + excluded.total, on_time = r.on_time + excluded.on_time,
                late = r.late + excluded.late, unvisited = r.unvisited + excluded.unvisited,
                slack_days = r.slack_days + excluded.slack_days
            RETURNING new.day, new.polo, new.angel, new.total),
        monthly AS (
            INSERT INTO sla_monthly AS r
            SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(total), sum(on_time),
                   sum(late), sum(unvisited), sum(slack_days)
            FROM changed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (month, polo, angel) DO UPDATE SET
                total = r.total + excluded.total, on_time = r.on_time + excluded.on_time,
                late = r.late + excluded.late, unvisited = r.unvisited + excluded.unvisited,
                slack_days = r.slack_days + excluded.slack_days
            RETURNING new.month, new.polo, new.angel, new.total),
        polo_daily AS (
            INSERT INTO sla_polo_daily AS r
            SELECT day, polo, sum(total), sum(on_time), sum(late), sum(unvisited), sum(slack_days)
            FROM changed GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (day, polo) DO UPDATE SET
                total = r.total + excluded.total, on_time = r.on_time + excluded.on_time,
                late = r.late + excluded.late, unvisited = r.unvisited + excluded.unvisited,
                slack_days = r.slack_days + excluded.slack_days
            RETURNING new.day, new.polo, new.total)
        SELECT (SELECT jsonb_agg(jsonb_build_array(day, polo, angel)) FROM daily WHERE total = 0),
               (SELECT jsonb_agg(jsonb_build_array(month, polo, angel)) FROM monthly WHERE total = 0),
               (SELECT jsonb_agg(jsonb_build_array(day, polo)) FROM polo_daily WHERE total = 0)
    $q$, delta) INTO empty_daily, empty_monthly, empty_polo;
    IF empty_daily IS NOT NULL THEN
        DELETE FROM sla_daily r USING jsonb_array_elements(empty_daily) k
        WHERE r.day = (k->>0)::date AND r.polo = k->>1 AND r.angel = k->>2 AND r.total = 0;
    END IF;
    IF empty_monthly IS NOT NULL THEN
        DELETE FROM sla_monthly r USING jsonb_array_elements(empty_monthly) k
        WHERE r.month = (k->>0)::date AND r.polo = k->>1 AND r.angel = k->>2 AND r.total = 0;
    END IF;
    IF empty_polo IS NOT NULL THEN
        DELETE FROM sla_polo_daily r USING jsonb_array_elements(empty_polo) k
        WHERE r.day = (k->>0)::date AND r.polo = k->>1 AND r.total = 0;
    END IF;

    -- Visit side: the monthly worked_days changes when a day's visits go from 0 to >0 or back,
    -- which RETURNING old/new (PostgreSQL 18) tells us per daily row.
    EXECUTE format($q$
        WITH d AS (%s),
        agg AS (
            SELECT visit::date AS day, polo, angel,
                   sum(sign) AS visits,
                   sum(sign * (visit::date <= data_limite)::int) AS on_time,
                   sum(sign * (data_limite - visit::date)) AS slack_days
            FROM d WHERE visit IS NOT NULL GROUP BY 1, 2, 3),
        daily AS (
            INSERT INTO visits_daily AS r
            SELECT * FROM agg WHERE visits <> 0 OR on_time <> 0 OR slack_days <> 0
            ORDER BY day, polo, angel
            ON CONFLICT (day, polo, angel) DO UPDATE SET
                visits = r.visits + excluded.visits, on_time = r.on_time + excluded.on_time,
                slack_days = r.slack_days + excluded.slack_days
            RETURNING new.day, new.polo, new.angel, new.visits AS visits_now,
                      new.visits - coalesce(old.visits, 0) AS visits,
                      new.on_time - coalesce(old.on_time, 0) AS on_time,
                      new.slack_days - coalesce(old.slack_days, 0) AS slack_days,
                      (new.visits > 0)::int - (coalesce(old.visits, 0) > 0)::int AS worked_days),
        monthly AS (
            INSERT INTO visits_monthly AS r (month, polo, angel, visits, on_time, slack_days, worked_days)
            SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(visits), sum(on_time),
                   sum(slack_days), sum(worked_days)
            FROM daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (month, polo, angel) DO UPDATE SET
                visits = r.visits + excluded.visits, on_time = r.on_time + excluded.on_time,
                slack_days = r.slack_days + excluded.slack_days,
                worked_days = r.worked_days + excluded.worked_days
            RETURNING new.month, new.polo, new.angel, new.visits),
        polo_daily AS (
            INSERT INTO visits_polo_daily AS r (day, polo, visits, on_time, slack_days, worked_days)
            SELECT day, polo, sum(visits), sum(on_time), sum(slack_days), sum(worked_days)
            FROM daily GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (day, polo) DO UPDATE SET
                visits = r.visits + excluded.visits, on_time = r.on_time + excluded.on_time,
                slack_days = r.slack_days + excluded.slack_days,
                worked_days = r.worked_days + excluded.worked_days
            RETURNING new.day, new.polo, new.visits)
        SELECT (SELECT jsonb_agg(jsonb_build_array(day, polo, angel)) FROM daily WHERE visits_now = 0),
               (SELECT jsonb_agg(jsonb_build_array(month, polo, angel)) FROM monthly WHERE visits = 0),
               (SELECT jsonb_agg(jsonb_build_array(day, polo)) FROM polo_daily WHERE visits = 0)
    $q$, delta) INTO empty_daily, empty_monthly, empty_polo;
    IF empty_daily IS NOT NULL THEN
        DELETE FROM visits_daily r USING jsonb_array_elements(empty_daily) k
        WHERE r.day = (k->>0)::date AND r.polo = k->>1 AND r.angel = k->>2 AND r.visits = 0;
    END IF;
    IF empty_monthly IS NOT NULL THEN
        DELETE FROM visits_monthly r USING jsonb_array_elements(empty_monthly) k
        WHERE r.month = (k->>0)::date AND r.polo = k->>1 AND r.angel = k->>2 AND r.visits = 0;
    END IF;
    IF empty_polo IS NOT NULL THEN
        DELETE FROM visits_polo_daily r USING jsonb_array_elements(empty_polo) k
        WHERE r.day = (k->>0)::date AND r.polo = k->>1 AND r.visits = 0;
    END IF;
    RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION services_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM truncate_rollups();
    RETURN NULL;
END $fn$;


-- The six rollups computed in one set-based pass from any relation with the services columns
-- (services, or a load's staging table), into tables shaped like them named prefix || rollup.
-- A first bulk load computes them on the other core while it inserts the rows (core.loading.bulk):
-- grouping a million rows once costs a fraction of merging them delta by delta. The day x angel
-- tables are filled without ORDER BY (their primary keys are built after, in one sorted pass);
-- the smaller ones in key order, which appends to their primary keys.
CREATE OR REPLACE FUNCTION compute_services_rollups(source regclass, prefix text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format($q$
        INSERT INTO %I
        SELECT data_limite, polo, angel, count(*),
               count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               count(*) FILTER (WHERE data_de_atendimento::date > data_limite),
               count(*) FILTER (WHERE data_de_atendimento IS NULL),
               coalesce(sum(data_limite - data_de_atendimento::date), 0)
        FROM %s GROUP BY 1, 2, 3$q$, prefix || 'sla_daily', source);
    EXECUTE format($q$
        INSERT INTO %I
        SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(total), sum(on_time), sum(late),
               sum(unvisited), sum(slack_days)
        FROM %I GROUP BY 1, 2, 3 ORDER BY 1, 2, 3$q$, prefix || 'sla_monthly', prefix || 'sla_daily');
    EXECUTE format($q$
        INSERT INTO %I
        SELECT day, polo, sum(total), sum(on_time), sum(late), sum(unvisited), sum(slack_days)
        FROM %I GROUP BY 1, 2 ORDER BY 1, 2$q$, prefix || 'sla_polo_daily', prefix || 'sla_daily');
    EXECUTE format($q$
        INSERT INTO %I
        SELECT data_de_atendimento::date, polo, angel, count(*),
               count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               sum(data_limite - data_de_atendimento::date)
        FROM %s WHERE data_de_atendimento IS NOT NULL GROUP BY 1, 2, 3$q$, prefix || 'visits_daily', source);
    EXECUTE format($q$
        INSERT INTO %I (month, polo, angel, visits, on_time, slack_days, worked_days)
        SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(visits), sum(on_time),
               sum(slack_days), count(*)
        FROM %I GROUP BY 1, 2, 3 ORDER BY 1, 2, 3$q$, prefix || 'visits_monthly', prefix || 'visits_daily');
    EXECUTE format($q$
        INSERT INTO %I (day, polo, visits, on_time, slack_days, worked_days)
        SELECT day, polo, sum(visits), sum(on_time), sum(slack_days), count(*)
        FROM %I GROUP BY 1, 2 ORDER BY 1, 2$q$, prefix || 'visits_polo_daily', prefix || 'visits_daily');
END $fn$;

-- The six rollups rebuilt: computed from services, or copied from the tables
-- compute_services_rollups() filled under the prefix `computed`. The day x angel tables are
-- filled without their primary keys, which are then built in one sorted pass (measured on 1M
-- services: 2.25 s -> 1.43 s per table).
CREATE OR REPLACE FUNCTION rebuild_services_rollups(computed text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    name text;
BEGIN
    PERFORM truncate_rollups();
    ALTER TABLE sla_daily DROP CONSTRAINT sla_daily_pkey;
    ALTER TABLE visits_daily DROP CONSTRAINT visits_daily_pkey;
    IF computed IS NULL THEN
        PERFORM compute_services_rollups('services', '');
    ELSE
        FOREACH name IN ARRAY rollup_tables() LOOP
            EXECUTE format('INSERT INTO %I SELECT * FROM %I', name, computed || name);
        END LOOP;
    END IF;
    ALTER TABLE sla_daily ADD CONSTRAINT sla_daily_pkey PRIMARY KEY (day, polo, angel);
    ALTER TABLE visits_daily ADD CONSTRAINT visits_daily_pkey PRIMARY KEY (day, polo, angel);
END $fn$;
