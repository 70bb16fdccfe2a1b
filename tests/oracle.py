"""A reference evaluator: the documented semantics of KPIs, computed in plain Python.

Used only as a test oracle (tests/test_differential.py): it interprets the *checked*
syntax tree (``kpiengine.expr.ast`` after ``kpiengine.check``: ``Agg`` with its
dataset, ``Col``, ``KpiRef``, ``Share``, ``Call``, ``DateLit``, …) over rows held as
lists of dicts, with no SQL at all. It is written to be obviously right rather than
fast; each rule below is a sentence of docs/expressions.md or docs/sql.md:

* SQL null semantics: arithmetic and comparisons with null are null, ``and``/``or``/
  ``not`` follow three-valued logic, aggregates skip nulls, ``if(c, a, b)`` is ``b``
  when ``c`` is null, ``coalesce`` is the first non-null argument, ``least`` and
  ``greatest`` ignore nulls.
* ``a / b`` is a floating-point division, null when ``b`` is zero.
* A group is a period (``--grain``: day, ISO week from Monday, month, quarter, year;
  none for ``total``) and the values of the breakdown (``--by``). ``--from``/``--to``
  are inclusive and, like ``--where``, remove rows before anything is grouped.
* Over no values ``sum avg min max first last`` are null and the counts are 0; a
  filtered aggregate only sees the rows where its condition is true.
* ``first(x)``/``last(x)``: the sum of ``x`` over the group's rows at its earliest /
  latest time.
* The rows of an output table are the union of the groups of its datasets; at a
  group a dataset does not have, every aggregate of that dataset is null (the
  outer join), counts included.
* ``share(x)`` is ``x`` over the total of ``x`` across the table's rows of the same
  period; a zero total gives null.

Floating point
--------------
The databases add up floating-point numbers in an order of their own, so a sum may
legitimately differ from the exact one. Every number here is kept with a bound on
that difference (:class:`Approx`): a float sum of ``n`` terms is within
``n · 2⁻⁵³ · Σ|terms|`` of the exact sum, whatever the order (the classic bound for
recursive summation, which pairwise and compensated summation only improve on), and
exactly equal when every partial sum is representable (all terms multiples of one
power of two and ``Σ|terms|`` below 2⁵³ of them). The bound is carried through the
KPI arithmetic; a comparison or a division whose outcome the bound leaves open gives
:data:`ANY` ("the databases may differ here"), which matches any result. Row-level
arithmetic needs no bound: every database computes ``+ - * /`` on the same doubles
with IEEE rounding, exactly as Python does.

Values the databases cannot hold identically (integers beyond 2⁵³, floats beyond
1e300 or below 1e-290) raise :class:`Unrepresentable`; the differential test skips
such examples.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kpiengine.check import CheckedSpec, check_filter
from kpiengine.expr import ast
from kpiengine.expr.parser import parse

U = 2.0**-53  # unit roundoff of a double
INT_LIMIT = 2**53


class _Any:
    """A value the databases may legitimately disagree on: it matches anything."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()


class Unrepresentable(Exception):
    """A value no database can be expected to hold exactly (overflow, underflow)."""


@dataclass(frozen=True)
class Approx:
    """A number known up to ``err``: a database may return anything in value ± err."""

    value: int | float
    err: float


