"""The ``kpi`` command as a user runs it: exit codes, messages, no tracebacks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tiktok"
DATA = SPEC / "data"


def kpi(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("KPI_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def assert_user_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path / "data")
    return tmp_path


def write_spec(workdir: Path, kpis: str, extra: str = "") -> Path:
    spec = workdir / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            sources:
              main: csv:data
            datasets:
              paid:
                source: main
                table: paid_daily
                time: date
                dimensions: [campaign, ad]
            kpis:
            """
        )
        + textwrap.indent(textwrap.dedent(kpis), "  ")
        + extra,
        encoding="utf-8",
    )
    return spec


# -- spec errors: file:line:col, caret, near miss, exit 2 ---------------------------------


def test_typo_in_a_column_name(workdir: Path) -> None:
    spec = write_spec(workdir, "clicks: sum(clikcs)\n")
    proc = kpi("validate", str(spec))
    assert_user_error(
        proc, "spec.yaml:10:15: error: unknown column `clikcs`", "did you mean `clicks`"
    )
    lines = proc.stderr.splitlines()
    assert lines[1].strip() == "clicks: sum(clikcs)"
    assert lines[2].index("^") == lines[1].index("clikcs")


def test_unknown_key(workdir: Path) -> None:
    spec = write_spec(workdir, "ctr:\n  expr: sum(clicks) / sum(impressions)\n  lable: CTR\n")
    proc = kpi("run", str(spec))
    assert_user_error(proc, "spec.yaml:12:5: error: unknown key `lable`", "did you mean `label`?")


def test_syntax_error_in_an_expression(workdir: Path) -> None:
    spec = write_spec(workdir, "ctr: sum(clicks) / / sum(impressions)\n")
    proc = kpi("run", str(spec))
    assert_user_error(proc, "spec.yaml:10:22: error: unexpected '/'")
    assert "^" in proc.stderr


def test_cycle_between_kpis(workdir: Path) -> None:
    spec = write_spec(workdir, "a: b + sum(clicks)\nb: a * 2\n")
    proc = kpi("validate", str(spec))
    assert_user_error(proc, "spec.yaml:10:6: error: KPI reference cycle: `a` → `b` → `a`")


def test_nested_aggregate(workdir: Path) -> None:
    spec = write_spec(workdir, "x: sum(sum(spend))\n")
    proc = kpi("validate", str(spec))
    assert_user_error(proc, "spec.yaml:10:10: error: aggregate sum() inside aggregate sum()")


def test_type_mismatch(workdir: Path) -> None:
    spec = write_spec(workdir, "x: sum(campaign)\n")
    proc = kpi("validate", str(spec))
    assert_user_error(proc, "spec.yaml:10:10: error: sum() needs a number, not a text")


def test_every_problem_is_reported_at_once(workdir: Path) -> None:
    spec = write_spec(workdir, "a: sum(clikcs)\nb: sum(spend) +\nc: d\n")
    proc = kpi("validate", str(spec))
    assert_user_error(proc, "spec.yaml:10:", "spec.yaml:11:", "spec.yaml:12:")


def test_invalid_yaml(workdir: Path) -> None:
    spec = workdir / "spec.yaml"
    spec.write_text("kpis:\n  a: [1, 2\n", encoding="utf-8")
    assert_user_error(kpi("validate", str(spec)), "spec.yaml:3:1: error: invalid YAML")


def test_missing_spec_file(workdir: Path) -> None:
    assert_user_error(kpi("run", str(workdir / "nope.yaml")), "spec not found")


# -- request errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--grain", "weekly"], "unknown grain `weekly`"),
        (["--from", "2026-13-01"], "--from: `2026-13-01` is not a date"),
        (["--from", "2026-09-01", "--to", "2026-08-01"], "is after --to"),
        (["--by", "campaing"], "did you mean `campaign`?"),
        (["--kpi", "ctrr"], "unknown KPI `ctrr`"),
        (["--format", "jsn"], "unknown output format `jsn`"),
        (["--where", "campain = 'x'"], "<--where>:1:1: error: unknown column `campain`"),
        (["--where", "campaign = "], "<--where>:1:"),
        (["--source", "nosuch=csv:data"], "unknown source `nosuch`"),
        (["--source", "organic=csv:does/not/exist"], "file or folder not found"),
        (["--source", "paid=ftp://example/x"], "no SQLAlchemy dialect"),
        (["--by", "period"], "--by: no dataset has dimension `period`"),
        (["--where", "date > 'August'"], "`August` is not a date"),
        (["--compare", "year"], "--compare year with grain total needs --from and --to"),
    ],
)
def test_request_errors(args: list[str], needle: str) -> None:
    assert_user_error(kpi("run", "specs/tiktok", *args), needle)


