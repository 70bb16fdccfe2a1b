"""A small HTML builder that escapes everything it is not told is markup.

Every piece of data (a campaign name, a KPI label, a finding's message) reaches the
page as a ``str`` and is escaped on the way in; only :class:`Markup` (built here, or
an SVG that :mod:`kpiengine_html.charts` has parsed and re-serialised) is inserted as
it is. Tag and attribute names come from this package's code, never from data.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import TypeAlias


class Markup(str):
    """Text that already is HTML: inserted as it is."""

    __slots__ = ()


#: What an element may contain: text (escaped), markup, nothing, or a list of those.
Node: TypeAlias = "str | Iterable[Node] | None"
#: An attribute's value: text (escaped), True (present without a value), or absent.
AttrValue: TypeAlias = str | int | bool | None

_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")
_VOID = frozenset({"br", "col", "hr", "img", "input", "link", "meta", "wbr"})


def escape(text: str) -> str:
    """``text`` with ``& < > " '`` escaped, for element content and attribute values."""
    return html.escape(text, quote=True)


def render(node: Node) -> Markup:
    """``node`` as HTML: text escaped, markup as it is, lists concatenated."""
    if node is None:
        return Markup()
    if isinstance(node, Markup):
        return node
    if isinstance(node, str):
        return Markup(escape(node))
    return Markup("".join(render(child) for child in node))


def h(tag: str, attrs: Mapping[str, AttrValue] | None = None, *children: Node) -> Markup:
    """The element ``<tag attrs>children</tag>``, its attribute values and text escaped."""
    if not _NAME.match(tag):
        raise ValueError(f"not a tag name: {tag!r}")
    parts = [f"<{tag}"]
    for name, value in (attrs or {}).items():
        if not _NAME.match(name) or name.startswith("on"):
            raise ValueError(f"not an allowed attribute name: {name!r}")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(f" {name}")
        else:
            parts.append(f' {name}="{escape(str(value))}"')
    parts.append(">")
    if tag in _VOID:
        if children:
            raise ValueError(f"<{tag}> has no content")
        return Markup("".join(parts))
    return Markup("".join(parts) + render(children) + f"</{tag}>")
