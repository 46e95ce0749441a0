-- Indicators: daily and monthly rollups of services, kept exact by statement-level triggers, and
-- the non-working days an admin adds to the holiday calendar.
--
-- Two sides, because the indicators count by two different days:
--   sla_*    keyed by the DEADLINE day (the SLA cohort): total, on_time, late, unvisited, slack;
--            "unvisited" is split into not_visited / open at query time (it depends on as_of).
--   visits_* keyed by the VISIT day (productivity): visits, on_time, slack, worked days.
-- Monthly tables hold whole calendar months so a long period reads ~30x fewer rows; a query takes
-- whole months from them and the edge days from the daily tables (core/indicators.py). The
-- *_polo_daily tables (day x polo) serve every question that does not need the angel.
-- slack_days = sum of (deadline - visit date) in days over visited services (positive = early).
-- The on-time rule matches core/definitions.py: visit DATE <= deadline.

CREATE TABLE sla_daily (
    day         date NOT NULL,        -- deadline (data_limite)
    polo        text NOT NULL,
    angel       text NOT NULL,
    total       integer NOT NULL,     -- every service due that day, open ones included
    on_time     integer NOT NULL,
    late        integer NOT NULL,
    unvisited   integer NOT NULL,
    slack_days  bigint NOT NULL,
    PRIMARY KEY (day, polo, angel)
);
CREATE TABLE sla_monthly (LIKE sla_daily);
ALTER TABLE sla_monthly RENAME COLUMN day TO month;   -- first day of the month
ALTER TABLE sla_monthly ADD PRIMARY KEY (month, polo, angel);

CREATE TABLE visits_daily (
    day         date NOT NULL,        -- visit date (data_de_atendimento::date)
    polo        text NOT NULL,
    angel       text NOT NULL,
    visits      integer NOT NULL,
    on_time     integer NOT NULL,
    slack_days  bigint NOT NULL,
    PRIMARY KEY (day, polo, angel)
);
CREATE TABLE visits_monthly (LIKE visits_daily);
ALTER TABLE visits_monthly RENAME COLUMN day TO month;
ALTER TABLE visits_monthly ADD COLUMN worked_days integer NOT NULL DEFAULT 0;  -- days with >= 1 visit
ALTER TABLE visits_monthly ADD PRIMARY KEY (month, polo, angel);

-- The same per polo and day (no angel): the polo charts, trends and KPIs read ~26x fewer rows.
CREATE TABLE sla_polo_daily (LIKE sla_monthly);
ALTER TABLE sla_polo_daily RENAME COLUMN month TO day;
ALTER TABLE sla_polo_daily DROP COLUMN angel;
ALTER TABLE sla_polo_daily ADD PRIMARY KEY (day, polo);
CREATE TABLE visits_polo_daily (LIKE visits_monthly);                -- worked_days: angels who visited
ALTER TABLE visits_polo_daily RENAME COLUMN month TO day;
ALTER TABLE visits_polo_daily DROP COLUMN angel;
ALTER TABLE visits_polo_daily ADD PRIMARY KEY (day, polo);

-- Room on each page so the count updates stay HOT (no index entry per update); nothing but the
-- primary keys is indexed, for the same reason.
ALTER TABLE sla_daily SET (fillfactor = 80);
ALTER TABLE sla_monthly SET (fillfactor = 80);
ALTER TABLE visits_daily SET (fillfactor = 80);
ALTER TABLE visits_monthly SET (fillfactor = 80);
ALTER TABLE sla_polo_daily SET (fillfactor = 80);
ALTER TABLE visits_polo_daily SET (fillfactor = 80);

-- One function for the INSERT, UPDATE and DELETE triggers: each has its own transition tables
-- (one event per trigger), so the delta source is chosen by TG_OP and run with EXECUTE.
-- (History: the current definition of these functions is core/sql/rollups.sql.)
-- Deltas are applied in key order so two concurrent loads lock rows in the same order. Rows a
-- delete or update empties are deleted by key right after (RETURNING says which).
CREATE FUNCTION services_rollup() RETURNS trigger LANGUAGE plpgsql AS $fn$
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
    EXECUTE replace($q$
        WITH d AS (:delta),
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
    $q$, ':delta', delta) INTO empty_daily, empty_monthly, empty_polo;
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
    EXECUTE replace($q$
        WITH d AS (:delta),
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
    $q$, ':delta', delta) INTO empty_daily, empty_monthly, empty_polo;
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

CREATE FUNCTION services_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE sla_daily, sla_monthly, sla_polo_daily, visits_daily, visits_monthly, visits_polo_daily;
    RETURN NULL;
END $fn$;

CREATE TRIGGER services_rollup_insert AFTER INSERT ON services
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION services_rollup();
CREATE TRIGGER services_rollup_update AFTER UPDATE ON services
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION services_rollup();
CREATE TRIGGER services_rollup_delete AFTER DELETE ON services
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION services_rollup();
CREATE TRIGGER services_rollup_truncate AFTER TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION services_rollup_truncate();

-- Services already present before this migration get their rollups from 0006_rollup_rebuild.sql.

-- Days the operation does not work beyond the national holidays (e.g. Carnival), added by an admin.
CREATE TABLE non_working_days (
    day       date PRIMARY KEY,
    reason    text NOT NULL CHECK (btrim(reason) <> ''),
    added_by  text NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now()
);
-- Business days change productivity, so cached indicators must see a calendar change at once.
CREATE TRIGGER non_working_days_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON non_working_days FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
