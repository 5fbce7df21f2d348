"""Installing FHIR packages from an npm registry into the FHIR package cache, with their dependencies.

The npm protocol: ``GET <registry>/<name>`` answers the package's metadata (every
published version with its tarball URL and integrity); the tarball is a gzip tar of
``package/...``.  Each tarball is checked against the published integrity (sha512,
else sha1) and unpacked into ``<cache>/<name>#<version>/package/`` through a
temporary folder, so a failed install leaves nothing half-written.

Dependencies come from the package's own manifest.  A pinned dependency version
that the registry does not publish is replaced by the nearest one that it does (and
said so); ``hl7.fhir.r4.core`` is not on npm and is built into fhirconv.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhirconv.errors import ExitCode, FhirconvError, InputError
from fhirconv.packages.package import CORE, cache_dir, find_in_cache, nearest_version, parse_spec

REGISTRY_ENV = "FHIRCONV_NPM_REGISTRY"
DEFAULT_REGISTRY = "https://registry.npmjs.org"


class RegistryUnreachable(FhirconvError):
    """The registry could not be reached or did not answer in time (exit 3)."""

    exit_code = ExitCode.SERVER_UNREACHABLE


class RegistryFailure(FhirconvError):
    """The registry answered with an error or something that is not a package (exit 5)."""

    exit_code = ExitCode.SERVER_ERROR


@dataclass
class Installed:
    """What happened to one package: installed, already cached, substituted, skipped."""

    name: str
    version: str | None
    status: str  # "installed" | "cached" | "built-in" | "missing"
    note: str = ""
    folder: Path | None = None

    def line(self) -> str:
        label = f"{self.name}#{self.version}" if self.version else self.name
        text = {
            "installed": f"installed {label} in {self.folder}",
            "cached": f"{label} is already in the package cache ({self.folder})",
            "built-in": f"{label} is built into fhirconv (the R4 core is not on npm): not installed",
            "missing": f"{label}: not installed",
        }[self.status]
        return f"{text} ({self.note})" if self.note else text


def registry_url() -> str:
    return os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY


def install(
    spec: str,
    *,
    registry: str | None = None,
    report: Callable[[Installed], None] | None = None,
    timeout: float = 60.0,
) -> list[Installed]:
    """Install ``name@version`` (or the latest ``name``) and its dependencies into the cache."""
    import httpx

    parsed = parse_spec(spec)
    if parsed is None:
        raise InputError(f"{spec}: expected NAME@VERSION, such as hl7.fhir.uv.ips@2.0.0")
    base = (registry or registry_url()).rstrip("/")
    done: list[Installed] = []
    seen: set[str] = set()
    queue: list[tuple[str, str | None, str | None]] = [(parsed[0], parsed[1], None)]
    with httpx.Client(timeout=timeout, follow_redirects=True) as http:
        while queue:
            name, version, wanted_by = queue.pop(0)
            if name in seen:
                continue
            seen.add(name)
            outcome = _one(http, base, name, version, wanted_by)
            done.append(outcome)
            if report is not None:
                report(outcome)
            if outcome.folder is not None:
                manifest = _manifest(outcome.folder)
                deps = manifest.get("dependencies") if isinstance(manifest, dict) else None
                for dep, dep_version in (deps or {}).items():
                    queue.append((str(dep), str(dep_version), f"{name}#{outcome.version}"))
    return done


def _one(http: Any, base: str, name: str, version: str | None, wanted_by: str | None) -> Installed:
    if name == CORE:
        return Installed(name, version, "built-in")
    if version is not None:
        folder = find_in_cache(name, version)
        if folder is not None:
            return Installed(name, version, "cached", folder=folder)
    meta = _metadata(http, base, name, wanted_by)
    if meta is None:
        return Installed(name, version, "missing", f"a dependency of {wanted_by}, not on the registry {base}")
    versions = meta.get("versions") if isinstance(meta.get("versions"), dict) else {}
    if not versions:
        raise RegistryFailure(f"{base}/{name}: the registry lists no versions of {name}")
    note = ""
    if version is None:
        latest = meta.get("dist-tags", {}).get("latest") if isinstance(meta.get("dist-tags"), dict) else None
        chosen = latest if isinstance(latest, str) and latest in versions else None
        chosen = chosen or nearest_version("9999", list(versions))
    elif version not in versions:
        if wanted_by is None:
            shown = ", ".join(sorted(versions, key=lambda v: v)[-8:])
            raise InputError(f"{name}@{version} is not published on {base} (versions include: {shown})")
        chosen = nearest_version(version, list(versions))
        note = f"{wanted_by} asks for {version}, which {base} does not publish: took the nearest, {chosen}"
    else:
        chosen = version
    folder = find_in_cache(name, chosen)
    if folder is not None:
        return Installed(name, chosen, "cached", note, folder)
    release = versions[chosen]
    dist = release.get("dist") if isinstance(release, dict) else None
    if not isinstance(dist, dict) or not isinstance(dist.get("tarball"), str):
        raise RegistryFailure(f"{base}/{name}: version {chosen} has no tarball")
    data = _get(http, dist["tarball"], f"{name}@{chosen}").content
    _verify(data, dist, f"{name}@{chosen}")
    folder = _unpack(data, name, chosen)
    return Installed(name, chosen, "installed", note, folder)


def _metadata(http: Any, base: str, name: str, wanted_by: str | None) -> dict[str, Any] | None:
    response = _get(http, f"{base}/{name}", name, missing_ok=True)
    if response is None:
        if wanted_by is None:
            raise InputError(f"{name} is not on the registry {base}")
        return None
    try:
        meta = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise RegistryFailure(f"{base}/{name}: the registry's answer is not JSON") from None
    if not isinstance(meta, dict):
        raise RegistryFailure(f"{base}/{name}: the registry's answer is not package metadata")
    return meta


def _get(http: Any, url: str, what: str, missing_ok: bool = False) -> Any:
    import httpx

    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        raise RegistryUnreachable(f"{url}: the registry did not answer in time") from None
    except httpx.HTTPError as err:
        raise RegistryUnreachable(f"{url}: cannot reach the registry ({err})") from None
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code >= 400:
        raise RegistryFailure(f"{url}: the registry answered {response.status_code} for {what}")
    return response


def _verify(data: bytes, dist: dict[str, Any], what: str) -> None:
    integrity = dist.get("integrity")
    if isinstance(integrity, str) and integrity.startswith("sha512-"):
        actual = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if actual != integrity:
            raise RegistryFailure(f"{what}: the tarball does not match its published integrity")
        return
    shasum = dist.get("shasum")
    if isinstance(shasum, str) and hashlib.sha1(data).hexdigest() != shasum:
        raise RegistryFailure(f"{what}: the tarball does not match its published sha1")


def _unpack(data: bytes, name: str, version: str) -> Path:
    root = cache_dir()
    target = root / f"{name}#{version}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}#{version}.", dir=root))
    except OSError as err:
        raise InputError(f"{root}: cannot write to the package cache ({err.strerror})") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            # The "data" filter refuses absolute paths, links out of the folder and devices.
            tar.extractall(scratch, filter="data")
        if not (scratch / "package" / "package.json").is_file():
            raise RegistryFailure(f"{name}@{version}: the tarball holds no package/package.json")
        _write_index(scratch / "package")
        if target.exists():
            shutil.rmtree(target)  # a half-installed folder without its manifest
        os.replace(scratch, target)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise RegistryFailure(f"{name}@{version}: cannot unpack the tarball ({err})") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _write_index(folder: Path) -> None:
    """The .index.json of the package cache convention, so that loading need not open every file."""
    if (folder / ".index.json").is_file():
        return
    files = []
    for path in sorted(folder.glob("*.json")):
        if path.name == "package.json":
            continue
        try:
            resource = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            continue
        entry = {"filename": path.name, "resourceType": resource["resourceType"]}
        for key in ("id", "url", "version", "kind", "type"):
            if isinstance(resource.get(key), str):
                entry[key] = resource[key]
        files.append(entry)
    (folder / ".index.json").write_bytes(orjson.dumps({"index-version": 1, "files": files}))


def _manifest(folder: Path) -> Any:
    try:
        return orjson.loads((folder / "package" / "package.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
