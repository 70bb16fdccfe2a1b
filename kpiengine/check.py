"""The semantic check: from parsed expressions to a resolved, typed KPI graph.

It resolves names (a name inside an aggregate is a column, outside one a KPI),
picks the dataset of every aggregate, types every node, and rejects unknown
names (with near misses), reference cycles, columns outside aggregates, nested
aggregates and type mismatches, each pointing at the offending text.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kpiengine.errors import KpiError, Location, SpecError, SpecErrors, did_you_mean
from kpiengine.expr import ast
from kpiengine.expr.parser import parse
from kpiengine.registry import FunctionDef
from kpiengine.spec import OUTPUT_KEYS, Kpi, Rule, Spec, sort_errors

#: Placeholders every rule message may use besides KPI names and dimensions.
MESSAGE_FIELDS = ("value", "period", "row", "kpi", "label", "rule", "level")


@dataclass(frozen=True)
class CheckedKpi:
    kpi: Kpi
    node: ast.Node
    type: str
    #: Datasets whose rows this KPI needs (through the KPIs it references too).
    datasets: frozenset[str]
    #: KPIs referenced directly.
    refs: frozenset[str]
    #: Whether it needs earlier periods (previous()/change(), here or in a KPI it uses).
    uses_prev: bool = False


@dataclass(frozen=True)
class CheckedRule:
    rule: Rule
    node: ast.Node
    kpi: str  # the KPI findings are about
    kpis: frozenset[str]  # every KPI the condition uses
    fields: tuple[str, ...]  # placeholders in the message


@dataclass
class CheckedSpec:
    spec: Spec
    columns: dict[str, dict[str, str]]
    functions: Mapping[str, FunctionDef]
    kpis: dict[str, CheckedKpi] = field(default_factory=dict)
    rules: dict[str, CheckedRule] = field(default_factory=dict)
    #: The types of the KPIs checked so far: a KPI is checked after those it names.
    kpi_types: dict[str, str] = field(default_factory=dict)
    #: Statements built from this spec, by what else they depend on (engine._statement).
    statements: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def dataset_of_column(self, name: str) -> list[str]:
        return [ds for ds, cols in self.columns.items() if name in cols]


class _Context:
    """What an expression is: a KPI, a rule condition, or a row filter (``--where``)."""

    def __init__(
        self,
        kind: str,
        text: ast.ExprText,
        default_dataset: str | None = None,
        datasets: Sequence[str] | None = None,
    ) -> None:
        self.kind = kind  # "kpi" | "rule" | "filter"
        self.text = text
        self.default_dataset = default_dataset
        self.datasets = datasets  # datasets a filter applies to (None: all)
        self.kpi_refs: set[str] = set()
        self.prev_refs: set[str] = set()  # KPIs named in previous()/change()
        self.agg_datasets: set[str] = set()


def check_spec(
    spec: Spec,
    columns: Mapping[str, Mapping[str, str]],
    functions: Mapping[str, FunctionDef],
) -> CheckedSpec:
    """Check every dataset, KPI and rule; raise :class:`SpecErrors` listing every problem."""
    checked = CheckedSpec(spec, {k: dict(v) for k, v in columns.items()}, functions)
    errors: list[KpiError] = []
    _check_datasets(spec, checked.columns, errors)
    # First pass: each KPI's own expression.
    raw: dict[str, tuple[ast.Node, str, set[str], set[str]]] = {}
    prevs: dict[str, set[str]] = {}
    trees, order = _dependency_order(spec)
    for name in order:
        kpi = spec.kpis[name]
        try:
            if kpi.dataset is not None and kpi.dataset not in spec.datasets:
                raise SpecError(
                    f"KPI `{name}` names unknown dataset `{kpi.dataset}`",
                    location=kpi.location,
                    hint=did_you_mean(kpi.dataset, spec.datasets),
                )
            ctx = _Context("kpi", kpi.expr, kpi.dataset)
            node = trees[name] if name in trees else parse(kpi.expr)
            resolved, typ = _Checker(checked, ctx).outer(node)
            if typ == "boolean":
                raise SpecError(
                    f"KPI `{name}` is a condition (true/false), not a value",
                    location=kpi.expr.locate(ast.span_of(node)),
                    hint="write conditions as rules (`rules: - when: …`)",
                )
            raw[name] = (resolved, typ, ctx.kpi_refs, ctx.agg_datasets)
            checked.kpi_types[name] = typ
            if ctx.prev_refs:
                prevs[name] = ctx.prev_refs
        except SpecError as exc:
            errors.append(exc)
    raw = {name: raw[name] for name in spec.kpis if name in raw}  # back in spec order
    # Second pass: the graph. Cycles, then the datasets each KPI needs.
    reported: set[frozenset[str]] = set()
    for name in raw:
        cycle = _find_cycle(name, raw)
        if cycle is not None and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            kpi = spec.kpis[name]
            errors.append(
                SpecError(
                    "KPI reference cycle: " + " → ".join(f"`{n}`" for n in cycle),
                    location=_ref_location(kpi, cycle[1]),
                )
            )
    if not errors:
        later = _uses_prev(raw, prevs)
        errors += _check_prev(spec, raw, prevs, later)
        errors += _check_nested_shares(spec, raw)
        errors += _check_sizes(spec, raw)
    if not errors:
        for name, (node, typ, refs, _) in raw.items():
            checked.kpis[name] = CheckedKpi(
                spec.kpis[name],
                node,
                typ,
                frozenset(_datasets(name, raw)),
                frozenset(refs),
                name in later,
            )
        for name, rule in spec.rules.items():
            try:
                checked.rules[name] = _check_rule(checked, rule)
            except SpecError as exc:
                errors.append(exc)
        errors += _check_comparisons(checked)
        errors += _check_segments(checked)
    if errors:
        raise SpecErrors(sort_errors(errors))
    return checked


def _dependency_order(spec: Spec) -> tuple[dict[str, ast.Node], list[str]]:
    """The parsed KPIs, and their names with each after the KPIs it names, so that a
    reference to a KPI has that KPI's type (``first_day = '2024-01-01'`` reads the text
    as a date). In a cycle, reported later, the order is arbitrary."""
    trees: dict[str, ast.Node] = {}
    uses: dict[str, list[str]] = {}
    for name, kpi in spec.kpis.items():
        try:
            trees[name] = parse(kpi.expr)
        except SpecError:
            uses[name] = []  # reported when the KPI is checked
            continue
        refs = (n for n in ast.walk(trees[name]) if isinstance(n, ast.Ref) and not n.dataset)
        uses[name] = [r.name for r in refs if r.name in spec.kpis and r.name != name]
    order: list[str] = []
    seen: set[str] = set()
    for root in spec.kpis:  # depth first, without recursion: chains can be long
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(uses[root]))]
        while stack:
            name, pending = stack[-1]
            following = next((n for n in pending if n not in seen), None)
            if following is None:
                stack.pop()
                order.append(name)
            else:
                seen.add(following)
                stack.append((following, iter(uses[following])))
    return trees, order


def check_filter(checked: CheckedSpec, text: ast.ExprText, dataset: str) -> ast.Node:
    """Check a row filter (``--where``) against one dataset's columns."""
    ctx = _Context("filter", text, dataset, [dataset])
    node = parse(text)
    resolved, typ = _Checker(checked, ctx).row(node, dataset)
    if typ not in ("boolean", "any"):
        raise SpecError(
            "a filter must be a condition such as `campaign = 'Spring'`",
            location=text.locate(ast.span_of(node)),
        )
    return resolved


