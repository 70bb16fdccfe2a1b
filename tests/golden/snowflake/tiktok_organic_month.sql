-- kpi explain specs/tiktok --dialect snowflake --grain month --from 2026-08-01 --to 2026-08-31 --kpi engagement_rate_by_followers
-- table organic: datasets followers_daily, organic_daily
WITH agg_followers_daily AS
(SELECT rows_followers_daily.kpi_period AS period, sum(CASE WHEN (rows_followers_daily.date = rows_followers_daily.kpi_tmax) THEN rows_followers_daily.followers END) AS a0, min(rows_followers_daily.date) AS t_first, max(rows_followers_daily.date) AS t_last
FROM (SELECT followers_daily.date AS date, followers_daily.followers AS followers, followers_daily.followers_change AS followers_change, min(followers_daily.date) OVER (PARTITION BY DATE_TRUNC('month', CAST(followers_daily.date AS DATE))) AS kpi_tmin, max(followers_daily.date) OVER (PARTITION BY DATE_TRUNC('month', CAST(followers_daily.date AS DATE))) AS kpi_tmax, DATE_TRUNC('month', CAST(followers_daily.date AS DATE)) AS kpi_period
FROM followers_daily
WHERE followers_daily.date >= %(param_1)s AND followers_daily.date < %(param_2)s) AS rows_followers_daily GROUP BY rows_followers_daily.kpi_period),
agg_organic_daily AS
(SELECT DATE_TRUNC('month', CAST(organic_daily.date AS DATE)) AS period, sum(organic_daily.likes) AS a0, sum(organic_daily.comments) AS a1, sum(organic_daily.shares) AS a2, min(organic_daily.date) AS t_first, max(organic_daily.date) AS t_last
FROM organic_daily
WHERE organic_daily.date >= %(param_3)s AND organic_daily.date < %(param_4)s GROUP BY DATE_TRUNC('month', CAST(organic_daily.date AS DATE)))
 SELECT /* kpiengine spec=tiktok table=organic */ keys.period AS period, (CAST(agg_organic_daily.a0 + agg_organic_daily.a1 + agg_organic_daily.a2 AS DOUBLE) / NULLIF(CAST(agg_followers_daily.a0 AS DOUBLE), 0)) AS "engagement_rate_by_followers", agg_followers_daily.t_first AS kpi_first_0, agg_followers_daily.t_last AS kpi_last_0, agg_organic_daily.t_first AS kpi_first_1, agg_organic_daily.t_last AS kpi_last_1
FROM (SELECT agg_followers_daily.period AS period
FROM agg_followers_daily UNION SELECT agg_organic_daily.period AS period
FROM agg_organic_daily) AS keys LEFT OUTER JOIN agg_followers_daily ON keys.period IS NOT DISTINCT FROM agg_followers_daily.period LEFT OUTER JOIN agg_organic_daily ON keys.period IS NOT DISTINCT FROM agg_organic_daily.period;
-- parameters: {"param_1": "2026-08-01", "param_2": "2026-09-01", "param_3": "2026-08-01", "param_4": "2026-09-01"}
