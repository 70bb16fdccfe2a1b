"""Hostile inputs: each file in tests/hostile/ is a case with an asserted outcome.

A case runs the ``kpi`` command (in this process, through its real entry point
``kpiengine.cli.main``) against a data set full of quotes, semicolons, control
characters and SQL, loaded into CSV files, SQLite, DuckDB and PostgreSQL, each with
a ``victim`` table that injection attempts name. Whatever the case, the data must be
byte-for-byte unchanged afterwards, and nothing may hang or print a traceback.

Case file keys (all but ``about`` optional)::

    about:    what the case tries
    engines:  [csv, sqlite, duckdb, postgresql]   the case runs once per engine (csv)
    spec:     a spec file, written as $spec
    files:    {name: text} more files in the case's folder
    args:     the command line, after `kpi`
    env:      {NAME: value} environment for the run
    exit:     the exit code (0 done, 1 findings, 2 user error)
    stdout, stderr:  texts that must appear there
    absent:   texts that must appear in neither stdout nor stderr
    sql_absent: texts that must not appear in `kpi explain` SQL (outside `-- parameters`)
    json:     {dotted.path: value} checks on the JSON printed (`tables.0.rows.0.clicks`)
    not_created: paths that must not exist afterwards
    seconds:  the time bound (default 60)

Placeholders (``$name``): $tmp (the case's folder), $spec, $data (folder of CSV files),
$csv_file, $sqlite, $duckdb, $postgres (file paths and URL), $db (the current engine's
URI).

Cases that need more than a command line (generated huge inputs, plugins, zip
archives, the output device) are the test functions at the end of this module.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import stat
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from limits import bounded

HERE = Path(__file__).resolve().parent
CASES = sorted((HERE / "hostile").glob("*.yaml"))
ENGINES = ("csv", "sqlite", "duckdb", "postgresql")

ESC = "\x1b"
#: The data every case runs on: hostile text where a campaign name should be.
ROWS = [
    (dt.date(2024, 1, 1), "Spring", 5, 1.5),
    (dt.date(2024, 1, 2), "x'; DROP TABLE victim; --", 7, 2.0),
    (dt.date(2024, 1, 3), 'say "hi"; DROP TABLE victim', 11, 0.25),
    (dt.date(2024, 1, 4), f"{ESC}[31mred{ESC}[0m{ESC}[2J", 2, 0.5),
    (dt.date(2024, 1, 5), "\u202eevil\u202c", 3, 1.0),
    (dt.date(2024, 1, 6), "<script>alert(1)</script>", 1, 0.0),
    (dt.date(2024, 1, 7), "O'Brien", 4, 1.25),
    (dt.date(2024, 1, 8), "Robert'); DROP TABLE victim;--", 6, 0.75),
    (dt.date(2024, 1, 9), "日本語 🎉", 8, 3.0),
    (dt.date(2024, 1, 10), None, 9, None),
    (dt.date(2024, 1, 11), "line\nbreak", 10, 1.0),
]
TOTAL_CLICKS = sum(r[2] for r in ROWS)  # 66, as the cases that sum every row expect
COLUMNS = ("day", "campaign", "clicks", "spend")


# -- the data, in every store --------------------------------------------------------------


class Stores:
    """The data as CSV files, an SQLite file, a DuckDB file and a PostgreSQL database."""

    def __init__(self, root: Path, postgres_url: str) -> None:
        self.data = root / "data"
        self.data.mkdir()
        self.csv_file = self.data / "ads.csv"
        with self.csv_file.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows([[d.isoformat(), c, k, s] for d, c, k, s in ROWS])
        (self.data / "victim.csv").write_text("id\n1\n", encoding="utf-8")
        self.sqlite = root / "hostile.db"
        self.duckdb = root / "hostile.duckdb"
        self.postgres = postgres_url
        for url in (f"sqlite:///{self.sqlite}", f"duckdb:///{self.duckdb}", postgres_url):
            engine = sa.create_engine(url)
            meta = sa.MetaData()
            ads = sa.Table(
                "ads",
                meta,
                sa.Column("day", sa.Date()),
                sa.Column("campaign", sa.Text()),
                sa.Column("clicks", sa.BigInteger()),
                sa.Column("spend", sa.Double()),
            )
            victim = sa.Table("victim", meta, sa.Column("id", sa.BigInteger()))
            meta.create_all(engine)
            with engine.begin() as conn:
                conn.execute(ads.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in ROWS])
                conn.execute(victim.insert(), [{"id": 1}])
            engine.dispose()

    def uri(self, engine: str) -> str:
        return {
            "csv": f"csv:{self.data}",
            "sqlite": f"sqlite:///{self.sqlite}",
            "duckdb": f"duckdb:///{self.duckdb}",
            "postgresql": self.postgres,
        }[engine]

    def fingerprint(self) -> dict[str, str]:
        """A hash of every store: files byte for byte, PostgreSQL table by table."""
        out = {p.name: _digest(p) for p in sorted(self.data.iterdir())}
        out["sqlite"] = _digest(self.sqlite)
        out["duckdb"] = _digest(self.duckdb)
        engine = sa.create_engine(self.postgres, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            ).scalars()
            for table in list(tables):
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()
                out[f"pg:{table}"] = hashlib.sha256(
                    repr(sorted(map(repr, rows))).encode()
                ).hexdigest()
        engine.dispose()
        return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, postgres_db: str) -> Stores:
    return Stores(tmp_path_factory.mktemp("hostile"), postgres_db)


# -- running the command ---------------------------------------------------------------


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"


def kpi(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cwd: Path,
    env: dict[str, str] | None = None, seconds: float = 60,
) -> Run:  # fmt: skip
    """``kpi ARGS`` through the real entry point, in this process."""
    from kpiengine.cli import main

    with monkeypatch.context() as mp:
        mp.chdir(cwd)
        mp.setattr(sys, "argv", ["kpi", *args])
        mp.delenv("KPI_DEBUG", raising=False)
        mp.setenv("NO_COLOR", "1")
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        capsys.readouterr()
        code: Any = 0
        with bounded(seconds):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
        out, err = capsys.readouterr()
    return Run(int(code or 0), out, err)


def _params() -> Iterator[Any]:
    for path in CASES:
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        for engine in case.get("engines", ["csv"]):
            yield pytest.param(path, engine, id=f"{path.stem}-{engine}")


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@pytest.mark.parametrize(("path", "engine"), list(_params()))
def test_hostile_case(
    path: Path,
    engine: str,
    stores: Stores,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert case.get("about"), f"{path.name}: say what the case tries (`about:`)"
    places = {
        "tmp": str(tmp_path),
        "spec": str(tmp_path / "spec.yaml"),
        "data": str(stores.data),
        "csv_file": str(stores.csv_file),
        "sqlite": str(stores.sqlite),
        "duckdb": str(stores.duckdb),
        "postgres": stores.postgres,
        "db": stores.uri(engine),
    }

    def fill(text: str) -> str:
        return string.Template(text).safe_substitute(places)

    if "spec" in case:
        (tmp_path / "spec.yaml").write_text(fill(case["spec"]), encoding="utf-8")
    for name, text in case.get("files", {}).items():
        (tmp_path / name).write_text(fill(text), encoding="utf-8")
    before = stores.fingerprint()
    env = {k: fill(str(v)) for k, v in case.get("env", {}).items()}
    run = kpi([fill(a) for a in case["args"]], monkeypatch, capsys, tmp_path, env,
              case.get("seconds", 60))  # fmt: skip

    assert run.code == case["exit"], run
    output = run.out + run.err
    assert "Traceback" not in output, run
    assert "internal error" not in output, run
    for text in case.get("stdout", []):
        assert fill(text) in run.out, (text, run)
    for text in case.get("stderr", []):
        assert fill(text) in run.err, (text, run)
    for text in case.get("absent", []):
        assert fill(text) not in output, (text, run)
    if "sql_absent" in case:
        sql = "\n".join(line for line in run.out.splitlines() if not line.startswith("-- "))
        for text in case["sql_absent"]:
            assert text not in sql, (text, run)
    if "json" in case:
        result = json.loads(run.out)
        for dotted, want in case["json"].items():
            assert _lookup(result, dotted) == want, (dotted, run)
    for name in case.get("not_created", []):
        assert not Path(fill(name)).exists(), name
    assert stores.fingerprint() == before, "the data changed"


def test_the_data_is_what_the_cases_expect() -> None:
    assert TOTAL_CLICKS == 66


def test_every_case_names_its_outcome() -> None:
    assert CASES
    for path in CASES:
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(case) <= {
            "about", "engines", "spec", "files", "args", "env", "exit", "stdout", "stderr",
            "absent", "sql_absent", "json", "not_created", "seconds",
        }, path.name  # fmt: skip
        for key in ("about", "args", "exit"):
            assert key in case, (path.name, key)
        assert set(case.get("engines", ["csv"])) <= set(ENGINES), path.name


# -- cases that need more than a command line ---------------------------------------------

SHOP = """\
sources: {ads: "csv:%s"}
datasets:
  ads: {source: ads, table: ads, time: day, dimensions: [campaign]}
