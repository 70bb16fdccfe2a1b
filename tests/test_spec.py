"""Loading specs: merging files, positions of errors, hostile YAML, rule templates."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from kpiengine.check import check_spec
from kpiengine.errors import SpecErrors
from kpiengine.pluginmanager import load_plugins
from kpiengine.spec import load_spec

COLUMNS = {
    "paid": {"date": "date", "campaign": "string", "clicks": "number", "impressions": "number"}
}
DATASET = """\
sources: {s: csv:data}
datasets:
  paid:
    source: s
    table: paid_daily
    time: date
    dimensions: [campaign]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def checked(*paths: Path) -> object:
    spec = load_spec(*paths)
    return check_spec(spec, COLUMNS, load_plugins(third_party=False).functions)


def errors_of(*paths: Path) -> str:
    with pytest.raises(SpecErrors) as info:
        checked(*paths)
    return info.value.render()


def test_a_directory_is_merged(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", DATASET)
    write(tmp_path, "b.yml", "kpis:\n  clicks: sum(clicks)\n")
    write(
        tmp_path, "c.yaml", "defaults: {category: paid}\nkpis:\n  ctr: clicks / sum(impressions)\n"
    )
    write(tmp_path, "notes.txt", "not a spec")
    spec = load_spec(tmp_path)
    assert list(spec.kpis) == ["clicks", "ctr"]
    assert spec.kpis["ctr"].category == "paid"
    assert spec.kpis["clicks"].category == "other"
    assert spec.name == tmp_path.name


def test_a_name_defined_in_two_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", DATASET + "kpis:\n  clicks: sum(clicks)\n")
    write(tmp_path, "b.yaml", "kpis:\n  clicks: sum(impressions)\n")
    with pytest.raises(SpecErrors) as info:
        load_spec(tmp_path)
    message = info.value.render()
    assert "b.yaml:2:3: error: KPI `clicks` is defined twice (first at " in message
    assert "a.yaml:9:3" in message


def test_duplicate_keys_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", DATASET + "kpis:\n  x: sum(clicks)\n  x: sum(impressions)\n")
    with pytest.raises(SpecErrors, match=r"a.yaml:10:3: error: duplicate key `x`"):
        load_spec(path)


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(SpecErrors, match="expands to more than"):
        load_spec(path)
    assert time.perf_counter() - started < 30  # generous: it stops after a bounded count


def test_expression_errors_point_into_block_scalars(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        DATASET + "kpis:\n  ctr:\n    expr: |\n      sum(clicks)\n        / sum(impresions)\n",
    )
    message = errors_of(path)
    assert "a.yaml:12:15: error: unknown column `impresions`" in message
    assert "did you mean `impressions`?" in message


def test_expression_errors_point_into_quoted_scalars(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", DATASET + 'kpis:\n  ctr: "sum(clicks) / sum(clickz)"\n')
    assert "a.yaml:9:27: error: unknown column `clickz`" in errors_of(path)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("{ctr.__class__}", "must be a plain name"),
        ("{ctr[0]}", "must be a plain name"),
        ("{ctr:{width}}", "nested placeholders"),
        ("{cpc}", "unknown message placeholder `{cpc}`"),
        ("{ctr", "bad message template"),
    ],
)
def test_rule_messages_allow_only_plain_names(tmp_path: Path, message: str, error: str) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        DATASET
        + "kpis:\n  ctr: sum(clicks) / sum(impressions)\n"
        + f"rules:\n  low:\n    when: ctr < 1%\n    message: '{message}'\n",
    )
    assert error in errors_of(path)


