-- The indicator rollups' functions as they are now: their one definition. The migrations that
-- first wrote them (0003, 0006, 0008, 0010, 0016) stay as history; this file is applied after the
-- migrations whenever it changes (core/db.py compares its checksum), so every function here is
-- whole and CREATE OR REPLACE. The tables themselves are schema: 0003_indicators.sql and
-- 0016_angel_months.sql.
--
-- Two sides, because the indicators count by two different days (see 0003):
--   sla_*    keyed by the DEADLINE day: total, on_time, late, unvisited, slack_days;
--   visits_* keyed by the VISIT day: visits, on_time, slack_days, worked_days.
-- Per angel (angels.id: one name in one polo), one row per calendar month whose columns are
-- arrays of 31 running sums: element k = the sum over days 1..k of that month (days after the
-- month's last carry its total). Any period is then two subscripts per angel and month (0016).
-- Per polo and day (no angel), plain counts: *_polo_daily.
-- Every path classifies a service with the three functions below, the rules of
-- core/definitions.py in SQL. tests/core/test_rollup.py checks the triggers and both rebuilds
-- against a fresh aggregation of services.

-- On time, late, slack: core/definitions.py states them; these are their one SQL statement, for
-- the three write paths below and the record filters (core/definitions.py's ON_TIME_SQL and
-- LATE_SQL). Never visited: neither on time nor late, no slack (NULL). LANGUAGE sql, IMMUTABLE
-- and not STRICT, so the planner inlines them where they are called (EXPLAIN VERBOSE shows the
-- expression, not the call): they cost what the expression costs, and the partial index
-- services_late_idx (0004) still matches a filter on is_late.
CREATE OR REPLACE FUNCTION is_on_time(visit timestamp, deadline date) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN visit IS NOT NULL AND visit::date <= deadline;

CREATE OR REPLACE FUNCTION is_late(visit timestamp, deadline date) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN visit IS NOT NULL AND visit::date > deadline;

-- Days between the visit's date and the deadline; positive = early.
CREATE OR REPLACE FUNCTION slack_days(visit timestamp, deadline date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN deadline - visit::date;

-- The rollup tables: the one list (core.loading.bulk reads it too).
CREATE OR REPLACE FUNCTION rollup_tables() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['sla_angel_months', 'sla_polo_daily', 'visits_angel_months', 'visits_polo_daily'];

CREATE OR REPLACE FUNCTION truncate_rollups() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', t), ', ') FROM unnest(rollup_tables()) t);
END $fn$;

-- Element-wise sum of two running-sum arrays of the same length.
CREATE OR REPLACE FUNCTION running_add(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT x + y FROM unnest(a, b) WITH ORDINALITY u(x, y, i) ORDER BY i);

-- Running count of the days with at least one visit, from the running sum of visits.
CREATE OR REPLACE FUNCTION running_worked_days(visits integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT count(*) FILTER (WHERE v > coalesce(before, 0)) OVER (ORDER BY i)
                 FROM (SELECT v, i, lag(v) OVER (ORDER BY i) AS before
                       FROM unnest(visits) WITH ORDINALITY u(v, i)) d ORDER BY i);

-- The month arrays of a set of day counts. `daily` is a query with the columns
-- (month, angel_id, dom, <measures>): day of month dom, at most one row per month, angel and day.
-- The running sums are taken over the days with data (a window), and each day with data fills
-- the array from its day to the day before the next one (the first from day 1, zeros before it;
-- the last up to day 31): no row for the days without data is ever made.
CREATE OR REPLACE FUNCTION rollup_months_sql(daily text, measures text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN format($q$
        SELECT month, angel_id, %s
        FROM (SELECT month, angel_id, dom, %s,
                     CASE WHEN lag(dom) OVER w IS NULL THEN 1 ELSE dom END AS first_day,
                     coalesce(lead(dom) OVER w - 1, 31) AS last_day
              FROM (%s) d WINDOW w AS (PARTITION BY month, angel_id ORDER BY dom)) r
        CROSS JOIN generate_series(first_day, last_day) i
        GROUP BY month, angel_id$q$,
        (SELECT string_agg(format('array_agg(CASE WHEN i < dom THEN 0 ELSE %I END ORDER BY i) AS %I', m, m), ', ')
         FROM unnest(measures) m),
        (SELECT string_agg(format('(sum(%I::int) OVER w)::int AS %I', m, m), ', ') FROM unnest(measures) m),
        daily);

-- The statements that add the polos and angels (a name in a polo) that `source` (a query with
-- the columns polo and angel) names and the dimension tables do not have yet; run by the caller
-- (a trigger's transition tables are visible to the trigger function only). Two statements, so
-- the second sees the polos the first added. Safe with concurrent writers: a name another
-- transaction inserts meanwhile is skipped (ON CONFLICT waits for it, then does nothing).
CREATE OR REPLACE FUNCTION rollup_names_sql(source text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY[
        format($q$INSERT INTO polos (name) SELECT DISTINCT s.polo FROM (%s) s
                  WHERE NOT EXISTS (SELECT 1 FROM polos p WHERE p.name = s.polo)
                  ORDER BY 1 ON CONFLICT DO NOTHING$q$, source),
        format($q$INSERT INTO angels (polo_id, name)
                  SELECT DISTINCT p.id, s.angel FROM (%s) s JOIN polos p ON p.name = s.polo
                  WHERE NOT EXISTS (SELECT 1 FROM angels a WHERE a.polo_id = p.id AND a.name = s.angel)
                  ORDER BY 1, 2 ON CONFLICT DO NOTHING$q$, source)];


-- A running-sum array (31 elements) with x added from day k on: one service's delta to a month.
CREATE OR REPLACE FUNCTION running_add_from(a integer[], k integer, x integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $fn$
BEGIN
    IF x <> 0 THEN
        FOR i IN k..31 LOOP
            a[i] := a[i] + x;
        END LOOP;
    END IF;
    RETURN a;
END $fn$;

-- One service's delta (sign +1 added, -1 removed) to the rollups, in four steps the trigger calls
-- table by table (so that every writer locks the rollup rows in the same order: month rows, then
-- polo days, SLA side before visit side, as the set-based statements below). Static statements:
-- their plans are cached per session, where the set-based path plans two large queries per write.
-- The angel's id (one indexed probe; the names are added first when they are new).
CREATE OR REPLACE FUNCTION rollup_angel_id(polo_name text, angel_name text) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    found integer;
BEGIN
    SELECT a.id INTO found FROM polos p JOIN angels a ON a.polo_id = p.id AND a.name = angel_name
    WHERE p.name = polo_name;
    IF found IS NULL THEN
        INSERT INTO polos (name) VALUES (polo_name) ON CONFLICT DO NOTHING;
        INSERT INTO angels (polo_id, name) SELECT p.id, angel_name FROM polos p WHERE p.name = polo_name
            ON CONFLICT DO NOTHING;
        SELECT a.id INTO found FROM polos p JOIN angels a ON a.polo_id = p.id AND a.name = angel_name
        WHERE p.name = polo_name;
    END IF;
    RETURN found;
END $fn$;

CREATE OR REPLACE FUNCTION rollup_row_sla_month(sign integer, angel_id integer, deadline date, visit timestamp)
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
DECLARE
    m date := date_trunc('month', deadline::timestamp)::date;
    d integer := date_part('day', deadline)::int;
    on_time integer := sign * is_on_time(visit, deadline)::int;
    late integer := sign * is_late(visit, deadline)::int;
    unvisited integer := sign * (visit IS NULL)::int;
    slack integer := sign * coalesce(slack_days(visit, deadline), 0);
    zeros integer[] := array_fill(0, ARRAY[31]);
    remaining integer;
BEGIN
    INSERT INTO sla_angel_months AS r
    VALUES (m, angel_id, running_add_from(zeros, d, sign), running_add_from(zeros, d, on_time),
            running_add_from(zeros, d, late), running_add_from(zeros, d, unvisited),
            running_add_from(zeros, d, slack))
    ON CONFLICT ON CONSTRAINT sla_angel_months_pkey DO UPDATE SET
        total = running_add_from(r.total, d, sign), on_time = running_add_from(r.on_time, d, on_time),
        late = running_add_from(r.late, d, late), unvisited = running_add_from(r.unvisited, d, unvisited),
        slack_days = running_add_from(r.slack_days, d, slack)
    RETURNING r.total[31] INTO remaining;
    IF remaining = 0 THEN
        DELETE FROM sla_angel_months r WHERE r.month = m AND r.angel_id = rollup_row_sla_month.angel_id;
    END IF;
END $fn$;

CREATE OR REPLACE FUNCTION rollup_row_sla_polo(sign integer, polo text, deadline date, visit timestamp)
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
DECLARE
    remaining integer;
BEGIN
    INSERT INTO sla_polo_daily AS r
    VALUES (deadline, polo, sign, sign * is_on_time(visit, deadline)::int, sign * is_late(visit, deadline)::int,
            sign * (visit IS NULL)::int, sign * coalesce(slack_days(visit, deadline), 0))
    ON CONFLICT ON CONSTRAINT sla_polo_daily_pkey DO UPDATE SET
        total = r.total + excluded.total, on_time = r.on_time + excluded.on_time,
        late = r.late + excluded.late, unvisited = r.unvisited + excluded.unvisited,
        slack_days = r.slack_days + excluded.slack_days
    RETURNING r.total INTO remaining;
    IF remaining = 0 THEN
        DELETE FROM sla_polo_daily r WHERE r.day = deadline AND r.polo = rollup_row_sla_polo.polo;
    END IF;
END $fn$;

-- Returns the change of the angel's worked days on the visit's day (-1, 0 or 1), which the
-- polo's day adds.
CREATE OR REPLACE FUNCTION rollup_row_visit_month(sign integer, angel_id integer, deadline date, visit timestamp)
RETURNS integer LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
DECLARE
    m date := date_trunc('month', visit)::date;
    d integer := date_part('day', visit)::int;
    on_time integer := sign * is_on_time(visit, deadline)::int;
    slack integer := sign * slack_days(visit, deadline);
    zeros integer[] := array_fill(0, ARRAY[31]);
    remaining integer;
    worked integer;
BEGIN
    INSERT INTO visits_angel_months AS r (month, angel_id, visits, on_time, slack_days, worked_days)
    VALUES (m, angel_id, running_add_from(zeros, d, sign), running_add_from(zeros, d, on_time),
            running_add_from(zeros, d, slack), running_add_from(zeros, d, greatest(sign, 0)))
    ON CONFLICT ON CONSTRAINT visits_angel_months_pkey DO UPDATE SET
        visits = running_add_from(r.visits, d, sign), on_time = running_add_from(r.on_time, d, on_time),
        slack_days = running_add_from(r.slack_days, d, slack),
        worked_days = running_add_from(r.worked_days, d,
            (r.visits[d] - coalesce(r.visits[d - 1], 0) + sign > 0)::int
            - (r.visits[d] - coalesce(r.visits[d - 1], 0) > 0)::int)
    RETURNING new.visits[31],
              (new.visits[d] - coalesce(new.visits[d - 1], 0) > 0)::int
              - (coalesce(old.visits[d] - coalesce(old.visits[d - 1], 0), 0) > 0)::int
    INTO remaining, worked;
    IF remaining = 0 THEN
        DELETE FROM visits_angel_months r WHERE r.month = m AND r.angel_id = rollup_row_visit_month.angel_id;
    END IF;
    RETURN worked;
END $fn$;

CREATE OR REPLACE FUNCTION rollup_row_visit_polo(sign integer, polo text, deadline date, visit timestamp,
                                                 worked integer)
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
DECLARE
    remaining integer;
BEGIN
    INSERT INTO visits_polo_daily AS r (day, polo, visits, on_time, slack_days, worked_days)
    VALUES (visit::date, polo, sign, sign * is_on_time(visit, deadline)::int, sign * slack_days(visit, deadline),
            worked)
    ON CONFLICT ON CONSTRAINT visits_polo_daily_pkey DO UPDATE SET
        visits = r.visits + excluded.visits, on_time = r.on_time + excluded.on_time,
        slack_days = r.slack_days + excluded.slack_days, worked_days = r.worked_days + excluded.worked_days
    RETURNING r.visits INTO remaining;
    IF remaining = 0 THEN
        DELETE FROM visits_polo_daily r WHERE r.day = visit::date AND r.polo = rollup_row_visit_polo.polo;
    END IF;
END $fn$;

-- The path of a statement that wrote one row (the API's and the pages' creates, edits and
-- deletes): the row's deltas through the functions above. An update is its old row removed and
-- its new row added, each table in key order (the old row first on equal keys, in every table,
-- so the worked-day changes add up); an update that changes none of polo, angel, deadline and
-- visit day changes no rollup and writes nothing.
CREATE OR REPLACE FUNCTION services_rollup_one(old_polo text, old_angel text, old_deadline date, old_visit timestamp,
                                               new_polo text, new_angel text, new_deadline date, new_visit timestamp)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    has_old boolean := old_polo IS NOT NULL;
    has_new boolean := new_polo IS NOT NULL;
    old_id integer;
    new_id integer;
    old_worked integer;
    new_worked integer;
    new_first boolean;
BEGIN
    IF has_old AND has_new AND old_polo = new_polo AND old_angel = new_angel AND old_deadline = new_deadline
       AND old_visit::date IS NOT DISTINCT FROM new_visit::date THEN
        RETURN;
    END IF;
    IF has_old THEN old_id := rollup_angel_id(old_polo, old_angel); END IF;
    IF has_new THEN new_id := rollup_angel_id(new_polo, new_angel); END IF;
    -- SLA side: month rows, then polo days
    new_first := has_old AND has_new AND (date_trunc('month', new_deadline::timestamp), new_id)
                                         < (date_trunc('month', old_deadline::timestamp), old_id);
    IF new_first THEN PERFORM rollup_row_sla_month(1, new_id, new_deadline, new_visit); END IF;
    IF has_old THEN PERFORM rollup_row_sla_month(-1, old_id, old_deadline, old_visit); END IF;
    IF has_new AND NOT new_first THEN PERFORM rollup_row_sla_month(1, new_id, new_deadline, new_visit); END IF;
    new_first := has_old AND has_new AND (new_deadline, new_polo COLLATE "C") < (old_deadline, old_polo COLLATE "C");
    IF new_first THEN PERFORM rollup_row_sla_polo(1, new_polo, new_deadline, new_visit); END IF;
    IF has_old THEN PERFORM rollup_row_sla_polo(-1, old_polo, old_deadline, old_visit); END IF;
    IF has_new AND NOT new_first THEN PERFORM rollup_row_sla_polo(1, new_polo, new_deadline, new_visit); END IF;
    -- visit side, for the rows with a visit
    has_old := has_old AND old_visit IS NOT NULL;
    has_new := has_new AND new_visit IS NOT NULL;
    new_first := has_old AND has_new AND (date_trunc('month', new_visit), new_id) < (date_trunc('month', old_visit), old_id);
    IF new_first THEN new_worked := rollup_row_visit_month(1, new_id, new_deadline, new_visit); END IF;
    IF has_old THEN old_worked := rollup_row_visit_month(-1, old_id, old_deadline, old_visit); END IF;
    IF has_new AND NOT new_first THEN new_worked := rollup_row_visit_month(1, new_id, new_deadline, new_visit); END IF;
    new_first := has_old AND has_new AND (new_visit::date, new_polo COLLATE "C") < (old_visit::date, old_polo COLLATE "C");
    IF new_first THEN PERFORM rollup_row_visit_polo(1, new_polo, new_deadline, new_visit, new_worked); END IF;
    IF has_old THEN PERFORM rollup_row_visit_polo(-1, old_polo, old_deadline, old_visit, old_worked); END IF;
    IF has_new AND NOT new_first THEN
        PERFORM rollup_row_visit_polo(1, new_polo, new_deadline, new_visit, new_worked);
    END IF;
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
    -- the delta with each row's angel id
    keyed text;
    sla_days text;
    visit_days text;
    empty_months jsonb;
    empty_polo jsonb;
    statement text;
    new_names boolean;
    old_count bigint := 0;
    new_count bigint := 0;
    o_polo text; o_angel text; o_deadline date; o_visit timestamp;
    n_polo text; n_angel text; n_deadline date; n_visit timestamp;
BEGIN
    -- One row written (or one updated): services_rollup_one, static statements, no planning.
    -- (At most two rows are counted: a load's statement is not read once more for this.)
    IF TG_OP <> 'INSERT' THEN
        SELECT count(*), min(polo), min(angel), min(data_limite), min(data_de_atendimento)
        INTO old_count, o_polo, o_angel, o_deadline, o_visit FROM (SELECT * FROM old_rows LIMIT 2) r;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT count(*), min(polo), min(angel), min(data_limite), min(data_de_atendimento)
        INTO new_count, n_polo, n_angel, n_deadline, n_visit FROM (SELECT * FROM new_rows LIMIT 2) r;
    END IF;
    IF (old_count = 1 OR TG_OP = 'INSERT') AND (new_count = 1 OR TG_OP = 'DELETE') THEN
        PERFORM services_rollup_one(o_polo, o_angel, o_deadline, o_visit, n_polo, n_angel, n_deadline, n_visit);
        RETURN NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN  -- one look first: names are new far less often than rows
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM angels a '
                'JOIN polos p ON p.id = a.polo_id WHERE p.name = n.polo AND a.name = n.angel))' INTO new_names;
        IF new_names THEN
            FOREACH statement IN ARRAY rollup_names_sql('SELECT polo, angel FROM new_rows') LOOP
                EXECUTE statement;
            END LOOP;
        END IF;
    END IF;
    keyed := format('SELECT d.sign, a.id AS angel_id, d.polo, d.data_limite, d.visit FROM (%s) d '
                    'JOIN polos p ON p.name = d.polo JOIN angels a ON a.polo_id = p.id AND a.name = d.angel', delta);
    sla_days := format($q$
        SELECT date_trunc('month', data_limite::timestamp)::date AS month, angel_id,
               date_part('day', data_limite)::int AS dom, data_limite AS day, polo,
               sum(sign) AS total,
               sum(sign * is_on_time(visit, data_limite)::int) AS on_time,
               sum(sign * is_late(visit, data_limite)::int) AS late,
               sum(sign * (visit IS NULL)::int) AS unvisited,
               sum(sign * coalesce(slack_days(visit, data_limite), 0)) AS slack_days
        FROM (%s) k GROUP BY 1, 2, 3, 4, 5$q$, keyed);
    EXECUTE format($q$
        WITH changed AS MATERIALIZED (
            SELECT * FROM (%s) a WHERE total <> 0 OR on_time <> 0 OR late <> 0 OR unvisited <> 0
                                    OR slack_days <> 0),
        months AS (
            INSERT INTO sla_angel_months AS r
            SELECT * FROM (%s) m ORDER BY month, angel_id
            ON CONFLICT (month, angel_id) DO UPDATE SET
                total = running_add(r.total, excluded.total), on_time = running_add(r.on_time, excluded.on_time),
                late = running_add(r.late, excluded.late), unvisited = running_add(r.unvisited, excluded.unvisited),
                slack_days = running_add(r.slack_days, excluded.slack_days)
            RETURNING new.month, new.angel_id, new.total[31] AS total),
        polo_daily AS (
            INSERT INTO sla_polo_daily AS r
            SELECT day, polo, sum(total), sum(on_time), sum(late), sum(unvisited), sum(slack_days)
            FROM changed GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (day, polo) DO UPDATE SET
                total = r.total + excluded.total, on_time = r.on_time + excluded.on_time,
                late = r.late + excluded.late, unvisited = r.unvisited + excluded.unvisited,
                slack_days = r.slack_days + excluded.slack_days
            RETURNING new.day, new.polo, new.total)
        SELECT (SELECT jsonb_agg(jsonb_build_array(month, angel_id)) FROM months WHERE total = 0),
               (SELECT jsonb_agg(jsonb_build_array(day, polo)) FROM polo_daily WHERE total = 0)
    $q$, sla_days, rollup_months_sql('SELECT * FROM changed',
                                     ARRAY['total', 'on_time', 'late', 'unvisited', 'slack_days']))
    INTO empty_months, empty_polo;
    IF empty_months IS NOT NULL THEN
        DELETE FROM sla_angel_months r USING jsonb_array_elements(empty_months) k
        WHERE r.month = (k->>0)::date AND r.angel_id = (k->>1)::int AND r.total[31] = 0;
    END IF;
    IF empty_polo IS NOT NULL THEN
        DELETE FROM sla_polo_daily r USING jsonb_array_elements(empty_polo) k
        WHERE r.day = (k->>0)::date AND r.polo = k->>1 AND r.total = 0;
    END IF;

    -- Visit side. A day is worked when its visits go from 0 to >0 (or back): the month row's
    -- arrays before and after the change (RETURNING old/new, PostgreSQL 18) say so per day, for
    -- the polo's count of angels who visited.
    visit_days := format($q$
        SELECT date_trunc('month', visit)::date AS month, angel_id, date_part('day', visit)::int AS dom,
               visit::date AS day, polo,
               sum(sign) AS visits,
               sum(sign * is_on_time(visit, data_limite)::int) AS on_time,
               sum(sign * slack_days(visit, data_limite)) AS slack_days
        FROM (%s) k WHERE visit IS NOT NULL GROUP BY 1, 2, 3, 4, 5$q$, keyed);
    EXECUTE format($q$
        WITH changed AS MATERIALIZED (
            SELECT * FROM (%s) a WHERE visits <> 0 OR on_time <> 0 OR slack_days <> 0),
        months AS (
            INSERT INTO visits_angel_months AS r (month, angel_id, visits, on_time, slack_days, worked_days)
            SELECT month, angel_id, visits, on_time, slack_days, running_worked_days(visits)
            FROM (%s) m ORDER BY month, angel_id
            ON CONFLICT (month, angel_id) DO UPDATE SET
                visits = running_add(r.visits, excluded.visits), on_time = running_add(r.on_time, excluded.on_time),
                slack_days = running_add(r.slack_days, excluded.slack_days),
                worked_days = running_worked_days(running_add(r.visits, excluded.visits))
            RETURNING new.month, new.angel_id, old.visits AS before, new.visits AS after),
        polo_days AS (
            SELECT c.day, c.polo, sum(c.visits) AS visits, sum(c.on_time) AS on_time,
                   sum(c.slack_days) AS slack_days,
                   sum((coalesce(m.after[c.dom], 0) - coalesce(m.after[c.dom - 1], 0) > 0)::int
                       - (coalesce(m.before[c.dom], 0) - coalesce(m.before[c.dom - 1], 0) > 0)::int) AS worked_days
            FROM changed c JOIN months m ON m.month = c.month AND m.angel_id = c.angel_id
            GROUP BY 1, 2),
        polo_daily AS (
            INSERT INTO visits_polo_daily AS r (day, polo, visits, on_time, slack_days, worked_days)
            SELECT * FROM polo_days ORDER BY 1, 2
            ON CONFLICT (day, polo) DO UPDATE SET
                visits = r.visits + excluded.visits, on_time = r.on_time + excluded.on_time,
                slack_days = r.slack_days + excluded.slack_days,
                worked_days = r.worked_days + excluded.worked_days
            RETURNING new.day, new.polo, new.visits)
        SELECT (SELECT jsonb_agg(jsonb_build_array(month, angel_id)) FROM months WHERE after[31] = 0),
               (SELECT jsonb_agg(jsonb_build_array(day, polo)) FROM polo_daily WHERE visits = 0)
    $q$, visit_days, rollup_months_sql('SELECT * FROM changed', ARRAY['visits', 'on_time', 'slack_days']))
    INTO empty_months, empty_polo;
    IF empty_months IS NOT NULL THEN
        DELETE FROM visits_angel_months r USING jsonb_array_elements(empty_months) k
        WHERE r.month = (k->>0)::date AND r.angel_id = (k->>1)::int AND r.visits[31] = 0;
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


-- The rollups computed in one set-based pass from any relation with the services columns
-- (services, or a load's staging table), into tables shaped like them named prefix || rollup.
-- A first bulk load computes them on the other core while it inserts the rows (core.loading.bulk):
-- grouping a million rows once costs a fraction of merging them delta by delta. Names new to
-- the polos and angels tables are added (and committed with this transaction). One statement:
-- the source is read and keyed once for both sides (measured on 1M services: about 4 s).
CREATE OR REPLACE FUNCTION compute_services_rollups(source regclass, prefix text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    keyed text := format('SELECT a.id AS angel_id, s.polo, s.data_limite, s.data_de_atendimento AS visit '
                         'FROM %s s JOIN polos p ON p.name = s.polo JOIN angels a ON a.polo_id = p.id AND a.name = s.angel',
                         source);
    statement text;
BEGIN
    FOREACH statement IN ARRAY rollup_names_sql(format('SELECT polo, angel FROM %s', source)) LOOP
        EXECUTE statement;
    END LOOP;
    EXECUTE format($q$
        WITH keyed AS MATERIALIZED (%s),
        sla_days AS MATERIALIZED (
            SELECT date_trunc('month', data_limite::timestamp)::date AS month, angel_id,
                   date_part('day', data_limite)::int AS dom, min(data_limite) AS day, min(polo) AS polo,
                   count(*)::int AS total,
                   count(*) FILTER (WHERE is_on_time(visit, data_limite))::int AS on_time,
                   count(*) FILTER (WHERE is_late(visit, data_limite))::int AS late,
                   count(*) FILTER (WHERE visit IS NULL)::int AS unvisited,
                   coalesce(sum(slack_days(visit, data_limite)), 0)::int AS slack_days
            FROM keyed GROUP BY 1, 2, 3),
        visit_days AS MATERIALIZED (
            SELECT date_trunc('month', visit::date::timestamp)::date AS month, angel_id,
                   date_part('day', visit::date)::int AS dom, min(visit::date) AS day, min(polo) AS polo,
                   count(*)::int AS visits,
                   count(*) FILTER (WHERE is_on_time(visit, data_limite))::int AS on_time,
                   sum(slack_days(visit, data_limite))::int AS slack_days, 1 AS worked_days
            FROM keyed WHERE visit IS NOT NULL GROUP BY 1, 2, 3),
        sla_polo AS (
            INSERT INTO %I
            SELECT day, polo, sum(total), sum(on_time), sum(late), sum(unvisited), sum(slack_days)
            FROM sla_days GROUP BY 1, 2 ORDER BY 1, 2),
        sla_months AS (
            INSERT INTO %I SELECT * FROM (%s) m ORDER BY month, angel_id),
        visits_polo AS (
            INSERT INTO %I (day, polo, visits, on_time, slack_days, worked_days)
            SELECT day, polo, sum(visits), sum(on_time), sum(slack_days), count(*)
            FROM visit_days GROUP BY 1, 2 ORDER BY 1, 2)
        INSERT INTO %I (month, angel_id, visits, on_time, slack_days, worked_days)
        SELECT * FROM (%s) m ORDER BY month, angel_id$q$,
        keyed, prefix || 'sla_polo_daily', prefix || 'sla_angel_months',
        rollup_months_sql('SELECT * FROM sla_days', ARRAY['total', 'on_time', 'late', 'unvisited', 'slack_days']),
        prefix || 'visits_polo_daily', prefix || 'visits_angel_months',
        rollup_months_sql('SELECT * FROM visit_days', ARRAY['visits', 'on_time', 'slack_days', 'worked_days']));
END $fn$;

-- The rollups rebuilt: computed from services, or copied from the tables
-- compute_services_rollups() filled under the prefix `computed`.
CREATE OR REPLACE FUNCTION rebuild_services_rollups(computed text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    name text;
BEGIN
    PERFORM truncate_rollups();
    IF computed IS NULL THEN
        PERFORM compute_services_rollups('services', '');
    ELSE
        FOREACH name IN ARRAY rollup_tables() LOOP
            EXECUTE format('INSERT INTO %I SELECT * FROM %I', name, computed || name);
        END LOOP;
    END IF;
END $fn$;

-- Rollups a migration emptied (to change their shape) are refilled once the functions above
-- exist: services with no rollup rows is never right.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM services) AND NOT EXISTS (SELECT 1 FROM sla_polo_daily) THEN
        PERFORM rebuild_services_rollups();
    END IF;
END $$;
