"""The TikTok catalogues computed by hand: one DuckDB SQL query per output table, and
the same computation in pandas and in polars.

Each :class:`Reference` gives one of the tables ``kpiengine.evaluate`` returns for a
catalogue at grain ``week``: the same rows (periods start on Monday, as DuckDB's
``date_trunc('week', …)``) and the same KPI values, written directly from the KPI
definitions in ``specs/tiktok/*.yaml``:

- sums of raw columns, ratios of sums, a zero denominator gives null;
- ``sum`` over no non-null values is null (SQL's rule; pandas and polars say 0, so they
  are told otherwise);
- ``last(x)``: x on the latest day of the period;
- ``sum(x where c)``: the sum over the rows where c holds;
- a table over several datasets has a row for every period any of them has;
- the follower-share snapshots have no time column: their values sit in a row without
  a period.

The pandas and polars versions read the Parquet copies of the tables (only the columns
they need) and compute from there, as a pandas or polars user would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Paths = Mapping[str, Path]  # dataset → Parquet file


@dataclass(frozen=True)
class Reference:
    table: str  # the name of the table in kpiengine's result
    source: str  # the spec source whose DuckDB file ``sql`` runs on
    keys: tuple[str, ...]  # ("period", dimensions …)
    sql: str
    pandas: Callable[[Paths], Any]  # → pandas.DataFrame with keys and KPI columns
    polars: Callable[[Paths], Any]  # → polars.DataFrame with keys and KPI columns
    #: The dataset that dominates pandas' memory, and about how many 8-byte columns of
    #: it pandas holds at its peak (for leaving pandas out where it would not fit).
    big: str = ""
    pandas_columns: int = 0


@dataclass(frozen=True)
class Catalogue:
    name: str  # the spec file (paid.yaml → "paid") whose KPIs it is
    by: tuple[str, ...]
    references: tuple[Reference, ...]


# -- paid: paid_daily by week and campaign ----------------------------------------------

PAID_SQL = """
WITH sums AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           campaign,
           sum(spend) AS spend,
           sum(impressions) AS impressions,
           sum(reach) AS reach,
           sum(clicks) AS clicks,
           sum(conversions) AS conversions,
           sum(conversion_value) AS conversion_value,
           sum(video_views) AS video_views,
           sum(views_6s) AS views_6s,
           sum(views_p100) AS views_p100,
           sum(likes) + sum(comments) + sum(shares) AS engagements,
           sum(follows) AS follows
    FROM paid_daily
    GROUP BY 1, 2
)
SELECT period,
       campaign,
       spend,
       impressions,
       reach AS paid_reach,
       impressions / NULLIF(reach, 0) AS frequency,
       clicks,
       clicks / NULLIF(impressions, 0) AS ctr,
       spend / NULLIF(clicks, 0) AS cpc,
       spend / NULLIF(impressions, 0) * 1000 AS cpm,
       conversions,
       conversions / NULLIF(clicks, 0) AS conversion_rate,
       spend / NULLIF(conversions, 0) AS cpa,
       conversion_value,
       conversion_value / NULLIF(spend, 0) AS roas,
       video_views AS paid_views,
       views_6s / NULLIF(video_views, 0) AS view_rate_6s,
       views_p100 / NULLIF(video_views, 0) AS completion_rate,
       engagements AS paid_engagements,
       engagements / NULLIF(impressions, 0) AS paid_engagement_rate,
       follows AS paid_follows,
       spend / NULLIF(follows, 0) AS cost_per_follow
FROM sums
"""

PAID_SUMS = (
    "spend", "impressions", "reach", "clicks", "conversions", "conversion_value",
    "video_views", "views_6s", "views_p100", "likes", "comments", "shares", "follows",
)  # fmt: skip


def _pandas_week(dates: Any) -> Any:
    """Monday of each date's week (dates as datetime64)."""
    import pandas as pd

    return dates - pd.to_timedelta(dates.dt.dayofweek, unit="D")


def _read_pandas(path: Path, columns: list[str]) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns).to_pandas(date_as_object=False)


def _div(a: Any, b: Any) -> Any:
    """a / b, null where b is 0 (pandas)."""
    return a / b.where(b != 0)


