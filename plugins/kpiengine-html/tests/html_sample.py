"""Hand-built results with every table shape the report knows, and hostile text.

``rich_result()`` has: an organic table by week with period-over-period changes;
paid by campaign (campaign names with markup, quotes and unicode); audience
distributions by gender, territory and age; follower activity by weekday and
hour, and by hour and week; organic-vs-paid tables in both shapes (one table per
pair, with an overall row, and one table broken down by ``metric``); a paid-costs
table; and a category of the user's own with durations.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kpiengine.result import Finding, KpiInfo, Result, Table

HOSTILE = '<script>alert("x")</script>'
QUOTES = 'O\'Brien "quoted" & co'
UNICODE = "Créateur's cut 🎉 — 北京"

WEEKS = [(dt.date(2026, 7, 6) + dt.timedelta(weeks=n)).isoformat() for n in range(8)]

VIEWS = KpiInfo("organic_views", "Video views", "organic", "number", "higher")
ER = KpiInfo("organic_engagement_rate", "Engagement rate", "organic", "percent", "higher")
WATCH = KpiInfo("avg_watch_time", "Average watch time", "organic", "duration", "higher")
FOLLOWERS = KpiInfo("followers", "Followers", "organic", "number", "higher")

SPEND = KpiInfo("spend", "Spend", "paid", "currency", "none", currency="EUR")
CTR = KpiInfo("ctr", "Click-through rate", "paid", "percent", "higher")
CPA = KpiInfo("cpa", "Cost per acquisition", "paid", "currency", "lower", currency="EUR")

SHARE = KpiInfo("follower_share", "Follower share", "audience", "percent", "none")
ACTIVE = KpiInfo("active_followers", "Active followers", "audience", "number", "higher")

SESSION = KpiInfo("session_length", "Session length", "retention", "duration", "higher")
CHURN = KpiInfo("churn_rate", "Churn rate", "retention", "percent", "lower")


def _pair_kpis(base: KpiInfo, additive: bool, includes_paid: bool) -> list[KpiInfo]:
    kpis = [
        KpiInfo("organic", f"Organic ({base.label})", "comparison", base.format, base.direction,
                currency=base.currency),
        KpiInfo("paid", f"Paid ({base.label})", "comparison", base.format, base.direction,
                currency=base.currency),
        KpiInfo("difference", "Organic - paid", "comparison", base.format, "none",
                currency=base.currency),
        KpiInfo("paid_per_organic", "Paid per organic", "comparison", "number", "none", decimals=2),
    ]  # fmt: skip
    if additive:
        kpis.append(
            KpiInfo("paid_share", "Paid share of the total", "comparison", "percent", "none")
        )
    if includes_paid:
        kpis.append(
            KpiInfo("organic_only", "Organic only (estimate)", "comparison", base.format, "higher")
        )
    return kpis


def _pair_rows(
    organic: list[float], paid: list[float], additive: bool, includes_paid: bool
) -> list[dict[str, Any]]:
    rows = []
    for period, o, p in [*zip(WEEKS, organic, paid, strict=True), (None, sum(organic), sum(paid))]:
        if not additive and period is None:
            o, p = sum(organic) / len(organic), sum(paid) / len(paid)
        row: dict[str, Any] = {
            "period": period, "organic": o, "paid": p, "difference": o - p,
            "paid_per_organic": p / o,
        }  # fmt: skip
        if additive:
            row["paid_share"] = p / o if includes_paid else p / (o + p)
        if includes_paid:
            row["organic_only"] = o - p
        rows.append(row)
    return rows


def rich_result(compare: str | None = "previous") -> Result:
    organic_rows = [
        {"period": week, "organic_views": 10_000 + 1_500 * n, "organic_engagement_rate":
         0.05 + 0.002 * n, "avg_watch_time": 8.5 + n, "followers": 12_000 + 40 * n}
        for n, week in enumerate(WEEKS)
    ]  # fmt: skip
    organic_rows[-1]["organic_engagement_rate"] = 0.04  # fell in the latest week
    campaigns = ["Summer Sale", HOSTILE, QUOTES, UNICODE]
    paid_rows = [
        {"period": week, "campaign": campaign, "spend": 100.0 * (i + 1) + 7 * n,
         "ctr": 0.004 + 0.001 * i + 0.0001 * n, "cpa": 20.0 + 3 * i - 0.5 * n}
        for n, week in enumerate(WEEKS)
        for i, campaign in enumerate(campaigns)
    ]  # fmt: skip
    gender = Table(
        "follower share by gender", "audience", ["gender"], [SHARE],
        [{"period": None, "gender": g, "follower_share": s}
         for g, s in [("female", 0.58), ("male", 0.39), ("other", 0.03)]],
    )  # fmt: skip
    territories = ["US", "GB", "DE", "FR", "BR", "IN", "JP", "MX", "CA", "AU", "ES", "IT",
                   "NL", "SE", "PL", "TR", HOSTILE]  # fmt: skip
    territory = Table(
        "follower share by territory", "audience", ["territory"], [SHARE],
        [{"period": None, "territory": t, "follower_share": 0.3 / (i + 1)}
         for i, t in enumerate(territories)],
    )  # fmt: skip
    age = Table(
        "follower share by age", "audience", ["age"], [SHARE],
        [{"period": None, "age": a, "follower_share": s}
         for a, s in [("55+", 0.04), ("18-24", 0.41), ("35-44", 0.12), ("25-34", 0.33),
                      ("45-54", 0.06), ("13-17", 0.04)]],
    )  # fmt: skip
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    activity = Table(
        "follower activity", "audience", ["weekday", "hour"], [ACTIVE],
        [{"period": None, "weekday": day, "hour": hour,
          "active_followers": 1_500 - (hour - 20) ** 2 * 3 + 25 * d}
         for d, day in enumerate(days) for hour in range(24)],
    )  # fmt: skip
    hourly = Table(
        "activity by hour", "audience", ["hour"], [ACTIVE],
        [{"period": week, "hour": hour, "active_followers": 500 + 30 * hour + 10 * n}
         for n, week in enumerate(WEEKS) for hour in range(24)],
    )  # fmt: skip
    views = Table(
        "Organic vs paid: Views", "comparison", [],
        _pair_kpis(VIEWS, additive=True, includes_paid=True),
        _pair_rows([10_000.0 + 1_500 * n for n in range(8)], [3_000.0 + 200 * n for n in range(8)],
                   additive=True, includes_paid=True),
    )  # fmt: skip
    rate = Table(
        "Organic vs paid: Engagement rate", "comparison", [],
        _pair_kpis(ER, additive=False, includes_paid=False),
        _pair_rows([0.05 + 0.002 * n for n in range(8)], [0.006 + 0.0002 * n for n in range(8)],
                   additive=False, includes_paid=False),
    )  # fmt: skip
    by_metric = Table(
        "organic vs paid by metric", "comparison", ["metric"],
        [KpiInfo("organic", "Organic", "comparison", "number", "none"),
         KpiInfo("paid", "Paid", "comparison", "number", "none"),
         KpiInfo("difference", "Difference", "comparison", "number", "none"),
         KpiInfo("ratio", "Ratio", "comparison", "number", "none", decimals=2),
         KpiInfo("paid_share", "Paid share", "comparison", "percent", "none")],
        [{"period": None, "metric": "likes", "organic": 4_800, "paid": 1_200,
          "difference": 3_600, "ratio": 0.25, "paid_share": 0.2},
         {"period": None, "metric": "organic_engagement_rate", "organic": 0.051, "paid": 0.0061,
          "difference": 0.0449, "ratio": 0.12, "paid_share": None}],
    )  # fmt: skip
    costs = Table(
        "Organic vs paid: paid costs", "comparison", [],
        [KpiInfo("cost_per_view", "Cost per view", "comparison", "currency", "lower",
                 currency="EUR", decimals=4)],
        [{"period": week, "cost_per_view": 0.012 + 0.0005 * n} for n, week in enumerate(WEEKS)]
        + [{"period": None, "cost_per_view": 0.0135}],
    )  # fmt: skip
    retention = Table(
        "retention", "retention", [], [SESSION, CHURN],
        [{"period": week, "session_length": 95.0 + 20 * n, "churn_rate": 0.02 - 0.001 * n}
         for n, week in enumerate(WEEKS)],
    )  # fmt: skip

    latest, before = WEEKS[-1], WEEKS[-2]
    comparisons: list[dict[str, Any]] = []
    if compare:
        earlier_rows = {row["period"]: row for row in organic_rows}
        for info in (VIEWS, ER, WATCH, FOLLOWERS):
            value = earlier_rows[latest][info.name]
            earlier = earlier_rows[before][info.name]
            comparisons.append(
                {"table": "organic", "kpi": info.name, "period": latest, "earlier_period": before,
                 "value": value, "earlier": earlier, "change": value - earlier,
                 "relative_change": (value - earlier) / earlier}
            )  # fmt: skip
    return Result(
        spec=f"tiktok {HOSTILE}",
        grain="week",
        date_from=WEEKS[0],
        date_to="2026-08-30",
        tables=[
            Table("retention", "retention", retention.dimensions, retention.kpis, retention.rows),
            Table("paid", "paid", ["campaign"], [SPEND, CTR, CPA], paid_rows),
            Table("organic", "organic", [], [VIEWS, ER, WATCH, FOLLOWERS], organic_rows),
            gender,
            territory,
            age,
            activity,
            hourly,
            views,
            rate,
            by_metric,
            costs,
        ],
        findings=[
            Finding(
                "cpa_above_target",
                "cpa",
                "warn",
                f"CPA above target for {HOSTILE}",
                latest,
                {"campaign": HOSTILE},
                41.5,
            ),
            Finding(
                "engagement_fell",
                "organic_engagement_rate",
                "error",
                "Engagement rate fell by 21.6% <img src=x onerror=alert(1)>",
                latest,
                {},
                0.04,
            ),
            Finding(
                "note", "organic_views", "info", f"Views of {UNICODE} are up", latest, {}, 20_500
            ),
        ],
        comparisons=comparisons,
        notices=[f"notice with {QUOTES}"],
        compare=compare,
    )
