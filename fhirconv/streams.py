"""The process's standard streams, made safe for pipes that close early.

``fhirconv push ... | head -1`` closes standard output after one line.  A write to it then
fails with EPIPE; left alone, that error would stop the command half-way, possibly between
two transactions of a push.  :func:`guard_standard_streams` makes such writes go nowhere
instead, so every command finishes its work and ends with the exit status its work earns;
:func:`closed_early` tells a command that its output was cut short, so that it can say so
on standard error where that matters (a push).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_closed: set[str] = set()


class _PipeSafeWriter(io.RawIOBase):
    """Writes to a file descriptor; after EPIPE, the descriptor writes to the null device."""

    def __init__(self, fd: int, name: str) -> None:
        super().__init__()
        self._fd = fd
        self._name = name

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return self._name not in _closed and os.isatty(self._fd)

    def write(self, data: ReadableBuffer, /) -> int:
        size = memoryview(data).nbytes
        if self._name in _closed:
            return size
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            _closed.add(self._name)
            # Point the descriptor itself at the null device (opened, never replaced), so that
            # nothing else writing to it (a child process, the interpreter at exit) fails either.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._fd)
            os.close(null)
            return size


def closed_early(name: str = "stdout") -> bool:
    """Whether the reader of standard output (or ``stderr``) went away while this process ran."""
    return name in _closed


@contextlib.contextmanager
def guard_standard_streams() -> Iterator[None]:
    """Replace sys.stdout and sys.stderr by pipe-safe twins for the duration of a command.

    Streams that are not the interpreter's own (a test's capture, an embedding program's
    replacement) are left as they are.
    """
    replaced: dict[str, io.TextIOWrapper] = {}
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or stream is not getattr(sys, f"__{name}__"):
            continue
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            continue
        stream.flush()
        twin = io.TextIOWrapper(
            io.BufferedWriter(_PipeSafeWriter(fd, name)),
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=stream.line_buffering,
            write_through=stream.write_through,
        )
        replaced[name] = stream
        setattr(sys, name, twin)
    try:
        yield
    finally:
        for name, original in replaced.items():
            twin = getattr(sys, name)
            with contextlib.suppress(OSError, ValueError):
                twin.flush()
            setattr(sys, name, original)