def paid_pandas(paths: Paths) -> Any:
    df = _read_pandas(paths["paid_daily"], ["date", "campaign", *PAID_SUMS])
    df["period"] = _pandas_week(df["date"])
    s = df.groupby(["period", "campaign"], sort=False)[list(PAID_SUMS)].sum(min_count=1)
    engagements = s["likes"] + s["comments"] + s["shares"]
    out = s[["spend", "impressions", "clicks", "conversions", "conversion_value"]].copy()
    out["paid_reach"] = s["reach"]
    out["frequency"] = _div(s["impressions"], s["reach"])
    out["ctr"] = _div(s["clicks"], s["impressions"])
    out["cpc"] = _div(s["spend"], s["clicks"])
    out["cpm"] = _div(s["spend"], s["impressions"]) * 1000
    out["conversion_rate"] = _div(s["conversions"], s["clicks"])
    out["cpa"] = _div(s["spend"], s["conversions"])
    out["roas"] = _div(s["conversion_value"], s["spend"])
    out["paid_views"] = s["video_views"]
    out["view_rate_6s"] = _div(s["views_6s"], s["video_views"])
    out["completion_rate"] = _div(s["views_p100"], s["video_views"])
    out["paid_engagements"] = engagements
    out["paid_engagement_rate"] = _div(engagements, s["impressions"])
    out["paid_follows"] = s["follows"]
    out["cost_per_follow"] = _div(s["spend"], s["follows"])
    return out.reset_index()


def _pl_sum(name: str) -> Any:
    """sum(x), null when x has no non-null value (SQL's sum)."""
    import polars as pl

    col = pl.col(name)
    return pl.when(col.count() > 0).then(col.sum()).alias(name)


def _pl_div(a: Any, b: Any) -> Any:
    import polars as pl

    return pl.when(b != 0).then(a / b)


def paid_polars(paths: Paths) -> Any:
    import polars as pl

    c = pl.col
    return (
        pl.scan_parquet(paths["paid_daily"])
        .select("date", "campaign", *PAID_SUMS)
        .group_by(c("date").dt.truncate("1w").alias("period"), "campaign")
        .agg(*(_pl_sum(n) for n in PAID_SUMS))
        .with_columns(engagements=c("likes") + c("comments") + c("shares"))
        .select(
            "period",
            "campaign",
            "spend",
            "impressions",
            "clicks",
            "conversions",
            "conversion_value",
            paid_reach=c("reach"),
            frequency=_pl_div(c("impressions"), c("reach")),
            ctr=_pl_div(c("clicks"), c("impressions")),
            cpc=_pl_div(c("spend"), c("clicks")),
            cpm=_pl_div(c("spend"), c("impressions")) * 1000,
            conversion_rate=_pl_div(c("conversions"), c("clicks")),
            cpa=_pl_div(c("spend"), c("conversions")),
            roas=_pl_div(c("conversion_value"), c("spend")),
            paid_views=c("video_views"),
            view_rate_6s=_pl_div(c("views_6s"), c("video_views")),
            completion_rate=_pl_div(c("views_p100"), c("video_views")),
            paid_engagements=c("engagements"),
            paid_engagement_rate=_pl_div(c("engagements"), c("impressions")),
            paid_follows=c("follows"),
            cost_per_follow=_pl_div(c("spend"), c("follows")),
        )
        .collect()
    )


# -- organic: organic_daily, followers_daily, viewers_daily, videos by week --------------

ORGANIC_SQL = """
WITH o AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           sum(views) AS views, sum(likes) AS likes, sum(comments) AS comments,
           sum(shares) AS shares, sum(profile_views) AS profile_views
    FROM organic_daily GROUP BY 1
), f AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           arg_max(followers, date) AS followers,
           sum(followers_change) AS growth
    FROM followers_daily GROUP BY 1
), v AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           sum(viewers_total) AS viewers, sum(viewers_new) AS new_viewers
    FROM viewers_daily GROUP BY 1
), p AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           count(video_id) AS videos, sum(views) AS video_views
    FROM videos GROUP BY 1
)
SELECT period,
       o.views AS organic_views,
       o.likes AS organic_likes,
       o.comments AS organic_comments,
       o.shares AS organic_shares,
       o.likes + o.comments + o.shares AS organic_engagements,
       (o.likes + o.comments + o.shares) / NULLIF(o.views, 0) AS organic_engagement_rate,
       (o.likes + o.comments + o.shares) / NULLIF(f.followers, 0) AS engagement_rate_by_followers,
       o.profile_views AS profile_views,
       f.followers AS followers,
       f.growth AS follower_growth,
       f.growth / NULLIF(f.followers - f.growth, 0) AS follower_growth_rate,
       v.viewers AS organic_reach,
       v.new_viewers / NULLIF(v.viewers, 0) AS new_viewer_share,
       p.videos AS videos_posted,
       p.video_views / NULLIF(p.videos, 0) AS avg_views_per_video
FROM o FULL JOIN f USING (period) FULL JOIN v USING (period) FULL JOIN p USING (period)
"""


