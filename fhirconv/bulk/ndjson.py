"""Reading NDJSON a line at a time, in partitions, so that memory does not grow with the file.

A partition is a run of consecutive lines of one file with their line numbers: small
enough to send to a worker process or a Dask worker, large enough that sending it
costs little next to validating it.  Blank lines are skipped (their numbers are not).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fhirconv.errors import InputError

PARTITION_LINES = 256
PARTITION_BYTES = 4 * 1024 * 1024


@dataclass
class Partition:
    """Lines ``(number, bytes)`` of the file ``name``; ``number`` counts from 1."""

    name: str
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    size: int = 0


def read_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Every non-blank line with its number, without its line ending."""
    for number, raw in enumerate(handle, start=1):
        line = raw.rstrip(b"\r\n")
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if line.strip():
            yield number, line


def partitions(path: Path, name: str) -> Iterator[Partition]:
    """The file's lines in partitions of at most PARTITION_LINES lines or about PARTITION_BYTES."""
    lines, size = PARTITION_LINES, PARTITION_BYTES
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the last partition
    except OSError as err:
        raise InputError(f"{name}: cannot read: {err.strerror or err}") from None
    with handle:
        current = Partition(name)
        for number, line in read_lines(handle):
            current.lines.append((number, line))
            current.size += len(line)
            if len(current.lines) >= lines or current.size >= size:
                yield current
                current = Partition(name)
        if current.lines:
            yield current


def spool_stdin() -> Path:
    """Standard input copied to a temporary file (removed by the caller), so that it can be
    read twice (ids first, then validation) without holding it in memory."""
    handle = tempfile.NamedTemporaryFile(prefix="fhirconv-stdin-", suffix=".ndjson", delete=False)  # noqa: SIM115
    with handle:
        shutil.copyfileobj(sys.stdin.buffer, handle, 1024 * 1024)
    return Path(handle.name)


def first_line_is_json(head: bytes) -> bool:
    """Whether the first line of ``head`` is a whole JSON object: NDJSON, not one pretty-printed document."""
    import orjson

    line = head.split(b"\n", 1)[0].strip()
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    if not line.startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False