def _check_datasets(spec: Spec, columns: dict[str, dict[str, str]], errors: list[KpiError]) -> None:
    for ds in spec.datasets.values():
        if ds.source not in spec.sources:
            errors.append(
                SpecError(
                    f"dataset `{ds.name}` uses unknown source `{ds.source}`",
                    location=ds.location,
                    hint=did_you_mean(ds.source, spec.sources) or "declare it under `sources:`",
                )
            )
        for dim in ds.dimensions:
            if dim in OUTPUT_KEYS:
                errors.append(
                    SpecError(
                        f"dataset `{ds.name}`: dimension `{dim}` would clash with the `{dim}` "
                        "key of results and findings",
                        location=ds.location,
                        hint="rename the column, for example in a view",
                    )
                )
        cols = columns.get(ds.name)
        if cols is None:
            continue
        needed = ([ds.time] if ds.time else []) + list(ds.dimensions)
        for col in needed:
            if col not in cols:
                errors.append(
                    SpecError(
                        f"dataset `{ds.name}` has no column `{col}`",
                        location=ds.location,
                        hint=did_you_mean(col, cols),
                    )
                )


def _uses_prev(
    raw: Mapping[str, tuple[ast.Node, str, set[str], set[str]]], prevs: Mapping[str, set[str]]
) -> set[str]:
    """The KPIs that need earlier periods, directly or through the KPIs they use."""
    out = set(prevs)
    changed = True
    while changed:
        changed = False
        for name, (_, _, refs, _) in raw.items():
            if name not in out and refs & out:
                out.add(name)
                changed = True
    return out