def number(value: int | float, err: float = 0.0) -> Any:
    """``value`` (with ``err``), after checking that databases can represent it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= INT_LIMIT:
            raise Unrepresentable(f"integer {value}")
    elif not math.isfinite(value) or abs(value) > 1e300 or 0 < abs(value) < 1e-290:
        raise Unrepresentable(f"float {value}")
    return Approx(value, err) if err > 0 else value


def parts(x: Any) -> tuple[Any, float]:
    return (x.value, x.err) if isinstance(x, Approx) else (x, 0.0)


def is_number(x: Any) -> bool:
    return isinstance(x, int | float | Approx) and not isinstance(x, bool)


# -- scalar operations ------------------------------------------------------------------


def arith(op: str, a: Any, b: Any) -> Any:
    if a is ANY or b is ANY:
        return ANY
    if a is None or b is None:
        return None
    va, ea = parts(a)
    vb, eb = parts(b)
    if op == "/":
        fa, fb = float(va), float(vb)
        if eb and abs(fb) <= eb:
            return ANY  # the denominator may be zero on some database
        if fb == 0:
            return None
        result = fa / fb
        err = 0.0
        if ea or eb:
            err = (abs(fa) * eb + abs(fb) * ea) / (abs(fb) * (abs(fb) - eb)) + 2 * U * abs(result)
        return number(result, err)
    if op == "+":
        result, err = va + vb, ea + eb
    elif op == "-":
        result, err = va - vb, ea + eb
    elif op == "*":
        result, err = va * vb, abs(va) * eb + abs(vb) * ea + ea * eb
    else:  # pragma: no cover - the checker allows no other operator
        raise ValueError(op)
    if err:
        err += 2 * U * abs(result)
    return number(result, err)


def negate(a: Any) -> Any:
    if a is ANY or a is None:
        return a
    v, e = parts(a)
    return number(-v, e)


def compare(op: str, a: Any, b: Any) -> Any:
    if a is ANY or b is ANY:
        return ANY
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        va, ea = parts(a)
        vb, eb = parts(b)
        if (ea or eb) and abs(va - vb) <= ea + eb:
            return ANY  # too close to call
        a, b = va, vb
    return {
        "=": lambda: a == b,
        "!=": lambda: a != b,
        "<": lambda: a < b,
        "<=": lambda: a <= b,
        ">": lambda: a > b,
        ">=": lambda: a >= b,
    }[op]()


def and3(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is ANY or b is ANY:
        return ANY
    if a is None or b is None:
        return None
    return True


def or3(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is ANY or b is ANY:
        return ANY
    if a is None or b is None:
        return None
    return False


def not3(a: Any) -> Any:
    if a is ANY or a is None:
        return a
    return not a


def in_list(a: Any, items: Sequence[Any]) -> Any:
    """SQL ``a IN (items)``: true if one equals, else null if anything was null, else false."""
    result: Any = False
    for item in items:
        result = or3(result, compare("=", a, item))
    return result


def if_(cond: Any, then: Any, otherwise: Any) -> Any:
    if cond is ANY:
        return then if _same(then, otherwise) else ANY
    return then if cond is True else otherwise


def _same(a: Any, b: Any) -> bool:
    return a is not ANY and b is not ANY and parts(a) == parts(b) and type(a) is type(b)


def coalesce(args: Sequence[Any]) -> Any:
    for arg in args:
        if arg is ANY:
            return ANY
        if arg is not None:
            return arg
    return None


def least_greatest(args: Sequence[Any], smallest: bool) -> Any:
    """The smallest (largest) argument that is not null; null when all are null."""
    best: Any = None
    for arg in args:
        if arg is ANY:
            return ANY
        if arg is None:
            continue
        if best is None:
            best = arg
            continue
        better = compare("<" if smallest else ">", arg, best)
        if better is ANY:
            return ANY
        if better:
            best = arg
    return best


def round_(x: Any, digits: Any) -> Any:
    """Round to ``digits`` decimals.

    Where the exact value lies at (or, within its bound, near) a decimal tie the
    databases differ (PostgreSQL rounds the 15-digit decimal form, DuckDB the scaled
    double, SQLite its own decimal conversion), so such values give :data:`ANY`.
    """
    if x is ANY or digits is ANY:
        return ANY
    if x is None or digits is None:
        return None
    v, e = parts(x)
    scale = Fraction(10) ** int(parts(digits)[0])
    t = Fraction(v) * scale
    floor = math.floor(t)
    if abs(t - floor - Fraction(1, 2)) <= Fraction(e) * scale + max(1, abs(t)) / 10**9:
        return ANY
    result = Fraction(floor + 1 if t - floor > Fraction(1, 2) else floor) / scale
    if result.denominator == 1:
        return number(int(result))
    return number(float(result), 2 * U * abs(float(result)))


def abs_(x: Any) -> Any:
    if x is ANY or x is None:
        return x
    v, e = parts(x)
    return number(abs(v), e)


def call(name: str, args: Sequence[Any]) -> Any:
    if name == "coalesce":
        return coalesce(args)
    if name == "if":
        return if_(*args)
    if name == "abs":
        return abs_(args[0])
    if name == "round":
        return round_(args[0], args[1] if len(args) > 1 else 0)
    if name == "least":
        return least_greatest(args, smallest=True)
    if name == "greatest":
        return least_greatest(args, smallest=False)
    raise ValueError(f"the oracle knows no function {name}()")


def total(values: Sequence[Any]) -> Any:
    """The SQL ``sum`` of non-null numbers (None when there are none), with its error bound."""
    if any(v is ANY for v in values):
        return ANY
    values = [v for v in values if v is not None]
    if not values:
        return None
    plain = [parts(v)[0] for v in values]
    carried = sum(parts(v)[1] for v in values)
    exact = sum((Fraction(v) for v in plain), Fraction(0))
    magnitude = sum((abs(Fraction(v)) for v in plain), Fraction(0))
    if all(isinstance(v, int) for v in plain):
        if magnitude >= INT_LIMIT:
            raise Unrepresentable(f"integer sum of magnitude {magnitude}")
        return number(int(exact), carried + (2 * U * abs(int(exact)) if carried else 0))
    granule = max(Fraction(v).denominator for v in plain)
    # Exact in any order when every partial sum is a multiple of 1/granule below 2**53 of them.
    rounding = 0.0 if magnitude * granule < INT_LIMIT else len(plain) * U * float(magnitude)
    err = carried + rounding
    if err:
        err += 2 * U * abs(float(exact))
    return number(float(exact), err)


# -- periods ----------------------------------------------------------------------------


def period_start(day: dt.date | dt.datetime | None, grain: str) -> dt.date | None:
    if day is None or grain == "total":
        return None
    if isinstance(day, dt.datetime):
        day = day.date()
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())  # ISO weeks start on Monday
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise ValueError(grain)


# -- the evaluator ----------------------------------------------------------------------

Key = tuple[Any, ...]  # (period, dimension values …)
TableKey = tuple[str, tuple[str, ...]]  # (category, dimensions)


class NoTables(Exception):
    """The request leaves no KPI to compute: the engine must refuse it (a RequestError)."""


@dataclass
class Group:
    rows: list[Mapping[str, Any]]


class Oracle:
    """Evaluate the requested KPIs of a checked spec over ``data`` (dataset → rows)."""

    def __init__(
        self,
        checked: CheckedSpec,
        data: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        grain: str = "total",
        by: Sequence[str] = (),
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        where: str | None = None,
        kpis: Sequence[str] = (),
    ) -> None:
        self.checked = checked
        self.spec = checked.spec
        self.data = data
        self.grain = grain
        self.by = tuple(dict.fromkeys(by))
        self.date_from = date_from
        self.date_to = date_to
        self.where = where
        self.names = list(kpis) or list(self.spec.kpis)

    # -- which KPIs go in which table --------------------------------------------------

    def datasets_of(self, name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """The datasets a KPI reads, through the KPIs it refers to."""
        out: set[str] = set()
        for node in ast.walk(self.checked.kpis[name].node):
            if isinstance(node, ast.Agg):
                assert node.dataset is not None
                out.add(node.dataset)
            elif isinstance(node, ast.KpiRef) and node.name not in seen:
                out |= self.datasets_of(node.name, seen | {name})
        return out

    def filters(self) -> dict[str, ast.Node] | None:
        """``--where`` checked for each dataset that has every column it names."""
        if not self.where:
            return None
        text = ast.ExprText(self.where, "<--where>")
        refs = [n for n in ast.walk(parse(text)) if isinstance(n, ast.Ref)]
        out = {}
        for dataset, cols in self.checked.columns.items():
            if all(r.dataset in (None, dataset) and r.name in cols for r in refs):
                out[dataset] = check_filter(self.checked, text, dataset)
        return out

    def tables(self) -> dict[TableKey, list[str]]:
        filters = self.filters()
        tables: dict[TableKey, list[str]] = {}
        for name in self.names:
            datasets = self.datasets_of(name)
            if not datasets:
                continue  # a constant: left out
            if filters is not None and any(d not in filters for d in datasets):
                continue  # --where does not apply to all its datasets: left out
            dims = tuple(
                d for d in self.by if all(d in self.spec.datasets[ds].dimensions for ds in datasets)
            )
            tables.setdefault((self.checked.kpis[name].kpi.category, dims), []).append(name)
        if filters is not None and not tables:
            raise NoTables
        return tables

    # -- rows and groups ---------------------------------------------------------------

    def rows(self, dataset: str, row_filter: ast.Node | None) -> list[Mapping[str, Any]]:
        time = self.spec.datasets[dataset].time
        out = []
        for row in self.data[dataset]:
            if time is not None:
                t = row[time]
                t = t.date() if isinstance(t, dt.datetime) else t
                if self.date_from is not None and (t is None or t < self.date_from):
                    continue
                if self.date_to is not None and (t is None or t > self.date_to):
                    continue
            if row_filter is not None:
                keep = self.row_value(row_filter, row)
                if keep is ANY:
                    raise Unrepresentable("--where is too close to call on a row")
                if keep is not True:
                    continue
            out.append(row)
        return out

    def groups(
        self, dataset: str, dims: tuple[str, ...], row_filter: ast.Node | None
    ) -> dict[Key, Group]:
        """The dataset's rows by (period, dimension values).

        A query with nothing to group by (grain total, or no time column, and no
        breakdown) returns one row even over no rows at all.
        """
        time = self.spec.datasets[dataset].time
        rows = self.rows(dataset, row_filter)
        grouped = bool(dims) or (self.grain != "total" and time is not None)
        if not grouped:
            return {(None,): Group(rows)}
        out: dict[Key, Group] = {}
        for row in rows:
            period = period_start(row[time], self.grain) if time is not None else None
            key = (period, *(row[d] for d in dims))
            out.setdefault(key, Group([])).rows.append(row)
        return out

    # -- evaluation --------------------------------------------------------------------

    def run(self) -> dict[TableKey, dict[Key, dict[str, Any]]]:
        """Every table's rows: {(category, dims): {(period, dims…): {kpi: value}}}."""
        filters = self.filters() or {}
        out: dict[TableKey, dict[Key, dict[str, Any]]] = {}
        for (category, dims), names in self.tables().items():
            datasets = sorted({d for n in names for d in self.datasets_of(n)})
            groups = {d: self.groups(d, dims, filters.get(d)) for d in datasets}
            keys = list(dict.fromkeys(k for g in groups.values() for k in g))
            table = _Table(self, groups, keys)
            out[(category, dims)] = {
                key: {name: table.kpi(name, key) for name in names} for key in keys
            }
        return out

    def row_value(self, node: ast.Node, row: Mapping[str, Any]) -> Any:
        """A row-level expression (an aggregate's argument or condition, a filter)."""
        if isinstance(node, ast.Col):
            return row[node.name]
        return scalar(node, lambda n: self.row_value(n, row))

    def aggregate(self, agg: ast.Agg, group: Group) -> Any:
        assert agg.dataset is not None
        time = self.spec.datasets[agg.dataset].time
        values: list[Any] = []
        for row in group.rows:
            # Evaluated on every row, so that an unrepresentable value is found wherever it is.
            value = self.row_value(agg.arg, row) if agg.arg is not None else 1
            keep = self.row_value(agg.where, row) if agg.where is not None else True
            if keep is ANY:
                return ANY
            if keep is True:
                values.append(value)
        func = agg.func
        if func in ("first", "last"):
            assert time is not None
            times = [row[time] for row in group.rows if row[time] is not None]
            if not times:
                return None
            at = min(times) if func == "first" else max(times)
            return total([v for row, v in zip(group.rows, values, strict=True) if row[time] == at])
        if any(v is ANY for v in values):
            return ANY
        present = [v for v in values if v is not None]
        if func == "count":
            return len(present)
        if func == "count_distinct":
            return len(set(present))
        if func == "sum":
            return total(present)
        if func == "avg":
            s = total(present)
            if s is None:
                return None
            v, e = parts(s)
            mean = float(Fraction(v) / len(present))
            return number(mean, e / len(present) + 2 * U * abs(mean))
        if func in ("min", "max"):
            if not present:
                return None
            if any(isinstance(v, Approx) for v in present):
                # Each value is within its bound, so the smallest is within the largest bound.
                values = [parts(v) for v in present]
                pick = min if func == "min" else max
                return number(pick(v for v, _ in values), max(e for _, e in values))
            return min(present) if func == "min" else max(present)
        raise ValueError(f"the oracle knows no aggregate {func}()")


