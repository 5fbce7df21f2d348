"""Running the CLI in-process for many inputs, and what every answer must look like."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path


def run(*args: str) -> tuple[int, str, str]:
    """``fhirconv ARGS`` through :func:`fhirconv.cli.main`: (exit code, stdout, stderr)."""
    from fhirconv.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
    return code, out.getvalue(), err.getvalue()


def check(code: int, out: str, err: str, path: Path) -> None:
    """Exit 0, 1 or 2; no traceback or internal error; UTF-8 output; exit 2 in one line naming the file."""
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "Internal error" not in err, err
    assert "-internal" not in out, out  # a validation layer that failed on the input
    out.encode("utf-8")  # a lone surrogate never reaches the output unescaped
    if code == 2:
        errors = [line for line in err.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and str(path) in errors[0], err