def _check_prev(
    spec: Spec,
    raw: Mapping[str, tuple[ast.Node, str, set[str], set[str]]],
    prevs: Mapping[str, set[str]],
    later: set[str],
) -> list[KpiError]:
    """previous()/change() combine whole KPIs: no aggregates beside them, no nesting."""
    errors: list[KpiError] = []
    for name in sorted(later):
        node = raw[name][0]
        kpi = spec.kpis[name]
        for inner in ast.walk(node):
            if isinstance(inner, ast.Agg | ast.Share):
                errors.append(
                    SpecError(
                        f"KPI `{name}` uses previous() or change() (directly or through "
                        "another KPI), so it can only combine KPIs",
                        location=kpi.expr.locate(ast.span_of(inner)),
                        hint="define a KPI for this part and use its name here",
                    )
                )
                break
        for target in sorted(prevs.get(name, ())):
            if target in later:
                errors.append(
                    SpecError(
                        f"previous()/change() of `{target}`, which itself needs earlier "
                        "periods, is not supported",
                        location=_ref_location(kpi, target),
                    )
                )
    return errors


def _check_comparisons(checked: CheckedSpec) -> list[KpiError]:
    """Every KPI a comparison names exists and gives a number."""
    errors: list[KpiError] = []
    for comp in checked.spec.comparisons.values():
        named = [(p.organic, p.location) for p in comp.pairs]
        named += [(p.paid, p.location) for p in comp.pairs]
        named += [(c, comp.location) for c in comp.costs]
        for kpi, location in named:
            if kpi not in checked.kpis:
                errors.append(
                    SpecError(
                        f"comparison `{comp.name}` names unknown KPI `{kpi}`",
                        location=location,
                        hint=did_you_mean(kpi, checked.kpis),
                    )
                )
            elif checked.kpis[kpi].type not in ("number", "any"):
                errors.append(
                    SpecError(
                        f"comparison `{comp.name}`: KPI `{kpi}` is not a number", location=location
                    )
                )
    return errors


def _check_segments(checked: CheckedSpec) -> list[KpiError]:
    """Segment rankings name known KPIs and a dimension that all their datasets have."""
    errors: list[KpiError] = []
    spec = checked.spec
    for seg in spec.segments.values():
        names = [*seg.kpis, seg.rank_by, *(k for k, _ in seg.minimums)]
        unknown = [k for k in names if k not in checked.kpis]
        for kpi in unknown:
            errors.append(
                SpecError(
                    f"segments `{seg.name}` name unknown KPI `{kpi}`",
                    location=seg.location,
                    hint=did_you_mean(kpi, checked.kpis),
                )
            )
        if unknown:
            continue
        for kpi in dict.fromkeys(names):
            lacking = [
                d
                for d in sorted(checked.kpis[kpi].datasets)
                if seg.by not in spec.datasets[d].dimensions
            ]
            if lacking:
                errors.append(
                    SpecError(
                        f"segments `{seg.name}`: KPI `{kpi}` cannot be broken down by "
                        f"`{seg.by}` (dataset `{lacking[0]}` lacks that dimension)",
                        location=seg.location,
                    )
                )
    return errors