class _Table:
    """The KPI values of one output table, key by key."""

    def __init__(self, oracle: Oracle, groups: Mapping[str, Mapping[Key, Group]], keys: list[Key]):
        self.oracle = oracle
        self.groups = groups
        self.keys = keys
        self.memo: dict[tuple[ast.Node, Key], Any] = {}

    def kpi(self, name: str, key: Key) -> Any:
        return self.value(self.oracle.checked.kpis[name].node, key)

    def value(self, node: ast.Node, key: Key) -> Any:
        memo_key = (node, key)
        if memo_key not in self.memo:
            self.memo[memo_key] = self._value(node, key)
        return self.memo[memo_key]

    def _value(self, node: ast.Node, key: Key) -> Any:
        match node:
            case ast.Agg(dataset=dataset):
                assert dataset is not None
                group = self.groups[dataset].get(key)
                if group is None:  # the outer join: this dataset has no such group
                    return None
                return self.oracle.aggregate(node, group)
            case ast.KpiRef(name=name):
                return self.kpi(name, key)
            case ast.Share(operand=operand):
                same = [k for k in self.keys if k[0] == key[0]]  # the rows of the period
                whole = total([self.value(operand, k) for k in same])
                return arith("/", self.value(operand, key), whole)
        return scalar(node, lambda n: self.value(n, key))


