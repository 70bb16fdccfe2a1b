"""Spark benchmark: the catalogue's paid KPIs on a local Spark Thrift server against DuckDB.

    python bench/spark.py [--rows 1000000 10000000] [--repeat 3] [--no-write]

Needs what tox's ``spark`` env installs (pyspark, PyHive, thrift, thrift_sasl,
pure-sasl) and Java 17. For each row count it builds the paid dataset of
``bench/run.py`` (``build_dataset``) in a DuckDB file, exports it to Parquet, starts a
Spark Thrift server in local mode (``local[2]``, as the tests do; see
``tests/spark/sparkserver.py``) with that Parquet file as table ``paid_daily``,
evaluates the paid KPIs of ``specs/tiktok`` with the source ``paid`` rebound to the
DuckDB file and then to ``hive://…``, checks that both give the same rows and
values, times both, and rewrites the ``bench:spark`` section of
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
from benchlib import REPO, machine_table, median_time, seconds, write_section
from run import build_dataset, paid_kpis

import kpiengine
from kpiengine.engine import Request

sys.path.insert(0, str(REPO / "tests" / "spark"))
from sparkserver import ThriftServer, load_csvs, missing_requirements

SPEC_DIR = REPO / "specs" / "tiktok"
REL_TOL = 1e-9

REQUESTS = {
    "week × campaign": {"grain": "week", "by": ("campaign",)},
    "month": {"grain": "month"},
    "total": {"grain": "total"},
}


def numbers(result: Any) -> dict[tuple[Any, ...], Any]:
    out = {}
    for table in result.tables:
        for row in table.rows:
            key = (table.name, row["period"], *(row[d] for d in table.dimensions))
            for kpi in table.kpis:
                out[(*key, kpi.name)] = row[kpi.name]
    return out


def check_same(expected: Any, got: Any, what: str) -> int:
    """Fail unless both results have the same rows and values; the number of values."""
    a, b = numbers(expected), numbers(got)
    if a.keys() != b.keys():
        raise SystemExit(f"{what}: different rows or KPIs on Spark and DuckDB")
    for key, want in a.items():
        have = b[key]
        if (want is None) != (have is None) or (
            want is not None and not math.isclose(have, want, rel_tol=REL_TOL, abs_tol=1e-12)
        ):
            raise SystemExit(f"{what}: {key}: Spark {have!r}, DuckDB {want!r}")
    return len(a)


def java_version() -> str:
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    first = (done.stderr or done.stdout).strip().splitlines()
    return first[0] if first else "unknown"


def bench_rows(rows: int, repeat: int, spec: Any, kpis: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": rows}
    with tempfile.TemporaryDirectory(prefix="kpibench-spark-") as tmp:
        db = Path(tmp) / "paid.duckdb"
        parquet = Path(tmp) / "paid_daily.parquet"
        print(f"building {rows:,} rows …", file=sys.stderr)
        build_dataset(db, rows)
        with duckdb.connect(str(db)) as con:
            con.execute("COPY paid_daily TO ? (FORMAT parquet)", [str(parquet)])
        duck_uri = f"duckdb:///{db}"
        started = time.perf_counter()
        with ThriftServer(driver_memory="4g") as server:
            out["start"] = time.perf_counter() - started
            # The other sample tables too, for datasets whose columns are discovered.
            load_csvs(server.url, sorted((SPEC_DIR / "data").glob("*.csv")))
            import sqlalchemy as sa

            engine = sa.create_engine(server.url, poolclass=sa.pool.NullPool)
            with engine.connect() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS paid_daily")
                conn.exec_driver_sql(
                    "CREATE TABLE paid_daily USING parquet OPTIONS (path %(path)s)",
                    {"path": str(parquet)},
                )
            engine.dispose()
            for label, fields in REQUESTS.items():
                duck = Request(kpis=tuple(kpis), sources={"paid": duck_uri}, **fields)
                spark = Request(kpis=tuple(kpis), sources={"paid": server.url}, **fields)
                first = time.perf_counter()
                got = kpiengine.evaluate(spec, spark)  # also warms Spark up
                first_t = time.perf_counter() - first
                expected = kpiengine.evaluate(spec, duck)
                values = check_same(expected, got, label)
                print(f"{label}: {values} values agree", file=sys.stderr)
                duck_t, duck_times = median_time(lambda r=duck: kpiengine.evaluate(spec, r), repeat)
                spark_t, spark_times = median_time(
                    lambda r=spark: kpiengine.evaluate(spec, r), repeat
                )
                out[label] = {
                    "result rows": sum(len(t.rows) for t in got.tables),
                    "values": values,
                    "duckdb": (duck_t, duck_times),
                    "spark": (spark_t, spark_times),
                    "spark first": first_t,
                }
                print(f"{label}: DuckDB {duck_t:.2f}s, Spark {spark_t:.2f}s", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure")
    parser.add_argument("--no-write", action="store_true", help="print, leave docs/ alone")
    args = parser.parse_args(argv)
    why = missing_requirements()
    if why:
        parser.error(f"Spark cannot run here: {why}")

    machine = machine_table()
    spec = kpiengine.load_spec(SPEC_DIR)
    kpis = paid_kpis(spec)
    results = [bench_rows(n, args.repeat, spec, kpis) for n in args.rows]

    lines = [
        "| paid rows | request | result rows | DuckDB (file) | Spark local[2] | Spark / DuckDB |",
        "|---|---|---|---|---|---|",
    ]
    for res in results:
        for label in REQUESTS:
            fig = res[label]
            duck_t, spark_t = fig["duckdb"][0], fig["spark"][0]
            lines.append(
                f"| {res['rows']:,} | {label} | {fig['result rows']:,} | {seconds(duck_t)} "
                f"| {seconds(spark_t)} | {spark_t / duck_t:.0f}× |"
            )
    starts = " and ".join(seconds(r["start"]) for r in results)
    versions = (
        f"| pyspark | {metadata.version('pyspark')} |\n"
        f"| PyHive | {metadata.version('pyhive')} |\n"
        f"| Java | {java_version()} |"
    )
    body = f"""\
