"""Deterministic TikTok-shaped data at any size, built with DuckDB SQL, cached on disk.

For a size of N rows:

- ``paid_daily``: N rows of Ads Manager delivery, one row per ad per day over two years
  (2024-07-01 .. 2026-06-30), 50 campaigns, as many ads as N needs;
- ``paid_audience``: N rows of delivery by audience segment: per campaign, ad group and
  day, the rows of three audience reports (age x gender, country, interest category;
  the dimensions a report lacks are null), as many ad groups as N needs;
- the organic side: ``organic_daily``, ``viewers_daily``, ``videos`` and
  ``follower_activity`` with N / 3 rows each, so that the organic catalogue (which reads
  the first three) reads N rows like the paid one (the account-level tables have no
  breakdown, so each day's figures are spread over many rows, which the sum, avg, max
  and count KPIs treat like any other rows), ``followers_daily`` with one snapshot row
  per day (a snapshot cannot be spread), and the three follower-share snapshots as in
  the sample data.

Every value is a function of the row number through DuckDB's ``hash``, so the same DuckDB
version always builds the same data. Each spec source gets its own DuckDB file holding
the tables of its datasets, with exactly the columns the spec declares (the generator
knows an expression for every canonical TikTok column and refuses a column it does not
know); every table is also written as Parquet for the dataframe libraries.

Built data is kept in a cache directory (by default under the system temporary
directory) keyed by the size, the generator's text, the declared columns and the DuckDB
version, and reused by later runs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

DAYS = 731  # 2024-07-01 .. 2026-06-30 (two years, 2024 a leap year)
START = "2024-07-01"
CAMPAIGNS = 50
OBJECTIVES = ("conversions", "traffic", "app_installs", "video_views", "reach")
AGES = ("18-24", "25-34", "35-44", "45-54", "55+")
GENDERS = ("Female", "Male")
COUNTRIES = ("US", "GB", "CA", "AU", "DE", "FR", "BR", "MX")
INTERESTS = (
    "Apparel & Accessories",
    "Beauty & Personal Care",
    "Games",
    "Food & Beverage",
    "Travel",
    "Tech & Electronics",
    "Home Improvement",
    "Sports & Outdoors",
)
#: Segments per campaign, ad group and day: age x gender, then countries, then interests.
SEGMENTS = len(AGES) * len(GENDERS) + len(COUNTRIES) + len(INTERESTS)
ORGANIC_SHARE = 3  # the organic tables have N / 3 rows: the organic catalogue reads N
# Share of followers active in each hour of the day (0..23): evenings are busiest.
HOUR_FACTOR = (
    0.050, 0.034, 0.024, 0.018, 0.016, 0.020, 0.034, 0.052, 0.066, 0.072, 0.078, 0.086,
    0.094, 0.090, 0.084, 0.088, 0.098, 0.112, 0.128, 0.142, 0.150, 0.138, 0.108, 0.074,
)  # fmt: skip
SNAPSHOTS = {
    "audience_gender": ("gender", (("Female", 0.5512), ("Male", 0.4127), ("Other", 0.0361))),
    "audience_territory": (
        "territory",
        (
            ("US", 0.3124),
            ("GB", 0.1186),
            ("CA", 0.0853),
            ("AU", 0.0642),
            ("DE", 0.0511),
            ("Others", 0.3684),
        ),
    ),
    "audience_age": (
        "age",
        (
            ("18-24", 0.3412),
            ("25-34", 0.3375),
            ("35-44", 0.1721),
            ("45-54", 0.0968),
            ("55+", 0.0524),
        ),
    ),
}


def _u(k: int) -> str:
    """A uniform number in [0, 1) from the row number ``i`` and the stream ``k``."""
    return f"((hash(i, {k}) % 1000003) / 1000003.0)"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _camp_name(expr: str) -> str:
    return f"('Campaign ' || lpad(({expr})::VARCHAR, 2, '0'))"


# -- paid_daily -------------------------------------------------------------------------
# The inner query (``base``) has the row number i, ad_id, day, camp, grp, objective and
# the counts every other column derives from.

PAID_DAILY_BASE = f"""
WITH b AS (
    SELECT i, i % {{ads}} AS ad_id, i // {{ads}} AS day,
           (i % {{ads}}) % {CAMPAIGNS} AS camp,
           ((i % {{ads}}) // {CAMPAIGNS}) % 8 AS grp,
           {_list(OBJECTIVES)}[1 + ((i % {{ads}}) % {CAMPAIGNS}) % {len(OBJECTIVES)}] AS objective,
           CASE WHEN {_u(0)} < 0.003 THEN 0
                ELSE floor(300 + 9000 * {_u(1)} * {_u(1)} + 600 * {_u(2)})::BIGINT
           END AS impressions
    FROM range({{rows}}) AS t(i)
), c AS (
    SELECT *, floor(impressions * (0.003 + 0.02 * {_u(4)}))::BIGINT AS clicks,
              floor(impressions * (0.45 + 0.35 * {_u(7)}))::BIGINT AS video_views
    FROM b
), base AS (
    SELECT *, CASE WHEN objective IN ('video_views', 'reach') THEN 0
                   ELSE floor(clicks * 0.12 * {_u(5)})::BIGINT END AS conversions,
              floor(video_views * (0.4 + 0.2 * {_u(8)}))::BIGINT AS views_2s
    FROM c
)
"""

PAID_DAILY_COLUMNS = {
    "date": f"DATE '{START}' + day::INTEGER",
    "campaign": _camp_name("camp"),
    "campaign_id": "(1700000000000000 + camp)::VARCHAR",
    "ad_group": _camp_name("camp") + " || ' / Group ' || grp::VARCHAR",
    "ad_group_id": "(1710000000000000 + camp * 100 + grp)::VARCHAR",
    "ad": "'Ad ' || lpad(ad_id::VARCHAR, 5, '0')"
    " || CASE WHEN ad_id % 7 = 0 THEN ' – Créateur''s cut' ELSE '' END",
    "ad_id": "(1720000000000000 + ad_id)::VARCHAR",
    "objective": "objective",
    "currency": "'USD'",
    "spend": f"round(impressions * (0.004 + 0.008 * {_u(3)}), 2)::DOUBLE",
    "impressions": "impressions",
    "reach": f"floor(impressions * (0.6 + 0.35 * {_u(6)}))::BIGINT",
    "clicks": "clicks",
    "conversions": "conversions",
    "conversion_value": f"CASE WHEN objective IN ('video_views', 'reach') OR {_u(15)} < 0.01"
    f" THEN NULL ELSE round(conversions * (8 + 60 * {_u(9)}), 2)::DOUBLE END",
    "video_views": "video_views",
    "views_2s": "views_2s",
    "views_6s": f"floor(views_2s * (0.35 + 0.25 * {_u(10)}))::BIGINT",
    "views_p25": f"floor(views_2s * (0.30 + 0.20 * {_u(10)}))::BIGINT",
    "views_p50": f"floor(views_2s * (0.20 + 0.18 * {_u(10)}))::BIGINT",
    "views_p75": f"floor(views_2s * (0.14 + 0.16 * {_u(10)} * {_u(11)}))::BIGINT",
    "views_p100": f"floor(views_2s * (0.1 + 0.15 * {_u(10)} * {_u(11)}))::BIGINT",
    "likes": f"floor(video_views * 0.015 * {_u(11)})::BIGINT",
    "comments": f"floor(video_views * 0.001 * {_u(12)})::BIGINT",
    "shares": f"floor(video_views * 0.0015 * {_u(13)})::BIGINT",
    "follows": f"floor(video_views * 0.0012 * {_u(14)})::BIGINT",
    "profile_visits": f"floor(video_views * 0.006 * {_u(14)} + 2 * {_u(15)})::BIGINT",
}

# -- paid_audience ----------------------------------------------------------------------

PAID_AUDIENCE_BASE = f"""
WITH b AS (
    SELECT i, i % {SEGMENTS} AS seg, (i // {SEGMENTS}) % {{units}} AS unit,
           (i // {SEGMENTS}) // {{units}} AS day
    FROM range({{rows}}) AS t(i)
), s AS (
    SELECT *, unit % {CAMPAIGNS} AS camp, unit // {CAMPAIGNS} AS grp,
           CASE WHEN {_u(0)} < 0.003 THEN 0
                ELSE floor(40 + 1500 * {_u(1)} * {_u(1)})::BIGINT END AS impressions
    FROM b
), c AS (
    SELECT *, floor(impressions * (0.003 + 0.02 * {_u(2)}))::BIGINT AS clicks FROM s
), base AS (
    SELECT *, floor(clicks * 0.12 * {_u(3)})::BIGINT AS conversions FROM c
)
"""

_N_AG = len(AGES) * len(GENDERS)
PAID_AUDIENCE_COLUMNS = {
    "date": f"DATE '{START}' + day::INTEGER",
    "campaign": _camp_name("camp"),
    "ad_group": _camp_name("camp") + " || ' / Group ' || grp::VARCHAR",
    "age": f"CASE WHEN seg < {_N_AG} THEN {_list(AGES)}[1 + seg // {len(GENDERS)}] END",
    "gender": f"CASE WHEN seg < {_N_AG} THEN {_list(GENDERS)}[1 + seg % {len(GENDERS)}] END",
    "country": f"CASE WHEN seg >= {_N_AG} AND seg < {_N_AG + len(COUNTRIES)}"
    f" THEN {_list(COUNTRIES)}[1 + seg - {_N_AG}] END",
    "interest_category": f"CASE WHEN seg >= {_N_AG + len(COUNTRIES)}"
    f" THEN {_list(INTERESTS)}[1 + seg - {_N_AG + len(COUNTRIES)}] END",
    "currency": "'USD'",
    "spend": f"round(impressions * (0.004 + 0.008 * {_u(4)}), 2)::DOUBLE",
    "impressions": "impressions",
    "clicks": "clicks",
    "conversions": "conversions",
    "conversion_value": f"CASE WHEN {_u(5)} < 0.01 THEN NULL"
    f" ELSE round(conversions * (8 + 60 * {_u(6)}), 2)::DOUBLE END",
}

# -- the organic side -------------------------------------------------------------------

ORGANIC_DAILY_BASE = f"""
WITH b AS (
    SELECT i, i // {{per_day}} AS day, floor(50 + 2000 * {_u(1)} * {_u(2)})::BIGINT AS views
    FROM range({{rows}}) AS t(i)
), base AS (
    SELECT *, floor(views * (0.02 + 0.06 * {_u(3)}))::BIGINT AS likes FROM b
)
"""
ORGANIC_DAILY_COLUMNS = {
    "date": f"DATE '{START}' + day::INTEGER",
    "views": "views",
    "profile_views": f"floor(views * 0.02 * {_u(4)})::BIGINT",
    "likes": "likes",
    # TikTok nets out removed comments: now and then a row is -1
    "comments": f"CASE WHEN {_u(5)} < 0.01 THEN -1 ELSE floor(likes * 0.05 * {_u(6)})::BIGINT END",
    "shares": f"floor(likes * 0.08 * {_u(7)})::BIGINT",
}

FOLLOWERS_DAILY_BASE = f"""
WITH b AS (
    SELECT i, i AS day,
           (12500 + i * 37 + floor(400 * {_u(1)}) - CASE WHEN {_u(2)} < 0.05 THEN 300 ELSE 0 END
           )::BIGINT AS followers
    FROM range({{rows}}) AS t(i)
), base AS (
    SELECT *, followers - lag(followers) OVER (ORDER BY i) AS change FROM b
)
"""
FOLLOWERS_DAILY_COLUMNS = {
    "date": f"DATE '{START}' + day::INTEGER",
    "followers": "followers",
    "followers_change": "change",
}

VIEWERS_DAILY_BASE = f"""
WITH b AS (
    SELECT i, i // {{per_day}} AS day, {_u(3)} < 0.001 AS uncounted,
           floor(30 + 1500 * {_u(1)})::BIGINT AS total
    FROM range({{rows}}) AS t(i)
), base AS (
    SELECT *, floor(total * (0.5 + 0.2 * {_u(2)}))::BIGINT AS new FROM b
)
"""
VIEWERS_DAILY_COLUMNS = {
    "date": f"DATE '{START}' + day::INTEGER",
    "viewers_total": "CASE WHEN NOT uncounted THEN total END",
    "viewers_new": "CASE WHEN NOT uncounted THEN new END",
    "viewers_returning": "CASE WHEN NOT uncounted THEN total - new END",
}

VIDEOS_BASE = f"""
WITH b AS (
    SELECT i, i // {{per_day}} AS day, floor(3000 + 35000 * {_u(1)} * {_u(2)})::BIGINT AS views,
           round(9 + 66 * {_u(3)}, 1)::DOUBLE AS duration
    FROM range({{rows}}) AS t(i)
), base AS (
    SELECT *, floor(views * (0.03 + 0.06 * {_u(4)}))::BIGINT AS likes FROM b
)
"""
VIDEOS_COLUMNS = {
    "video_id": "(7525000000000000000 + i * 1000 + floor(999 * " + _u(5) + ")::BIGINT)::VARCHAR",
    "date": f"DATE '{START}' + day::INTEGER",
    "posted_at": f"TIMESTAMP '{START}' + to_days(day::INTEGER)"
    f" + to_seconds((32400 + floor(43200 * {_u(6)}))::BIGINT)",
    "title": "'Video ' || i::VARCHAR",
    "views": "views",
    "likes": "likes",
    "comments": f"floor(likes * (0.02 + 0.05 * {_u(7)}))::BIGINT",
    "shares": f"floor(likes * (0.03 + 0.07 * {_u(8)}))::BIGINT",
    "duration_s": "duration",
    "reach": f"floor(views * (0.70 + 0.22 * {_u(9)}))::BIGINT",
    "avg_watch_s": f"round(duration * (0.30 + 0.35 * {_u(10)}), 1)::DOUBLE",
    "full_watch_rate": f"round(0.05 + 0.27 * {_u(11)}, 4)::DOUBLE",
    "new_followers": f"floor(views * (0.0006 + 0.0016 * {_u(12)}))::BIGINT",
}

FOLLOWER_ACTIVITY_BASE = """
WITH base AS (
    SELECT i, i % 24 AS hour, (i // 24) // {per_hour} AS day
    FROM range({rows}) AS t(i)
)
"""
FOLLOWER_ACTIVITY_COLUMNS = {
    "date": f"DATE '{START}' + day::INTEGER",
    "hour": "hour::INTEGER",
    "active_followers": f"floor((12500 + day * 37) * {list(HOUR_FACTOR)}[1 + hour]"
    f" * (0.9 + 0.2 * {_u(1)}))::BIGINT",
}


@dataclass(frozen=True)
class TableDef:
    base: str  # the WITH … that defines ``base``, with {rows} and size parameters
    columns: Mapping[str, str]  # column → SQL expression over ``base``


TABLES: dict[str, TableDef] = {
    "paid_daily": TableDef(PAID_DAILY_BASE, PAID_DAILY_COLUMNS),
    "paid_audience": TableDef(PAID_AUDIENCE_BASE, PAID_AUDIENCE_COLUMNS),
    "organic_daily": TableDef(ORGANIC_DAILY_BASE, ORGANIC_DAILY_COLUMNS),
    "followers_daily": TableDef(FOLLOWERS_DAILY_BASE, FOLLOWERS_DAILY_COLUMNS),
    "viewers_daily": TableDef(VIEWERS_DAILY_BASE, VIEWERS_DAILY_COLUMNS),
    "videos": TableDef(VIDEOS_BASE, VIDEOS_COLUMNS),
    "follower_activity": TableDef(FOLLOWER_ACTIVITY_BASE, FOLLOWER_ACTIVITY_COLUMNS),
}


def table_rows(table: str, size: int) -> int:
    """How many rows ``table`` gets for a size of ``size`` paid rows."""
    if table in ("paid_daily", "paid_audience"):
        return size
    if table == "followers_daily":
        return DAYS
    if table in SNAPSHOTS:
        return len(SNAPSHOTS[table][1])
    return max(DAYS, size // ORGANIC_SHARE)


def _parameters(table: str, rows: int) -> dict[str, int]:
    ceil = lambda a, b: -(-a // b)  # noqa: E731
    return {
        "rows": rows,
        "ads": max(ceil(rows, DAYS), min(rows, 4 * CAMPAIGNS)),
        "units": max(CAMPAIGNS, ceil(rows, DAYS * SEGMENTS)),
        "per_day": max(1, ceil(rows, DAYS)),
        "per_hour": max(1, ceil(rows, DAYS * 24)),
    }


def create_sql(table: str, name: str, rows: int, columns: Mapping[str, str]) -> str:
    """``CREATE TABLE name AS …`` with the declared ``columns`` of canonical ``table``."""
    if table in SNAPSHOTS:
        key, values = SNAPSHOTS[table]
        unknown = set(columns) - {key, "share"}
        if unknown:
            raise SystemExit(f"the generator has no column {sorted(unknown)} for {table}")
        rows_sql = ", ".join(f"('{k}', {v})" for k, v in values)
        exprs = {key: "k", "share": "v::DOUBLE"}
        select = ", ".join(f'{exprs[c]} AS "{c}"' for c in columns)
        return f'CREATE TABLE "{name}" AS SELECT {select} FROM (VALUES {rows_sql}) AS t(k, v)'
    tdef = TABLES.get(table)
    if tdef is None:
        raise SystemExit(f"the generator does not know table `{table}`")
    unknown = [c for c in columns if c not in tdef.columns]
    if unknown:
        raise SystemExit(f"the generator has no column {unknown} for table `{table}`")
    select = ",\n       ".join(f'{tdef.columns[c]} AS "{c}"' for c in columns)
    base = tdef.base.format(**_parameters(table, rows))
    return f'CREATE TABLE "{name}" AS {base}\nSELECT {select}\nFROM base\nORDER BY i'


@dataclass(frozen=True)
class Dataset:
    """Where the data of one size lives: a DuckDB file per spec source, Parquet per table."""

    folder: Path
    size: int
    files: dict[str, Path]  # source name → DuckDB file
    parquet: dict[str, Path]  # dataset name → Parquet file
    rows: dict[str, int]  # dataset name → rows
    build_seconds: float  # 0 when taken from the cache

    def uri(self, source: str) -> str:
        return f"duckdb:///{self.files[source]}"


def cache_root(explicit: Path | None = None) -> Path:
    return explicit or Path(tempfile.gettempdir()) / "kpiengine-bench"


def _layout(spec: object) -> dict[str, dict[str, tuple[str, dict[str, str]]]]:
    """source → {dataset: (table, declared columns)} for the datasets the data covers."""
    out: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
    for name, ds in spec.datasets.items():  # type: ignore[attr-defined]
        if ds.table not in TABLES and ds.table not in SNAPSHOTS:
            raise SystemExit(f"dataset `{name}`: the generator does not know table `{ds.table}`")
        if ds.columns is None:
            raise SystemExit(f"dataset `{name}` declares no columns")
        out.setdefault(ds.source, {})[name] = (ds.table, dict(ds.columns))
    return out


def build(spec: object, size: int, cache: Path | None = None, log=print) -> Dataset:  # type: ignore[no-untyped-def]
    """The data of ``size`` rows for ``spec``'s datasets, from the cache or built now."""
    layout = _layout(spec)
    key_text = json.dumps(
        {
            "generator": Path(__file__).read_text(encoding="utf-8"),
            "layout": layout,
            "duckdb": duckdb.__version__,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:12]
    folder = cache_root(cache) / f"{key}-{size}"
    files = {source: folder / f"{source}.duckdb" for source in layout}
    parquet = {d: folder / f"{d}.parquet" for tables in layout.values() for d in tables}
    rows = {d: table_rows(t, size) for tables in layout.values() for d, (t, _) in tables.items()}
    done = folder / "complete.json"
    if done.exists():
        return Dataset(folder, size, files, parquet, rows, 0.0)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for source, tables in layout.items():
        con = duckdb.connect(str(files[source]))
        try:
            for dataset, (table, columns) in tables.items():
                log(f"  {source}.{table}: {rows[dataset]:,} rows")
                con.execute(create_sql(table, table, rows[dataset], columns))
                target = str(parquet[dataset]).replace("'", "''")
                con.execute(f"COPY \"{table}\" TO '{target}' (FORMAT parquet)")
            con.execute("CHECKPOINT")
        finally:
            con.close()
    seconds = time.perf_counter() - start
    done.write_text(json.dumps({"size": size, "rows": rows, "seconds": seconds}))
    return Dataset(folder, size, files, parquet, rows, seconds)


def build_time(data: Dataset) -> float:
    """Seconds the data took to build (when it was built, possibly by an earlier run)."""
    try:
        return float(json.loads((data.folder / "complete.json").read_text())["seconds"])
    except (OSError, ValueError, KeyError):
        return data.build_seconds


if __name__ == "__main__":  # python bench/tiktok_data.py SIZE: build (or find) the data
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import kpiengine

    spec = kpiengine.load_spec(Path(__file__).resolve().parents[1] / "specs" / "tiktok")
    built = build(spec, int(sys.argv[1]))
    print(built)