def scalar(node: ast.Node, sub: Callable[[ast.Node], Any]) -> Any:
    """Literals, operators and functions: the same at the row and the KPI level.

    Every operand is evaluated, even where SQL would not need it (an untaken branch),
    so that an unrepresentable value is found wherever it is.
    """
    match node:
        case ast.Num(value=v):
            return number(v)
        case ast.Str(value=v):
            return v
        case ast.DateLit(value=v):
            return dt.date.fromisoformat(v)
        case ast.Bool(value=v):
            return v
        case ast.Null():
            return None
        case ast.Neg(operand=a):
            return negate(sub(a))
        case ast.BinOp(op=op, left=a, right=b):
            return arith(op, sub(a), sub(b))
        case ast.Compare(op=op, left=a, right=b):
            return compare(op, sub(a), sub(b))
        case ast.And(left=a, right=b):
            return and3(sub(a), sub(b))
        case ast.Or(left=a, right=b):
            return or3(sub(a), sub(b))
        case ast.Not(operand=a):
            return not3(sub(a))
        case ast.IsNull(operand=a, negated=negated):
            v = sub(a)
            if v is ANY:
                return ANY
            return (v is not None) if negated else (v is None)
        case ast.In(operand=a, items=items, negated=negated):
            result = in_list(sub(a), [sub(i) for i in items])
            return not3(result) if negated else result
        case ast.Between(operand=a, low=lo, high=hi, negated=negated):
            v = sub(a)
            result = and3(compare(">=", v, sub(lo)), compare("<=", v, sub(hi)))
            return not3(result) if negated else result
        case ast.Call(name=name, args=args):
            return call(name, [sub(a) for a in args])
    raise ValueError(f"the oracle cannot evaluate {type(node).__name__} here")


def plain(value: Any) -> Any:
    """A value as the engine reports it: dates as ISO text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def matches(expected: Any, got: Any) -> bool:
    """Whether an engine's value is the oracle's, within the oracle's error bound.

    On top of the bound, 4 units in the last place of slack cover the final
    conversions (PostgreSQL's NUMERIC to double, DuckDB's HUGEINT to double).
    """
    if expected is ANY:
        return True
    if expected is None or got is None:
        return expected is None and got is None
    if is_number(expected):
        if not is_number(got):
            return False
        v, e = parts(expected)
        return abs(got - v) <= e + 4 * U * max(abs(v), abs(got))
    return bool(plain(expected) == got)
