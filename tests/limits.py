"""A time bound for tests that must not hang."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail with TimeoutError, instead of hanging, when the block takes longer than
    ``seconds`` (SIGALRM: it interrupts Python code in the main thread)."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