def test_rules_must_be_conditions_over_kpis(tmp_path: Path) -> None:
    base = DATASET + "kpis:\n  ctr: sum(clicks) / sum(impressions)\nrules:\n  r:\n"
    assert "must be a condition" in errors_of(
        write(tmp_path, "a.yaml", base + "    when: ctr + 1\n")
    )
    assert "rules compare KPI values" in errors_of(
        write(tmp_path, "b.yaml", base + "    when: sum(clicks) > 1\n")
    )
    assert "unknown KPI `ctrr`" in errors_of(
        write(tmp_path, "c.yaml", base + "    when: ctrr > 1\n")
    )
    assert "about unknown KPI `cpc`" in errors_of(
        write(tmp_path, "d.yaml", base + "    when: ctr > 1\n    kpi: cpc\n")
    )


def test_bad_names_and_values(tmp_path: Path) -> None:
    message = errors_of(
        write(
            tmp_path,
            "a.yaml",
            DATASET
            + "kpis:\n  2fast: sum(clicks)\n  ok:\n    expr: sum(clicks)\n    direction: up\n",
        )
    )
    assert "a.yaml:9:3: error: KPI name `2fast` must start with a letter" in message
    assert "`kpis.ok.direction` must be one of 'higher', 'lower' or 'none', not 'up'" in message


def test_unknown_dataset_source_and_dimension(tmp_path: Path) -> None:
    text = (
        "sources: {s: csv:data}\n"
        "datasets:\n  paid: {source: src, table: t, time: date, dimensions: [campain]}\n"
        "kpis: {c: sum(clicks)}\n"
    )
    message = errors_of(write(tmp_path, "a.yaml", text))
    assert "dataset `paid` uses unknown source `src`" in message
    assert "dataset `paid` has no column `campain`" in message
    assert "did you mean `campaign`?" in message


def test_ambiguous_columns_need_a_dataset(tmp_path: Path) -> None:
    text = (
        "sources: {s: csv:data}\n"
        "datasets:\n"
        "  a: {source: s, table: a, time: date}\n"
        "  b: {source: s, table: b, time: date}\n"
        "kpis:\n  views: sum(views)\n  ok: sum(a.views)\n"
        "  also_ok:\n    expr: sum(views)\n    dataset: b\n"
    )
    spec = load_spec(write(tmp_path, "a.yaml", text))
    cols = {"a": {"date": "date", "views": "number"}, "b": {"date": "date", "views": "number"}}
    with pytest.raises(SpecErrors) as info:
        check_spec(spec, cols, load_plugins(third_party=False).functions)
    message = info.value.render()
    assert "column `views` is in several datasets: `a`, `b`" in message
    assert "write `a.views`" in message
    assert message.count("error:") == 1


@pytest.mark.parametrize(
    ("kpis", "error"),
    [
        ("x: previous(sum(clicks))\n", "previous() takes the name of a KPI"),
        ("c: sum(clicks)\nx: c - previous(c) + sum(impressions)\n", "can only combine KPIs"),
        ("c: sum(clicks)\nx: change(c)\ny: previous(x)\n", "itself needs earlier periods"),
        ("x: sum(clicks where previous(clicks) > 1)\n", "cannot be used inside an aggregate"),
        ("c: sum(clicks)\nx: change(c, c)\n", "change() takes one argument"),
    ],
)
def test_previous_and_change_errors(tmp_path: Path, kpis: str, error: str) -> None:
    path = write(tmp_path, "a.yaml", DATASET + "kpis:\n" + textwrap.indent(kpis, "  "))
    assert error in errors_of(path)


def test_previous_and_change_are_typed_and_allowed_in_rules(tmp_path: Path) -> None:
    text = (
        DATASET
        + "kpis:\n  c: sum(clicks)\n  later: c - previous(c)\n  twice: later * 2\n"
        + "rules:\n  drop: {when: change(c) < -20%}\n"
    )
    result = checked(write(tmp_path, "a.yaml", text))
    assert result.kpis["later"].uses_prev  # type: ignore[attr-defined]
    assert result.kpis["twice"].uses_prev  # type: ignore[attr-defined]
    assert not result.kpis["c"].uses_prev  # type: ignore[attr-defined]
