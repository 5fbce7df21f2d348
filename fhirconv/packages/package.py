"""Reading one FHIR package: a ``.tgz``, an unpacked folder, or a package in the package cache.

The FHIR package cache is the folder HL7's tools share (``~/.fhir/packages``, one
``<name>#<version>/package/`` folder per package); ``FHIRCONV_PACKAGE_CACHE`` puts it
elsewhere.  A package's resources are read lazily: opening one reads its manifest
and the names of its files; the StructureDefinitions, ValueSets and CodeSystems are
parsed the first time something asks for that kind.
"""

from __future__ import annotations

import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fhirconv.errors import InputError

CACHE_ENV = "FHIRCONV_PACKAGE_CACHE"
CORE = "hl7.fhir.r4.core"
# The kinds the validator reads; a package's other resources (examples, capability
# statements, search parameters) are never parsed.
KINDS = ("StructureDefinition", "ValueSet", "CodeSystem")
_SPEC = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]*?)(?:[@#](?P<version>[A-Za-z0-9][A-Za-z0-9._\-+]*))?$"
)


class PackageError(InputError):
    """A package that cannot be found or read (exit 2)."""


def cache_dir() -> Path:
    """The FHIR package cache: ``$FHIRCONV_PACKAGE_CACHE``, else ``~/.fhir/packages``."""
    given = os.environ.get(CACHE_ENV)
    return Path(given) if given else Path.home() / ".fhir" / "packages"


def parse_spec(spec: str) -> tuple[str, str | None] | None:
    """``name@version`` / ``name#version`` / ``name`` -> (name, version or None); None if neither."""
    match = _SPEC.match(spec)
    if match is None or "." not in match["name"]:
        return None
    return match["name"], match["version"]


@dataclass
class FhirPackage:
    """One package: its manifest, where it came from, and its files (bytes or paths) by name."""

    manifest: dict[str, Any]
    origin: str
    files: dict[str, bytes | Path]
    _parsed: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _kinds_of: dict[str, str] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "?"))

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "?"))

    @property
    def label(self) -> str:
        return f"{self.name}#{self.version}"

    @property
    def dependencies(self) -> dict[str, str]:
        deps = self.manifest.get("dependencies")
        return {str(k): str(v) for k, v in deps.items()} if isinstance(deps, dict) else {}

    def resources(self, kind: str) -> list[dict[str, Any]]:
        """The package's resources of one kind (StructureDefinition, ValueSet, CodeSystem)."""
        if kind not in self._parsed:
            kinds = self._kinds()
            found = []
            for name, of in kinds.items():
                if of != kind:
                    continue
                resource = self._read(name, kind)
                if resource is not None:
                    found.append(resource)
            self._parsed[kind] = found
        return self._parsed[kind]

    def _kinds(self) -> dict[str, str]:
        """File name -> resourceType, from .index.json, the file-name convention, or the content."""
        if self._kinds_of is not None:
            return self._kinds_of
        kinds: dict[str, str] = {}
        index = self._load(".index.json")
        listed = index.get("files") if isinstance(index, dict) else None
        if isinstance(listed, list):
            for item in listed:
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    kinds[item["filename"]] = str(item.get("resourceType"))
        for name in self.files:
            if name in kinds or name in ("package.json", ".index.json") or not name.endswith(".json"):
                continue
            prefix = name.split("-", 1)[0]
            if "-" in name and prefix[:1].isupper():
                kinds[name] = prefix  # HL7's publisher names files Type-id.json
                continue
            value = self._load(name)
            kinds[name] = str(value.get("resourceType")) if isinstance(value, dict) else ""
        self._kinds_of = kinds
        return kinds

    def _load(self, name: str) -> Any:
        source = self.files.get(name)
        if source is None:
            return None
        try:
            raw = source.read_bytes() if isinstance(source, Path) else source
            return orjson.loads(raw)
        except (OSError, orjson.JSONDecodeError):
            return None

    def _read(self, name: str, kind: str) -> dict[str, Any] | None:
        value = self._load(name)
        if (
            isinstance(value, dict)
            and value.get("resourceType") == kind
            and isinstance(value.get("url"), str)
        ):
            return value
        return None


