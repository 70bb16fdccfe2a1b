"""The spec format: pydantic models of one YAML file, and the merged :class:`Spec`.

A spec is one YAML file or a directory of them (``*.yaml``/``*.yml``, read in
name order and merged). Every error names the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kpiengine.errors import KpiError, Location, SpecError, SpecErrors, did_you_mean
from kpiengine.expr.ast import ExprText
from kpiengine.yamlfile import YamlDoc, read_yaml

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = frozenset(
    {"and", "or", "not", "in", "between", "is", "null", "true", "false", "where"}
    | {"period", "value", "kpi", "row", "label", "level", "rule", "message"}
)

#: Keys of rows, findings and comparisons in the JSON output: no dimension may use them.
OUTPUT_KEYS = frozenset(
    {"period", "kpi", "value", "rule", "level", "message", "table", "earlier", "change"}
    | {"earlier_period", "relative_change", "partial"}
)

ColumnType = Literal["number", "string", "date", "boolean"]
Level = Literal["info", "warn", "error"]
Format = Literal["number", "percent", "currency", "duration"]
Direction = Literal["higher", "lower", "none"]


def _check_name(name: str, what: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(
            f"{what} name `{name}` must start with a letter or `_` and hold only "
            "letters, digits and `_`"
        )
    if name.lower() in RESERVED:
        raise ValueError(f"`{name}` is a reserved word and cannot name a {what}")
    return name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class RuleModel(_Model):
    """A condition over KPI values; each result row where it holds yields a finding."""

    when: str = Field(description="Condition over KPI values, e.g. `ctr < 0.5%`.")
    level: Level = Field("warn", description="How serious a finding is.")
    message: str | None = Field(
        None,
        description="Message template: `{kpi_name}`, `{value}`, `{period}`, `{row}`, "
        "`{<dimension>}`.",
    )
    kpi: str | None = Field(None, description="The KPI a finding is about (top-level rules).")
    name: str | None = Field(None, description="Rule name (rules under a KPI).")
    description: str = ""

    @field_validator("when", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value).lower() if isinstance(value, bool) else value


class KpiModel(_Model):
    """A KPI: a named expression with what an output needs to show it."""

    expr: str = Field(description="The KPI's expression, e.g. `sum(clicks) / sum(impressions)`.")
    label: str | None = Field(None, description="Human name; defaults to the KPI name.")
    description: str = ""
    category: str = Field("other", description="organic, paid, audience, comparison or your own.")
    format: Format = "number"
    direction: Direction = Field("none", description="Whether higher or lower is better.")
    decimals: int | None = Field(None, ge=0, le=10, description="Decimals to show.")
    dataset: str | None = Field(None, description="Dataset that bare column names resolve in.")
    rules: list[RuleModel] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"expr": str(data)}
        return data

    @field_validator("expr", mode="before")
    @classmethod
    def _number_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class DatasetModel(_Model):
    """A logical table in a source."""

    source: str = Field(description="Name of a source in `sources`.")
    table: str = Field(description="Table or view in the source (`schema.table` allowed).")
    time: str | None = Field(None, description="The time column; omit for snapshot data.")
    dimensions: list[str] = Field(default_factory=list, description="Columns to break down by.")
    columns: dict[str, ColumnType] | None = Field(
        None, description="Declared columns and types; discovered from the source when omitted."
    )
    description: str = ""


class DefaultsModel(_Model):
    """Defaults for every KPI in this file."""

    category: str | None = None
    dataset: str | None = None
    format: Format | None = None
    direction: Direction | None = None


class PairModel(_Model):
    """Two KPIs that mean the same thing on the organic and on the paid side."""

    name: str = Field(description="What is compared, e.g. `views`.")
    label: str | None = None
    organic: str = Field(description="The organic KPI.")
    paid: str = Field(description="The paid KPI.")
    organic_includes_paid: bool = Field(
        False,
        description="The organic number counts paid activity too (TikTok's views do): "
        "also show the organic-only estimate, organic minus paid.",
    )


class ComparisonModel(_Model):
    """Organic against paid, per period and overall."""

    label: str | None = None
    description: str = ""
    pairs: list[PairModel] = Field(description="The KPIs compared, organic with paid.")
    costs: list[str] = Field(
        default_factory=list, description="Paid-only KPIs shown beside (cost per view, …)."
    )


class SegmentsModel(_Model):
    """KPIs broken down by one dimension, ranked, with segments too small to judge flagged."""

    label: str | None = None
    description: str = ""
    by: str = Field(description="The dimension whose values are the segments (age, hour, …).")
    kpis: list[str] = Field(description="The KPIs shown for each segment.")
    rank_by: str = Field(description="The KPI that orders the segments (its direction decides).")
    min: dict[str, float] = Field(
        default_factory=dict,
        description="KPI → minimum: segments below any of them are flagged, not ranked.",
    )


class SpecFileModel(_Model):
    """One spec file. A directory's files are merged; names must be unique across them."""

    name: str | None = Field(None, description="The spec's name (in one file only).")
    description: str | None = None
    defaults: DefaultsModel | None = None
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Source name → URI (`csv:data`, `duckdb:///x.db`, `postgresql+psycopg://…`).",
    )
    datasets: dict[str, DatasetModel] = Field(default_factory=dict)
    kpis: dict[str, KpiModel] = Field(default_factory=dict)
    rules: dict[str, RuleModel] = Field(default_factory=dict)
    comparisons: dict[str, ComparisonModel] = Field(default_factory=dict)
    segments: dict[str, SegmentsModel] = Field(default_factory=dict)