def organic_pandas(paths: Paths) -> Any:
    import pandas as pd

    o = _read_pandas(
        paths["organic_daily"], ["date", "views", "likes", "comments", "shares", "profile_views"]
    )
    o["period"] = _pandas_week(o["date"])
    o = o.drop(columns="date").groupby("period").sum(min_count=1)
    f = _read_pandas(paths["followers_daily"], ["date", "followers", "followers_change"])
    f["period"] = _pandas_week(f["date"])
    latest = f["date"] == f.groupby("period")["date"].transform("max")
    f["last"] = f["followers"].where(latest)
    f = f.groupby("period")[["last", "followers_change"]].sum(min_count=1)
    v = _read_pandas(paths["viewers_daily"], ["date", "viewers_total", "viewers_new"])
    v["period"] = _pandas_week(v["date"])
    v = v.drop(columns="date").groupby("period").sum(min_count=1)
    p = _read_pandas(paths["videos"], ["date", "video_id", "views"])
    p["period"] = _pandas_week(p["date"])
    p = p.groupby("period").agg(videos=("video_id", "count"), video_views=("views", "sum"))
    t = pd.concat([o, f, v, p], axis=1, join="outer")
    engagements = t["likes"] + t["comments"] + t["shares"]
    out = pd.DataFrame(index=t.index)
    out["organic_views"] = t["views"]
    out["organic_likes"] = t["likes"]
    out["organic_comments"] = t["comments"]
    out["organic_shares"] = t["shares"]
    out["organic_engagements"] = engagements
    out["organic_engagement_rate"] = _div(engagements, t["views"])
    out["engagement_rate_by_followers"] = _div(engagements, t["last"])
    out["profile_views"] = t["profile_views"]
    out["followers"] = t["last"]
    out["follower_growth"] = t["followers_change"]
    out["follower_growth_rate"] = _div(t["followers_change"], t["last"] - t["followers_change"])
    out["organic_reach"] = t["viewers_total"]
    out["new_viewer_share"] = _div(t["viewers_new"], t["viewers_total"])
    out["videos_posted"] = t["videos"]
    out["avg_views_per_video"] = _div(t["video_views"], t["videos"])
    return out.rename_axis("period").reset_index()


def _pl_week(name: str = "date") -> Any:
    import polars as pl

    return pl.col(name).dt.truncate("1w").alias("period")


def organic_polars(paths: Paths) -> Any:
    import polars as pl

    c = pl.col
    o = (
        pl.scan_parquet(paths["organic_daily"])
        .group_by(_pl_week())
        .agg(*(_pl_sum(n) for n in ("views", "likes", "comments", "shares", "profile_views")))
    )
    f = (
        pl.scan_parquet(paths["followers_daily"])
        .group_by(_pl_week())
        .agg(
            last=c("followers").filter(c("date") == c("date").max()).sum(),
            growth=_pl_sum("followers_change"),
        )
    )
    v = (
        pl.scan_parquet(paths["viewers_daily"])
        .group_by(_pl_week())
        .agg(_pl_sum("viewers_total"), _pl_sum("viewers_new"))
    )
    p = (
        pl.scan_parquet(paths["videos"])
        .group_by(_pl_week())
        .agg(videos=c("video_id").count(), video_views=_pl_sum("views"))
    )
    t = o
    for other in (f, v, p):
        t = t.join(other, on="period", how="full", coalesce=True)
    engagements = c("likes") + c("comments") + c("shares")
    return t.select(
        "period",
        organic_views=c("views"),
        organic_likes=c("likes"),
        organic_comments=c("comments"),
        organic_shares=c("shares"),
        organic_engagements=engagements,
        organic_engagement_rate=_pl_div(engagements, c("views")),
        engagement_rate_by_followers=_pl_div(engagements, c("last")),
        profile_views=c("profile_views"),
        followers=c("last"),
        follower_growth=c("growth"),
        follower_growth_rate=_pl_div(c("growth"), c("last") - c("growth")),
        organic_reach=c("viewers_total"),
        new_viewer_share=_pl_div(c("viewers_new"), c("viewers_total")),
        videos_posted=c("videos"),
        avg_views_per_video=_pl_div(c("video_views"), c("videos")),
    ).collect()


# -- audience: follower shares, activity and viewers by week (organic source) ----------

