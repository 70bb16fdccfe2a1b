"""The expression parser builds the expected trees and points at syntax errors."""

from __future__ import annotations

import pytest

from kpiengine.errors import SpecError
from kpiengine.expr.ast import (
    Agg,
    And,
    Between,
    BinOp,
    Bool,
    Call,
    Compare,
    ExprText,
    In,
    IsNull,
    Neg,
    Not,
    Null,
    Num,
    Or,
    Ref,
    Share,
    Span,
    Str,
)
from kpiengine.expr.parser import MAX_DEPTH, parse


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("clicks / impressions", BinOp("/", Ref("clicks"), Ref("impressions"))),
        ("a + b * c", BinOp("+", Ref("a"), BinOp("*", Ref("b"), Ref("c")))),
        ("(a + b) * c", BinOp("*", BinOp("+", Ref("a"), Ref("b")), Ref("c"))),
        ("a - b - c", BinOp("-", BinOp("-", Ref("a"), Ref("b")), Ref("c"))),
        ("-a", Neg(Ref("a"))),
        ("-2", Num(-2)),
        ("0.5%", Num(0.005)),
        ("1e3", Num(1000.0)),
        ("'it''s'", Str("it's")),
        ('"say \\"hi\\""', Str('say "hi"')),
        ("true and not false", And(Bool(True), Not(Bool(False)))),
        ("null", Null()),
        ("ctr < 0.5%", Compare("<", Ref("ctr"), Num(0.005))),
        ("a <> b", Compare("!=", Ref("a"), Ref("b"))),
        ("a or b and c", Or(Ref("a"), And(Ref("b"), Ref("c")))),
        ("x in ('a', 'b')", In(Ref("x"), (Str("a"), Str("b")))),
        ("x not in (1)", In(Ref("x"), (Num(1),), negated=True)),
        ("x between 1 and 2", Between(Ref("x"), Num(1), Num(2))),
        (
            "x between 1 and 2 and y",
            And(Between(Ref("x"), Num(1), Num(2)), Ref("y")),
        ),
        ("x is not null", IsNull(Ref("x"), negated=True)),
        ("paid.clicks", Ref("clicks", "paid")),
        ("sum(clicks)", Agg("sum", Ref("clicks"))),
        ("COUNT(*)", Agg("count", None)),
        ("count(* where x > 1)", Agg("count", None, Compare(">", Ref("x"), Num(1)))),
        (
            "sum(spend where objective = 'conversions')",
            Agg("sum", Ref("spend"), Compare("=", Ref("objective"), Str("conversions"))),
        ),
        ("last(followers)", Agg("last", Ref("followers"))),
        ("share(views)", Share(Ref("views"))),
        ("coalesce(a, 0)", Call("coalesce", (Ref("a"), Num(0)))),
        (
            "if(a > 1, 'hi', 'lo')",
            Call("if", (Compare(">", Ref("a"), Num(1)), Str("hi"), Str("lo"))),
        ),
        ("android or b", Or(Ref("android"), Ref("b"))),  # keywords only as whole words
    ],
)
def test_trees(text: str, tree: object) -> None:
    assert parse(text) == tree


def test_spans_point_into_the_text() -> None:
    node = parse("sum(clicks) / sum(impressions)")
    assert isinstance(node, BinOp)
    assert node.right.span == Span(14, 30)


@pytest.mark.parametrize(
    ("text", "span", "child_spans"),
    [
        # A node runs from its first token to its last, keywords and brackets included;
        # a bracketed expression keeps its own span but widens its parent's.
        ("(a+b)", Span(1, 4), [Span(1, 2), Span(3, 4)]),
        (" ( a + b ) * 2", Span(1, 14), [Span(3, 8), Span(13, 14)]),
        ("f( x )", Span(0, 6), [Span(3, 4)]),
        ("not  x", Span(0, 6), [Span(5, 6)]),
        ("-(x)", Span(0, 4), [Span(2, 3)]),
        ("x is not null", Span(0, 13), [Span(0, 1)]),
        ("true", Span(0, 4), []),
        ("x in (1, 2 )", Span(0, 12), [Span(0, 1), Span(6, 7), Span(9, 10)]),
        ("+x", Span(1, 2), []),
        ("count(*)", Span(0, 8), []),
        ("sum(x where y > 1)", Span(0, 18), [Span(4, 5), Span(12, 17)]),
        ("((a))", Span(2, 3), []),
    ],
)
def test_spans_of_every_kind_of_node(text: str, span: Span, child_spans: list[Span]) -> None:
    from kpiengine.expr.ast import children

    node = parse(text)
    assert node.span == span
    assert [child.span for child in children(node)] == child_spans


def test_the_same_text_is_parsed_once_and_errors_every_time() -> None:
    assert parse("sum(views) / 7") is parse(ExprText("sum(views) / 7"))
    for _ in range(2):
        with pytest.raises(SpecError, match="ends too early"):
            parse("sum(views")


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    [
        ("sum(clicks", 10, "ends too early", "`)` is missing"),
        ("a +* b", 4, "unexpected '*'", "expected"),
        ("a $ b", 3, "unexpected character '$'", None),
        ("'open", 1, "unexpected character", None),
        ("sum(a, b)", 1, "takes one argument", None),
        ("max(*)", 1, "only allowed in count(*)", None),
        ("round(x where y)", 1, "only filters aggregates", None),
        ("last(x where y)", 1, "cannot be filtered", None),
        ("", 1, "empty expression", None),
    ],
)
def test_errors_point_at_the_problem(
    text: str, column: int, message: str, hint: str | None
) -> None:
    with pytest.raises(SpecError) as info:
        parse(ExprText(text, "spec.yaml", ((7, 10),), None))
    err = info.value
    assert message in err.message
    assert err.location is not None
    assert err.location.file == "spec.yaml"
    assert err.location.line == 7
    assert err.location.column == 10 + column - 1
    if hint:
        assert err.hint is not None
        assert hint in err.hint


def test_caret_under_the_offending_text() -> None:
    text = "kpis: {ctr: clicks // impressions}"
    source = ExprText("clicks // impressions", "f.yaml", ((1, 13),), (text,))
    with pytest.raises(SpecError) as info:
        parse(source)
    rendered = info.value.render()
    assert rendered.splitlines()[0] == "f.yaml:1:21: error: unexpected '/' in expression"
    line, caret = rendered.splitlines()[1:3]
    assert line.strip() == text
    assert caret.index("^") == line.index("// ") + 1


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(SpecError, match="nests too deeply"):
        parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    deep = "(" * 150 + "1" + ")" * 150
    assert parse(deep) == Num(1)


def test_long_chains_are_refused_not_a_crash() -> None:
    assert isinstance(parse(" + ".join(f"c{i}" for i in range(150))), BinOp)
    text = " + ".join(f"c{i}" for i in range(2000))
    with pytest.raises(SpecError, match="nests too deeply") as info:
        parse(text)
    assert len(info.value.render()) < 600  # the excerpt is a window, not the whole line
