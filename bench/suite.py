"""The benchmark suite: the TikTok catalogues at 1, 10 and 50 million rows against
hand-written SQL, pandas and polars; compile time; start-up; peak memory.

    python bench/suite.py [--sizes 1,10,50] [--repeat 5] [--no-write] [--profile]

See bench/README.md. For each size (millions of paid rows) it builds (or takes from
the cache) deterministic TikTok-shaped data in DuckDB files (``tiktok_data.py``), then
for each catalogue of ``specs/tiktok`` (the KPIs of paid.yaml, organic.yaml and
audience.yaml) at grain week by campaign:

1. computes it through ``kpiengine.evaluate``, through ``kpi run … --format json``,
   with the hand-written DuckDB SQL, pandas and polars of ``reference.py``, and stops
   unless all of them agree on every row and every KPI (relative tolerance 1e-9);
2. times rounds of ``evaluate``, the hand-written SQL, polars and pandas in this
   process and ``kpi run`` as a whole process (with its peak RSS), ratios taken within
   each round; then the peak RSS of the hand-written SQL alone in a bare process and the
   Python heap peak of ``evaluate``.

Then it times compiling a generated spec of 1,000 KPIs over 20 datasets (``kpi
validate`` and ``kpi explain``), and ``kpi --help``, ``kpi validate specs/tiktok`` and
``kpi run specs/tiktok`` on the sample data as whole processes, and writes the
``bench:suite`` section of docs/performance.md.
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
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import compile_spec
import duckdb
import reference
import tiktok_data
from benchlib import REPO, clock, kpi_command, machine_table, median_time, seconds, write_section

import kpiengine
from kpiengine.engine import Request

SPEC_DIR = "specs/tiktok"  # relative to the repository root
# The catalogue files: the datasets, the three KPI files and the rules, named one by one
# so that an add-on put beside them (such as the report add-on, whose comparisons and
# segment rankings add tables the hand-written versions do not compute) stays out.
CATALOGUE_FILES = ("sources.yaml", "organic.yaml", "paid.yaml", "audience.yaml", "rules.yaml")


def catalogue_paths() -> list[str]:
    """The catalogue files of SPEC_DIR that exist, relative to the repository root."""
    return [f"{SPEC_DIR}/{f}" for f in CATALOGUE_FILES if (REPO / SPEC_DIR / f).exists()]


@dataclass
class TimedSpec:
    """The spec the catalogues are timed with: the catalogue files, except that rules
    reading an earlier window (previous()/change()) are left out, in a copy of the file
    that holds them. The hand-written versions compute no second window; the catalogue
    with every rule is timed beside it (``full``) to show what such a rule costs."""

    files: list[str]  # what evaluate and `kpi run` read
    spec: Any
    full: Any  # the catalogue with every rule
    left_out: list[str]  # names of the rules left out


def earlier_window_rules(spec: Any) -> list[str]:
    """The rules of ``spec`` that use previous() or change(), directly or through a KPI."""
    from kpiengine.engine import check, session
    from kpiengine.expr import ast

    with session(spec) as sess:  # columns are declared: no source is opened
        checked = check(sess)
    return [
        name
        for name, rule in checked.rules.items()
        if any(isinstance(n, ast.Prev) for n in ast.walk(rule.node))
        or any(checked.kpis[k].uses_prev for k in rule.kpis)
    ]


def timed_spec(tmp: Path) -> TimedSpec:
    import yaml

    paths = catalogue_paths()
    full = kpiengine.load_spec(*(REPO / f for f in paths))
    left_out = earlier_window_rules(full)
    files = []
    for rel in paths:
        doc = yaml.safe_load((REPO / rel).read_text(encoding="utf-8")) or {}
        rules = doc.get("rules") or {}
        if not set(rules) & set(left_out):
            files.append(rel)
            continue
        doc["rules"] = {k: v for k, v in rules.items() if k not in left_out}
        copy = tmp / Path(rel).name
        copy.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        files.append(str(copy))
    return TimedSpec(files, kpiengine.load_spec(*(REPO / f for f in files)), full, left_out)


def byte_compile() -> None:
    """Byte-compile kpiengine and the installed plugins, as installing them from a wheel does.

    An editable install leaves that to the first import, which writes nothing when
    PYTHONDONTWRITEBYTECODE is set: every `kpi` process would then compile kpiengine's
    modules from source before doing anything (about 0.1 s), which no installed copy does.
    """
    import compileall
    import importlib.util
    from importlib.metadata import entry_points

    names = {
        "kpiengine",
        *(ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="kpiengine")),
    }
    for name in sorted(names):
        found = importlib.util.find_spec(name)
        if found is not None and found.origin:
            compileall.compile_dir(Path(found.origin).parent, quiet=1)


#: The tables the organic catalogue reads (and followers_daily, one row per day).
ORGANIC_TABLES = ("organic_daily", "viewers_daily", "videos", "followers_daily")
MEASURE = Path(__file__).with_name("measure.py")
REL_TOL = 1e-9
GRAIN = "week"

# The targets of issue 6.
API_TARGET = 1.15  # evaluate() within 1.15x of the hand-written SQL at 10M rows
RUN_TARGET = 0.5  # `kpi run` adds at most 0.5 s (its start-up) to evaluate()
PANDAS_TARGET = 5.0  # at least 5x faster than pandas at 10M rows
COMPILE_TARGET = 1.0  # compiling 1,000 KPIs under 1 s
HELP_TARGET = 0.3
VALIDATE_TARGET = 0.6
TARGET_SIZE = 10  # million rows: where the API, run and pandas targets apply


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- rows from every path, in one shape -------------------------------------------------

Rows = dict[tuple[Any, ...], dict[str, Any]]


def _value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if hasattr(v, "isoformat"):  # pandas Timestamp
        return v.isoformat()[:10]
    f = float(v)
    return None if math.isnan(f) else f


def _period(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if type(v).__name__ == "NaTType":
        return None
    if isinstance(v, dt.date | dt.datetime) or hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    return str(v)[:10]


def keyed(rows: Sequence[dict[str, Any]], keys: Sequence[str], what: str) -> Rows:
    out: Rows = {}
    for row in rows:
        key = (_period(row.get("period")), *(row.get(k) for k in keys[1:]))
        if key in out:
            raise SystemExit(f"{what}: two rows for {key}")
        out[key] = {k: _value(v) for k, v in row.items()}
    return out


def sql_rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def frame_rows(frame: Any) -> list[dict[str, Any]]:
    if hasattr(frame, "to_dicts"):  # polars
        return frame.to_dicts()  # type: ignore[no-any-return]
    return frame.to_dict("records")  # type: ignore[no-any-return]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


def compare(expected: Rows, got: Rows, kpis: Sequence[str], what: str) -> None:
    """Stop unless ``got`` has the rows of ``expected`` and the same KPI values."""
    if expected.keys() != got.keys():
        only_e = sorted(expected.keys() - got.keys(), key=str)[:5]
        only_g = sorted(got.keys() - expected.keys(), key=str)[:5]
        raise SystemExit(f"{what}: different rows: only hand-written {only_e}, only {only_g}")
    bad = []
    for key, row in expected.items():
        for kpi in kpis:
            if kpi not in row:
                raise SystemExit(f"the hand-written query lacks KPI `{kpi}`")
            if kpi not in got[key]:
                raise SystemExit(f"{what} lacks KPI `{kpi}`")
            if not _same(row[kpi], got[key][kpi]):
                bad.append(f"{key} {kpi}: hand-written {row[kpi]!r}, {what} {got[key][kpi]!r}")
    if bad:
        raise SystemExit(f"{what}: {len(bad)} values differ, e.g.\n  " + "\n  ".join(bad[:10]))


# -- processes with their peak memory ---------------------------------------------------


@dataclass
class Proc:
    seconds: float
    max_rss_kib: int
    stdout: bytes


def run_process(argv: Sequence[str], *, keep_stdout: bool = False) -> Proc:
    """Run a whole process; its wall time and peak RSS; it must exit 0.

    Started through ``measure.py`` (see there), which times it and reports its peak RSS.
    """
    with tempfile.TemporaryDirectory(prefix="kpibench-out-") as tmp:
        out = Path(tmp) / "stdout"
        done = subprocess.run(
            [sys.executable, str(MEASURE), str(out) if keep_stdout else "-", "--", *argv],
            cwd=REPO,
            capture_output=True,
            check=False,
        )
        lines = done.stdout.decode().strip().splitlines()
        report = json.loads(lines[-1]) if done.returncode == 0 and lines else {}
        if report.get("returncode") != 0:
            raise SystemExit(
                f"{' '.join(argv[:3])} … failed: " + done.stderr.decode(errors="replace")[-2000:]
            )
        stdout = out.read_bytes() if keep_stdout else b""
        return Proc(report["seconds"], report["max_rss_kib"], stdout)


def process_times(argv: Sequence[str], repeat: int) -> tuple[float, list[float], int]:
    """Median wall time, every time, and the largest peak RSS (KiB) of ``repeat`` runs."""
    runs = [run_process(argv) for _ in range(repeat)]
    times = [r.seconds for r in runs]
    return statistics.median(times), times, max(r.max_rss_kib for r in runs)


# -- one catalogue at one size ----------------------------------------------------------


@dataclass
class Figures:
    catalogue: str
    size: int
    result_rows: int
    kpis: int
    api: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    pandas: list[float] = field(default_factory=list)
    polars: list[float] = field(default_factory=list)
    run: list[float] = field(default_factory=list)
    full: list[float] = field(default_factory=list)  # (a) with every rule of the catalogue
    full_rules: list[str] = field(default_factory=list)  # the left-out rules it adds
    run_rss_kib: int = 0  # peak RSS of (c)
    sql_rss_kib: int = 0  # peak RSS of (b) alone in a bare Python process
    heap_kib: int = 0  # peak of Python allocations during one (a) (tracemalloc)
    pandas_note: str = ""

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else math.nan

    @staticmethod
    def ratio(top: list[float], bottom: list[float]) -> float:
        """The median of the ratios of the runs of one round (measured side by side)."""
        pairs = [t / b for t, b in zip(top, bottom, strict=False) if b > 0]
        return statistics.median(pairs) if pairs else math.nan

    @staticmethod
    def diff(top: list[float], bottom: list[float]) -> float:
        """The median of the differences of the runs of one round."""
        pairs = [t - b for t, b in zip(top, bottom, strict=False)]
        return statistics.median(pairs) if pairs else math.nan


def catalogue_kpis(spec: Any, name: str) -> list[str]:
    return [n for n, k in spec.kpis.items() if Path(k.location.file).stem == name]


def run_argv(
    kpi: list[str],
    files: list[str],
    data: tiktok_data.Dataset,
    cat: reference.Catalogue,
    kpis: list[str],
) -> list[str]:
    argv = [*kpi, "run", *files]
    for source in data.files:
        argv += ["--source", f"{source}={data.uri(source)}"]
    argv += ["--grain", GRAIN]
    for dim in cat.by:
        argv += ["--by", dim]
    for name in kpis:
        argv += ["--kpi", name]
    return [*argv, "--format", "json"]


def pandas_fits(data: tiktok_data.Dataset, cat: reference.Catalogue) -> str:
    """Empty if pandas should fit in half the memory available now, else why it is left out.

    A guess, on the safe side: on a shared machine, running out of memory would hurt
    other processes too.
    """
    import psutil

    need = 1.5 * max(data.rows[r.big] * r.pandas_columns * 8 for r in cat.references)
    avail = psutil.virtual_memory().available
    if need > avail / 2:
        return (
            f"left out (would need about {need / 2**30:.0f} GiB of the"
            f" {avail / 2**30:.0f} GiB available)"
        )
    return ""


def bench_catalogue(
    timed: TimedSpec,
    data: tiktok_data.Dataset,
    cat: reference.Catalogue,
    repeat: int,
    *,
    pandas: bool,
    profile: bool,
) -> Figures:
    spec = timed.spec
    kpis = catalogue_kpis(spec, cat.name)
    if not kpis:
        raise SystemExit(f"{SPEC_DIR} has no {cat.name}.yaml KPIs")
    sources = {s: data.uri(s) for s in spec.sources if s in data.files}
    request = Request(grain=GRAIN, by=cat.by, kpis=tuple(kpis), sources=sources)
    refs = {r.table: r for r in cat.references}
    paths = dict(data.parquet)
    kpi = kpi_command()
    argv = run_argv(kpi, timed.files, data, cat, kpis)
    what = f"{cat.name} at {data.size:,} rows"
    # The left-out rules about this catalogue's KPIs: timed too, with the whole catalogue.
    full_rules = [r for r in timed.left_out if timed.full.rules[r].kpi in kpis]

    def api() -> Any:
        return kpiengine.evaluate(spec, request)

    def api_full() -> Any:
        return kpiengine.evaluate(timed.full, request)

    def hand_written() -> dict[str, list[dict[str, Any]]]:
        out = {}
        for ref in cat.references:
            con = duckdb.connect(str(data.files[ref.source]), read_only=True)
            try:
                out[ref.table] = sql_rows(con, ref.sql)
            finally:
                con.close()
        return out

    def with_pandas() -> dict[str, Any]:
        return {r.table: r.pandas(paths) for r in cat.references}

    def with_polars() -> dict[str, Any]:
        return {r.table: r.polars(paths) for r in cat.references}

    # -- correctness first: every path against the hand-written SQL
    log(f"{what}: checking")
    result = api()
    tables = {t.name: t for t in result.tables}
    if tables.keys() != refs.keys():
        raise SystemExit(f"{what}: evaluate gave tables {sorted(tables)}, expected {sorted(refs)}")
    expected = {
        name: keyed(rows, refs[name].keys, "hand-written SQL")
        for name, rows in hand_written().items()
    }
    printed = json.loads(run_process(argv, keep_stdout=True).stdout)
    printed_tables = {t["name"]: t for t in printed["tables"]}
    note = pandas_fits(data, cat) if pandas else "left out (--no-pandas)"
    frames = [("polars", with_polars())]
    if not note:
        frames.append(("pandas", with_pandas()))
    for name, table in tables.items():
        keys = refs[name].keys
        compare(
            expected[name], keyed(table.rows, keys, "evaluate"), [i.name for i in table.kpis], what
        )
        compare(
            expected[name],
            keyed(printed_tables[name]["rows"], keys, "kpi run"),
            [i.name for i in table.kpis],
            what + " (kpi run)",
        )
        for label, got in frames:
            compare(
                expected[name],
                keyed(frame_rows(got[name]), keys, label),
                [i.name for i in table.kpis],
                f"{what} ({label})",
            )
    if full_rules:  # the same KPIs with every rule of the catalogue
        for table in api_full().tables:
            compare(
                expected[table.name],
                keyed(table.rows, refs[table.name].keys, "evaluate (every rule)"),
                [i.name for i in table.kpis],
                what + " (every rule)",
            )
    figures = Figures(cat.name, data.size, sum(len(t.rows) for t in tables.values()), len(kpis))
    figures.pandas_note = note
    figures.full_rules = full_rules
    log(
        f"{what}: {figures.result_rows:,} rows x {len(kpis)} KPIs agree across evaluate, kpi run,"
        f" SQL, polars{'' if note else ', pandas'}"
    )
    if profile:
        print(profile_call(api, f"evaluate(): {what}"))

    # -- timing. (a) against (b) first, in rounds of their own, back to back: with pandas
    # (gigabytes allocated and freed) and a whole process between them, (a)/(b) swung
    # from 0.92x to 1.33x between runs of the same code (audience at 10 M rows), against
    # 1.04-1.07x timed back to back. Untimed first: the first calls after the check find
    # the caches cold.
    api()
    hand_written()
    for _ in range(repeat):
        figures.api.append(clock(api))
        figures.sql.append(clock(hand_written))
        if full_rules:
            figures.full.append(clock(api_full))
    # -- then the others, interleaved so that drift hits them alike
    for _ in range(repeat):
        figures.polars.append(clock(with_polars))
        if not note:
            figures.pandas.append(clock(with_pandas))
        proc = run_process(argv)
        figures.run.append(proc.seconds)
        figures.run_rss_kib = max(figures.run_rss_kib, proc.max_rss_kib)
    run_t = figures.med(figures.run)

    # -- memory: (b) alone in a process, and the Python heap of (a)
    bare = [[str(data.files[r.source]), r.sql] for r in cat.references]
    figures.sql_rss_kib = max(
        run_process([sys.executable, "-c", BARE_SQL, json.dumps(bare)]).max_rss_kib
        for _ in range(2)
    )
    tracemalloc.start()
    try:
        api()
        figures.heap_kib = tracemalloc.get_traced_memory()[1] // 1024
    finally:
        tracemalloc.stop()
    log(
        f"{what}: evaluate {figures.med(figures.api):.3f}s  SQL {figures.med(figures.sql):.3f}s"
        f"  polars {figures.med(figures.polars):.3f}s  pandas {figures.med(figures.pandas):.3f}s"
        f"  kpi run {run_t:.3f}s (peak RSS {_mib(figures.run_rss_kib)}; SQL alone"
        f" {_mib(figures.sql_rss_kib)}; Python heap of evaluate {_mib(figures.heap_kib)})"
    )
    return figures


# The hand-written queries alone: a bare process with the duckdb module only.
# Like evaluate, it keeps each database open until every query has run.
BARE_SQL = """\
import duckdb, json, sys
open_ = {}
for path, sql in json.loads(sys.argv[1]):
    con = open_.setdefault(path, duckdb.connect(path, read_only=True))
    con.execute(sql).fetchall()