AUDIENCE_SQL = """
WITH a AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           avg(active_followers) AS active,
           max(active_followers) AS peak,
           max(active_followers * 100 + hour) AS best
    FROM follower_activity GROUP BY 1
), v AS (
    SELECT CAST(date_trunc('week', date) AS DATE) AS period,
           sum(viewers_new) AS new, sum(viewers_returning) AS returning,
           sum(viewers_total) AS total
    FROM viewers_daily GROUP BY 1
), weekly AS (
    SELECT period,
           NULL::DOUBLE AS follower_share_by_gender,
           NULL::DOUBLE AS follower_share_by_territory,
           NULL::DOUBLE AS follower_share_by_age,
           a.active AS active_followers,
           a.peak AS peak_active_followers,
           a.best - round(a.best / 100) * 100 AS best_hour_to_post,
           v.new AS new_viewers,
           v.returning AS returning_viewers,
           v.returning / NULLIF(v.total, 0) AS returning_viewer_share
    FROM a FULL JOIN v USING (period)
)
SELECT * FROM weekly
UNION ALL
SELECT NULL,
       (SELECT sum(share) FROM audience_gender),
       (SELECT sum(share) FROM audience_territory),
       (SELECT sum(share) FROM audience_age),
       NULL, NULL, NULL, NULL, NULL, NULL
"""


def audience_pandas(paths: Paths) -> Any:
    import numpy as np
    import pandas as pd

    a = _read_pandas(paths["follower_activity"], ["date", "hour", "active_followers"])
    a["period"] = _pandas_week(a["date"])
    a["score"] = a["active_followers"] * 100 + a["hour"]
    a = a.groupby("period").agg(
        active_followers=("active_followers", "mean"),
        peak_active_followers=("active_followers", "max"),
        best=("score", "max"),
    )
    v = _read_pandas(
        paths["viewers_daily"], ["date", "viewers_new", "viewers_returning", "viewers_total"]
    )
    v["period"] = _pandas_week(v["date"])
    v = v.drop(columns="date").groupby("period").sum(min_count=1)
    t = pd.concat([a, v], axis=1, join="outer")
    weekly = pd.DataFrame(index=t.index)
    for share in ("gender", "territory", "age"):
        weekly[f"follower_share_by_{share}"] = np.nan
    weekly["active_followers"] = t["active_followers"]
    weekly["peak_active_followers"] = t["peak_active_followers"]
    weekly["best_hour_to_post"] = t["best"] - (t["best"] / 100).round() * 100
    weekly["new_viewers"] = t["viewers_new"]
    weekly["returning_viewers"] = t["viewers_returning"]
    weekly["returning_viewer_share"] = _div(t["viewers_returning"], t["viewers_total"])
    weekly = weekly.rename_axis("period").reset_index()
    snapshot = {"period": None}
    for share in ("gender", "territory", "age"):
        shares = _read_pandas(paths[f"audience_{share}"], ["share"])["share"]
        snapshot[f"follower_share_by_{share}"] = shares.sum(min_count=1)
    return pd.concat([weekly, pd.DataFrame([snapshot])], ignore_index=True)


def audience_polars(paths: Paths) -> Any:
    import polars as pl

    c = pl.col
    a = (
        pl.scan_parquet(paths["follower_activity"])
        .group_by(_pl_week())
        .agg(
            active_followers=c("active_followers").mean(),
            peak_active_followers=c("active_followers").max(),
            best=(c("active_followers") * 100 + c("hour")).max(),
        )
    )
    v = (
        pl.scan_parquet(paths["viewers_daily"])
        .group_by(_pl_week())
        .agg(*(_pl_sum(n) for n in ("viewers_new", "viewers_returning", "viewers_total")))
    )
    weekly = (
        a.join(v, on="period", how="full", coalesce=True)
        .select(
            "period",
            *(
                pl.lit(None, dtype=pl.Float64).alias(f"follower_share_by_{s}")
                for s in ("gender", "territory", "age")
            ),
            "active_followers",
            "peak_active_followers",
            best_hour_to_post=c("best") - (c("best") / 100).round() * 100,
            new_viewers=c("viewers_new"),
            returning_viewers=c("viewers_returning"),
            returning_viewer_share=_pl_div(c("viewers_returning"), c("viewers_total")),
        )
        .collect()
    )
    shares = {
        f"follower_share_by_{s}": pl.read_parquet(paths[f"audience_{s}"], columns=["share"])[
            "share"
        ].sum()
        for s in ("gender", "territory", "age")
    }
    snapshot = pl.DataFrame({"period": [None], **{k: [v] for k, v in shares.items()}})
    return pl.concat([weekly, snapshot], how="diagonal_relaxed")


# -- audience: paid results by segment, by week and campaign (paid source) -------------

SEGMENT_DIMS = {
    "age": "age",
    "gender": "gender",
    "country": "country",
    "interest": "interest_category",
}

