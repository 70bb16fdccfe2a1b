"""Read YAML into plain Python data while remembering where every key and value was.

PyYAML's own constructor forgets positions, lets a later duplicate key silently
win and expands aliases without limit (the "billion laughs"). This reader walks
the composed node graph itself: it keeps the mark of every node by its path,
refuses duplicate keys, and stops once too many nodes have been built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from kpiengine.errors import Location, SpecError

#: Refuse spec files bigger than this many bytes, and documents that expand
#: (through aliases) into more than this many nodes.
MAX_BYTES = 5_000_000
MAX_NODES = 200_000
#: Refuse documents nested deeper than this (spec files need a handful of levels; the
#: reader recurses, and a thousand levels would overflow the stack).
MAX_NESTING = 64

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """Where a node starts and ends (0-based, as PyYAML counts) and its scalar style."""

    line: int
    column: int
    end_line: int
    end_column: int
    style: str | None = None


@dataclass
class YamlDoc:
    """A YAML file's data and the marks of its values (``values``) and keys (``keys``)."""

    path: str
    text: str
    data: Any
    values: dict[PathKey, Mark] = field(default_factory=dict)
    keys: dict[PathKey, Mark] = field(default_factory=dict)

    @cached_property
    def lines(self) -> tuple[str, ...]:
        # Split once per file: every expression of the file keeps these lines.
        return tuple(self.text.split("\n"))

    def location(self, path: PathKey, *, key: bool = False) -> Location:
        """The location of the value (or, with ``key``, the key) at ``path``.

        Falls back to the nearest enclosing node that has a mark.
        """
        table = self.keys if key else self.values
        probe = path
        while probe and probe not in table:
            if key and probe in self.values:
                table = self.values
                break
            probe = probe[:-1]
        mark = table.get(probe) or self.values.get(probe)
        if mark is None:
            return Location(self.path, 1, 1, 1, self.lines[0] if self.text else "")
        length = mark.end_column - mark.column if mark.end_line == mark.line else 10_000
        lines = self.lines
        line_text = lines[mark.line] if mark.line < len(lines) else ""
        return Location(self.path, mark.line + 1, mark.column + 1, max(length, 1), line_text)


def read_yaml(path: Path, display: str | None = None) -> YamlDoc:
    """Read and parse one YAML file; raise :class:`SpecError` for anything wrong with it."""
    import yaml

    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(f"{name}: spec file is too large ({size} bytes; at most {MAX_BYTES})")
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read spec file {name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{name}: spec file is not UTF-8 text (byte {exc.start})") from None
    doc = YamlDoc(name, text, None)
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            doc.data = {}
            return doc
        builder = _Builder(doc, loader)
        doc.data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        lines = doc.lines
        loc = None
        if mark is not None:
            line_text = lines[mark.line] if mark.line < len(lines) else ""
            loc = Location(name, mark.line + 1, mark.column + 1, 1, line_text)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"invalid YAML: {problem}", location=loc) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{name}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return doc


class _Builder:
    def __init__(self, doc: YamlDoc, loader: Any) -> None:
        self.doc = doc
        self.loader = loader
        self.count = 0

    def _mark(self, node: Any) -> Mark:
        return Mark(
            node.start_mark.line,
            node.start_mark.column,
            node.end_mark.line,
            node.end_mark.column,
            getattr(node, "style", None),
        )

    def _error(self, message: str, node: Any) -> SpecError:
        mark = self._mark(node)
        lines = self.doc.lines
        line_text = lines[mark.line] if mark.line < len(lines) else ""
        length = mark.end_column - mark.column if mark.end_line == mark.line else 1
        loc = Location(self.doc.path, mark.line + 1, mark.column + 1, max(length, 1), line_text)
        return SpecError(message, location=loc)

    def build(self, node: Any, path: PathKey) -> Any:
        import yaml

        self.count += 1
        if self.count > MAX_NODES:
            raise self._error(
                f"YAML document expands to more than {MAX_NODES} nodes "
                "(too large, or aliases nested too deeply)",
                node,
            )
        if len(path) > MAX_NESTING:
            raise self._error(f"YAML nests too deeply (more than {MAX_NESTING} levels)", node)
        self.doc.values[path] = self._mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self._error("YAML merge keys (`<<`) are not supported", key_node)
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self._error("a mapping key must be a plain name", key_node)
                key = str(key_node.value)
                if key in out:
                    raise self._error(f"duplicate key `{key}`", key_node)
                self.doc.keys[(*path, key)] = self._mark(key_node)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # dates stay text; the models parse them
        return self.loader.construct_object(node, deep=True)