for con in open_.values():
    con.close()
"""


def profile_call(fn: Callable[[], Any], title: str) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    out.write(f"==== profile of {title}\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


# -- compiling a large spec, and start-up -----------------------------------------------


@dataclass
class Timed:
    what: str
    median: float
    runs: list[float]
    target: str = ""
    rss_kib: int = 0


def bench_compile(repeat: int) -> tuple[list[Timed], str]:
    """`kpi validate` and `kpi explain` of the generated 1,000-KPI spec, and in-process."""
    from kpiengine.engine import check, explain, session

    kpi = kpi_command()
    with tempfile.TemporaryDirectory(prefix="kpibench-spec-") as tmp:
        folder = compile_spec.write(Path(tmp))
        spec = kpiengine.load_spec(folder)
        shape = (
            f"{len(spec.kpis):,} KPIs, {len(spec.datasets)} datasets, {len(spec.rules)} rules"
            f" in {len(spec.files)} files"
        )
        validate_argv = [*kpi, "validate", str(folder)]
        explain_argv = [*kpi, "explain", str(folder), "--dialect", "duckdb", "--grain", GRAIN]
        run_process(validate_argv)  # it must succeed (and warms the file cache)
        sql = run_process(explain_argv, keep_stdout=True).stdout.decode()
        tables = sql.count("-- table ")
        validate_t, validate_runs, _ = process_times(validate_argv, repeat)
        explain_t, explain_runs, _ = process_times(explain_argv, repeat)

        def load() -> Any:
            return kpiengine.load_spec(folder)

        def check_fresh() -> None:
            fresh = kpiengine.load_spec(folder)
            with session(fresh) as sess:
                check(sess)

        def compile_fresh() -> None:
            fresh = kpiengine.load_spec(folder)
            explain(fresh, Request(grain=GRAIN), dialect="duckdb")

        load_t, load_runs = median_time(load, repeat)
        check_t, check_runs = median_time(check_fresh, repeat)
        compile_t, compile_runs = median_time(compile_fresh, repeat)
    verdict = _verdict(explain_t < COMPILE_TARGET)
    figures = [
        Timed("`kpi validate` of the generated spec, whole process", validate_t, validate_runs),
        Timed(
            f"`kpi explain --dialect duckdb --grain {GRAIN}` of the generated spec, whole process"
            f" ({tables} statements, {len(sql) / 1024:.0f} KiB of SQL)",
            explain_t,
            explain_runs,
            f"< {COMPILE_TARGET:g} s {verdict}",
        ),
        Timed("in process: `load_spec` (read, validate YAML)", load_t, load_runs),
        Timed("in process: `load_spec` + check (parse, resolve, type-check)", check_t, check_runs),
        Timed(
            "in process: `load_spec` + `explain` (check, plan, build and compile SQL)",
            compile_t,
            compile_runs,
        ),
    ]
    return figures, shape


RUN_SAMPLE = ["run", SPEC_DIR, "--grain", GRAIN, "--format", "json"]

#: Prints, after a `kpi` command run in this process, the modules it imported from outside
#: the standard library and kpiengine (its plugins included), in the order of import.
MODULES_CODE = """\
import sys
sys.argv = ['kpi', *{argv!r}]
from kpiengine.cli import main
try:
    main()
