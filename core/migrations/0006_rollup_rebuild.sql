-- Rebuild the indicator rollups from the services table in one set-based pass.
-- (History: the current definition of this function is core/sql/rollups.sql.)
-- A first bulk load (core/loading.py) switches the per-statement rollup triggers off and calls
-- this instead: grouping a million rows once costs a fraction of merging them delta by delta.
-- The aggregations are those of the triggers in 0003_indicators.sql (tests/core/test_rollup.py
-- checks both paths against the raw table). Rows go in key order: appending to the primary-key
-- indexes is several times cheaper than inserting into them at random places.
CREATE FUNCTION rebuild_services_rollups() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE sla_daily, sla_monthly, sla_polo_daily, visits_daily, visits_monthly, visits_polo_daily;
    INSERT INTO sla_daily
    SELECT data_limite, polo, angel, count(*),
           count(*) FILTER (WHERE data_de_atendimento::date <= data_limite),
           count(*) FILTER (WHERE data_de_atendimento::date > data_limite),
           count(*) FILTER (WHERE data_de_atendimento IS NULL),
           coalesce(sum(data_limite - data_de_atendimento::date), 0)
    FROM services GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
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
    FROM services WHERE data_de_atendimento IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    INSERT INTO visits_monthly (month, polo, angel, visits, on_time, slack_days, worked_days)
    SELECT date_trunc('month', day::timestamp)::date, polo, angel, sum(visits), sum(on_time),
           sum(slack_days), count(*)
    FROM visits_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    INSERT INTO visits_polo_daily (day, polo, visits, on_time, slack_days, worked_days)
    SELECT day, polo, sum(visits), sum(on_time), sum(slack_days), count(*)
    FROM visits_daily GROUP BY 1, 2 ORDER BY 1, 2;
END $fn$;

-- Services already present before the rollups existed (0003): build them once.
SELECT rebuild_services_rollups();
