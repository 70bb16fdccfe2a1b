"""Core benchmark: the Python API and the CLI against a hand-written DuckDB query.

    python bench/run.py [--rows 1000000] [--repeat 5] [--no-write] [--profile]

Builds a deterministic paid dataset shaped like ``specs/tiktok/data/paid_daily.csv``
in a DuckDB file in a temporary directory, evaluates the paid KPIs of
``specs/tiktok`` by week and campaign through ``kpiengine.evaluate`` (the source
rebound to that file), runs one hand-written SQL query computing the same numbers
with the duckdb module, checks that both agree on every row and KPI, then times
both side by side, the ``kpi run`` process, ``kpi --help`` and ``kpi validate``,
and rewrites the ``bench:core`` section of ``docs/performance.md`` (``bench:core-N``
for another row count N).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import math
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from benchlib import (
    REPO,
    clock,
    kpi_command,
    machine_table,
    median_time,
    process_time,
    seconds,
    write_section,
)

import kpiengine
from kpiengine.engine import Request

SPEC_DIR = "specs/tiktok"  # relative to the repository root
DAYS = 731  # two years of days, 2024-07-01 .. 2026-07-01
CAMPAIGNS = 50
GROUPS_PER_CAMPAIGN = 8
OBJECTIVES = ("conversions", "traffic", "app_installs", "video_views", "reach")
API_TARGET = 1.2  # evaluate() within 1.2x of the hand-written query
HELP_TARGET = 0.3  # `kpi --help` under 0.3 s
REL_TOL = 1e-9

# -- data -------------------------------------------------------------------------------


def build_dataset(path: Path, rows: int) -> None:
    """Write table ``paid_daily`` with ``rows`` rows: one row per ad per day.

    Every value is a function of the row number through DuckDB's ``hash``, so the
    same DuckDB version always builds the same data. Campaigns with the
    ``video_views`` and ``reach`` objectives have no conversions and no conversion
    value (so CPA and ROAS are null there), and about 0.3 % of rows did not deliver
    (all zeros).
    """
    # Every ad runs every day; rows fill day after day (fewer days for small --rows).
    ads = max(-(-rows // DAYS), min(rows, 4 * CAMPAIGNS))
    u = [f"(hash(i, {k}) % 1000003) / 1000003.0" for k in range(16)]
    objectives = ", ".join(f"'{o}'" for o in OBJECTIVES)
    sql = f"""
    CREATE TABLE paid_daily AS
    WITH base AS (
        SELECT i,
               i % {ads} AS ad_id,
               i // {ads} AS day,
               (i % {ads}) % {CAMPAIGNS} AS camp,
               ((i % {ads}) // {CAMPAIGNS}) % {GROUPS_PER_CAMPAIGN} AS grp,
               {u[0]} AS u0, {u[1]} AS u1, {u[2]} AS u2, {u[3]} AS u3,
               {u[4]} AS u4, {u[5]} AS u5, {u[6]} AS u6, {u[7]} AS u7,
               {u[8]} AS u8, {u[9]} AS u9, {u[10]} AS u10, {u[11]} AS u11,
               {u[12]} AS u12, {u[13]} AS u13, {u[14]} AS u14, {u[15]} AS u15
        FROM range({rows}) AS t(i)
    ), named AS (
        SELECT *,
               [{objectives}][1 + camp % {len(OBJECTIVES)}] AS objective,
               CASE WHEN u0 < 0.003 THEN 0
                    ELSE floor(300 + 9000 * u1 * u1 + 600 * u2)::BIGINT END AS impressions
        FROM base
    ), counted AS (
        SELECT *,
               floor(impressions * (0.003 + 0.02 * u4))::BIGINT AS clicks,
               floor(impressions * (0.45 + 0.35 * u7))::BIGINT AS video_views
        FROM named
    ), converted AS (
        SELECT *,
               CASE WHEN objective IN ('video_views', 'reach') THEN 0
                    ELSE floor(clicks * 0.12 * u5)::BIGINT END AS conversions,
               floor(video_views * (0.4 + 0.2 * u8))::BIGINT AS views_2s
        FROM counted
    )
    SELECT DATE '2024-07-01' + day::INTEGER AS date,
           'Campaign ' || lpad(camp::VARCHAR, 2, '0') AS campaign,
           'Campaign ' || lpad(camp::VARCHAR, 2, '0') || ' / Group ' || grp::VARCHAR AS ad_group,
           'Ad ' || lpad(ad_id::VARCHAR, 5, '0')
               || CASE WHEN ad_id % 7 = 0 THEN ' – Créateur''s cut' ELSE '' END AS ad,
           objective,
           'USD' AS currency,
           round(impressions * (0.004 + 0.008 * u3), 2)::DOUBLE AS spend,
           impressions,
           floor(impressions * (0.6 + 0.35 * u6))::BIGINT AS reach,
           clicks,
           conversions,
           CASE WHEN objective IN ('video_views', 'reach') OR u15 < 0.01 THEN NULL
                ELSE round(conversions * (8 + 60 * u9), 2)::DOUBLE END AS conversion_value,
           video_views,
           views_2s,
           floor(views_2s * (0.35 + 0.25 * u10))::BIGINT AS views_6s,
           floor(views_2s * (0.1 + 0.15 * u10 * u11))::BIGINT AS views_p100,
           floor(video_views * 0.015 * u11)::BIGINT AS likes,
           floor(video_views * 0.001 * u12)::BIGINT AS comments,
           floor(video_views * 0.0015 * u13)::BIGINT AS shares,
           floor(video_views * 0.0012 * u14)::BIGINT AS follows,
           floor(video_views * 0.006 * u14 + 2 * u15)::BIGINT AS profile_visits
    FROM converted
    ORDER BY i
    """
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()


# -- the hand-written query -------------------------------------------------------------

HAND_SQL = """
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
ORDER BY period, campaign
"""


def hand_written(db: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Open the file read-only, run the query, fetch every row, close (as evaluate does)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(HAND_SQL)
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()
    finally:
        con.close()


# -- checking ---------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=0.0)


def compare(
    api_rows: list[dict[str, Any]],
    names: list[str],
    hand_rows: list[tuple[Any, ...]],
    kpis: list[str],
) -> None:
    """Fail unless both give the same rows, keys and KPI values (rel. tol. 1e-9)."""
    missing = [k for k in kpis if k not in names]
    if missing:
        raise SystemExit(f"the hand-written query lacks KPIs: {', '.join(missing)}")
    hand = {}
    for raw in hand_rows:
        row = dict(zip(names, raw, strict=True))
        period = row["period"]
        row["period"] = period.isoformat() if isinstance(period, dt.date) else period
        hand[(row["period"], row["campaign"])] = row
    api = {(r["period"], r["campaign"]): r for r in api_rows}
    if len(api) != len(api_rows) or len(hand) != len(hand_rows):
        raise SystemExit("duplicate (period, campaign) rows")
    if api.keys() != hand.keys():
        only_api = sorted(api.keys() - hand.keys())[:5]
        only_hand = sorted(hand.keys() - api.keys())[:5]
        raise SystemExit(f"different rows: only in API {only_api}, only hand-written {only_hand}")
    bad = []
    for key, row in api.items():
        for kpi in kpis:
            if not _same(row[kpi], hand[key][kpi]):
                bad.append(f"{key} {kpi}: API {row[kpi]!r} vs hand-written {hand[key][kpi]!r}")
    if bad:
        raise SystemExit(f"{len(bad)} values differ, e.g.\n  " + "\n  ".join(bad[:10]))


# -- the benchmark ----------------------------------------------------------------------


def paid_kpis(spec: Any) -> list[str]:
    return [name for name, kpi in spec.kpis.items() if kpi.category == "paid"]


def profile_evaluate(spec: Any, request: Request) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    kpiengine.evaluate(spec, request)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of paid data")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure")
    parser.add_argument(
        "--no-write", action="store_true", help="print the section, leave docs/ alone"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of one evaluate()"
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")

    machine = machine_table()  # before the work: its load average is the machine's own
    spec = kpiengine.load_spec(REPO / SPEC_DIR)
    kpis = paid_kpis(spec)
    kpi = kpi_command()

    with tempfile.TemporaryDirectory(prefix="kpibench-") as tmp:
        db = Path(tmp) / "paid.duckdb"
        print(f"building {args.rows:,} rows …", file=sys.stderr)
        start = time.perf_counter()
        build_dataset(db, args.rows)
        build_time = time.perf_counter() - start
        with duckdb.connect(str(db), read_only=True) as con:
            shape = con.execute(
                "SELECT count(*), min(date), max(date), count(DISTINCT campaign), "
                "count(DISTINCT ad) FROM paid_daily"
            ).fetchone()
        assert shape is not None
        n_rows, first_day, last_day, n_campaigns, n_ads = shape
        uri = f"duckdb:///{db}"
        request = Request(grain="week", by=("campaign",), kpis=tuple(kpis), sources={"paid": uri})

        # Correctness first (these runs also warm the file cache and the imports).
        result = kpiengine.evaluate(spec, request)
        if len(result.tables) != 1:
            raise SystemExit(f"expected one table, got {[t.name for t in result.tables]}")
        api_rows = result.tables[0].rows
        names, hand_rows = hand_written(db)
        compare(api_rows, names, hand_rows, kpis)
        print(
            f"check: {len(api_rows)} rows x {len(kpis)} KPIs agree (rel. tol. {REL_TOL:g})",
            file=sys.stderr,
        )

        # Side by side, interleaved so that drift hits both alike.
        api_times: list[float] = []
        hand_times: list[float] = []
        for _ in range(args.repeat):
            api_times.append(clock(lambda: kpiengine.evaluate(spec, request)))
            hand_times.append(clock(lambda: hand_written(db)))
        api_t, hand_t = statistics.median(api_times), statistics.median(hand_times)
        # (evaluate's own connections are closed by now: DuckDB refuses a second
        # configuration of the same file while one is open.)
        with duckdb.connect(str(db), read_only=True) as con:
            query_t, query_times = median_time(
                lambda: con.execute(HAND_SQL).fetchall(), args.repeat
            )
        load_t, load_times = median_time(lambda: kpiengine.load_spec(REPO / SPEC_DIR), args.repeat)
        print(f"evaluate {api_t:.3f}s, hand-written {hand_t:.3f}s", file=sys.stderr)
        profile = profile_evaluate(spec, request) if args.profile else None

        # Whole processes.
        run_argv = [
            *kpi,
            "run",
            SPEC_DIR,
            "--source",
            f"paid={uri}",
            "--grain",
            "week",
            "--by",
            "campaign",
            *(x for k in kpis for x in ("--kpi", k)),
            "--format",
            "json",
        ]
        printed = json.loads(_stdout(run_argv))
        compare(printed["tables"][0]["rows"], names, hand_rows, kpis)  # the CLI agrees too
        run_t, run_times = process_time(run_argv, REPO, args.repeat)
        few = max(args.repeat, 5)
        help_t, help_times = process_time([*kpi, "--help"], REPO, few)
        validate_t, validate_times = process_time([*kpi, "validate", SPEC_DIR], REPO, few)

    ratio = api_t / hand_t
    kpi_run = (
        "`kpi run specs/tiktok --source paid=duckdb:///… --grain week --by campaign"
        " --kpi … --format json`"
    )
    figures = [
        (
            '(a) `kpiengine.evaluate(spec, Request(grain="week", by=("campaign",), kpis=…))`',
            api_t,
            api_times,
            "",
        ),
        (
            "(b) hand-written DuckDB SQL through the duckdb module"
            " (connect read-only, query, fetch all rows, close)",
            hand_t,
            hand_times,
            "",
        ),
        ("**(a) / (b)**", None, [], f"≤ {API_TARGET}× {_verdict(ratio <= API_TARGET)}"),
        ("(b) on an already open connection (query and fetch only)", query_t, query_times, ""),
        ('`kpiengine.load_spec("specs/tiktok")` (not part of (a))', load_t, load_times, ""),
        (f"(c) {kpi_run}, whole process", run_t, run_times, ""),
        (
            "(d) `kpi --help`, whole process",
            help_t,
            help_times,
            f"< {HELP_TARGET} s {_verdict(help_t < HELP_TARGET)}",
        ),
        ("(d) `kpi validate specs/tiktok`, whole process", validate_t, validate_times, ""),
    ]
    lines = ["| what | median | min – max | target |", "|---|---|---|---|"]
    for what, value, runs, target in figures:
        if value is None:
            lines.append(f"| {what} | **{ratio:.2f}×** | | {target} |")
        else:
            spread = f"{seconds(min(runs))} – {seconds(max(runs))} ({len(runs)} runs)"
            lines.append(f"| {what} | {seconds(value)} | {spread} | {target} |")
    table = "\n".join(lines)
    body = f"""\
## Core: the API and the CLI against a hand-written query

Written by `python bench/run.py --rows {args.rows} --repeat {args.repeat}`.

**Data.** {n_rows:,} rows of paid delivery shaped like
`specs/tiktok/data/paid_daily.csv` (same 21 columns; {n_campaigns} campaigns,
{n_ads:,} ads, one row per ad per day from {first_day} to {last_day}), built with
DuckDB SQL in {seconds(build_time)} into a DuckDB file in a temporary directory.

**Request.** The {len(kpis)} paid KPIs of `specs/tiktok` by week and campaign, the
source `paid` rebound to that file: {len(api_rows):,} result rows. (a) and (b) run
in the same process, interleaved; before any timing, the rows of (a) and of the JSON
printed by (c) were checked against (b): the same rows, every KPI equal within a
relative tolerance of {REL_TOL:g}. (a) is everything `evaluate` does per call:
load the plugins, open the source, check the spec, plan, compile, run the query,
turn the rows into the result (rule findings included). (c) adds interpreter
start-up, imports, loading the spec and rendering the JSON.

{machine}

{table}
"""
    if profile is not None:
        print(profile)
    if args.no_write:
        print(body)
    else:
        name = "core" if args.rows == 1_000_000 else f"core-{args.rows}"
        write_section(name, body)
        print(f"wrote the bench:{name} section of docs/performance.md", file=sys.stderr)
    print(
        f"(a) {api_t:.4f}s  (b) {hand_t:.4f}s  ratio {ratio:.2f}  query-only {query_t:.4f}s"
        f"  load_spec {load_t:.4f}s  (c) {run_t:.3f}s  --help {help_t:.3f}s"
        f"  validate {validate_t:.3f}s",
        file=sys.stderr,
    )
    return 0


def _verdict(ok: bool) -> str:
    return "(met)" if ok else "(**not met**)"


def _stdout(argv: list[str]) -> str:
    import subprocess

    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`kpi run` exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
