-- Rollups computed ahead. A first load of 1M services spends ~4 s rebuilding the rollups after
-- its insert, in the one transaction, on one core. The aggregations can run on the other core, in
-- another connection, from the load's staging table while that transaction inserts the rows:
-- compute_services_rollups() fills six tables shaped like the rollups, under a name prefix, from
-- any relation with the services columns; rebuild_services_rollups(prefix) then only copies
-- them in. Without a prefix it computes from services, as 0008 did.
-- Same aggregations as 0008 and the triggers of 0003 (tests/core/test_rollup.py and the bulk load
-- tests check them against the raw table).
-- (History: the current definition of these functions is core/sql/rollups.sql.)

CREATE FUNCTION compute_services_rollups(source regclass, prefix text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    t_sla_daily text := quote_ident(prefix || 'sla_daily');
    t_visits_daily text := quote_ident(prefix || 'visits_daily');
BEGIN
    EXECUTE 'INSERT INTO ' || t_sla_daily || '
        SELECT data_limite, polo, angel, count(*),
               count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               count(*) FILTER (WHERE data_de_atendimento::date > data_limite),
               count(*) FILTER (WHERE data_de_atendimento IS NULL),
               coalesce(sum(data_limite - data_de_atendimento::date), 0)
        FROM ' || source::text || ' GROUP BY 1, 2, 3';
    EXECUTE 'INSERT INTO ' || quote_ident(prefix || 'sla_monthly') || '
        SELECT date_trunc(''month'', day::timestamp)::date, polo, angel, sum(total), sum(on_time), sum(late),
               sum(unvisited), sum(slack_days)
        FROM ' || t_sla_daily || ' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3';
    EXECUTE 'INSERT INTO ' || quote_ident(prefix || 'sla_polo_daily') || '
        SELECT day, polo, sum(total), sum(on_time), sum(late), sum(unvisited), sum(slack_days)
        FROM ' || t_sla_daily || ' GROUP BY 1, 2 ORDER BY 1, 2';
    EXECUTE 'INSERT INTO ' || t_visits_daily || '
        SELECT data_de_atendimento::date, polo, angel, count(*),
               count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
               sum(data_limite - data_de_atendimento::date)
        FROM ' || source::text || ' WHERE data_de_atendimento IS NOT NULL GROUP BY 1, 2, 3';
    EXECUTE 'INSERT INTO ' || quote_ident(prefix || 'visits_monthly') ||
        ' (month, polo, angel, visits, on_time, slack_days, worked_days)
        SELECT date_trunc(''month'', day::timestamp)::date, polo, angel, sum(visits), sum(on_time),
               sum(slack_days), count(*)
        FROM ' || t_visits_daily || ' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3';
    EXECUTE 'INSERT INTO ' || quote_ident(prefix || 'visits_polo_daily') ||
        ' (day, polo, visits, on_time, slack_days, worked_days)
        SELECT day, polo, sum(visits), sum(on_time), sum(slack_days), count(*)
        FROM ' || t_visits_daily || ' GROUP BY 1, 2 ORDER BY 1, 2';
END $fn$;

-- The six rollups rebuilt: from services, or copied from the tables compute_services_rollups()
-- filled under `computed` (a prefix). The day x angel tables are filled without their primary
-- keys, which are built after in one sorted pass (0008).
DROP FUNCTION rebuild_services_rollups();
CREATE FUNCTION rebuild_services_rollups(computed text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    name text;
BEGIN
    TRUNCATE sla_daily, sla_monthly, sla_polo_daily, visits_daily, visits_monthly, visits_polo_daily;
    ALTER TABLE sla_daily DROP CONSTRAINT sla_daily_pkey;
    ALTER TABLE visits_daily DROP CONSTRAINT visits_daily_pkey;
    IF computed IS NULL THEN
        PERFORM compute_services_rollups('services', '');
    ELSE
        FOREACH name IN ARRAY ARRAY['sla_daily', 'sla_monthly', 'sla_polo_daily',
                                    'visits_daily', 'visits_monthly', 'visits_polo_daily'] LOOP
            EXECUTE 'INSERT INTO ' || quote_ident(name) || ' SELECT * FROM ' || quote_ident(computed || name);
        END LOOP;
    END IF;
    ALTER TABLE sla_daily ADD CONSTRAINT sla_daily_pkey PRIMARY KEY (day, polo, angel);
    ALTER TABLE visits_daily ADD CONSTRAINT visits_daily_pkey PRIMARY KEY (day, polo, angel);
END $fn$;
