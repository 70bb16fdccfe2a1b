-- kpi explain specs/tiktok --dialect hive --grain week --by campaign --from 2026-08-01 --to 2026-08-31 --kpi spend --kpi ctr --kpi cpm
-- table paid: datasets paid_daily
SELECT /* kpiengine spec=tiktok table=paid */ `kpis`.`period`, `kpis`.`campaign`, `kpis`.`spend` AS `spend`, `kpis`.`ctr` AS `ctr`, `kpis`.`cpm` AS `cpm`, CASE WHEN (`kpis`.`ctr` < :param_1) THEN 1 ELSE 0 END AS `rule_0`, `kpis`.`kpi_first_0`, `kpis`.`kpi_last_0`
FROM (SELECT `agg_paid_daily`.`period` AS `period`, `agg_paid_daily`.`d0` AS `campaign`, `agg_paid_daily`.`a0` AS `spend`, (CAST(`agg_paid_daily`.`a1` AS DOUBLE) / NULLIF(CAST(`agg_paid_daily`.`a2` AS DOUBLE), 0)) AS `ctr`, (CAST(`agg_paid_daily`.`a0` AS DOUBLE) / NULLIF(CAST(`agg_paid_daily`.`a2` AS DOUBLE), 0)) * CAST(:param_2 AS BIGINT) AS `cpm`, `agg_paid_daily`.`t_first` AS `kpi_first_0`, `agg_paid_daily`.`t_last` AS `kpi_last_0`
FROM (SELECT CAST(date_trunc('week', CAST(`paid_daily`.`date` AS TIMESTAMP)) AS DATE) AS `period`, `paid_daily`.`campaign` AS `d0`, sum(`paid_daily`.`spend`) AS `a0`, sum(`paid_daily`.`clicks`) AS `a1`, sum(`paid_daily`.`impressions`) AS `a2`, min(`paid_daily`.`date`) AS `t_first`, max(`paid_daily`.`date`) AS `t_last`
FROM `paid_daily`
WHERE `paid_daily`.`date` >= :param_3 AND `paid_daily`.`date` < :param_4 GROUP BY CAST(date_trunc('week', CAST(`paid_daily`.`date` AS TIMESTAMP)) AS DATE), `paid_daily`.`campaign`) AS `agg_paid_daily`) AS `kpis`;
-- parameters: {"param_1": 0.005, "param_2": 1000, "param_3": "2026-08-01", "param_4": "2026-09-01"}
