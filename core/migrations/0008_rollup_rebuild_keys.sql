-- (History: the current definition of this function is core/sql/rollups.sql.)
-- The rollup rebuild of 0006, faster: the two day x angel tables are nearly as long as services
-- (about 500k rows for 1M services), so they are filled without their primary keys, which are
-- then built in one sorted pass. Measured on 1M services: 2.25 s -> 1.43 s per table.
-- Same aggregations as 0006 and the triggers of 0003 (tests/core/test_rollup.py checks them).
CREATE OR REPLACE FUNCTION rebuild_services_rollups() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE sla_daily, sla_monthly, sla_polo_daily, visits_daily, visits_monthly, visits_polo_daily;
    ALTER TABLE sla_daily DROP CONSTRAINT sla_daily_pkey;
    ALTER TABLE visits_daily DROP CONSTRAINT visits_daily_pkey;
    INSERT INTO sla_daily
    SELECT data_limite, polo, angel, count(*),
           count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
           count(*) FILTER (WHERE data_de_atendimento::date > data_limite),
           count(*) FILTER (WHERE data_de_atendimento IS NULL),
           coalesce(sum(data_limite - data_de_atendimento::date), 0)
    FROM services GROUP BY 1, 2, 3;
    ALTER TABLE sla_daily ADD CONSTRAINT sla_daily_pkey PRIMARY KEY (day, polo, angel);
    INSERT INTO sla_monthly
    SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(total), sum(on_time), sum(late),
           sum(unvisited), sum(slack_days)
    FROM sla_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    INSERT INTO sla_polo_daily
    SELECT day, polo, sum(total), sum(on_time), sum(late), sum(unvisited), sum(slack_days)
    FROM sla_daily GROUP BY 1, 2 ORDER BY 1, 2;
    INSERT INTO visits_daily
    SELECT data_de_atendimento::date, polo, angel, count(*),
           count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
           sum(data_limite - data_de_atendimento::date)
    FROM services WHERE data_de_atendimento IS NOT NULL GROUP BY 1, 2, 3;
    ALTER TABLE visits_daily ADD CONSTRAINT visits_daily_pkey PRIMARY KEY (day, polo, angel);
    INSERT INTO visits_monthly (month, polo, angel, visits, on_time, slack_days, worked_days)
    SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(visits), sum(on_time),
           sum(slack_days), count(*)
    FROM visits_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    INSERT INTO visits_polo_daily (day, polo, visits, on_time, slack_days, worked_days)
    SELECT day, polo, sum(visits), sum(on_time), sum(slack_days), count(*)
    FROM visits_daily GROUP BY 1, 2 ORDER BY 1, 2;
END $fn$;
