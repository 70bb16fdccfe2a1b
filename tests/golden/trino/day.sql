-- kpi explain tests/golden/spec.yaml --dialect trino --grain day --from 2026-08-01 --to 2026-08-31
-- table paid: datasets paid_daily
WITH cur AS
(SELECT agg_paid_daily.period AS period, agg_paid_daily.a0 AS "spend", agg_paid_daily.a1 AS "clicks", (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0)) AS "ctr", round((CAST(agg_paid_daily.a0 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a1 AS DOUBLE), 0)), CAST(CAST(:param_2 AS BIGINT) AS INTEGER)) AS "cpc", agg_paid_daily.a3 AS "conversion_spend", agg_paid_daily.a4 AS "campaigns", agg_paid_daily.a5 AS "ads_days", agg_paid_daily.a6 AS "average_reach", coalesce(CASE WHEN (:param_3 < (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0))) THEN :param_3 END, (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0)), :param_3) AS "capped_ctr", CASE WHEN (agg_paid_daily.a7 > CAST(:param_4 AS BIGINT)) THEN CAST(:param_5 AS BIGINT) ELSE CAST(:param_6 AS BIGINT) END AS "has_conversions", coalesce(agg_paid_daily.a7, CAST(:param_7 AS BIGINT)) AS "conversions_or_zero", (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(sum(agg_paid_daily.a1) OVER (PARTITION BY agg_paid_daily.period) AS DOUBLE), 0)) AS "clicks_share", agg_paid_daily.t_first AS kpi_first_0, agg_paid_daily.t_last AS kpi_last_0
FROM (SELECT CAST(paid_daily.date AS DATE) AS period, sum(paid_daily.spend) AS a0, sum(paid_daily.clicks) AS a1, sum(paid_daily.impressions) AS a2, sum(CASE WHEN (paid_daily.objective = :param_8) THEN paid_daily.spend END) AS a3, count(DISTINCT paid_daily.campaign) AS a4, count(*) AS a5, avg(CAST(paid_daily.reach AS DOUBLE)) AS a6, sum(paid_daily.conversions) AS a7, min(paid_daily.date) AS t_first, max(paid_daily.date) AS t_last
FROM paid_daily
WHERE paid_daily.date >= :param_9 AND paid_daily.date < :param_10 GROUP BY CAST(paid_daily.date AS DATE)) AS agg_paid_daily),
prev AS
(SELECT prev_agg_paid_daily.period AS period, prev_agg_paid_daily.a0 AS "clicks", (CAST(prev_agg_paid_daily.a0 AS DOUBLE) / NULLIF(CAST(prev_agg_paid_daily.a1 AS DOUBLE), 0)) AS "ctr"
FROM (SELECT CAST(paid_daily.date AS DATE) AS period, sum(paid_daily.clicks) AS a0, sum(paid_daily.impressions) AS a1
FROM paid_daily
WHERE paid_daily.date >= :param_11 AND paid_daily.date < :param_12 GROUP BY CAST(paid_daily.date AS DATE)) AS prev_agg_paid_daily)
 SELECT /* kpiengine spec=golden table=paid */ cur.period, cur."spend" AS "spend", cur."clicks" AS "clicks", cur."ctr" AS "ctr", cur."cpc" AS "cpc", cur."conversion_spend" AS "conversion_spend", cur."campaigns" AS "campaigns", cur."ads_days" AS "ads_days", cur."average_reach" AS "average_reach", cur."capped_ctr" AS "capped_ctr", cur."has_conversions" AS "has_conversions", cur."conversions_or_zero" AS "conversions_or_zero", cur."clicks_share" AS "clicks_share", prev."clicks" AS "clicks_before", (CAST(cur."clicks" - prev."clicks" AS DOUBLE) / NULLIF(CAST(abs(prev."clicks") AS DOUBLE), 0)) AS "clicks_change", CASE WHEN ((CAST(cur."ctr" - prev."ctr" AS DOUBLE) / NULLIF(CAST(abs(prev."ctr") AS DOUBLE), 0)) < :param_1) THEN 1 ELSE 0 END AS rule_0, cur.kpi_first_0, cur.kpi_last_0