kpis:
  clicks: sum(clicks)
"""


def test_a_huge_spec_file_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "huge.yaml"
    line = "# " + "x" * 1000 + "\n"
    spec.write_text("kpis:\n" + line * 6000, encoding="utf-8")  # 6 MB
    run = kpi(["validate", str(spec)], monkeypatch, capsys, tmp_path, seconds=10)
    assert run.code == 2, run
    assert "spec file is too large" in run.err


def test_a_huge_expression_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text("kpis:\n  k: '" + " + ".join(["1"] * 8000) + "'\n", encoding="utf-8")
    run = kpi(["validate", str(spec)], monkeypatch, capsys, tmp_path, seconds=10)
    assert run.code == 2, run
    assert "expression is too long" in run.err


def test_a_spec_that_is_not_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes("kpis:\n  caf\xe9: sum(x)\n".encode("latin-1"))
    run = kpi(["validate", str(spec)], monkeypatch, capsys, tmp_path)
    assert run.code == 2, run
    assert "not UTF-8" in run.err


def test_output_to_devices_pipes_and_links(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """--output to /dev/null writes to the device; renaming a file over it would replace
    /dev/null for the whole machine. A symbolic link stays a link."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SHOP % stores.data, encoding="utf-8")
    run = kpi(["run", str(spec), "-o", os.devnull], monkeypatch, capsys, tmp_path)
    assert run.code == 0, run
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode), "/dev/null is no longer a device"
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(target)
    run = kpi(["run", str(spec), "-f", "json", "-o", "link.json"], monkeypatch, capsys, tmp_path)
    assert run.code == 0, run
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))["tables"]


