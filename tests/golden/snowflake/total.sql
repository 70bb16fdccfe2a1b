-- kpi explain tests/golden/spec.yaml --dialect snowflake --grain total
-- table paid: datasets paid_daily
WITH cur AS
(SELECT agg_paid_daily.a0 AS "spend", agg_paid_daily.a1 AS "clicks", (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0)) AS "ctr", round((CAST(agg_paid_daily.a0 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a1 AS DOUBLE), 0)), CAST(CAST(%(param_2)s AS BIGINT) AS INTEGER)) AS "cpc", agg_paid_daily.a3 AS "conversion_spend", agg_paid_daily.a4 AS "campaigns", agg_paid_daily.a5 AS "ads_days", agg_paid_daily.a6 AS "average_reach", coalesce(CASE WHEN (%(param_3)s < (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0))) THEN %(param_3)s END, (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(agg_paid_daily.a2 AS DOUBLE), 0)), %(param_3)s) AS "capped_ctr", CASE WHEN (agg_paid_daily.a7 > CAST(%(param_4)s AS BIGINT)) THEN CAST(%(param_5)s AS BIGINT) ELSE CAST(%(param_6)s AS BIGINT) END AS "has_conversions", coalesce(agg_paid_daily.a7, CAST(%(param_7)s AS BIGINT)) AS "conversions_or_zero", (CAST(agg_paid_daily.a1 AS DOUBLE) / NULLIF(CAST(sum(agg_paid_daily.a1) OVER () AS DOUBLE), 0)) AS "clicks_share", agg_paid_daily.t_first AS kpi_first_0, agg_paid_daily.t_last AS kpi_last_0
FROM (SELECT sum(paid_daily.spend) AS a0, sum(paid_daily.clicks) AS a1, sum(paid_daily.impressions) AS a2, sum(CASE WHEN (paid_daily.objective = %(param_8)s) THEN paid_daily.spend END) AS a3, count(DISTINCT paid_daily.campaign) AS a4, count(*) AS a5, avg(CAST(paid_daily.reach AS DOUBLE)) AS a6, sum(paid_daily.conversions) AS a7, min(paid_daily.date) AS t_first, max(paid_daily.date) AS t_last
FROM paid_daily) AS agg_paid_daily)
 SELECT /* kpiengine spec=golden table=paid */ cur."spend" AS "spend", cur."clicks" AS "clicks", cur."ctr" AS "ctr", cur."cpc" AS "cpc", cur."conversion_spend" AS "conversion_spend", cur."campaigns" AS "campaigns", cur."ads_days" AS "ads_days", cur."average_reach" AS "average_reach", cur."capped_ctr" AS "capped_ctr", cur."has_conversions" AS "has_conversions", cur."conversions_or_zero" AS "conversions_or_zero", cur."clicks_share" AS "clicks_share", NULL AS "clicks_before", (CAST(cur."clicks" - NULL AS DOUBLE) / NULLIF(CAST(abs(NULL) AS DOUBLE), 0)) AS "clicks_change", CASE WHEN ((CAST(cur."ctr" - NULL AS DOUBLE) / NULLIF(CAST(abs(NULL) AS DOUBLE), 0)) < %(param_1)s) THEN 1 ELSE 0 END AS rule_0, cur.kpi_first_0, cur.kpi_last_0
FROM cur;
-- parameters: {"param_1": -0.1, "param_2": 2, "param_3": 0.05, "param_4": 0, "param_5": 1, "param_6": 0, "param_7": 0, "param_8": "conversions"}

-- table audience: datasets followers_daily, paid_daily
WITH agg_followers_daily AS
(SELECT sum(CASE WHEN (rows_followers_daily.date = rows_followers_daily.kpi_tmax) THEN rows_followers_daily.followers END) AS a0, sum(CASE WHEN (rows_followers_daily.date = rows_followers_daily.kpi_tmin) THEN rows_followers_daily.followers END) AS a1, min(rows_followers_daily.date) AS t_first, max(rows_followers_daily.date) AS t_last
FROM (SELECT followers_daily.date AS date, followers_daily.followers AS followers, min(followers_daily.date) OVER () AS kpi_tmin, max(followers_daily.date) OVER () AS kpi_tmax
FROM followers_daily) AS rows_followers_daily),
agg_paid_daily AS
(SELECT sum(paid_daily.clicks) AS a0, min(paid_daily.date) AS t_first, max(paid_daily.date) AS t_last
FROM paid_daily)
 SELECT /* kpiengine spec=golden table=audience */ kpis."followers" AS "followers", kpis."first_followers" AS "first_followers", kpis."clicks_per_follower" AS "clicks_per_follower", CASE WHEN (kpis."followers" < CAST(%(param_1)s AS BIGINT)) THEN 1 ELSE 0 END AS rule_0, kpis.kpi_first_0, kpis.kpi_last_0, kpis.kpi_first_1, kpis.kpi_last_1
FROM (SELECT agg_followers_daily.a0 AS "followers", agg_followers_daily.a1 AS "first_followers", (CAST(agg_paid_daily.a0 AS DOUBLE) / NULLIF(CAST(agg_followers_daily.a0 AS DOUBLE), 0)) AS "clicks_per_follower", agg_followers_daily.t_first AS kpi_first_0, agg_followers_daily.t_last AS kpi_last_0, agg_paid_daily.t_first AS kpi_first_1, agg_paid_daily.t_last AS kpi_last_1
FROM agg_followers_daily JOIN agg_paid_daily ON true) AS kpis;
-- parameters: {"param_1": 1000}
