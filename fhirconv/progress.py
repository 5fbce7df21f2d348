"""Progress on long work: a bar on standard error when it is a terminal, nothing otherwise.

Every batch command reports progress through :func:`progress`, so the look of it is
decided here once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def progress(label: str, length: int | None) -> Iterator[Callable[[int], None]]:
    """A function to call with the number of items done since the last call; no bar for
    ``length`` 0 (one input) or when standard error is not a terminal."""
    if not length or not sys.stderr.isatty():
        yield lambda done: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update