def test_unreachable_database_does_not_leak_the_password() -> None:
    url = "postgresql+psycopg://analyst:s3cr3t-pw@127.0.0.1:9/tiktok"
    proc = kpi("run", "specs/tiktok", "--source", f"paid={url}")
    assert_user_error(proc, "analyst:***@127.0.0.1:9/tiktok")
    assert "s3cr3t-pw" not in proc.stderr + proc.stdout


# -- injection: literals are bound parameters, data is untouched ------------------------------


@pytest.fixture
def sqlite_copy(tmp_path: Path) -> Path:
    db = tmp_path / "tiktok.db"
    con = sqlite3.connect(db)
    import csv

    for path in sorted(DATA.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        header = rows[0]
        cols = ", ".join(f'"{c}"' for c in header)
        con.execute(f'CREATE TABLE "{path.stem}" ({cols})')
        marks = ", ".join("?" for _ in header)
        con.executemany(
            f'INSERT INTO "{path.stem}" VALUES ({marks})',
            [[_num(v) for v in r] for r in rows[1:]],
        )
    con.commit()
    con.close()
    return db


def _num(v: str) -> object:
    if v == "":
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_injection_through_where_is_a_plain_string(sqlite_copy: Path) -> None:
    before = _digest(sqlite_copy)
    hostile = "campaign = 'x''; DROP TABLE paid_daily; --'"
    proc = kpi(
        "run",
        "specs/tiktok",
        "--source",
        f"paid=sqlite:///{sqlite_copy}",
        "--where",
        hostile,
        "--kpi",
        "clicks",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    paid = next(t for t in out["tables"] if t["category"] == "paid")
    assert paid["rows"][0]["clicks"] is None  # nothing matches that campaign name
    assert _digest(sqlite_copy) == before
    con = sqlite3.connect(sqlite_copy)
    assert con.execute("SELECT count(*) FROM paid_daily").fetchone()[0] > 0
    con.close()


def test_injection_through_a_kpi_expression(tmp_path: Path, sqlite_copy: Path) -> None:
    before = _digest(sqlite_copy)
    spec = tmp_path / "hostile.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""\
            sources:
              db: sqlite:///{sqlite_copy}
            datasets:
              paid:
                source: db
                table: paid_daily
                time: date
                dimensions: [ad]
            kpis:
              odd: "count(* where ad = '''; DROP TABLE paid_daily; --')"
              quoted: "sum(clicks where ad = 'Créateur''s cut')"
            """
        ),
        encoding="utf-8",
    )
    explained = kpi("explain", str(spec))
    assert explained.returncode == 0, explained.stderr
    assert "DROP TABLE" not in explained.stdout.split("-- parameters:")[0]
    proc = kpi("run", str(spec), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["tables"][0]["rows"][0]
    assert row["odd"] == 0
    con = sqlite3.connect(sqlite_copy)
    expected = con.execute(
        "SELECT sum(clicks) FROM paid_daily WHERE ad = ?", ("Créateur's cut",)
    ).fetchone()[0]
    con.close()
    assert expected
    assert row["quoted"] == expected
    assert _digest(sqlite_copy) == before


def test_identifiers_come_from_known_columns(workdir: Path) -> None:
    spec = write_spec(workdir, 'x: "sum(\\"clicks\\")"\n')
    # A string is a value, never an identifier: summing text is a type error.
    assert_user_error(kpi("validate", str(spec)), "sum() needs a number, not a text")
    proc = kpi("run", str(SPEC), "--by", "campaign; DROP TABLE paid_daily")
    assert_user_error(proc, "--by: no dataset has dimension")


# -- outputs, exit codes ------------------------------------------------------------------------


def test_fail_on(tmp_path: Path) -> None:
    proc = kpi("run", "specs/tiktok", "--grain", "week", "--by", "campaign", "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["findings"]
    assert (
        kpi(
            "run", "specs/tiktok", "--grain", "week", "--by", "campaign", "--fail-on", "warn"
        ).returncode
        == 1
    )
    assert (
        kpi(
            "run", "specs/tiktok", "--grain", "week", "--by", "campaign", "--fail-on", "error"
        ).returncode
        == 0
    )


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    proc = kpi("run", "specs/tiktok", "--format", "json", "--output", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["spec"] == "tiktok"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary left behind


def test_output_to_a_missing_folder(tmp_path: Path) -> None:
    proc = kpi("run", "specs/tiktok", "--output", str(tmp_path / "no" / "out.txt"))
    assert_user_error(proc, "does not exist")


def test_csv_output_has_a_row_per_period() -> None:
    proc = kpi("run", "specs/tiktok", "--grain", "month", "--kpi", "spend", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 + 3  # header, July to September


def test_list_and_validate_and_schema() -> None:
    listed = kpi("list", "specs/tiktok", "--format", "json")
    assert listed.returncode == 0
    names = {k["name"] for k in json.loads(listed.stdout)}
    assert {"ctr", "cpc", "cpa", "roas", "organic_engagement_rate"} <= names
    ok = kpi("validate", "specs/tiktok")
    assert ok.returncode == 0
    assert "ok" in ok.stdout
    schema = json.loads(kpi("schema").stdout)
    assert {"sources", "datasets", "kpis", "rules"} <= set(schema["properties"])


def test_schema_accepts_the_shipped_spec_and_rejects_a_typo() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads(kpi("schema").stdout)
    for path in sorted(SPEC.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kpis": {"x": {"expr": "1", "lable": "X"}}}, schema)


def test_explain_shows_sql_with_bound_parameters() -> None:
    proc = kpi("explain", "specs/tiktok", "--where", "campaign = 'Summer Sale'", "--kpi", "ctr")
    assert proc.returncode == 0, proc.stderr
    assert "-- table paid: datasets paid_daily" in proc.stdout
    assert "Summer Sale" not in proc.stdout.split("-- parameters:")[0]
    assert '"Summer Sale"' in proc.stdout.split("-- parameters:")[1]


def _imported_by(argv: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` the ``kpi`` command ``argv`` imports (it must exit 0)."""
    code = (
        f"import sys; sys.argv = ['kpi', *{argv!r}];\n"
        "from kpiengine.cli import main\ntry:\n    main()\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"bad = [m for m in {modules!r} if m in sys.modules]\nprint('IMPORTED:' + ','.join(bad))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    names = proc.stdout.strip().splitlines()[-1].removeprefix("IMPORTED:")
    return [m for m in names.split(",") if m]


DRIVERS = ("sqlalchemy", "duckdb", "duckdb_engine", "psycopg", "psycopg2", "pyhive")


def test_help_is_fast_enough_to_not_import_drivers() -> None:
    assert _imported_by(["--help"], (*DRIVERS, "lark", "pydantic")) == []


def test_validate_imports_no_database_driver() -> None:
    # The shipped spec declares its columns: checking it needs no database.
    assert _imported_by(["validate", "specs/tiktok"], DRIVERS) == []


def test_compare_previous_uses_data_before_the_range() -> None:
    proc = kpi(
        "run",
        "specs/tiktok",
        "--grain",
        "month",
        "--kpi",
        "clicks",
        "--from",
        "2026-08-01",
        "--compare",
        "previous",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["compare"] == "previous"
    monthly = {}
    import csv

    with (DATA / "paid_daily.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            monthly[r["date"][:7]] = monthly.get(r["date"][:7], 0) + int(r["clicks"])
    august = next(c for c in out["comparisons"] if c["period"] == "2026-08-01")
    assert august["earlier_period"] == "2026-07-01"
    assert august["earlier"] == monthly["2026-07"]  # July lies before --from
    assert august["value"] == monthly["2026-08"]
    assert august["change"] == monthly["2026-08"] - monthly["2026-07"]
    assert august["relative_change"] == pytest.approx(
        (monthly["2026-08"] - monthly["2026-07"]) / monthly["2026-07"]
    )


def test_compare_errors() -> None:
    assert_user_error(kpi("run", "specs/tiktok", "--compare", "previous"), "needs --from and --to")
    assert_user_error(
        kpi("run", "specs/tiktok", "--grain", "week", "--compare", "lastyear"),
        "--compare wants previous or year",
    )


def test_dimensions_must_not_clash_with_output_keys(workdir: Path) -> None:
    spec = write_spec(workdir, "clicks: sum(clicks)\n").read_text(encoding="utf-8")
    clash = workdir / "clash.yaml"
    clash.write_text(spec.replace("[campaign, ad]", "[campaign, level]"), encoding="utf-8")
    assert_user_error(kpi("validate", str(clash)), "dimension `level` would clash")


def test_explain_for_a_dialect_does_not_open_sources(tmp_path: Path) -> None:
    spec = tmp_path / "remote.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            sources:
              wh: postgresql+psycopg://analyst:pw@127.0.0.1:9/warehouse
            datasets:
              paid:
                source: wh
                table: marketing.paid_daily
                time: date
                columns: {date: date, clicks: number, impressions: number}
            kpis:
              ctr: sum(clicks) / sum(impressions)
            """
        ),
        encoding="utf-8",
    )
    proc = kpi("explain", str(spec), "--dialect", "postgresql", "--grain", "month")
    assert proc.returncode == 0, proc.stderr
    assert "FROM marketing.paid_daily" in proc.stdout
    assert "date_trunc('month'" in proc.stdout
    # Without --dialect the source's own dialect is used; compiling still needs no connection.
    own = kpi("explain", str(spec))
    assert own.returncode == 0, own.stderr
    assert "pw@" not in own.stdout + own.stderr


def test_a_secret_in_a_spec_line_is_not_shown(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "sources:\n"
        "  db: sqlite:///missing.db?password=topsecret42\n"
        "datasets:\n  paid: {source: db, table: t, time: date, columns: {date: date, c: number}}\n"
        "kpis:\n  c: sum(c)\n",
        encoding="utf-8",
    )
    proc = kpi("run", str(spec))
    assert_user_error(proc, "database file not found", "s.yaml:2:")
    assert "password=***" in proc.stderr
    assert "topsecret42" not in proc.stderr + proc.stdout


def test_output_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    old = os.umask(0o022)
    try:
        assert kpi("run", "specs/tiktok", "--format", "json", "-o", str(target)).returncode == 0
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o640)  # an existing file keeps its mode
    assert kpi("run", "specs/tiktok", "--format", "json", "-o", str(target)).returncode == 0
    assert target.stat().st_mode & 0o777 == 0o640


QUICK_EXIT = """\
import atexit, sys, threading, time
from pathlib import Path

out = Path(sys.argv[1])
atexit.register(lambda: (out / "atexit").write_text("ran"))
if sys.argv[2] == "thread":  # still working when the command is done
    def work() -> None:
        time.sleep(0.5)
        (out / "thread").write_text("done")
    threading.Thread(target=work).start()
sys.argv = ["kpi", *sys.argv[3:]]
print("before", flush=False)
from kpiengine.cli import entry
entry()
"""


@pytest.mark.parametrize(
    ("argv", "code"), [(["validate", "specs/tiktok"], 0), (["validate", "specs/nope"], 2)]
)
@pytest.mark.parametrize("thread", ["thread", "no-thread"])
def test_the_command_skips_the_teardown_but_not_the_exit_handlers(
    tmp_path: Path, argv: list[str], code: int, thread: str
) -> None:
    # `kpi` ends with os._exit once it is done (the interpreter's teardown is slow):
    # its exit status, buffered output, exit handlers and other threads' work survive.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered
    proc = subprocess.run(
        [sys.executable, "-c", QUICK_EXIT, str(tmp_path), thread, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith("before\n")
    assert (tmp_path / "atexit").read_text() == "ran"
    if thread == "thread":
        assert (tmp_path / "thread").read_text() == "done"
    if code == 0:
        assert "tiktok: ok" in proc.stdout
    else:
        assert "spec not found" in proc.stderr


@pytest.mark.parametrize("stderr", ["its own pipe", "the same pipe"])
@pytest.mark.parametrize("fail_on", [[], ["--fail-on", "warn"]])
def test_a_reader_gone_before_the_output_is_written_is_not_taken_for_findings(
    stderr: str, fail_on: list[str]
) -> None:
    # `kpi run … | head`, head gone before kpi writes: status 141 (a shell's for a command
    # a closed pipe stops), not 1 (findings), and no traceback.
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KPI_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpiengine", "run", str(SPEC), "--grain", "day", *fail_on],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr == "its own pipe" else subprocess.STDOUT,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone
    errors = proc.stderr.read().decode() if proc.stderr is not None else ""
    if proc.stderr is not None:
        proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in errors
