"""Progress of long work (loading files, paging an API, running queries).

Code that does long work reports it through :func:`task`; what happens to the
reports depends on the reporter installed with :func:`reporting`. The default
reporter does nothing, so library use is silent; the CLI installs a terminal
display on stderr when stderr is a terminal.

::

    with progress.task("reading ads export", total=len(files)) as step:
        for file in files:
            ...
            step()
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Protocol

Step = Callable[[], None]


class Reporter(Protocol):
    def start(self, description: str, total: int | None) -> int:
        """Begin a task; return its id."""
        ...

    def advance(self, task_id: int, amount: int = 1) -> None: ...

    def finish(self, task_id: int) -> None: ...


class _Silent:
    def start(self, description: str, total: int | None) -> int:
        return 0

    def advance(self, task_id: int, amount: int = 1) -> None:
        pass

    def finish(self, task_id: int) -> None:
        pass


_SILENT = _Silent()
_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar(
    "kpiengine_progress", default=None
)


@contextlib.contextmanager
def task(description: str, total: int | None = None) -> Iterator[Step]:
    """Report a piece of long work; call the yielded function once per step done."""
    reporter = _reporter.get() or _SILENT
    task_id = reporter.start(description, total)
    try:
        yield lambda: reporter.advance(task_id)
    finally:
        reporter.finish(task_id)


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Send progress reports to ``reporter`` while the block runs."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


class TerminalReporter:
    """A live display on a terminal (rich), shown only while tasks run."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}", style="dim"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._running = 0

    def start(self, description: str, total: int | None) -> int:
        if self._running == 0:
            self._progress.start()
        self._running += 1
        return int(self._progress.add_task(description, total=total))

    def advance(self, task_id: int, amount: int = 1) -> None:
        self._progress.advance(task_id, amount)  # type: ignore[arg-type]

    def finish(self, task_id: int) -> None:
        self._progress.remove_task(task_id)  # type: ignore[arg-type]
        self._running -= 1
        if self._running == 0:
            self._progress.stop()
