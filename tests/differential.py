"""The machinery of the differential tests: random specs, data and requests, the three
databases, and the comparison with the oracle (tests/oracle.py).

Kept apart from tests/test_differential.py so that the mutation tests and the
regression examples use exactly the same path as the hypothesis tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import oracle
from hypothesis import strategies as st

from kpiengine.check import CheckedSpec, check_spec
from kpiengine.engine import Request, evaluate
from kpiengine.errors import RequestError, SpecErrors
from kpiengine.expr import ast
from kpiengine.expr.parser import parse
from kpiengine.pluginmanager import default_plugins
from kpiengine.spec import Dataset, Kpi, SourceDef, Spec

# -- the schema: three datasets in one source ------------------------------------------


@dataclass(frozen=True)
class Schema:
    time: str | None
    dims: tuple[str, ...]
    #: column → "int" | "float" | "string" | "date" | "boolean"
    columns: dict[str, str]

    def names(self, kind: str) -> list[str]:
        """Columns of an expression type (``number`` covers int and float)."""
        want = ("int", "float") if kind == "number" else (kind,)
        return [c for c, t in self.columns.items() if t in want]


SCHEMA = {
    # Daily rows broken down by two dimensions.
    "a": Schema(
        "day",
        ("g1", "g2"),
        {
            "day": "date",
            "g1": "string",
            "g2": "string",
            "x": "int",
            "y": "int",
            "f": "float",
            "ok": "boolean",
        },
    ),
    # Daily rows with one of those dimensions, and columns shared with `a`.
    "b": Schema("day", ("g1",), {"day": "date", "g1": "string", "x": "int", "z": "float"}),
    # No time column: its rows have no period.
    "c": Schema(None, ("g1",), {"g1": "string", "w": "int"}),
}
TYPE_OF = {"int": "number", "float": "number", "string": "string", "date": "date"}
TYPE_OF["boolean"] = "boolean"

#: Columns a --where may use, by the datasets it then applies to.
FILTER_SCOPES = {
    "a": SCHEMA["a"],
    "ab": Schema("day", ("g1",), {"day": "date", "g1": "string", "x": "int"}),
    "abc": Schema(None, ("g1",), {"g1": "string"}),
    "c": SCHEMA["c"],
}

DIM_VALUES = [
    "",
    "A",
    "a",
    "a ",
    "O'Brien",
    'say "hi"',
    "x'; DROP TABLE t; --",
    "Ünïcødé",
    "日本語",
    "🎉",
    "tab\there",
    "line\nbreak",
    "back\\slash",
    "50% # not a comment",
]
INT_LITERALS = [*range(-3, 6), *range(-3, 6), 10, 100, 1000, 10**6, 2147483647]
FLOAT_LITERALS = [0.5, 0.25, 1.5, -2.5, 0.1, 2.675, 1e-3, 1e12]
FIRST_DAY = dt.date(2023, 12, 18)  # a Monday; the data crosses a year and quarters
LAST_DAY = dt.date(2024, 4, 14)
GRAINS = ("day", "week", "month", "quarter", "year", "total")


# -- rendering the syntax tree as text ----------------------------------------------------

_LEVEL = {"or": 1, "and": 2, "not": 3, "pred": 4, "sum": 5, "product": 6, "unary": 7, "atom": 8}


def render(node: ast.Node, style: Callable[[int], int] | None = None) -> str:
    """The expression text of ``node``, with as few parentheses as the grammar allows.

    ``style(n)`` picks among equivalent spellings (quotes, case of function names).
    """
    pick = style or (lambda n: 0)
    return _render(node, pick)[0]


def _render(node: ast.Node, pick: Callable[[int], int]) -> tuple[str, int]:
    def at(child: ast.Node, level: str) -> str:
        text, got = _render(child, pick)
        return text if got >= _LEVEL[level] else f"({text})"

    def name(fn: str) -> str:
        return fn.upper() if pick(2) else fn

    match node:
        case ast.Num(value=v):
            text = repr(v)
            return text, _LEVEL["unary"] if text.startswith("-") else _LEVEL["atom"]
        case ast.Str(value=v):
            if pick(2):
                body = v.replace("\\", "\\\\").replace('"', '\\"')
                return '"' + body.replace("\n", "\\n").replace("\t", "\\t") + '"', _LEVEL["atom"]
            return "'" + v.replace("'", "''") + "'", _LEVEL["atom"]
        case ast.Bool(value=v):
            return ("true" if v else "false"), _LEVEL["atom"]
        case ast.Null():
            return "null", _LEVEL["atom"]
        case ast.Ref(name=n, dataset=d):
            return (f"{d}.{n}" if d else n), _LEVEL["atom"]
        case ast.Or(left=a, right=b):
            return f"{at(a, 'or')} or {at(b, 'and')}", _LEVEL["or"]
        case ast.And(left=a, right=b):
            return f"{at(a, 'and')} and {at(b, 'not')}", _LEVEL["and"]
        case ast.Not(operand=a):
            return f"not {at(a, 'not')}", _LEVEL["not"]
        case ast.Compare(op=op, left=a, right=b):
            shown = "<>" if op == "!=" and pick(2) else op
            return f"{at(a, 'sum')} {shown} {at(b, 'sum')}", _LEVEL["pred"]
        case ast.In(operand=a, items=items, negated=neg):
            inside = ", ".join(_render(i, pick)[0] for i in items)
            return f"{at(a, 'sum')} {'not in' if neg else 'in'} ({inside})", _LEVEL["pred"]
        case ast.Between(operand=a, low=lo, high=hi, negated=neg):
            word = "not between" if neg else "between"
            return f"{at(a, 'sum')} {word} {at(lo, 'sum')} and {at(hi, 'sum')}", _LEVEL["pred"]
        case ast.IsNull(operand=a, negated=neg):
            return f"{at(a, 'sum')} is {'not ' if neg else ''}null", _LEVEL["pred"]
        case ast.BinOp(op=op, left=a, right=b) if op in "+-":
            return f"{at(a, 'sum')} {op} {at(b, 'product')}", _LEVEL["sum"]
        case ast.BinOp(op=op, left=a, right=b):
            return f"{at(a, 'product')} {op} {at(b, 'unary')}", _LEVEL["product"]
        case ast.Neg(operand=a):
            return f"-{at(a, 'unary')}", _LEVEL["unary"]
        case ast.Agg(func=fn, arg=arg, where=where):
            inner = "*" if arg is None else _render(arg, pick)[0]
            if where is not None:
                inner += " where " + _render(where, pick)[0]
            return f"{name(fn)}({inner})", _LEVEL["atom"]
        case ast.Share(operand=a):
            return f"{name('share')}({_render(a, pick)[0]})", _LEVEL["atom"]
        case ast.Call(name=fn, args=args):
            return f"{name(fn)}({', '.join(_render(a, pick)[0] for a in args)})", _LEVEL["atom"]
    raise ValueError(f"cannot render {node!r}")


# -- random expressions -------------------------------------------------------------------


@dataclass
class KpiCase:
    name: str
    node: ast.Node
    type: str
    dataset: str
    category: str
    text: str = ""
    uses_share: bool = False  # the KPI is, or refers to, a share()


class ExprGen:
    """Draws well-typed expressions: row-level ones over a dataset's columns, and
    KPI-level ones over aggregates and earlier KPIs."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw

    def choice(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def chance(self, p: float) -> bool:
        """True with probability about ``p``; shrinks to False."""
        return chance(self.draw, p)

    def number(self) -> ast.Node:
        if self.chance(0.6):
            return ast.Num(self.choice(INT_LITERALS))
        return ast.Num(self.choice(FLOAT_LITERALS))

    def not_num(self, node: ast.Node) -> ast.Node:
        # `-5` is the number -5 (the parser folds it), never Neg(Num(5)).
        return ast.BinOp("*", node, ast.Num(-1)) if isinstance(node, ast.Num) else ast.Neg(node)

    def date_text(self) -> ast.Node:
        day = self.draw(st.dates(FIRST_DAY - dt.timedelta(days=7), LAST_DAY + dt.timedelta(days=7)))
        return ast.Str(day.isoformat())

    # -- shared shapes, over a leaf maker for each level --------------------------------

    def value(
        self, typ: str, depth: int, leaf: Callable[[str], ast.Node], types: Sequence[str]
    ) -> ast.Node:
        """A value of ``typ``; ``leaf`` makes the leaves, ``types`` are those it can make."""
        if depth <= 0 or self.chance(0.35):
            return leaf(typ)
        sub = lambda t=typ: self.value(t, depth - 1, leaf, types)  # noqa: E731
        shapes = ["coalesce", "if", "least"]
        if typ == "number":
            shapes += ["arith"] * 6 + ["neg", "abs", "round"]
        kind = self.choice(shapes)
        if kind == "arith":
            return ast.BinOp(self.choice("+-*/"), sub(), sub())
        if kind == "neg":
            return self.not_num(sub())
        if kind == "abs":
            return ast.Call("abs", (sub(),))
        if kind == "round":
            if self.chance(0.5):
                return ast.Call("round", (sub(),))
            return ast.Call("round", (sub(), ast.Num(self.choice([0, 1, 2]))))
        if kind == "coalesce":
            return ast.Call("coalesce", tuple(sub() for _ in range(self.choice([2, 2, 3]))))
        if kind == "if":
            return ast.Call("if", (self.condition(depth - 1, leaf, types), sub(), sub()))
        fn = self.choice(["least", "greatest"])
        return ast.Call(fn, tuple(sub() for _ in range(self.choice([2, 2, 3]))))

    def condition(
        self, depth: int, leaf: Callable[[str], ast.Node], types: Sequence[str]
    ) -> ast.Node:
        val = lambda t: self.value(t, max(depth - 1, 0), leaf, types)  # noqa: E731
        kinds = ["compare", "compare", "compare", "in", "between", "isnull", "bool"]
        if depth > 0:
            kinds += ["and", "or", "not"]
        kind = self.choice(kinds)
        if kind in ("and", "or"):
            a = self.condition(depth - 1, leaf, types)
            b = self.condition(depth - 1, leaf, types)
            return ast.And(a, b) if kind == "and" else ast.Or(a, b)
        if kind == "not":
            return ast.Not(self.condition(depth - 1, leaf, types))
        if kind == "bool":
            return leaf("boolean")
        typ = self.choice(["number", *types])
        if kind == "isnull":
            return ast.IsNull(val(typ), self.chance(0.5))
        if kind == "compare":
            op = self.choice(["=", "!=", "<", "<=", ">", ">="])
            a, b = val(typ), self.literal_of(typ) if self.chance(0.5) else val(typ)
            if self.chance(0.3):
                a, b = b, a
            return ast.Compare(op, a, b)
        if typ == "date" and self.chance(0.2):  # text as the operand, dates around it
            if kind == "in":
                return ast.In(self.date_text(), (val(typ), val(typ)), self.chance(0.3))
            return ast.Between(self.date_text(), val(typ), val(typ), self.chance(0.3))
        if kind == "in":
            items = tuple(self.literal_of(typ) for _ in range(self.choice([1, 2, 3])))
            return ast.In(val(typ), items, self.chance(0.3))
        lo, hi = self.literal_of(typ), self.literal_of(typ)
        return ast.Between(val(typ), lo, hi, self.chance(0.3))

    def literal_of(self, typ: str) -> ast.Node:
        if self.chance(0.02):
            return ast.Null()
        if typ == "number":
            return self.number()
        if typ == "string":
            return ast.Str(self.choice(DIM_VALUES))
        return self.date_text()

    # -- row level ----------------------------------------------------------------------

    def row(self, schema: Schema, typ: str, depth: int, qualify: str | None) -> ast.Node:
        """A row-level expression over ``schema``'s columns; ``qualify`` names the dataset
        to write before column names (always, or at random when it starts with ``?``)."""

        types = [t for t in ("number", "string", "date") if t != "date" or schema.names(t)]

        def leaf(t: str) -> ast.Node:
            if t == "boolean":
                if "ok" in schema.columns and self.chance(0.5):
                    return self.col(schema, "ok", qualify)
                if self.chance(0.3):
                    return ast.Bool(self.chance(0.5))
                return self.condition(0, leaf, types)
            cols = schema.names(t)
            if self.chance(0.015):
                return ast.Null()
            if cols and (t == "date" or self.chance(0.7)):
                return self.col(schema, self.choice(cols), qualify)
            return self.literal_of(t)

        if typ == "boolean":
            return self.condition(depth, leaf, types)
        return self.value(typ, depth, leaf, types)

    def col(self, schema: Schema, name: str, qualify: str | None) -> ast.Node:
        if qualify is None:
            return ast.Ref(name)
        if qualify.startswith("?"):
            return ast.Ref(name, qualify[1:] if self.chance(0.5) else None)
        return ast.Ref(name, qualify)

    # -- KPI level ----------------------------------------------------------------------

    def kpi(self, typ: str, depth: int, default: str, earlier: Sequence[KpiCase]) -> ast.Node:
        def leaf(t: str) -> ast.Node:
            if t == "boolean":
                return self.condition(0, leaf, types)
            refs = [k for k in earlier if k.type == t]
            roll = self.draw(st.integers(0, 9))
            if refs and roll < 3:
                return ast.Ref(self.choice(refs).name)
            if roll == 3:
                return self.literal_of(t) if t != "date" else self.aggregate(t, default)
            return self.aggregate(t, default)

        types = ["number", "string", "date"]
        if typ == "number" and self.chance(0.3):
            node = self.threshold(default)
        else:
            node = self.value(typ, depth, leaf, types)
        refs = {n.name for n in ast.walk(node) if isinstance(n, ast.Ref)}
        inner_share = any(k.uses_share for k in earlier if k.name in refs)
        if typ == "number" and not inner_share and self.chance(0.15):
            node = ast.Share(node)  # never a share of a share: that is a spec error
        return node

    def threshold(self, dataset: str) -> ast.Node:
        """A plain aggregate: filtered, such as ``sum(x where y >= 2)``, where off-by-one
        comparisons show; or a snapshot, ``last(x)``, where the ends of a period do."""
        schema = SCHEMA[dataset]
        numbers = schema.names("number")
        if schema.time is not None and self.chance(0.4):
            return ast.Agg(self.choice(["first", "last"]), ast.Ref(self.choice(numbers)))
        func = self.choice(["sum", "count", "min", "max", "avg"])
        op = self.choice(["<=", ">=", "<", ">", "=", "!="])
        cond = ast.Compare(op, ast.Ref(self.choice(numbers)), ast.Num(self.choice(range(-2, 3))))
        return ast.Agg(func, ast.Ref(self.choice(numbers)), cond)

    def aggregate(self, typ: str, default: str) -> ast.Node:
        usable = sorted(d for d, s in SCHEMA.items() if typ != "date" or s.names("date"))
        dataset = default if default in usable and self.chance(0.6) else self.choice(usable)
        schema = SCHEMA[dataset]
        qualify = f"?{dataset}" if dataset == default else dataset
        if typ == "number":
            funcs = ["sum", "sum", "avg", "min", "max", "count", "count_distinct"]
            if schema.time is not None:
                funcs += ["first", "last"]
            func = self.choice(funcs)
        else:
            func = self.choice(["min", "max"])
        if func in ("count", "count_distinct"):
            if func == "count" and dataset == default and self.chance(0.3):
                arg = None
            else:
                kinds = ["number", "string", "boolean"] + (["date"] if schema.names("date") else [])
                arg = self.row(schema, self.choice(kinds), 1, qualify)
        else:
            arg = self.row(schema, typ, 2, qualify)
            if func in ("first", "last") and not any(isinstance(n, ast.Ref) for n in ast.walk(arg)):
                # Without a column the aggregate would be over the KPI's dataset.
                arg = ast.BinOp(
                    "+", arg, self.col(schema, self.choice(schema.names("number")), dataset)
                )
        where = None
        if func not in ("first", "last") and self.chance(0.5):
            where = self.row(schema, "boolean", 1, qualify)
        return ast.Agg(func, arg, where)


@st.composite
def kpi_cases(draw: Callable[[Any], Any]) -> list[KpiCase]:
    gen = ExprGen(draw)
    cases: list[KpiCase] = []
    for i in range(draw(st.integers(1, 5) | st.integers(3, 5))):
        typ = draw(st.sampled_from(["number"] * 6 + ["string", "date"]))
        default = draw(st.sampled_from(sorted(SCHEMA)))
        node = gen.kpi(typ, draw(st.integers(0, 3)), default, cases)
        category = draw(st.sampled_from(["p", "p", "q"]))
        refs = {n.name for n in ast.walk(node) if isinstance(n, ast.Ref)}
        shares = isinstance(node, ast.Share) or any(k.uses_share for k in cases if k.name in refs)
        cases.append(KpiCase(f"k{i}", node, typ, default, category, uses_share=shares))
    return cases


# -- random data and requests -----------------------------------------------------------


def chance(draw: Callable[[Any], Any], p: float) -> bool:
    """True with probability about ``p``, and False when shrunk.

    (Not ``st.floats(0, 1) < p``: hypothesis draws 0.0 far more often than ``p``.)
    """
    return bool(draw(st.integers(1, 1000)) > 1000 - round(p * 1000))


def _sometimes_null(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values``, or null about one time in fifteen."""
    return st.integers(1, 1000).flatmap(lambda n: st.none() if n > 930 else values)


def _value_strategy(kind: str) -> st.SearchStrategy[Any]:
    if kind == "int":
        large = st.sampled_from([0, 100, -100, 10**6, -(10**6)])
        return _sometimes_null(st.integers(-5, 5) | st.integers(-5, 5) | large)
    if kind == "float":
        quarters = st.integers(-400, 400).map(lambda n: n / 4)
        odd = st.sampled_from([0.1, 2.675, -0.3, 1e12, 1e-6, -0.0, 123456.789])
        return _sometimes_null(quarters | quarters | odd)
    if kind == "string":
        return _sometimes_null(st.sampled_from(DIM_VALUES[:4]) | st.sampled_from(DIM_VALUES))
    if kind == "boolean":
        return _sometimes_null(st.booleans())
    raise ValueError(kind)


@st.composite
def datasets(draw: Callable[[Any], Any]) -> dict[str, list[dict[str, Any]]]:
    few = chance(draw, 0.1)  # usually several days, so that periods have a first and a last
    days = draw(st.lists(st.dates(FIRST_DAY, LAST_DAY), min_size=1 if few else 3, max_size=6))
    null_days = chance(draw, 0.2)  # a row without a time
    out: dict[str, list[dict[str, Any]]] = {}
    for name, schema in SCHEMA.items():
        row = st.fixed_dictionaries(
            {
                col: (st.sampled_from(days) if kind == "date" else _value_strategy(kind))
                for col, kind in schema.columns.items()
            }
        )
        rows = draw(st.lists(row, min_size=0 if chance(draw, 0.1) else 4, max_size=12))
        if null_days and schema.time is not None and rows:
            rows[draw(st.integers(0, len(rows) - 1))][schema.time] = None
        out[name] = rows
    return out


@dataclass
class RequestCase:
    grain: str = "total"
    by: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    where: ast.Node | None = None
    where_text: str | None = None
    kpis: tuple[str, ...] = ()

    def request(self, url: str) -> Request:
        return Request(
            grain=self.grain,
            by=self.by,
            date_from=self.date_from,
            date_to=self.date_to,
            where=self.where_text,
            kpis=self.kpis,
            sources={"db": url},
        )


@st.composite
def requests(draw: Callable[[Any], Any], names: Sequence[str]) -> RequestCase:
    gen = ExprGen(draw)
    case = RequestCase(grain=draw(st.sampled_from([*GRAINS, "day", "week", "month"])))
    case.by = tuple(draw(st.lists(st.sampled_from(["g1", "g2"]), max_size=2, unique=True)))
    bounds = st.one_of(st.none(), st.dates(FIRST_DAY, LAST_DAY))
    lo, hi = draw(bounds), draw(bounds)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    case.date_from, case.date_to = lo, hi
    if chance(draw, 0.25):
        scope = draw(st.sampled_from(sorted(FILTER_SCOPES)))
        qualify = "?a" if scope == "a" else None
        case.where = gen.row(FILTER_SCOPES[scope], "boolean", 2, qualify)
    if chance(draw, 0.3):
        case.kpis = tuple(draw(st.lists(st.sampled_from(list(names)), min_size=1, unique=True)))
    return case


# -- the databases ------------------------------------------------------------------------

_SQL_TYPES = {
    "sqlite": {
        "int": "BIGINT",
        "float": "DOUBLE",
        "string": "TEXT",
        "date": "DATE",
        "boolean": "BOOLEAN",
    },
    "duckdb": {
        "int": "BIGINT",
        "float": "DOUBLE",
        "string": "VARCHAR",
        "date": "DATE",
        "boolean": "BOOLEAN",
    },
    "postgresql": {
        "int": "BIGINT",
        "float": "DOUBLE PRECISION",
        # Byte order, as Python compares text, whatever the server's default collation.
        "string": 'TEXT COLLATE "C"',
        "date": "DATE",
        "boolean": "BOOLEAN",
    },
}


class Databases:
    """One SQLite file, one DuckDB file and one PostgreSQL database for the session;
    each example loads its rows into fresh tables with names of their own."""

    def __init__(self, root: Path, postgres_url: str) -> None:
        self.sqlite_path = root / "diff.db"
        self.duckdb_path = root / "diff.duckdb"
        self.sqlite = sqlite3.connect(self.sqlite_path, isolation_level=None)
        import duckdb

        duckdb.connect(str(self.duckdb_path)).close()
        import psycopg
        import sqlalchemy as sa

        url = sa.make_url(postgres_url)
        self.pg = psycopg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password,
            dbname=url.database, autocommit=True,
        )  # fmt: skip
        self.urls = {
            "duckdb": f"duckdb:///{self.duckdb_path}",
            "sqlite": f"sqlite:///{self.sqlite_path}",
            "postgresql": postgres_url,
        }
        self.counter = itertools.count()

    def close(self) -> None:
        self.sqlite.close()
        self.pg.close()

    def next_tables(self) -> dict[str, str]:
        """Table names no earlier example used."""
        n = next(self.counter)
        return {name: f"t{n}_{name}" for name in SCHEMA}

    @contextmanager
    def loaded(
        self, data: Mapping[str, Sequence[Mapping[str, Any]]], tables: Mapping[str, str]
    ) -> Iterator[None]:
        """Load ``data`` into the ``tables`` of every database for the time of a block."""
        try:
            self._load("sqlite", tables, data)
            self._load("duckdb", tables, data)
            self._load("postgresql", tables, data)
            yield
        finally:
            self._drop(tables)

    def _statements(
        self,
        engine: str,
        tables: Mapping[str, str],
        data: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> list[tuple[str, list[Any]]]:
        mark = "%s" if engine == "postgresql" else "?"
        out = []
        for name, schema in SCHEMA.items():
            table = tables[name]
            cols = ", ".join(f'"{c}" {_SQL_TYPES[engine][k]}' for c, k in schema.columns.items())
            out.append((f'CREATE TABLE "{table}" ({cols})', []))
            rows = data[name]
            if rows:
                one = "(" + ", ".join([mark] * len(schema.columns)) + ")"
                params = [self._param(engine, row[c]) for row in rows for c in schema.columns]
                out.append(
                    (f'INSERT INTO "{table}" VALUES ' + ", ".join([one] * len(rows)), params)
                )
        return out

    @staticmethod
    def _param(engine: str, value: Any) -> Any:
        if engine == "sqlite":
            if isinstance(value, dt.date):
                return value.isoformat()  # as SQLAlchemy stores dates in SQLite
            if isinstance(value, bool):
                return int(value)
        return value

    def _load(
        self,
        engine: str,
        tables: Mapping[str, str],
        data: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> None:
        statements = self._statements(engine, tables, data)
        if engine == "sqlite":
            for sql, params in statements:
                self.sqlite.execute(sql, params)
        elif engine == "postgresql":
            with self.pg.cursor() as cur:
                for sql, params in statements:
                    cur.execute(sql, params)
        else:
            import duckdb

            # The engine opens the file read-only, which DuckDB refuses while this
            # process holds a read-write connection: close it after loading.
            con = duckdb.connect(str(self.duckdb_path))
            try:
                for sql, params in statements:
                    con.execute(sql, params)
            finally:
                con.close()

    def _drop(self, tables: Mapping[str, str]) -> None:
        import duckdb

        drops = [f'DROP TABLE IF EXISTS "{t}"' for t in tables.values()]
        for sql in drops:
            self.sqlite.execute(sql)
        with self.pg.cursor() as cur:
            for sql in drops:
                cur.execute(sql)
        con = duckdb.connect(str(self.duckdb_path))
        try:
            for sql in drops:
                con.execute(sql)
        finally:
            con.close()


# -- one case, end to end ---------------------------------------------------------------


def build_spec(kpis: Sequence[KpiCase], tables: Mapping[str, str]) -> Spec:
    spec = Spec(name="differential")
    spec.sources["db"] = SourceDef("db", "sqlite:///unused.db", Path.cwd())
    for name, schema in SCHEMA.items():
        spec.datasets[name] = Dataset(
            name=name,
            source="db",
            table=tables[name],
            time=schema.time,
            dimensions=schema.dims,
            columns={c: TYPE_OF[k] for c, k in schema.columns.items()},
            description="",
        )
    for k in kpis:
        spec.kpis[k.name] = Kpi(
            name=k.name,
            expr=ast.ExprText(k.text),
            label=k.name,
            description="",
            category=k.category,
            format="number",
            direction="none",
            dataset=k.dataset,
        )
    return spec


def checked_spec(spec: Spec) -> CheckedSpec:
    columns = {name: dict(ds.columns or {}) for name, ds in spec.datasets.items()}
    return check_spec(spec, columns, default_plugins().functions)


@dataclass
class Mismatch:
    engine: str
    where: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.engine}: {self.where}: oracle {self.expected!r}, engine {self.got!r}"


@dataclass
class Outcome:
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: str | None = None  # why the example was not compared (unrepresentable values)
    compared: int = 0  # KPI values compared


def engine_tables(result: Any) -> dict[oracle.TableKey, dict[oracle.Key, dict[str, Any]]]:
    out: dict[oracle.TableKey, dict[oracle.Key, dict[str, Any]]] = {}
    for table in result.tables:
        tkey = (table.category, tuple(table.dimensions))
        assert tkey not in out, f"two tables for {tkey}"
        rows: dict[oracle.Key, dict[str, Any]] = {}
        for row in table.rows:
            key = (row["period"], *(row[d] for d in table.dimensions))
            assert key not in rows, f"two rows for {key} in table {table.name}"
            rows[key] = {k.name: row[k.name] for k in table.kpis}
        out[tkey] = rows
    return out


def run_case(
    dbs: Databases,
    kpis: Sequence[KpiCase],
    data: Mapping[str, Sequence[Mapping[str, Any]]],
    req: RequestCase,
    engines: Sequence[str] = ("duckdb", "sqlite", "postgresql"),
) -> Outcome:
    """Run one case on every database and compare each with the oracle."""
    for k in kpis:
        if not k.text:
            k.text = render(k.node)
        assert parse(k.text) == k.node, f"{k.text!r} does not parse back to the generated tree"
    if req.where is not None and req.where_text is None:
        req.where_text = render(req.where)
    outcome = Outcome()
    tables = dbs.next_tables()
    spec = build_spec(kpis, tables)
    try:
        checked = checked_spec(spec)
    except SpecErrors as exc:
        if all("too large to compute" in e.message for e in exc.errors):
            outcome.skipped = "too large: KPIs inlined into KPIs beyond the checker's limit"
            return outcome
        raise
    untyped = [
        n
        for n, k in checked.kpis.items()
        if k.type == "any" and not any(isinstance(x, ast.KpiRef) for x in ast.walk(k.node))
    ]
    if untyped:
        # Made of nulls only (`min(null)`): its SQL NULL has no type, which PostgreSQL
        # rejects where another KPI uses it as a number or text.
        outcome.skipped = "a KPI of nulls only: " + ", ".join(untyped)
        return outcome
    try:
        expected: Any = oracle.Oracle(
            checked,
            data,
            grain=req.grain,
            by=req.by,
            date_from=req.date_from,
            date_to=req.date_to,
            where=req.where_text,
            kpis=req.kpis,
        ).run()
    except oracle.Unrepresentable as exc:
        outcome.skipped = f"unrepresentable: {exc}"
        return outcome
    except oracle.NoTables:
        expected = RequestError
    with dbs.loaded(data, tables):
        for engine in engines:
            request = req.request(dbs.urls[engine])
            if expected is RequestError:
                try:
                    evaluate(spec, request)
                except RequestError:
                    continue
                outcome.mismatches.append(Mismatch(engine, "request", "RequestError", "a result"))
                continue
            got = engine_tables(evaluate(spec, request))
            outcome.compared += _compare(engine, expected, got, outcome.mismatches)
    return outcome


def _compare(
    engine: str,
    expected: Mapping[oracle.TableKey, Mapping[oracle.Key, Mapping[str, Any]]],
    got: Mapping[oracle.TableKey, Mapping[oracle.Key, Mapping[str, Any]]],
    mismatches: list[Mismatch],
) -> int:
    compared = 0
    if set(expected) != set(got):
        mismatches.append(Mismatch(engine, "tables", sorted(expected), sorted(got)))
        return 0
    for tkey, rows in expected.items():
        want_rows = {tuple(oracle.plain(v) for v in k): v for k, v in rows.items()}
        have_rows = got[tkey]
        if set(want_rows) != set(have_rows):
            mismatches.append(
                Mismatch(
                    engine,
                    f"rows of {tkey}",
                    sorted(want_rows, key=repr),
                    sorted(have_rows, key=repr),
                )
            )
            continue
        for key, values in want_rows.items():
            for name, want in values.items():
                compared += 1
                have = have_rows[key][name]
                if not oracle.matches(want, have):
                    mismatches.append(Mismatch(engine, f"{tkey} {key} {name}", want, have))
    return compared


def describe(kpis: Sequence[KpiCase], data: Mapping[str, Any], req: RequestCase) -> str:
    """A case as text, for failure messages and for writing regression tests."""
    lines = ["kpis (dataset, category):"]
    lines += [f"  {k.name} [{k.dataset}, {k.category}]: {k.text or render(k.node)}" for k in kpis]
    lines.append(
        f"request: grain={req.grain} by={req.by} from={req.date_from} to={req.date_to} "
        f"where={req.where_text or (render(req.where) if req.where else None)!r} kpis={req.kpis}"
    )
    for name, rows in data.items():
        lines.append(f"{name}: {rows!r}")
    return "\n".join(lines)


# -- mutants: deliberate compiler bugs the differential tests must catch -------------------


def _swap_plus_minus(mp: Any) -> None:
    from kpiengine.sql import compiler

    mp.setitem(compiler._ARITH, "+", lambda a, b: a - b)
    mp.setitem(compiler._ARITH, "-", lambda a, b: a + b)


def _drop_aggregate_where(mp: Any) -> None:
    import dataclasses

    from kpiengine.sql import compiler

    original = compiler._aggregate

    def mutant(agg: ast.Agg, *rest: Any) -> Any:
        return original(dataclasses.replace(agg, where=None), *rest)

    mp.setattr(compiler, "_aggregate", mutant)


def _less_for_less_or_equal(mp: Any) -> None:
    from kpiengine.sql import compiler

    mp.setitem(compiler._COMPARE, "<=", lambda a, b: a < b)


def _swap_first_last(mp: Any) -> None:
    import dataclasses

    from kpiengine.sql import compiler

    original = compiler._aggregate
    other = {"first": "last", "last": "first"}

    def mutant(agg: ast.Agg, *rest: Any) -> Any:
        return original(dataclasses.replace(agg, func=other.get(agg.func, agg.func)), *rest)

    mp.setattr(compiler, "_aggregate", mutant)


def _zero_for_division_by_zero(mp: Any) -> None:
    import sqlalchemy as sa

    from kpiengine.sql import compiler

    original = compiler.SafeDiv
    mp.setattr(compiler, "SafeDiv", lambda a, b: sa.func.coalesce(original(a, b), 0))


def _inner_join(mp: Any) -> None:
    import sqlalchemy as sa

    from kpiengine.sql import compiler

    mp.setattr(compiler.sa, "outerjoin", sa.join)


#: Name → function applying the mutant with a pytest MonkeyPatch.
MUTANTS: dict[str, Callable[[Any], None]] = {
    "swap + and -": _swap_plus_minus,
    "drop the where of filtered aggregates": _drop_aggregate_where,
    "< for <=": _less_for_less_or_equal,
    "first() for last()": _swap_first_last,
    "division by zero gives 0": _zero_for_division_by_zero,
    "inner join of datasets": _inner_join,
}