def _check_rule(checked: CheckedSpec, rule: Rule) -> CheckedRule:
    ctx = _Context("rule", rule.when)
    node = parse(rule.when)
    resolved, typ = _Checker(checked, ctx).outer(node)
    if typ not in ("boolean", "any"):
        raise SpecError(
            f"rule `{rule.name}` must be a condition such as `ctr < 0.5%`",
            location=rule.when.locate(ast.span_of(node)),
        )
    kpis = _all_refs(resolved)
    for target in sorted(ctx.prev_refs):
        if checked.kpis[target].uses_prev:
            raise SpecError(
                f"previous()/change() of `{target}`, which itself needs earlier periods, "
                "is not supported",
                location=rule.when.locate(ast.span_of(node)),
            )
    if rule.kpi is not None:
        if rule.kpi not in checked.kpis:
            raise SpecError(
                f"rule `{rule.name}` is about unknown KPI `{rule.kpi}`",
                location=rule.location,
                hint=did_you_mean(rule.kpi, checked.kpis),
            )
        main = rule.kpi
    elif kpis:
        main = sorted(kpis, key=lambda k: rule.when.text.find(k))[0]
    else:
        raise SpecError(
            f"rule `{rule.name}` does not use any KPI", location=rule.when.locate(ast.span_of(node))
        )
    fields = _message_fields(checked, rule, main)
    return CheckedRule(rule, resolved, main, frozenset(kpis | {main}), fields)


def _message_fields(checked: CheckedSpec, rule: Rule, main: str) -> tuple[str, ...]:
    if rule.message is None:
        return ()
    dims = {d for ds in checked.spec.datasets.values() for d in ds.dimensions}
    allowed = set(MESSAGE_FIELDS) | set(checked.kpis) | dims
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(rule.message))
    except ValueError as exc:
        raise SpecError(
            f"rule `{rule.name}` has a bad message template: {exc}", location=rule.location
        ) from None
    for _, name, spec, _conv in parsed:
        if name is None:
            continue
        if not name or not ast_name(name):
            raise SpecError(
                f"rule `{rule.name}`: message placeholder `{{{name}}}` must be a plain name "
                "(no attribute or index access)",
                location=rule.location,
            )
        if spec and "{" in spec:
            raise SpecError(
                f"rule `{rule.name}`: nested placeholders are not allowed in messages",
                location=rule.location,
            )
        if name not in allowed:
            raise SpecError(
                f"rule `{rule.name}`: unknown message placeholder `{{{name}}}`",
                location=rule.location,
                hint=did_you_mean(name, allowed),
            )
        out.append(name)
    return tuple(out)


def ast_name(name: str) -> bool:
    return name.isidentifier()


def _all_refs(node: ast.Node) -> set[str]:
    return {n.name for n in ast.walk(node) if isinstance(n, ast.KpiRef)}


def _find_cycle(
    start: str, raw: Mapping[str, tuple[ast.Node, str, set[str], set[str]]]
) -> list[str] | None:
    path: list[str] = [start]

    def visit(name: str, seen: frozenset[str]) -> list[str] | None:
        for ref in sorted(raw[name][2]):
            if ref == start:
                return [*path, ref]
            if ref in seen or ref not in raw:
                continue
            path.append(ref)
            found = visit(ref, seen | {ref})
            if found:
                return found
            path.pop()
        return None

    return visit(start, frozenset({start}))


def _datasets(name: str, raw: Mapping[str, tuple[ast.Node, str, set[str], set[str]]]) -> set[str]:
    out: set[str] = set()
    stack, seen = [name], set()
    while stack:
        n = stack.pop()
        if n in seen or n not in raw:
            continue
        seen.add(n)
        out |= raw[n][3]
        stack.extend(raw[n][2])
    return out


def _ref_location(kpi: Kpi, target: str) -> Location | None:
    text = kpi.expr.text
    pos = text.find(target)
    if pos < 0:
        return kpi.location
    return kpi.expr.locate(ast.Span(pos, pos + len(target)))


def _settle(node: ast.Node, typ: str) -> ast.Node:
    """Give the bare ``null`` in ``node`` the type its context wants (``sum(null)``,
    ``x + null``, ``coalesce(null, 0)``, ``day = null``), through what passes a value on
    (``coalesce``, ``if``, ``least``, ``greatest``, ``min``, ``max``). The SQL then holds a
    typed NULL, which every database accepts where an untyped one may fail."""
    if typ == "any":
        return node
    match node:
        case ast.Null(type="any"):
            return replace(node, type=typ)
        case ast.Call(name="if", args=(cond, then, otherwise)):
            return replace(node, args=(cond, _settle(then, typ), _settle(otherwise, typ)))
        case ast.Call(name="coalesce" | "least" | "greatest", args=args):
            return replace(node, args=tuple(_settle(a, typ) for a in args))
        case ast.Agg(func="min" | "max", arg=arg) if arg is not None:
            return replace(node, arg=_settle(arg, typ))
    return node


