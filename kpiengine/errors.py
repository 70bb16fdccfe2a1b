"""The exceptions kpiengine raises, in one place.

::

    KpiError                 a problem the user can fix; the CLI prints it and exits 2
    ├── SpecError            a spec file is wrong (YAML, unknown key, bad expression, …)
    │   └── SpecErrors       several SpecErrors found in one pass (``kpi validate``)
    ├── RequestError         the request is wrong (unknown KPI, bad --where, bad date, …)
    ├── SourceError          a source cannot be opened or read
    └── PluginError          a plugin is missing, broken or clashes with another

Anything else that escapes is a bug in kpiengine (exit code 3).

Every user error can carry a :class:`Location`; its message then names the file,
line and column and shows the offending text with a caret under it, and a hint
such as "did you mean `clicks`?".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in a text: file name (or ``<--where>`` and the like), 1-based line and column.

    ``length`` is how many characters the caret line underlines; ``line_text`` is
    the whole source line, shown above the caret.
    """

    file: str
    line: int
    column: int
    length: int = 1
    line_text: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def excerpt(self) -> str:
        """The source line and a caret line under the offending text."""
        if self.line_text is None:
            return ""
        text = self.line_text.rstrip("\n").expandtabs(1)
        start = max(self.column - 1, 0)
        if len(text) > 120:  # show a window around the caret, not a whole huge line
            left = max(start - 60, 0)
            text = ("…" if left else "") + text[left : left + 120] + "…"
            start = start - left + (1 if left else 0)
        width = max(1, min(self.length, max(len(text) - start, 1)))
        return f"    {text}\n    {' ' * start}{'^' * width}"


class KpiError(Exception):
    """A user error: a message for a person, with an optional location and hint."""

    def __init__(
        self, message: str, *, location: Location | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def render(self) -> str:
        """The message as the CLI prints it: ``file:line:col: error: …``, caret, hint."""
        head = (
            f"{self.location}: error: {self.message}" if self.location else f"error: {self.message}"
        )
        parts = [head]
        if self.location is not None:
            excerpt = self.location.excerpt()
            if excerpt:
                parts.append(excerpt)
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


class SpecError(KpiError):
    """A spec file is wrong."""


class SpecErrors(SpecError):
    """Several problems found in one pass over the specs."""

    def __init__(self, errors: list[KpiError]) -> None:
        self.errors = errors
        count = len(errors)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the spec")

    def render(self) -> str:
        return "\n\n".join(e.render() for e in self.errors)


class RequestError(KpiError):
    """The request (command-line options or API arguments) is wrong."""


class SourceError(KpiError):
    """A data source cannot be opened or queried."""


class PluginError(KpiError):
    """A plugin cannot be loaded, or clashes with another."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest candidates to a misspelt ``word``, or None."""
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"`{m}`" for m in matches) + "?"
