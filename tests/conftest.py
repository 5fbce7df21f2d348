"""Fixtures every test package shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run ``fhirconv ARGS`` through :func:`fhirconv.cli.main`, exactly as the entry point does."""
    from fhirconv.cli import main

    monkeypatch.delenv("FHIRCONV_TOKEN", raising=False)
    monkeypatch.delenv("FHIRCONV_SERVER", raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Run:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = capsys.readouterr()
        for key in env or {}:
            monkeypatch.delenv(key, raising=False)
        assert "Traceback" not in captured.err, captured.err
        return Run(code, captured.out, captured.err)

    return run