def _check_nested_shares(
    spec: Spec, raw: Mapping[str, tuple[ast.Node, str, set[str], set[str]]]
) -> list[KpiError]:
    """share() of a KPI that is (or uses) a share(): SQL cannot nest window functions."""
    errors: list[KpiError] = []
    for name, (node, *_) in raw.items():
        for share in (n for n in ast.walk(node) if isinstance(n, ast.Share)):
            stack, seen = [share.operand], set()
            while stack:
                inner = stack.pop()
                if isinstance(inner, ast.KpiRef) and inner.name not in seen and inner.name in raw:
                    seen.add(inner.name)
                    if any(isinstance(n, ast.Share) for n in ast.walk(raw[inner.name][0])):
                        errors.append(
                            SpecError(
                                f"share() of KPI `{inner.name}`, which uses share() itself, "
                                "cannot be computed",
                                location=spec.kpis[name].expr.locate(ast.span_of(share)),
                                hint="a share's total is over the period's rows already",
                            )
                        )
                        stack.clear()
                        break
                    stack.append(raw[inner.name][0])
                else:
                    stack.extend(ast.children(inner))
    return errors


#: The most terms a KPI may have once written out in SQL: the KPIs it uses are inlined
#: (each time they are used), so `k2: k1 + k1`, `k3: k2 + k2`, … doubles at each step.
MAX_TERMS = 20_000


def _check_sizes(
    spec: Spec, raw: Mapping[str, tuple[ast.Node, str, set[str], set[str]]]
) -> list[KpiError]:
    """KPIs too large to compile: their SQL would take exponential time and space."""
    sizes: dict[str, int] = {}

    def kpi_size(name: str) -> int:
        if name not in sizes:
            sizes[name] = 1  # a cycle is reported elsewhere
            sizes[name] = size(raw[name][0]) if name in raw else 1
        return sizes[name]

    def size(node: ast.Node) -> int:
        match node:
            case ast.KpiRef(name=name):
                return kpi_size(name)
            case ast.Call(name="least" | "greatest", args=args):
                # compiled as a chain of CASEs, each repeating the one before twice
                total = size(args[0])
                for arg in args[1:]:
                    total = 2 * total + 3 * size(arg) + 3
                return total
            case ast.Share(operand=operand):
                return 2 * size(operand) + 3
        return 1 + sum(size(child) for child in ast.children(node))

    errors: list[KpiError] = []
    for name, (_, _, refs, _) in raw.items():
        # Name the first KPI of a chain that is too large, not every one after it.
        if kpi_size(name) > MAX_TERMS and all(kpi_size(r) <= MAX_TERMS for r in refs):
            errors.append(
                SpecError(
                    f"KPI `{name}` is too large to compute: written out with the KPIs it "
                    f"uses, its SQL has more than {MAX_TERMS} terms",
                    location=spec.kpis[name].location,
                    hint="a KPI used several times is written out each time; "
                    "nest fewer KPIs, least() or greatest()",
                )
            )
    return errors


def _known(types: Sequence[str]) -> str:
    """The one type among ``types`` that is not ``any`` (``any`` if none is)."""
    return next((t for t in types if t != "any"), "any")


_NUMBER_FUNCS = {"sum", "avg"}
_ARITH_OPS = {"+", "-", "*", "/"}


