"""Fixtures every test package shares."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

FHIR_PACKAGES = Path(__file__).parent / "fhir_packages"


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


@pytest.fixture(scope="session")
def fhir_package(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The unpacked ``package/`` folder of a FHIR package listed in tests/fhir_packages/packages.txt.

    The .tgz files come from the npm registry by ``tests/fhir_packages/fetch`` (a step of the README's
    test command); a missing one fails the test that needs it, naming that step.
    """
    pinned = {
        line.split()[0].rsplit("@", 1)[0]: line.split()[0].rsplit("@", 1)[1]
        for line in (FHIR_PACKAGES / "packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    unpacked: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in unpacked:
            archive = FHIR_PACKAGES / f"{name}-{pinned[name]}.tgz"
            if not archive.is_file():
                pytest.fail(f"{archive} is missing: run tests/fhir_packages/fetch")
            target = tmp_path_factory.mktemp(name)
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
            unpacked[name] = target / "package"
        return unpacked[name]

    return get


@dataclass
class PackageCache:
    """A temporary FHIR package cache (``$FHIRCONV_PACKAGE_CACHE``); never the real ~/.fhir."""

    root: Path
    unpacked: Callable[[str], Path]

    def add(self, name: str, version: str | None = None, *, as_version: str | None = None) -> Path:
        """Put a pinned test package in the cache (as ``name#as_version`` when given)."""
        source = self.unpacked(name)
        manifest_version = version or json.loads((source / "package.json").read_text())["version"]
        folder = self.root / f"{name}#{as_version or manifest_version}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package").symlink_to(source, target_is_directory=True)
        return folder


@pytest.fixture
def package_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fhir_package) -> PackageCache:
    root = tmp_path / "fhir-packages"
    root.mkdir()
    monkeypatch.setenv("FHIRCONV_PACKAGE_CACHE", str(root))
    return PackageCache(root, fhir_package)