# sum(x) FILTER (WHERE …) says the same, but DuckDB 2.0 runs it slower than a CASE.
PAID_AUDIENCE_SQL = (
    "SELECT CAST(date_trunc('week', date) AS DATE) AS period,\n       campaign,\n"
    + ",\n".join(
        f"       sum(CASE WHEN {d} IS NOT NULL THEN clicks END)"
        f" / NULLIF(sum(CASE WHEN {d} IS NOT NULL THEN impressions END), 0) AS ctr_by_{k},\n"
        f"       sum(CASE WHEN {d} IS NOT NULL THEN conversions END)"
        f" / NULLIF(sum(CASE WHEN {d} IS NOT NULL THEN clicks END), 0)"
        f" AS conversion_rate_by_{k},\n"
        f"       sum(CASE WHEN {d} IS NOT NULL THEN spend END)"
        f" / NULLIF(sum(CASE WHEN {d} IS NOT NULL THEN conversions END), 0) AS cpa_by_{k}"
        for k, d in SEGMENT_DIMS.items()
    )
    + "\nFROM paid_audience\nGROUP BY 1, 2\n"
)

_SEGMENT_MEASURES = ("clicks", "impressions", "conversions", "spend")


def paid_audience_pandas(paths: Paths) -> Any:
    dims = list(SEGMENT_DIMS.values())
    df = _read_pandas(paths["paid_audience"], ["date", "campaign", *dims, *_SEGMENT_MEASURES])
    df["period"] = _pandas_week(df["date"])
    sums = []
    for k, d in SEGMENT_DIMS.items():
        has = df[d].notna()
        for m in _SEGMENT_MEASURES:
            df[f"{m}_{k}"] = df[m].where(has)
            sums.append(f"{m}_{k}")
    s = df.groupby(["period", "campaign"], sort=False)[sums].sum(min_count=1)
    out = s[[]].copy()
    for k in SEGMENT_DIMS:
        out[f"ctr_by_{k}"] = _div(s[f"clicks_{k}"], s[f"impressions_{k}"])
        out[f"conversion_rate_by_{k}"] = _div(s[f"conversions_{k}"], s[f"clicks_{k}"])
        out[f"cpa_by_{k}"] = _div(s[f"spend_{k}"], s[f"conversions_{k}"])
    return out.reset_index()


def paid_audience_polars(paths: Paths) -> Any:
    import polars as pl

    c = pl.col

    def fsum(m: str, d: str) -> Any:
        kept = c(m).filter(c(d).is_not_null())
        return pl.when(kept.count() > 0).then(kept.sum()).alias(f"{m}_{d}")

    dims = list(SEGMENT_DIMS.values())
    kpis = []
    for k, d in SEGMENT_DIMS.items():
        kpis += [
            _pl_div(c(f"clicks_{d}"), c(f"impressions_{d}")).alias(f"ctr_by_{k}"),
            _pl_div(c(f"conversions_{d}"), c(f"clicks_{d}")).alias(f"conversion_rate_by_{k}"),
            _pl_div(c(f"spend_{d}"), c(f"conversions_{d}")).alias(f"cpa_by_{k}"),
        ]
    return (
        pl.scan_parquet(paths["paid_audience"])
        .select("date", "campaign", *dims, *_SEGMENT_MEASURES)
        .group_by(_pl_week(), "campaign")
        .agg(*(fsum(m, d) for d in dims for m in _SEGMENT_MEASURES))
        .select("period", "campaign", *kpis)
        .collect()
    )


# -- the catalogues ---------------------------------------------------------------------

CATALOGUES = (
    Catalogue(
        "paid",
        ("campaign",),
        (
            Reference(
                "paid",
                "paid",
                ("period", "campaign"),
                PAID_SQL,
                paid_pandas,
                paid_polars,
                big="paid_daily",
                pandas_columns=24,
            ),
        ),
    ),
    Catalogue(
        "organic",
        ("campaign",),
        (
            Reference(
                "organic",
                "organic",
                ("period",),
                ORGANIC_SQL,
                organic_pandas,
                organic_polars,
                big="organic_daily",
                pandas_columns=8,
            ),
        ),
    ),
    Catalogue(
        "audience",
        ("campaign",),
        (
            Reference(
                "audience",
                "organic",
                ("period",),
                AUDIENCE_SQL,
                audience_pandas,
                audience_polars,
                big="follower_activity",
                pandas_columns=6,
            ),
            Reference(
                "paid_audience",
                "paid",
                ("period", "campaign"),
                PAID_AUDIENCE_SQL,
                paid_audience_pandas,
                paid_audience_polars,
                big="paid_audience",
                pandas_columns=32,
            ),
        ),
    ),
)
