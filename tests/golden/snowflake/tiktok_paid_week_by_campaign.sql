-- kpi explain specs/tiktok --dialect snowflake --grain week --by campaign --from 2026-08-01 --to 2026-08-31 --kpi spend --kpi ctr --kpi cpm
-- table paid: datasets paid_daily
SELECT /* kpiengine spec=tiktok table=paid */ kpis.period, kpis."campaign", kpis."spend" AS "spend", kpis."ctr" AS "ctr", kpis."cpm" AS "cpm", CASE WHEN (kpis."ctr" < %(param_1)s) THEN 1 ELSE 0 END AS rule_0, kpis.kpi_first_0, kpis.kpi_last_0
FROM (SELECT agg_paid_daily.period AS period, agg_paid_daily.d0 AS "campaign", agg_paid_daily.a0 AS "spend", (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0)) AS "ctr", (CAST(agg_paid_daily.a0 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0)) * CAST(%(param_2)s AS BIGINT) AS "cpm", agg_paid_daily.t_first AS kpi_first_0, agg_paid_daily.t_last AS kpi_last_0
FROM (SELECT DATEADD(day, 1 - DAYOFWEEKISO(CAST(paid_daily.date AS DATE)), CAST(paid_daily.date AS DATE)) AS period, paid_daily.campaign AS d0, sum(paid_daily.spend) AS a0, sum(paid_daily.clicks) AS a1, sum(paid_daily.impressions) AS a2, min(paid_daily.date) AS t_first, max(paid_daily.date) AS t_last
FROM paid_daily
WHERE paid_daily.date >= %(param_3)s AND paid_daily.date < %(param_4)s GROUP BY DATEADD(day, 1 - DAYOFWEEKISO(CAST(paid_daily.date AS DATE)), CAST(paid_daily.date AS DATE)), paid_daily.campaign) AS agg_paid_daily) AS kpis;
-- parameters: {"param_1": 0.005, "param_2": 1000, "param_3": "2026-08-01", "param_4": "2026-09-01"}