class _Checker:
    def __init__(self, checked: CheckedSpec, ctx: _Context) -> None:
        self.checked = checked
        self.ctx = ctx

    def error(self, message: str, node: ast.Node, hint: str | None = None) -> SpecError:
        return SpecError(message, location=self.ctx.text.locate(ast.span_of(node)), hint=hint)

    # -- the aggregate level: KPIs, rules ---------------------------------------------

    def outer(self, node: ast.Node) -> tuple[ast.Node, str]:
        match node:
            case ast.Ref(name=name, dataset=None):
                return self._kpi_ref(node, name)
            case ast.Ref():
                raise self.error(
                    f"column `{node.display}` must be inside an aggregate, "
                    f"such as sum({node.display})",
                    node,
                )
            case ast.Agg():
                if self.ctx.kind == "rule":
                    raise self.error(
                        "rules compare KPI values; define a KPI for this aggregate "
                        "and use its name here",
                        node,
                    )
                return self._aggregate(node)
            case ast.Share(operand=operand):
                if self.ctx.kind == "rule":
                    raise self.error("share() is not available in rules; use it in a KPI", node)
                inner, typ = self.outer(operand)
                self._expect(operand, typ, "number", "share()")
                if any(isinstance(n, ast.Share) for n in ast.walk(inner)):
                    raise self.error(
                        "share() of a share() cannot be computed",
                        node,
                        hint="a share's total is itself over the period's rows; use the inner one",
                    )
                return replace(node, operand=_settle(inner, "number")), "number"
            case ast.Prev(func=func, operand=operand):
                if not isinstance(operand, ast.Ref) or operand.dataset is not None:
                    raise self.error(
                        f"{func}() takes the name of a KPI, such as {func}(ctr)",
                        node,
                        hint="define a KPI for the expression and name it here",
                    )
                inner, typ = self._kpi_ref(operand, operand.name)
                self._expect(operand, typ, "number", f"{func}()")
                self.ctx.prev_refs.add(operand.name)
                return replace(node, operand=inner), "number"
        return self._generic(node, self.outer)

    def _kpi_ref(self, node: ast.Ref, name: str) -> tuple[ast.Node, str]:
        spec = self.checked.spec
        if name in spec.kpis:
            self.ctx.kpi_refs.add(name)
            known = self.checked.kpis.get(name)  # KPIs are typed before rules are checked
            typ = known.type if known else self.checked.kpi_types.get(name, "any")
            return ast.KpiRef(name, node.span), typ
        if self.checked.dataset_of_column(name):
            raise self.error(
                f"column `{name}` must be inside an aggregate, such as sum({name})",
                node,
                hint="outside aggregates, names refer to KPIs",
            )
        raise self.error(f"unknown KPI `{name}`", node, hint=did_you_mean(name, spec.kpis))

    def _aggregate(self, node: ast.Agg) -> tuple[ast.Node, str]:
        refs = [n for n in ast.walk(node) if isinstance(n, ast.Ref)]
        for inner in ast.walk(node)[1:]:
            if isinstance(inner, ast.Agg):
                raise self.error(
                    f"aggregate {inner.func}() inside aggregate {node.func}()",
                    inner,
                    hint="aggregates cannot be nested; compute the inner one as a KPI",
                )
            if isinstance(inner, ast.Share | ast.Prev):
                raise self.error(
                    "share(), previous() and change() cannot be used inside an aggregate", inner
                )
        dataset = self._pick_dataset(node, refs)
        arg_type = "any"
        arg = node.arg
        if arg is not None:
            arg, arg_type = self.row(arg, dataset)
        where = node.where
        if where is not None:
            where, where_type = self.row(where, dataset)
            self._expect(node.where, where_type, "boolean", "`where`")  # type: ignore[arg-type]
        func = node.func
        if func in _NUMBER_FUNCS or func in ("first", "last"):
            self._expect(node.arg, arg_type, "number", f"{func}()")  # type: ignore[arg-type]
            arg = _settle(arg, "number")  # type: ignore[arg-type]
            result = "number"
        elif func in ("min", "max"):
            if arg_type == "boolean":
                raise self.error(f"{func}() needs numbers, dates or text", node)
            result = arg_type
        else:
            result = "number"
        if func in ("first", "last"):
            time = self.checked.spec.datasets[dataset].time
            if time is None:
                raise self.error(
                    f"{func}() needs a time column, and dataset `{dataset}` has none", node
                )
        self.ctx.agg_datasets.add(dataset)
        return replace(node, arg=arg, where=where, dataset=dataset), result

    def _pick_dataset(self, node: ast.Agg, refs: list[ast.Ref]) -> str:
        spec = self.checked.spec
        qualified = {r.dataset for r in refs if r.dataset is not None}
        for ref in refs:
            if ref.dataset is not None and ref.dataset not in spec.datasets:
                raise self.error(
                    f"unknown dataset `{ref.dataset}`",
                    ref,
                    hint=did_you_mean(ref.dataset, spec.datasets),
                )
        if len(qualified) > 1:
            raise self.error(
                "one aggregate cannot mix datasets ("
                + ", ".join(f"`{d}`" for d in sorted(qualified))
                + ")",
                node,
                hint="aggregate each dataset separately and combine the results",
            )
        if qualified:
            return qualified.pop()
        default = self.ctx.default_dataset
        bare = [r for r in refs if r.dataset is None]
        if default is not None:
            return default
        if not bare:
            if len(spec.datasets) == 1:
                return next(iter(spec.datasets))
            raise self.error(
                f"{node.func}(*) needs to know its dataset",
                node,
                hint="set `dataset:` on the KPI (or in the file's `defaults:`)",
            )
        candidates: set[str] | None = None
        for ref in bare:
            found = set(self.checked.dataset_of_column(ref.name))
            if not found:
                raise self._unknown_column(ref, None)
            candidates = found if candidates is None else candidates & found
        if not candidates:
            raise self.error("the columns of this aggregate are not all in one dataset", node)
        if len(candidates) > 1:
            first = bare[0].name
            choices = sorted(candidates)
            raise self.error(
                f"column `{first}` is in several datasets: " + ", ".join(f"`{c}`" for c in choices),
                bare[0],
                hint=f"write `{choices[0]}.{first}` or set `dataset:` on the KPI",
            )
        return candidates.pop()

    def _unknown_column(self, ref: ast.Ref, dataset: str | None) -> SpecError:
        if dataset is not None:
            cols = self.checked.columns.get(dataset, {})
            where = f" in dataset `{dataset}`"
        else:
            cols = {c: t for d in self.checked.columns.values() for c, t in d.items()}
            where = ""
        hint = did_you_mean(ref.name, cols)
        if hint is None and ref.name in self.checked.spec.kpis:
            return self.error(
                f"KPI `{ref.name}` cannot be used inside an aggregate",
                ref,
                hint="aggregate the columns it is made of instead",
            )
        return self.error(f"unknown column `{ref.name}`{where}", ref, hint=hint)

    # -- the row level: inside aggregates and filters ---------------------------------

    def row(self, node: ast.Node, dataset: str) -> tuple[ast.Node, str]:
        match node:
            case ast.Ref(name=name, dataset=qual):
                if qual is not None and qual != dataset:
                    raise self.error(f"column `{node.display}` is not in dataset `{dataset}`", node)
                cols = self.checked.columns.get(dataset, {})
                if name not in cols:
                    raise self._unknown_column(node, dataset)
                typ = cols[name]
                return ast.Col(dataset, name, typ, node.span), typ
            case ast.Agg():
                raise self.error("aggregates are not allowed here", node)
            case ast.Share():
                raise self.error("share() is not allowed here", node)
            case ast.Prev(func=func):
                raise self.error(f"{func}() is not allowed here", node)
        return self._generic(node, lambda n: self.row(n, dataset))

    # -- shared rules -----------------------------------------------------------------

    def _expect(self, node: ast.Node, typ: str, want: str, what: str) -> None:
        if typ not in (want, "any"):
            raise self.error(f"{what} needs a {_TYPE_NAMES[want]}, not a {_TYPE_NAMES[typ]}", node)

    def _generic(self, node: ast.Node, sub: object) -> tuple[ast.Node, str]:
        visit = sub  # callable: node -> (node, type)
        match node:
            case ast.Num():
                return node, "number"
            case ast.Str():
                return node, "string"
            case ast.Bool():
                return node, "boolean"
            case ast.Null():
                return node, "any"
            case ast.Neg(operand=a):
                a2, ta = visit(a)  # type: ignore[operator]
                self._expect(a, ta, "number", "unary `-`")
                return replace(node, operand=_settle(a2, "number")), "number"
            case ast.BinOp(op=op, left=a, right=b):
                a2, ta = visit(a)  # type: ignore[operator]
                b2, tb = visit(b)  # type: ignore[operator]
                self._expect(a, ta, "number", f"`{op}`")
                self._expect(b, tb, "number", f"`{op}`")
                left, right = _settle(a2, "number"), _settle(b2, "number")
                return replace(node, left=left, right=right), "number"
            case ast.Compare(op=op, left=a, right=b):
                a2, ta = visit(a)  # type: ignore[operator]
                b2, tb = visit(b)  # type: ignore[operator]
                self._same(node, ta, tb, f"`{op}`")
                a2, b2 = self._date(a2, tb), self._date(b2, ta)
                return replace(node, left=_settle(a2, tb), right=_settle(b2, ta)), "boolean"
            case ast.And(left=a, right=b) | ast.Or(left=a, right=b):
                word = "and" if isinstance(node, ast.And) else "or"
                a2, ta = visit(a)  # type: ignore[operator]
                b2, tb = visit(b)  # type: ignore[operator]
                self._expect(a, ta, "boolean", f"`{word}`")
                self._expect(b, tb, "boolean", f"`{word}`")
                return replace(node, left=a2, right=b2), "boolean"
            case ast.Not(operand=a):
                a2, ta = visit(a)  # type: ignore[operator]
                self._expect(a, ta, "boolean", "`not`")
                return replace(node, operand=a2), "boolean"
            case ast.IsNull(operand=a):
                a2, _ = visit(a)  # type: ignore[operator]
                return replace(node, operand=a2), "boolean"
            case ast.In(operand=a, items=items):
                a2, ta = visit(a)  # type: ignore[operator]
                new_items, item_types = [], []
                for item in items:
                    i2, ti = visit(item)  # type: ignore[operator]
                    self._same(item, ta, ti, "`in`")
                    new_items.append(self._date(i2, ta))
                    item_types.append(ti)
                other = _known(item_types)
                a2 = self._date(a2, other)
                ta = "date" if isinstance(a2, ast.DateLit) else ta
                a2 = _settle(a2, other)
                new_items = [_settle(i, ta) for i in new_items]
                return replace(node, operand=a2, items=tuple(new_items)), "boolean"
            case ast.Between(operand=a, low=lo, high=hi):
                a2, ta = visit(a)  # type: ignore[operator]
                l2, tl = visit(lo)  # type: ignore[operator]
                h2, th = visit(hi)  # type: ignore[operator]
                self._same(lo, ta, tl, "`between`")
                self._same(hi, ta, th, "`between`")
                other = _known([tl, th])
                a2 = self._date(a2, other)
                ta = "date" if isinstance(a2, ast.DateLit) else ta
                a2 = _settle(a2, other)
                l2, h2 = _settle(self._date(l2, ta), ta), _settle(self._date(h2, ta), ta)
                return replace(node, operand=a2, low=l2, high=h2), "boolean"
            case ast.Call(name=name, args=args):
                fn = self.checked.functions.get(name)
                if fn is None:
                    raise self.error(
                        f"unknown function `{name}`",
                        node,
                        hint=did_you_mean(
                            name, [*self.checked.functions, *ast.AGGREGATES, "share"]
                        ),
                    )
                if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
                    want = (
                        str(fn.min_args)
                        if fn.max_args == fn.min_args
                        else f"{fn.min_args} or more"
                        if fn.max_args is None
                        else f"{fn.min_args} to {fn.max_args}"
                    )
                    raise self.error(f"{name}() takes {want} arguments, got {len(args)}", node)
                new_args, types = [], []
                for arg in args:
                    a2, ta = visit(arg)  # type: ignore[operator]
                    new_args.append(a2)
                    types.append(ta)
                try:
                    result = fn.check(types)
                except ValueError as exc:
                    raise self.error(f"{name}(): {exc}", node) from None
                # Untyped nulls among the arguments take the result's type (the condition
                # of if() is one), as in coalesce(x, null), abs(null), if(c, null, 0).
                settled = [
                    _settle(a, "boolean" if name == "if" and i == 0 else result)
                    for i, a in enumerate(new_args)
                ]
                return replace(node, args=tuple(settled)), result
        raise self.error(f"no check rule for {type(node).__name__}", node)  # pragma: no cover

    def _date(self, node: ast.Node, other: str) -> ast.Node:
        """A string compared with a date becomes a date: it must be written YYYY-MM-DD."""
        if other != "date" or not isinstance(node, ast.Str):
            return node
        try:
            day = dt.date.fromisoformat(node.value)
        except ValueError:
            raise self.error(
                f"`{node.value}` is not a date", node, hint="write dates as 'YYYY-MM-DD'"
            ) from None
        return ast.DateLit(day.isoformat(), node.span)

    def _same(self, node: ast.Node, a: str, b: str, what: str) -> None:
        if "any" in (a, b) or a == b or {a, b} == {"date", "string"}:
            return
        raise self.error(
            f"{what} compares a {_TYPE_NAMES[a]} with a {_TYPE_NAMES[b]}",
            node,
        )


_TYPE_NAMES = {
    "number": "number",
    "string": "text",
    "boolean": "condition (true/false)",
    "date": "date",
    "any": "value",
}