# --- the merged spec ----------------------------------------------------------------


@dataclass(frozen=True)
class SourceDef:
    name: str
    uri: str
    base_dir: Path
    location: Location | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str
    table: str
    time: str | None
    dimensions: tuple[str, ...]
    columns: dict[str, str] | None
    description: str
    location: Location | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    kpi: str | None
    when: ExprText
    level: str
    message: str | None
    description: str
    location: Location | None = None


@dataclass(frozen=True)
class Kpi:
    name: str
    expr: ExprText
    label: str
    description: str
    category: str
    format: str
    direction: str
    dataset: str | None
    location: Location | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class Pair:
    name: str
    label: str
    organic: str
    paid: str
    organic_includes_paid: bool
    location: Location | None = None


@dataclass(frozen=True)
class Comparison:
    name: str
    label: str
    description: str
    pairs: tuple[Pair, ...]
    costs: tuple[str, ...]
    location: Location | None = None


@dataclass(frozen=True)
class Segments:
    name: str
    label: str
    description: str
    by: str
    kpis: tuple[str, ...]
    rank_by: str
    minimums: tuple[tuple[str, float], ...]
    location: Location | None = None


@dataclass
class Spec:
    """A loaded spec: sources, datasets, KPIs and rules, merged from its files."""

    name: str
    description: str = ""
    sources: dict[str, SourceDef] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    kpis: dict[str, Kpi] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    segments: dict[str, Segments] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    #: Derived results kept for reuse (the checked KPI graph); not part of the spec.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def spec_files(path: Path) -> list[Path]:
    """The YAML files a SPEC argument names: the file itself, or a directory's files."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise SpecError(f"no spec files (*.yaml) in directory {path}")
        return files
    if path.is_file():
        return [path]
    raise SpecError(f"spec not found: {path}")


def load_spec(*paths: str | Path) -> Spec:
    """Load and merge spec files and directories; raise :class:`SpecErrors` listing every problem.

    This checks the format only; expressions are checked by :func:`kpiengine.check.check_spec`.
    """
    if not paths:
        raise SpecError("no spec given")
    files: list[Path] = []
    for p in paths:
        files.extend(spec_files(Path(p)))
    errors: list[KpiError] = []
    spec = Spec(name="")
    for file in files:
        try:
            doc = read_yaml(file)
            model = _validate(doc)
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        except SpecError as exc:
            errors.append(exc)
            continue
        _merge(spec, doc, model, file, errors)
    if errors:
        raise SpecErrors(sort_errors(errors))
    if not spec.name:
        first = Path(paths[0])
        spec.name = first.stem if first.is_file() else first.resolve().name
    return spec


def sort_errors(errors: list[KpiError]) -> list[KpiError]:
    """Errors in file and line order (those without a location first)."""

    def key(e: KpiError) -> tuple[str, int, int]:
        loc = e.location
        return ("", 0, 0) if loc is None else (loc.file, loc.line, loc.column)

    return sorted(errors, key=key)


def _validate(doc: YamlDoc) -> SpecFileModel:
    data = doc.data
    if not isinstance(data, dict):
        raise SpecError(
            "a spec file must be a mapping with keys such as `kpis:` and `datasets:`",
            location=doc.location(()),
        )
    errors = _name_errors(doc)
    try:
        model = SpecFileModel.model_validate(data)
    except ValidationError as exc:
        errors += [_pydantic_error(doc, err) for err in exc.errors()]
    if errors:
        raise SpecErrors(errors)
    return model


def _name_errors(doc: YamlDoc) -> list[KpiError]:
    """Names of sources, datasets, KPIs and rules must be identifiers and not reserved."""
    what = {
        "sources": "source",
        "datasets": "dataset",
        "kpis": "KPI",
        "rules": "rule",
        "comparisons": "comparison",
        "segments": "segments",
    }
    errors: list[KpiError] = []
    for section, kind in what.items():
        table = doc.data.get(section)
        if not isinstance(table, dict):
            continue
        for name in table:
            try:
                _check_name(name, kind)
            except ValueError as exc:
                errors.append(SpecError(str(exc), location=doc.location((section, name), key=True)))
    return errors


def _pydantic_error(doc: YamlDoc, err: Any) -> SpecError:
    loc: tuple[str | int, ...] = tuple(p for p in err["loc"] if not _is_union_tag(p))
    kind = err["type"]
    where = ".".join(str(p) for p in loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = _model_at(loc[:-1])
        hint = did_you_mean(key, parent.model_fields) if parent else None
        allowed = ", ".join(f"`{f}`" for f in parent.model_fields) if parent else ""
        return SpecError(
            f"unknown key `{key}`" + (f" (allowed here: {allowed})" if allowed else ""),
            location=doc.location(loc, key=True),
            hint=hint,
        )
    if kind == "missing":
        return SpecError(
            f"missing required key `{loc[-1]}` in `{'.'.join(str(p) for p in loc[:-1])}`",
            location=doc.location(loc[:-1], key=True),
        )
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        # A bad name lives in the key, not in the value.
        return SpecError(msg, location=_name_location(doc, loc, msg))
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        got = err.get("input")
        choices = [c.strip(" '") for c in str(expected).replace(" or ", ",").split(",")]
        return SpecError(
            f"`{where}` must be one of {expected}, not {got!r}",
            location=doc.location(loc),
            hint=did_you_mean(str(got), choices),
        )
    return SpecError(f"`{where}`: {msg}", location=doc.location(loc))


def _name_location(doc: YamlDoc, loc: tuple[str | int, ...], msg: str) -> Location:
    match = re.search(r"`([^`]*)`", msg)
    if match and loc:
        candidate = (*loc, match.group(1))
        if candidate in doc.keys:
            return doc.location(candidate, key=True)
    return doc.location(loc)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part.startswith("function-") or part in ("str", "int"))


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model whose keys are checked at ``loc`` (for "allowed keys" and did-you-mean)."""
    shapes: dict[tuple[str | int, ...], type[BaseModel]] = {
        (): SpecFileModel,
        ("defaults",): DefaultsModel,
        ("datasets", "*"): DatasetModel,
        ("kpis", "*"): KpiModel,
        ("kpis", "*", "rules", "*"): RuleModel,
        ("rules", "*"): RuleModel,
        ("comparisons", "*"): ComparisonModel,
        ("comparisons", "*", "pairs", "*"): PairModel,
        ("segments", "*"): SegmentsModel,
    }
    pattern = tuple(p if i % 2 == 0 else "*" for i, p in enumerate(loc))
    return shapes.get(pattern)


