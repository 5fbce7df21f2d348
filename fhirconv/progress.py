"""Progress bars for long work, on standard error, only when it is a terminal.

rich draws them (imported here, when a bar is shown, so that ``fhirconv --help`` does
not pay for it): its time remaining comes from the recent rate of completed items, not
from the time since the start divided by the items done (which counts the start-up of
worker processes as work and promised a quarter of an hour for a six-second job), and
while the bar is up, whatever the command prints to standard error, and to standard
output when that is the same terminal, goes above the bar instead of onto its line.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def wanted(total: int) -> bool:
    """A bar is worth showing: several items, and a person watching standard error."""
    return total > 1 and _is_terminal(sys.stderr)


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def progress(label: str, length: int | None) -> Iterator[Callable[[int], None]]:
    """A function to call with the number of items done since the last call; no bar for one
    item or none (``length`` 0 or 1), or when standard error is not a terminal.

    Every long command reports progress through this, so the look is decided here once.
    """
    if not length or not wanted(length):
        yield lambda done: None
        return
    from rich.console import Console

    console = Console(file=sys.stderr)
    bar = make_bar(console)
    with bar, _above_the_bar(console):
        task = bar.add_task(label, total=length)
        yield lambda done: bar.advance(task, done)


@contextlib.contextmanager
def tracked(items: Iterable[T], label: str, total: int) -> Iterator[Iterator[T]]:
    """``items`` as they are consumed, with a bar of ``total`` steps while the block runs."""
    with progress(label, total) as advance:

        def each() -> Iterator[T]:
            for item in items:
                yield item
                advance(1)

        yield each()


def make_bar(console: Any, clock: Callable[[], float] | None = None) -> Any:
    """The rich Progress fhirconv draws: label, bar, done/total, elapsed, time remaining."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    if clock is None:
        return Progress(*columns, console=console)
    return Progress(*columns, console=console, get_time=clock, auto_refresh=False)


@contextlib.contextmanager
def _above_the_bar(console: Any) -> Iterator[None]:
    """While the bar is up, lines written to standard error (and to standard output when it is
    the same terminal) are printed above it; anywhere else, standard output stays untouched."""
    names = ["stderr"] + (["stdout"] if _same_terminal() else [])
    originals = {name: getattr(sys, name) for name in names}
    proxies = {name: _Above(console, stream) for name, stream in originals.items()}
    for name, proxy in proxies.items():
        setattr(sys, name, proxy)
    try:
        yield
    finally:
        for name, original in originals.items():
            proxies[name].finish()
            setattr(sys, name, original)


def _same_terminal() -> bool:
    try:
        return os.isatty(1) and os.isatty(2) and os.ttyname(1) == os.ttyname(2)
    except OSError:
        return False


class _Above(io.TextIOBase):
    """A text stream whose whole lines rich prints above its live bar; a partial line waits.

    It says its encoding, so that click writes to it as it is (rich's own FileProxy says
    none, and click then writes around it, onto the bar's line).
    """

    def __init__(self, console: Any, original: TextIO) -> None:
        super().__init__()
        self._console = console
        self._original = original
        self._pending = ""

    # Properties, as io.TextIOBase has them (typeshed calls them plain attributes).
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._original, "errors", None)

    @property
    def buffer(self) -> Any:
        return self._original.buffer

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, _, self._pending = self._pending.rpartition("\n")
            self._print(lines)
        return len(text)

    def finish(self) -> None:
        if self._pending:
            self._print(self._pending)
            self._pending = ""

    def _print(self, text: str) -> None:
        from rich.text import Text

        # As written: no markup, no highlighting, no wrapping at words (the terminal wraps).
        self._console.print(Text(text), soft_wrap=True, highlight=False)
