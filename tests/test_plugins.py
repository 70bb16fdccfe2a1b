"""Plugins are found through real entry points; broken or clashing ones are reported.

Each test puts a real distribution (``*.dist-info`` with ``entry_points.txt``
beside its module) on ``PYTHONPATH`` of a ``kpi`` subprocess, so discovery runs
through ``importlib.metadata`` exactly as for a pip-installed plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from kpiengine import hookspecs
from kpiengine.pluginmanager import BUILTIN_PLUGINS, load_plugins

ROOT = Path(__file__).resolve().parents[1]


def make_dist(site: Path, dist: str, module: str, source: str, entry_name: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[kpiengine]\n{entry_name} = {module}\n", encoding="utf-8"
    )


def kpi(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kpiengine", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_plugin_that_raises_on_import_is_reported_and_the_rest_works(tmp_path: Path) -> None:
    make_dist(
        tmp_path,
        "kpiengine-broken",
        "kpi_broken",
        "raise RuntimeError('boom at import')\n",
        "broken",
    )
    listed = kpi(tmp_path, "plugins")
    assert listed.returncode == 0, listed.stderr
    assert "broken (kpiengine-broken 1.2.3)" in listed.stdout
    assert "ERROR: failed to load: RuntimeError: boom at import" in listed.stdout
    assert "outputs: table, json, csv" in listed.stdout  # the built-ins still load
    run = kpi(tmp_path, "run", "specs/tiktok", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["tables"]


def test_a_plugin_that_raises_when_called_is_reported(tmp_path: Path) -> None:
    source = """
        from kpiengine import hookimpl

        @hookimpl
        def kpi_output_formats():
            raise ValueError("cannot list formats")
    """
    make_dist(tmp_path, "kpiengine-flaky", "kpi_flaky", source, "flaky")
    listed = kpi(tmp_path, "plugins")
    assert "ERROR: kpi_output_formats() failed: ValueError: cannot list formats" in listed.stdout
    assert kpi(tmp_path, "run", "specs/tiktok", "--kpi", "ctr").returncode == 0


def test_a_third_party_output_and_function_work(tmp_path: Path) -> None:
    source = """
        from kpiengine import hookimpl
        from kpiengine.registry import FunctionDef, OutputFormat

        def render(result, ctx):
            return "\\n".join(t.name for t in result.tables) + "\\n"

        def compile_double(args):
            return args[0] * 2

        @hookimpl
        def kpi_output_formats():
            return [OutputFormat("names", "Table names only.", render)]

        @hookimpl
        def kpi_functions():
            return [FunctionDef("double", 1, 1, lambda types: "number", compile_double)]
    """
    make_dist(tmp_path, "kpiengine-extra", "kpi_extra", source, "extra")
    listed = kpi(tmp_path, "plugins")
    assert "extra (kpiengine-extra 1.2.3)" in listed.stdout
    assert "outputs: names" in listed.stdout
    assert "functions: double" in listed.stdout
    run = kpi(tmp_path, "run", "specs/tiktok", "--format", "names")
    assert run.returncode == 0, run.stderr
    # The KPI tables by category, then one table per organic-vs-paid pair and the paid
    # costs, then the segment rankings (specs/tiktok/report.yaml).
    pairs = ["Video views", "Likes", "Comments", "Shares", "Engagements", "Engagement rate"]
    pairs += ["Reach (sum of daily reach)", "Follows gained", "paid costs"]
    assert run.stdout.splitlines() == [
        "audience", "paid_audience", "organic", "paid",
        *(f"Organic vs paid: {p}" for p in pairs),
        "Paid performance by age", "Paid performance by gender", "Paid performance by country",
        "Paid performance by interest category", "Best hours to post",
    ]  # fmt: skip
    spec = tmp_path / "double.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            sources: {s: csv:data}
            datasets:
              paid: {source: s, table: paid_daily, time: date}
            kpis:
              clicks: sum(clicks)
              twice: double(clicks)
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "data").symlink_to(ROOT / "specs" / "tiktok" / "data")
    out = kpi(tmp_path, "run", str(spec), "--format", "json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)["tables"][0]["rows"][0]
    assert row["twice"] == 2 * row["clicks"]


def test_duplicate_names_are_an_error_not_an_override(tmp_path: Path) -> None:
    source = """
        from kpiengine import hookimpl
        from kpiengine.registry import OutputFormat

        @hookimpl
        def kpi_output_formats():
            return [OutputFormat("json", "Another json.", lambda result, ctx: "hijacked")]
    """
    make_dist(tmp_path, "kpiengine-clash", "kpi_clash", source, "clash")
    listed = kpi(tmp_path, "plugins")
    assert "ERROR: output `json` is also provided by kpiengine.builtins.outputs" in listed.stdout
    run = kpi(tmp_path, "run", "specs/tiktok", "--format", "json")
    assert run.returncode == 2
    assert "output `json` is provided by several plugins" in run.stderr
    assert "hijacked" not in run.stdout
    assert kpi(tmp_path, "run", "specs/tiktok", "--format", "csv").returncode == 0


def test_unknown_hook_names_are_load_errors(tmp_path: Path) -> None:
    source = """
        from kpiengine import hookimpl

        @hookimpl
        def kpi_output_format():  # misspelt hook
            return []
    """
    make_dist(tmp_path, "kpiengine-typo", "kpi_typo", source, "typo")
    listed = kpi(tmp_path, "plugins")
    assert "  ERROR: implements unknown hooks: kpi_output_format\n" in listed.stdout


def test_every_hook_is_documented_and_tested() -> None:
    hooks = [name for name in dir(hookspecs) if name.startswith("kpi_")]
    assert hooks == ["kpi_functions", "kpi_output_formats", "kpi_source_types"]
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    tests = Path(__file__).read_text(encoding="utf-8")
    for hook in hooks:
        assert getattr(hookspecs, hook).__doc__
        assert hook in docs, f"{hook} is not documented in docs/plugins.md"
    assert "kpi_output_formats" in tests
    assert "kpi_functions" in tests
    # kpi_source_types: the built-in sources are plugins through the same hook.
    assert "csv" in load_plugins(third_party=False).sources


def test_builtins_are_registered_like_plugins() -> None:
    plugins = load_plugins(third_party=False)
    assert [i.name for i in plugins.infos] == list(BUILTIN_PLUGINS)
    assert set(plugins.outputs) >= {"table", "json", "csv"}
    assert set(plugins.functions) >= {"coalesce", "if", "abs", "round"}


def test_the_markdown_plugin_is_installed_through_its_entry_point() -> None:
    plugins = load_plugins()
    info = next((i for i in plugins.infos if i.name == "markdown"), None)
    assert info is not None, "install plugins/kpiengine-markdown (tox does)"
    assert info.distribution == "kpiengine-markdown"
    assert info.outputs == ["markdown"]
    assert not info.errors