def expr_text(doc: YamlDoc, path: tuple[str | int, ...], text: str) -> ExprText:
    """An :class:`ExprText` mapping each line of an expression to where it is in the file."""
    mark = doc.values.get(path)
    lines = doc.lines
    if mark is None:
        return ExprText(text, doc.path, ((1, 1),), tuple(lines))
    if mark.style in ("|", ">"):
        first = mark.line + 1
        body = lines[first] if first < len(lines) else ""
        indent = len(body) - len(body.lstrip(" "))
        count = text.count("\n") + 1
        origins = tuple((first + 1 + i, indent + 1) for i in range(count))
        return ExprText(text, doc.path, origins, tuple(lines))
    quoted = 1 if mark.style in ('"', "'") else 0
    if "\n" not in text:
        return ExprText(text, doc.path, ((mark.line + 1, mark.column + 1 + quoted),), tuple(lines))
    # A folded plain or quoted scalar: point at its start.
    count = text.count("\n") + 1
    return ExprText(
        text, doc.path, tuple((mark.line + 1, mark.column + 1) for _ in range(count)), tuple(lines)
    )


def _merge(
    spec: Spec, doc: YamlDoc, model: SpecFileModel, file: Path, errors: list[KpiError]
) -> None:
    spec.files.append(doc.path)
    if model.name:
        if spec.name and spec.name != model.name:
            errors.append(
                SpecError(
                    f"the spec is named `{spec.name}` in another file and `{model.name}` here",
                    location=doc.location(("name",)),
                )
            )
        spec.name = model.name
    if model.description:
        spec.description = model.description
    base_dir = file.resolve().parent

    def taken(kind: str, name: str, table: dict[str, Any], path: tuple[str | int, ...]) -> bool:
        if name in table:
            first = table[name].location
            errors.append(
                SpecError(
                    f"{kind} `{name}` is defined twice" + (f" (first at {first})" if first else ""),
                    location=doc.location(path, key=True),
                )
            )
            return True
        return False

    for name, uri in model.sources.items():
        if not taken("source", name, spec.sources, ("sources", name)):
            spec.sources[name] = SourceDef(name, uri, base_dir, doc.location(("sources", name)))
    for name, ds in model.datasets.items():
        if taken("dataset", name, spec.datasets, ("datasets", name)):
            continue
        spec.datasets[name] = Dataset(
            name=name,
            source=ds.source,
            table=ds.table,
            time=ds.time,
            dimensions=tuple(ds.dimensions),
            columns=dict(ds.columns) if ds.columns is not None else None,
            description=ds.description,
            location=doc.location(("datasets", name), key=True),
        )
    defaults = model.defaults or DefaultsModel()
    raw_kpis = doc.data.get("kpis") or {}
    for name, kpi in model.kpis.items():
        if taken("KPI", name, spec.kpis, ("kpis", name)):
            continue
        raw = raw_kpis.get(name)
        expr_path: tuple[str | int, ...] = (
            ("kpis", name)
            if not isinstance(raw, dict)
            else (
                "kpis",
                name,
                "expr",
            )
        )
        fields = kpi.model_fields_set
        spec.kpis[name] = Kpi(
            name=name,
            expr=expr_text(doc, expr_path, kpi.expr),
            label=kpi.label or name.replace("_", " ").capitalize(),
            description=kpi.description,
            category=kpi.category if "category" in fields else (defaults.category or kpi.category),
            format=kpi.format if "format" in fields else (defaults.format or kpi.format),
            direction=kpi.direction
            if "direction" in fields
            else (defaults.direction or kpi.direction),
            dataset=kpi.dataset or defaults.dataset,
            location=doc.location(("kpis", name), key=True),
            decimals=kpi.decimals,
        )
        for i, rule in enumerate(kpi.rules):
            rule_name = rule.name or (name if len(kpi.rules) == 1 else f"{name}_{i + 1}")
            path: tuple[str | int, ...] = ("kpis", name, "rules", i)
            if taken("rule", rule_name, spec.rules, path):
                continue
            spec.rules[rule_name] = _rule(doc, rule_name, rule, rule.kpi or name, path)
    for name, rule in model.rules.items():
        path2: tuple[str | int, ...] = ("rules", name)
        if not taken("rule", name, spec.rules, ("rules", name)):
            spec.rules[name] = _rule(doc, name, rule, rule.kpi, path2)
    for name, comp in model.comparisons.items():
        if taken("comparison", name, spec.comparisons, ("comparisons", name)):
            continue
        pairs = tuple(
            Pair(
                pair.name,
                pair.label or pair.name.replace("_", " ").capitalize(),
                pair.organic,
                pair.paid,
                pair.organic_includes_paid,
                doc.location(("comparisons", name, "pairs", i)),
            )
            for i, pair in enumerate(comp.pairs)
        )
        spec.comparisons[name] = Comparison(
            name,
            comp.label or name.replace("_", " ").capitalize(),
            comp.description,
            pairs,
            tuple(comp.costs),
            doc.location(("comparisons", name), key=True),
        )
    for name, seg in model.segments.items():
        if taken("segments", name, spec.segments, ("segments", name)):
            continue
        spec.segments[name] = Segments(
            name,
            seg.label or name.replace("_", " ").capitalize(),
            seg.description,
            seg.by,
            tuple(seg.kpis),
            seg.rank_by,
            tuple(seg.min.items()),
            doc.location(("segments", name), key=True),
        )


def _rule(
    doc: YamlDoc, name: str, rule: RuleModel, kpi: str | None, path: tuple[str | int, ...]
) -> Rule:
    return Rule(
        name=name,
        kpi=kpi,
        when=expr_text(doc, (*path, "when"), rule.when),
        level=rule.level,
        message=rule.message,
        description=rule.description,
        location=doc.location(path, key=True),
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, for editors (yaml-language-server)."""
    schema = SpecFileModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kpiengine spec file"
    kpis = schema["properties"]["kpis"]
    kpi_ref = kpis["additionalProperties"]
    kpis["additionalProperties"] = {
        "anyOf": [
            {"type": ["string", "number"], "description": "Short form: the expression."},
            kpi_ref,
        ]
    }
    return schema