def test_html_output_escapes_hostile_values(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from kpiengine.pluginmanager import load_plugins

    if "html" not in load_plugins().outputs:
        pytest.skip("the kpiengine-html plugin is not installed")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SHOP % stores.data, encoding="utf-8")
    out = tmp_path / "out.html"
    run = kpi(["run", str(spec), "--by", "campaign", "-f", "html", "-o", str(out)],
              monkeypatch, capsys, tmp_path)  # fmt: skip
    assert run.code == 0, run
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_gzip_bomb_of_csv_is_streamed(tmp_path: Path) -> None:
    """A small .csv.gz that expands a thousandfold is summed in the database, streaming,
    with the right result and within a time bound."""
    import gzip

    rows = 3_000_000
    folder = tmp_path / "data"
    folder.mkdir()
    with gzip.open(folder / "ads.csv.gz", "wb", compresslevel=9) as fh:
        fh.write(b"day,campaign,clicks\n")
        block = b"2024-01-01,a,1\n" * 100_000
        for _ in range(rows // 100_000):
            fh.write(block)
    assert (folder / "ads.csv.gz").stat().st_size < 200_000
    spec = tmp_path / "spec.yaml"
    spec.write_text(SHOP % folder, encoding="utf-8")
    from kpiengine.engine import evaluate
    from kpiengine.spec import load_spec

    with bounded(60):
        result = evaluate(load_spec(spec))
    assert result.tables[0].rows[0]["clicks"] == rows


# -- plugins that fail when called ------------------------------------------------------

BROKEN_PLUGIN = """
    from kpiengine import hookimpl
    from kpiengine.registry import FunctionDef, OutputFormat, SourceType

    def _open(uri, base):
        raise RuntimeError("cannot open " + uri)

    def _render(result, ctx):
        raise ValueError("render exploded")

    def _compile(args):
        raise KeyError("compile exploded")

    @hookimpl
    def kpi_source_types():
        return [SourceType("boom", "A source that fails.", _open)]

    @hookimpl
    def kpi_output_formats():
        return [OutputFormat("boom", "An output that fails.", _render)]

    @hookimpl
    def kpi_functions():
        return [FunctionDef("boom", 1, 1, lambda types: "number", _compile)]
"""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--source", "ads=boom:x?token=pl41n-t0ken", "--kpi", "clicks"],
         "source `boom` of plugin boom 1.2.3 (kpiengine-boom) failed: RuntimeError: cannot open"),
        (["--format", "boom", "--kpi", "clicks"],
         "output `boom` of plugin boom 1.2.3 (kpiengine-boom) failed: ValueError: render exploded"),
        (["--kpi", "odd"],
         "function `boom` of plugin boom 1.2.3 (kpiengine-boom) failed: KeyError"),
    ],
    ids=["source", "output", "function"],
)  # fmt: skip
def test_a_plugin_that_raises_when_called(
    stores: Stores, tmp_path: Path, args: list[str], needle: str
) -> None:
    """The error names the plugin and its version (exit 2), not kpiengine (exit 3), and
    the rest of kpiengine keeps working. (A plugin that raises on import: test_plugins.)"""
    import subprocess

    from test_plugins import make_dist

    site = tmp_path / "site"
    site.mkdir()
    make_dist(site, "kpiengine-boom", "kpi_boom", BROKEN_PLUGIN, "boom")
    spec = tmp_path / "spec.yaml"
    spec.write_text((SHOP % stores.data) + "  odd: boom(clicks)\n", encoding="utf-8")
    before = stores.fingerprint()
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    env.pop("KPI_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", str(spec), *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pl41n-t0ken" not in proc.stderr  # the URI's token is scrubbed from the message
    ok = subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", str(spec), "--kpi", "clicks"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert stores.fingerprint() == before


# -- zip archives (the TikTok plugin reads TikTok Studio's zip downloads) -------------------

EPOCH = "1799056800"
OVERVIEW = (
    '\ufeff"Date","Video Views","Profile Views","Likes","Comments","Shares"\n'
    '"December 30","1000","10","100","5","2"\n'
    '"December 31","2000","20","150","1","3"'
).encode()


def _tiktok_plugin() -> None:
    pytest.importorskip("kpiengine_tiktok", reason="the kpiengine-tiktok plugin is not installed")


def _studio(folder: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"Overview_2026-12-30_{EPOCH}_shop.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _run_studio(folder: Path, cwd: Path, memory: int | None = None) -> Any:
    import subprocess

    def limit() -> None:  # keep a runaway decompression from taking the machine down
        if memory is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {k: v for k, v in os.environ.items() if k != "KPI_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", "run", str(HERE.parent / "specs" / "tiktok"),
         "--source", f"organic=tiktok-studio:{folder}", "--kpi", "organic_views",
         "--format", "json"],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False,
        preexec_fn=limit,
    )  # fmt: skip


def test_zip_entries_that_climb_out_are_never_extracted(tmp_path: Path) -> None:
    """Entry names such as ../../x or /abs/x are only names: nothing is written anywhere,
    the archive is unchanged, and the run ends cleanly."""
    _tiktok_plugin()
    outside = tmp_path / "outside"
    depth = "../" * (len(tmp_path.parts) + 2)
    members = {
        f"{depth}{str(outside).lstrip('/')}/Overview.csv": OVERVIEW,
        f"{outside}/abs/Overview.csv": OVERVIEW,
        "..\\..\\..\\outside\\win\\Overview.csv": OVERVIEW,
    }
    archive = _studio(tmp_path / "studio", members)
    before = _digest(archive)
    proc = _run_studio(tmp_path / "studio", cwd=tmp_path)
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not outside.exists()
    assert not (tmp_path / "studio" / "abs").exists()
    assert sorted(p.name for p in (tmp_path / "studio").iterdir()) == [archive.name]
    assert _digest(archive) == before


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    """An Overview.csv that expands from a few hundred kilobytes to 300 MB is refused with
    a clear error (exit 2) naming the archive, in bounded time and memory."""
    _tiktok_plugin()
    header = OVERVIEW.split(b"\n")[0] + b"\n"
    bomb = header + b'"December 30","' + b"1" * 300_000_000 + b'","1","1","1","1"\n'
    archive = _studio(tmp_path / "studio", {"Overview.csv": bomb})
    assert archive.stat().st_size < 1_000_000
    before = _digest(archive)
    proc = _run_studio(tmp_path / "studio", cwd=tmp_path, memory=2_000_000_000)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert "MemoryError" not in proc.stderr, "refused for want of memory, not by a limit"
    assert archive.name in proc.stderr, proc.stderr
    assert _digest(archive) == before
