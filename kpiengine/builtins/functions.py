"""The built-in expression functions, registered as a plugin like any other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kpiengine import hookimpl
from kpiengine.registry import FunctionDef, ValueType


def _common(types: Sequence[ValueType]) -> ValueType:
    known = {t for t in types if t != "any"}
    if len(known) > 1:
        raise ValueError("all arguments must have the same type, got " + ", ".join(sorted(known)))
    return known.pop() if known else "any"


def _numbers(types: Sequence[ValueType]) -> ValueType:
    for t in types:
        if t not in ("number", "any"):
            raise ValueError(f"needs numbers, got a {t}")
    return "number"


def _if(types: Sequence[ValueType]) -> ValueType:
    if types[0] not in ("boolean", "any"):
        raise ValueError(f"the first argument must be a condition, got a {types[0]}")
    return _common(types[1:])


def _compile_coalesce(args: Sequence[Any]) -> Any:
    import sqlalchemy as sa

    return sa.func.coalesce(*args)


def _compile_if(args: Sequence[Any]) -> Any:
    import sqlalchemy as sa

    cond, then, otherwise = args
    return sa.case((cond, then), else_=otherwise)


def _compile_abs(args: Sequence[Any]) -> Any:
    import sqlalchemy as sa

    return sa.func.abs(args[0])


def _compile_round(args: Sequence[Any]) -> Any:
    import sqlalchemy as sa

    from kpiengine.sql.dialects import Round

    digits = args[1] if len(args) > 1 else sa.literal(0)
    return Round(args[0], digits)


def _compile_least(args: Sequence[Any]) -> Any:
    # CASE rather than least()/greatest(): SQLite calls them min()/max(), and its min()
    # is null when any argument is. Nulls are skipped, as PostgreSQL and DuckDB do.
    import sqlalchemy as sa

    values = _not_null(args)
    out = values[0]
    for arg in values[1:]:
        out = sa.func.coalesce(sa.case((arg < out, arg)), out, arg)
    return out


def _compile_greatest(args: Sequence[Any]) -> Any:
    import sqlalchemy as sa

    values = _not_null(args)
    out = values[0]
    for arg in values[1:]:
        out = sa.func.coalesce(sa.case((arg > out, arg)), out, arg)
    return out


def _not_null(args: Sequence[Any]) -> list[Any]:
    """The arguments without literal nulls, which least() and greatest() skip anyway."""
    import sqlalchemy as sa

    values = [a for a in args if not isinstance(a, sa.sql.elements.Null)]
    return values or [sa.null()]


@hookimpl
def kpi_functions() -> list[FunctionDef]:
    return [
        FunctionDef(
            "coalesce",
            2,
            None,
            _common,
            _compile_coalesce,
            "The first argument that is not null: `coalesce(conversions, 0)`.",
        ),
        FunctionDef(
            "if",
            3,
            3,
            _if,
            _compile_if,
            "`if(cond, a, b)`: a where the condition holds, else b.",
        ),
        FunctionDef("abs", 1, 1, _numbers, _compile_abs, "Absolute value."),
        FunctionDef(
            "round",
            1,
            2,
            _numbers,
            _compile_round,
            "`round(x)` or `round(x, digits)`.",
        ),
        FunctionDef("least", 2, None, _common, _compile_least, "The smallest non-null argument."),
        FunctionDef(
            "greatest", 2, None, _common, _compile_greatest, "The largest non-null argument."
        ),
    ]