## Spark: the same KPIs on a local Spark Thrift server

Written by `python bench/spark.py --rows {" ".join(str(n) for n in args.rows)} \
--repeat {args.repeat}` (in the environment of `tox -e spark`).

**Data.** The paid dataset of `bench/run.py` (one row per ad per day, 21 columns),
exported from DuckDB to one Parquet file, read by Spark as table `paid_daily`
(`CREATE TABLE … USING parquet`); DuckDB reads its own file.

**Request.** The {len(kpis)} paid KPIs of `specs/tiktok` (with their rules), the source
`paid` rebound to `duckdb:///…` and to `hive://127.0.0.1:PORT/default`; medians of
{args.repeat} runs of `kpiengine.evaluate` each, after one untimed run. Before timing,
every value from Spark was checked against DuckDB's (relative tolerance {REL_TOL:g}).
Spark runs in one JVM with two cores (`local[2]`, driver memory 4 GB); the server
took {starts} to start (once per row count). Each `evaluate` here is one SQL
statement sent through the Thrift server.

Times on a shared or busy machine vary a lot: look at the load average below (two
cores) before comparing runs. Spark local is slower than DuckDB on one machine: it
plans each statement, starts tasks and exchanges data between stages even when there
is one executor. The point
is that the same spec runs unchanged on Spark, so that it runs on a cluster (or
Databricks) when the data outgrows one machine; there the time is the cluster's.

{machine}
{versions}

{chr(10).join(lines)}
"""
    if args.no_write:
        print(body)
    else:
        write_section("spark", body)
        print("wrote the bench:spark section of docs/performance.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
