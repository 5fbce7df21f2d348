"""Writing output files: atomically, so a failure never leaves half a file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fhirconv.errors import InputError


def write_atomically(data: bytes, path: Path) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed on success
            dir=directory, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from None
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise InputError(f"{path}: cannot write: {err.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


def write_output(data: bytes, output: Path | None) -> None:
    """``data`` to the file ``output`` (atomically), or to standard output when there is none."""
    if output is not None:
        write_atomically(data, output)
        return
    import sys

    sys.stdout.flush()  # text already written through the text layer goes first
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def dump_json(value: object) -> bytes:
    """Canonical JSON for output: two-space indent, keys in mapping order, UTF-8, final newline."""
    import json

    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