except SystemExit:
    pass
own = lambda top: top.startswith('kpiengine') or top in sys.stdlib_module_names
names = [m for m in list(sys.modules) if m != '__main__' and not own(m.split('.')[0])]
print('MODULES:' + ','.join(names))
"""

#: Imports the given modules, in order, and nothing else (a module that cannot be
#: imported on its own, such as an alias another module registers, is skipped); then
#: leaves as `kpi` does, without the interpreter's teardown.
FLOOR_CODE = """\
import importlib, os
for name in {names!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass
os._exit(0)
"""


def third_party_modules(argv_tail: list[str]) -> list[str]:
    """The modules a `kpi` command imports from libraries (not kpiengine, not stdlib)."""
    done = subprocess.run(
        [sys.executable, "-c", MODULES_CODE.format(argv=argv_tail)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("MODULES:")]
    if not lines:
        raise SystemExit(f"could not list the modules of kpi {' '.join(argv_tail)}")
    return [m for m in lines[-1].removeprefix("MODULES:").split(",") if m]


def bench_floor(repeat: int) -> tuple[Timed, list[str]]:
    """A bare process importing the libraries' modules `kpi run` imports: the part of its
    start-up that is the libraries' own, whatever kpiengine does."""
    names = third_party_modules(RUN_SAMPLE)
    argv = [sys.executable, "-c", FLOOR_CODE.format(names=names)]
    run_process(argv)
    median, runs, rss = process_times(argv, repeat)
    tops = sorted({n.split(".")[0] for n in names if not n.startswith("_")})
    what = (
        f"a bare Python process importing the {len(names):,} library modules that"
        f" `kpi run {SPEC_DIR}` imports, and nothing else (from {len(tops)} packages)"
    )
    return Timed(what, median, runs, "", rss), tops


def bench_sample(repeat: int) -> list[Timed]:
    kpi = kpi_command()
    out = []
    for argv, what, target in (
        ([*kpi, "--help"], "`kpi --help`", HELP_TARGET),
        ([*kpi, "validate", SPEC_DIR], f"`kpi validate {SPEC_DIR}`", VALIDATE_TARGET),
        (
            [*kpi, *RUN_SAMPLE],
            f"`kpi run {SPEC_DIR} --grain {GRAIN} --format json` (sample data, every KPI)",
            None,
        ),
    ):
        run_process(argv)
        median, runs, rss = process_times(argv, repeat)
        text = "" if target is None else f"< {target:g} s {_verdict(median < target)}"
        out.append(Timed(what + ", whole process", median, runs, text, rss))
    return out


DRIVERS = ("sqlalchemy", "duckdb", "duckdb_engine", "psycopg", "psycopg2")


def imported_drivers(argv_tail: list[str]) -> list[str]:
    """Database modules a `kpi` command imports (help and validate should import none)."""
    imported = set(third_party_modules(argv_tail))
    return [m for m in DRIVERS if m in imported]


# -- the report -------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "(met)" if ok else "(**not met**)"


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def _spread(runs: list[float]) -> str:
    return f"{seconds(min(runs))} – {seconds(max(runs))}" if runs else ""


def catalogue_table(rows: list[Figures]) -> str:
    head = (
        "| rows | result rows | (a) evaluate | (b) hand-written SQL | (a)/(b) | (c) kpi run"
        " | (c)−(a) | pandas | pandas/(a) | polars | polars/(a) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for f in rows:
        a, b, c = f.med(f.api), f.med(f.sql), f.med(f.run)
        pandas = f.med(f.pandas)
        pandas_cells = (
            f"{seconds(pandas)} | {f.ratio(f.pandas, f.api):.1f}×"
            if f.pandas
            else f"{f.pandas_note} | –"
        )
        polars = f.med(f.polars)
        lines.append(
            f"| {f.size / 1e6:g} M | {f.result_rows:,} | {seconds(a)} | {seconds(b)}"
            f" | {f.ratio(f.api, f.sql):.2f}× | {seconds(c)} | {seconds(f.diff(f.run, f.api))}"
            f" | {pandas_cells} | {seconds(polars)} | {f.ratio(f.polars, f.api):.1f}× |"
        )
    return "\n".join(lines)


def left_out_table(rows: list[Figures], left_out: dict[str, str]) -> str:
    """(a) against (a) with the rules left out of the timed spec, where they apply."""
    timed = [f for f in rows if f.full]
    if not timed:
        return ""
    lines = [
        "### Rules left out: what a period-over-period rule costs",
        "",
        "(a) with the whole catalogue, the left-out rules included, measured in the same"
        " rounds; the KPI values were checked against the hand-written SQL as above.",
        "",
        "| catalogue | rows | rules added | (a) evaluate | (a) with them | ratio |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for f in timed:
        lines.append(
            f"| {f.catalogue} | {f.size / 1e6:g} M | {', '.join(f'`{r}`' for r in f.full_rules)}"
            f" | {seconds(f.med(f.api))} | {seconds(f.med(f.full))}"
            f" | {f.ratio(f.full, f.api):.2f}× |"
        )
    return "\n".join(lines) + "\n\n"


def memory_table(rows: list[Figures]) -> str:
    lines = [
        "| catalogue | rows | peak RSS of (c) kpi run | peak RSS of (b) alone | (c) − (b)"
        " | Python heap peak of (a) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in rows:
        lines.append(
            f"| {f.catalogue} | {f.size / 1e6:g} M | {_mib(f.run_rss_kib)} | {_mib(f.sql_rss_kib)}"
            f" | {_mib(f.run_rss_kib - f.sql_rss_kib)} | {f.heap_kib / 1024:.1f} MiB |"
        )
    return "\n".join(lines)


def spread_table(rows: list[Figures]) -> str:
    lines = [
        "| catalogue | rows | (a) min – max | (b) min – max | (c) min – max | pandas min – max"
        " | polars min – max |",
        "|---|---:|---|---|---|---|---|",
    ]
    for f in rows:
        lines.append(
            f"| {f.catalogue} | {f.size / 1e6:g} M | {_spread(f.api)} | {_spread(f.sql)}"
            f" | {_spread(f.run)} | {_spread(f.pandas)} | {_spread(f.polars)} |"
        )
    return "\n".join(lines)


def targets(
    figures: list[Figures],
    compiled: list[Timed],
    sample: list[Timed],
    floor: Timed,
    drivers: dict[str, list[str]],
) -> str:
    lines = ["| target | figure | |", "|---|---|---|"]
    by = {(f.catalogue, f.size): f for f in figures}
    sizes = sorted({f.size for f in figures})
    at = TARGET_SIZE * 1_000_000
    for cat in ("paid", "organic", "audience"):
        f = by.get((cat, at))
        if f is None:
            continue
        a, b = f.med(f.api), f.med(f.sql)
        ab, ca = f.ratio(f.api, f.sql), f.diff(f.run, f.api)
        lines.append(
            f"| {cat}: evaluate within {API_TARGET}× of the hand-written SQL at"
            f" {TARGET_SIZE} M rows | {ab:.2f}× ({seconds(a)} against {seconds(b)})"
            f" | {_verdict(ab <= API_TARGET)} |"
        )
        lines.append(
            f"| {cat}: `kpi run` adds at most {RUN_TARGET} s to evaluate at {TARGET_SIZE} M rows"
            f" | +{seconds(ca)} | {_verdict(ca <= RUN_TARGET)} |"
        )
        if f.pandas:
            pa = f.ratio(f.pandas, f.api)
            lines.append(
                f"| {cat}: at least {PANDAS_TARGET:g}× faster than pandas at {TARGET_SIZE} M rows"
                f" | {pa:.1f}× ({seconds(f.med(f.pandas))}) | {_verdict(pa >= PANDAS_TARGET)} |"
            )
    if any(f.size == at for f in figures):
        lines.append(
            "| for comparison, no target: the libraries' own share of that start-up, a bare"
            " process importing only the library modules `kpi run` imports (see *Start-up*)"
            f" | {seconds(floor.median)} | |"
        )
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        for cat in ("paid", "organic", "audience"):
            f_lo, f_hi = by.get((cat, lo)), by.get((cat, hi))
            if f_lo is None or f_hi is None:
                continue
            growth = f_hi.med(f_hi.api) / f_lo.med(f_lo.api)
            lines.append(
                f"| {cat}: evaluate time grows no faster than the rows from {lo / 1e6:g} M to"
                f" {hi / 1e6:g} M ({hi / lo:g}× the rows) | {growth:.1f}× the time"
                f" | {_verdict(growth <= hi / lo)} |"
            )
            own_lo = f_lo.run_rss_kib - f_lo.sql_rss_kib
            own_hi = f_hi.run_rss_kib - f_hi.sql_rss_kib
            flat = own_hi <= own_lo * 1.10 + 16 * 1024
            lines.append(
                f"| {cat}: peak RSS of `kpi run` beyond the hand-written query's own does not"
                f" grow with the rows (within 10 % + 16 MiB) | {_mib(own_lo)} at {lo / 1e6:g} M,"
                f" {_mib(own_hi)} at {hi / 1e6:g} M | {_verdict(flat)} |"
            )
            heap_flat = f_hi.heap_kib <= f_lo.heap_kib * 1.10 + 1024
            lines.append(
                f"| {cat}: Python heap peak of evaluate does not grow with the rows (within"
                f" 10 % + 1 MiB) | {f_lo.heap_kib / 1024:.1f} MiB at {lo / 1e6:g} M,"
                f" {f_hi.heap_kib / 1024:.1f} MiB at {hi / 1e6:g} M | {_verdict(heap_flat)} |"
            )
    for t in [*compiled, *sample]:
        if t.target:
            lines.append(
                f"| {t.what}: {t.target.split(' (')[0]} | {seconds(t.median)}"
                f" | ({t.target.split(' (', 1)[1]} |"
            )
    for command, mods in drivers.items():
        lines.append(
            f"| `kpi {command}` imports no database driver | "
            f"{'none imported' if not mods else 'imports ' + ', '.join(mods)}"
            f" | {_verdict(not mods)} |"
        )
    return "\n".join(lines)


def timed_table(rows: list[Timed], rss: bool = False) -> str:
    head = "| what | median | min – max | target |" + (" peak RSS |" if rss else "")
    sep = "|---|---:|---|---|" + ("---:|" if rss else "")
    lines = [head, sep]
    for t in rows:
        extra = f" {_mib(t.rss_kib)} |" if rss else ""
        lines.append(
            f"| {t.what} | {seconds(t.median)} | {_spread(t.runs)} ({len(t.runs)} runs)"
            f" | {t.target} |{extra}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1,10,50", help="millions of paid rows, comma-separated (1,10,50)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (5)")
    parser.add_argument(
        "--cache", type=Path, default=None, help="data cache (default: <tmp>/kpiengine-bench)"
    )
    parser.add_argument("--no-pandas", action="store_true", help="leave pandas out")
    parser.add_argument(
        "--only", default="paid,organic,audience", help="catalogues to run (paid,organic,audience)"
    )
    parser.add_argument("--no-write", action="store_true", help="print, leave docs/ alone")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of evaluate()")
    args = parser.parse_args(argv)
    try:
        sizes = [int(float(s) * 1_000_000) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes wants numbers of millions, e.g. 1,10,50")
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        parser.error("--sizes and --repeat must be positive")
    wanted = [c for c in args.only.split(",") if c]
    catalogues = [c for c in reference.CATALOGUES if c.name in wanted]
    if len(catalogues) != len(wanted):
        parser.error(f"--only: known catalogues are {[c.name for c in reference.CATALOGUES]}")

    started = time.perf_counter()
    machine = machine_table()  # before the work: its load average is the machine's own
    speed = [speed_probe()]
    byte_compile()
    with tempfile.TemporaryDirectory(prefix="kpibench-spec-") as tmp:
        timed = timed_spec(Path(tmp))
        figures: list[Figures] = []
        built: list[tuple[int, float, dict[str, int]]] = []
        for size in sizes:
            log(f"data: {size:,} rows")
            data = tiktok_data.build(timed.full, size, args.cache, log=log)
            built.append((size, tiktok_data.build_time(data), data.rows))
            for cat in catalogues:
                figures.append(
                    bench_catalogue(
                        timed,
                        data,
                        cat,
                        args.repeat,
                        pandas=not args.no_pandas,
                        profile=args.profile,
                    )
                )
        files = [Path(f).name for f in timed.files]
        left_out = {r: timed.full.rules[r].when.text for r in timed.left_out}
    log("compile: 1,000 KPIs")
    compiled, shape = bench_compile(args.repeat)
    log("start-up: --help, validate, run on the sample data")
    sample = bench_sample(max(args.repeat, 5))
    floor, floor_packages = bench_floor(max(args.repeat, 5))
    drivers = {c: imported_drivers(c.split()) for c in ("--help", f"validate {SPEC_DIR}")}
    load_end = (
        Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    )
    speed.append(speed_probe())
    total = time.perf_counter() - started
    body = report(
        args,
        machine,
        load_end,
        speed,
        total,
        figures,
        built,
        compiled,
        shape,
        sample,
        floor,
        floor_packages,
        drivers,
        files,
        left_out,
    )
    if args.no_write:
        print(body)
    else:
        write_section("suite", body)
        log("wrote the bench:suite section of docs/performance.md")
    log(f"done in {total:.0f} s")
    return 0


def speed_probe() -> float:
    """Seconds a fixed pure-Python loop takes (median of 5): how fast the CPU is right now.

    A shared virtual machine's speed varies with its neighbours; this says by how much
    between runs, for the interpreter-bound figures (start-up above all).
    """

    def loop() -> None:
        total = 0
        for i in range(1_000_000):
            total += i

    return median_time(loop, 5)[0]


def report(
    args: argparse.Namespace,
    machine: str,
    load_end: str,
    speed: list[float],
    total: float,
    figures: list[Figures],
    built: list[tuple[int, float, dict[str, int]]],
    compiled: list[Timed],
    shape: str,
    sample: list[Timed],
    floor: Timed,
    floor_packages: list[str],
    drivers: dict[str, list[str]],
    files: list[str],
    left_out: dict[str, str],
) -> str:
    command = f"python bench/suite.py --sizes {args.sizes} --repeat {args.repeat}"
    if args.no_pandas:
        command += " --no-pandas"
    if args.only != "paid,organic,audience":
        command += f" --only {args.only}"
    data_lines = [
        "| size | paid_daily | paid_audience | organic_daily, viewers_daily, videos,"
        " follower_activity (each) | followers_daily | rows the organic catalogue reads"
        " | built in |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, build_s, rows in built:
        organic_reads = sum(rows.get(t, 0) for t in ORGANIC_TABLES)
        data_lines.append(
            f"| {size / 1e6:g} M | {rows.get('paid_daily', 0):,} | {rows.get('paid_audience', 0):,}"
            f" | {rows.get('organic_daily', 0):,} | {rows.get('followers_daily', 0):,}"
            f" | {organic_reads:,} | {seconds(build_s)} |"
        )
    rules_text = ", ".join(f"`{name}` (`{when}`)" for name, when in left_out.items())
    left_out_text = (
        f" Rules that compare a period with the one before are left out of the timed spec"
        f" (read from a copy of the file that holds them, without them): {rules_text}. Such"
        " a rule makes kpiengine join the table's KPIs with themselves one period back"
        " (without a date range, as here; with one it reads the datasets a second time,"
        " for the earlier window: see docs/sql.md), which the hand-written versions do not"
        " compute; what it costs is shown below (*Rules left out*)."
        if left_out
        else ""
    )
    sections = []
    for cat in ("paid", "organic", "audience"):
        rows = [f for f in figures if f.catalogue == cat]
        if not rows:
            continue
        ref = next(c for c in reference.CATALOGUES if c.name == cat)
        tables = ", ".join(f"`{r.table}`" for r in ref.references)
        sections.append(
            f"### {cat}.yaml: {rows[0].kpis} KPIs by week and campaign (result tables {tables})"
            f"\n\n{catalogue_table(rows)}"
        )
    pandas_out = [
        f"{f.catalogue} at {f.size / 1e6:g} M {f.pandas_note.removeprefix('left out ')}"
        for f in figures
        if f.pandas_note
    ]
    pandas_text = (
        " pandas was left out (`--no-pandas`)."
        if args.no_pandas
        else " pandas was left out where its frames would take more than half the memory"
        " available (a shared machine): " + "; ".join(pandas_out) + "."
        if pandas_out
        else ""
    )
    probe = f"{seconds(speed[0])}, {seconds(speed[-1])}"
    rounds = f"{args.repeat} round{'s' if args.repeat > 1 else ''}"
    return f"""\
## The benchmark suite: the catalogues against hand-written SQL, pandas and polars

Written by `{command}` in {total / 60:.0f} minutes (see `bench/README.md`).

**Data.** Deterministic TikTok-shaped data built with DuckDB SQL (`bench/tiktok_data.py`)
into one DuckDB file per spec source, with the columns `specs/tiktok/sources.yaml`
declares, and the same tables as Parquet for pandas and polars; two years of days
(2024-07-01 .. 2026-06-30), 50 campaigns. `paid_daily` has one row per ad per day,
`paid_audience` one row per campaign, ad group, day and audience segment (26 segments
from three reports: age × gender, country, interest category); the organic tables have
a third as many rows each (their days spread over many rows, as they have no breakdown
dimension), so that the organic catalogue, which reads three of them and the follower
count (one row per day), reads as many rows as the size says; the follower shares have a
few rows each.

{chr(10).join(data_lines)}

**Requests.** The spec is the catalogue: {", ".join(f"`{f}`" for f in files)}
of `specs/tiktok` (not `report.yaml`, whose comparisons and segment rankings add
tables and queries of their own). For each KPI file (paid.yaml, organic.yaml, audience.yaml),
all of its KPIs (and the rules on them) at grain week by campaign, the spec's sources
rebound to the DuckDB files (KPIs whose datasets have no campaign come in a table by
week only, as the engine decides). (a) and (c) also compute the rules' flags, in the same
statement (a `CASE` per rule); the hand-written versions compute the KPIs only.{left_out_text}
For each size and catalogue, before any timing, the rows of
**(a)** `kpiengine.evaluate`, of the JSON printed by **(c)** `kpi run … --format json`,
of **pandas** and of **polars** were checked against **(b)** the hand-written DuckDB SQL
of `bench/reference.py` (one query per result table: the audience catalogue reads both
sources, so two queries): the same rows and every KPI equal within a relative tolerance
of {REL_TOL:g}. Then {rounds} of (a) and (b) back to back in this process, after an
untimed call of each (with pandas and a whole process between them, as a first version
of the suite timed them, (a)/(b) swung from 0.92× to 1.33× between runs of the same
code); then {rounds} of polars, pandas and (c) as a whole process, one after the other.
The calls in this process are timed as `timeit` times, the cyclic garbage collector run
before each and paused during it (a full collection of this process, which holds pandas,
polars and pyarrow, takes about 45 ms, and lands on whichever call crosses the
collector's threshold). (b) connects read-only, queries, fetches every row and closes,
as (a) does; pandas (through pyarrow) and polars read the columns they need from Parquet
and compute. (c) is a whole process (interpreter start-up, imports, spec loading,
evaluation, JSON rendering), its peak RSS the child's
`ru_maxrss`.{pandas_text} Times are medians (min – max below); ratios and (c)−(a) are
the medians of the ratios and differences of the i-th runs of each, which a busy machine
disturbs less than the times themselves.

{machine}
| load average (1 min) at the end | {load_end} |
| CPU speed probe (a pure-Python loop of 10⁶ additions) at the start, at the end | {probe} |

### Targets

{targets(figures, compiled, sample, floor, drivers)}

{chr(10).join(s + chr(10) for s in sections)}
{left_out_table(figures, left_out)}### Memory

The peak RSS of a whole `kpi run` grows with the rows because DuckDB keeps the table
blocks it has read in its buffer pool (up to its memory limit, 80 % of RAM by
default): the hand-written query alone, in a bare Python process with only the duckdb
module, grows the same way. What kpiengine adds on top (interpreter, imports, the
result rows) is the difference (c) − (b); the Python side is also measured directly as
the peak of Python allocations during one `evaluate` (tracemalloc). The targets above
say whether these stay flat.

{memory_table(figures)}

### Spread of the timed runs

{spread_table(figures)}

### Compiling a generated spec: {shape}

Generated by `bench/compile_spec.py`: 50 KPIs per dataset (sums, ratios, filtered sums,
avg/min/max/count/count_distinct, `if`/`coalesce`, arithmetic over KPIs, a KPI over
another dataset's) and a rule each; columns declared, so no database is opened.

{timed_table(compiled)}

### Start-up: whole processes on the sample data

{timed_table([*sample, floor], rss=True)}

The last line is the floor of any `kpi run` on this machine: the modules it imports
from its libraries ({", ".join(floor_packages)}), imported by a bare process that
does nothing else (and ends as `kpi` does, with `os._exit`). What a `kpi run` adds to
`evaluate` beyond that is kpiengine's own start-up (plugin discovery, the spec models,
loading and checking the spec), the first query's one-off costs and the rendering of
the output.
"""


if __name__ == "__main__":
    sys.exit(main())