FROM cur LEFT OUTER JOIN prev ON prev.period = date_add('day', -1, CAST(cur.period AS DATE));
-- parameters: {"param_1": -0.1, "param_2": 2, "param_3": 0.05, "param_4": 0, "param_5": 1, "param_6": 0, "param_7": 0, "param_8": "conversions", "param_9": "2026-08-01", "param_10": "2026-09-01", "param_11": "2026-07-31", "param_12": "2026-08-31"}

-- table audience: datasets followers_daily, paid_daily
WITH agg_followers_daily AS
(SELECT rows_followers_daily.kpi_period AS period, sum(CASE WHEN (rows_followers_daily.date = rows_followers_daily.kpi_tmax) THEN rows_followers_daily.followers END) AS a0, sum(CASE WHEN (rows_followers_daily.date = rows_followers_daily.kpi_tmin) THEN rows_followers_daily.followers END) AS a1, min(rows_followers_daily.date) AS t_first, max(rows_followers_daily.date) AS t_last
FROM (SELECT followers_daily.date AS date, followers_daily.followers AS followers, min(followers_daily.date) OVER (PARTITION BY CAST(followers_daily.date AS DATE)) AS kpi_tmin, max(followers_daily.date) OVER (PARTITION BY CAST(followers_daily.date AS DATE)) AS kpi_tmax, CAST(followers_daily.date AS DATE) AS kpi_period
FROM followers_daily
WHERE followers_daily.date >= :param_2 AND followers_daily.date < :param_3) AS rows_followers_daily GROUP BY rows_followers_daily.kpi_period),
agg_paid_daily AS
(SELECT CAST(paid_daily.date AS DATE) AS period, sum(paid_daily.clicks) AS a0, min(paid_daily.date) AS t_first, max(paid_daily.date) AS t_last
FROM paid_daily
WHERE paid_daily.date >= :param_4 AND paid_daily.date < :param_5 GROUP BY CAST(paid_daily.date AS DATE))
 SELECT /* kpiengine spec=golden table=audience */ kpis.period, kpis."followers" AS "followers", kpis."first_followers" AS "first_followers", kpis."clicks_per_follower" AS "clicks_per_follower", CASE WHEN (kpis."followers" < CAST(:param_1 AS BIGINT)) THEN 1 ELSE 0 END AS rule_0, kpis.kpi_first_0, kpis.kpi_last_0, kpis.kpi_first_1, kpis.kpi_last_1
FROM (SELECT keys.period AS period, agg_followers_daily.a0 AS "followers", agg_followers_daily.a1 AS "first_followers", (CAST(agg_paid_daily.a0 AS DOUBLE) / NULLIF(CAST(agg_followers_daily.a0 AS DOUBLE), 0)) AS "clicks_per_follower", agg_followers_daily.t_first AS kpi_first_0, agg_followers_daily.t_last AS kpi_last_0, agg_paid_daily.t_first AS kpi_first_1, agg_paid_daily.t_last AS kpi_last_1
FROM (SELECT agg_followers_daily.period AS period
FROM agg_followers_daily UNION SELECT agg_paid_daily.period AS period
FROM agg_paid_daily) AS keys LEFT OUTER JOIN agg_followers_daily ON keys.period IS NOT DISTINCT FROM agg_followers_daily.period LEFT OUTER JOIN agg_paid_daily ON keys.period IS NOT DISTINCT FROM agg_paid_daily.period) AS kpis;
-- parameters: {"param_1": 1000, "param_2": "2026-08-01", "param_3": "2026-09-01", "param_4": "2026-08-01", "param_5": "2026-09-01"}