def open_package(spec: str) -> FhirPackage:
    """A package from a .tgz, a folder, or ``name@version`` / ``name#version`` in the cache."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return _from_folder(path, spec)
    if path.is_file():
        return _from_tgz(path, spec)
    parsed = parse_spec(spec)
    if parsed is None or spec.endswith((".tgz", ".tar.gz", ".json")) or "/" in spec:
        raise PackageError(f"{spec}: no such package file or folder")
    name, version = parsed
    return from_cache(name, version)


def from_cache(name: str, version: str | None) -> FhirPackage:
    folder = find_in_cache(name, version)
    if folder is None:
        shown = f"{name}@{version}" if version else name
        raise PackageError(
            f"{name}{'#' + version if version else ''} is not in the FHIR package cache ({cache_dir()}); "
            f"install it with: fhirconv ig install {shown}"
        )
    return _from_folder(folder, f"{name}#{folder.name.split('#', 1)[1]}")


def find_in_cache(name: str, version: str | None) -> Path | None:
    """The cache folder of ``name#version``; without a version, the highest one cached."""
    root = cache_dir()
    if version is not None:
        folder = root / f"{name}#{version}"
        return folder if (folder / "package" / "package.json").is_file() else None
    found = cached_versions(name)
    return root / f"{name}#{found[-1]}" if found else None


def cached_versions(name: str) -> list[str]:
    """Versions of a package in the cache, lowest first."""
    root = cache_dir()
    if not root.is_dir():
        return []
    versions = [
        entry.name.split("#", 1)[1]
        for entry in root.iterdir()
        if entry.name.startswith(f"{name}#") and (entry / "package" / "package.json").is_file()
    ]
    return sorted(versions, key=version_key)


def version_key(version: str) -> tuple[tuple[int, ...], int, str]:
    """Semantic-version order: 1.10.0 after 1.9.0, a pre-release (5.3.0-ballot) before its release."""
    core, _, pre = version.partition("-")
    numbers = tuple(int(p) if p.isdigit() else 0 for p in core.split("."))
    return numbers, 0 if pre else 1, pre


def nearest_version(wanted: str, available: list[str]) -> str:
    """The available version closest to the wanted one: same major.minor first, then by order."""
    key = version_key(wanted)

    def distance(candidate: str) -> tuple[int, ...]:
        numbers = version_key(candidate)[0]
        padded = [*numbers, 0, 0, 0][:3]
        target = [*key[0], 0, 0, 0][:3]
        return tuple(abs(a - b) for a, b in zip(padded, target, strict=True))

    return min(available, key=lambda v: (distance(v), [-x for x in version_key(v)[0]]))


def _from_folder(path: Path, origin: str) -> FhirPackage:
    folder = path / "package" if (path / "package" / "package.json").is_file() else path
    manifest_path = folder / "package.json"
    if not manifest_path.is_file():
        raise PackageError(f"{origin}: not a FHIR package (no package.json in it or in its package/ folder)")
    try:
        manifest = orjson.loads(manifest_path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as err:
        raise PackageError(f"{origin}: cannot read package.json ({err})") from None
    if not isinstance(manifest, dict):
        raise PackageError(f"{origin}: package.json is not a JSON object")
    files: dict[str, bytes | Path] = {
        p.name: p for p in folder.iterdir() if p.suffix == ".json" and p.is_file()
    }
    return FhirPackage(manifest, origin, files)


def _from_tgz(path: Path, origin: str) -> FhirPackage:
    files: dict[str, bytes | Path] = {}
    manifest: Any = None
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".json"):
                    continue
                parts = member.name.split("/")
                # The package's own definitions sit directly in package/ (examples in package/example/).
                if len(parts) != 2 or parts[0] != "package":
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = handle.read()
                if parts[1] == "package.json":
                    manifest = orjson.loads(data)
                else:
                    files[parts[1]] = data
    except (tarfile.TarError, OSError, EOFError) as err:
        raise PackageError(f"{origin}: cannot read the package archive ({err})") from None
    except orjson.JSONDecodeError as err:
        raise PackageError(f"{origin}: package/package.json is not JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise PackageError(f"{origin}: not a FHIR package (no package/package.json in the archive)")
    return FhirPackage(manifest, origin, files)
