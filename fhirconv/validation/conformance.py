"""The conformance resources a validation run knows: built in, and from the packages given with ``--ig``.

Built in are the R4 core (its profiles such as vital signs, its extensions, value
sets and code systems) and mCODE STU4.  Loaded packages add their
StructureDefinitions, ValueSets and CodeSystems, with the dependencies their
manifests name when those are in the package cache.  Where a package repeats a
canonical URL, the built-in mCODE STU4 profiles (with the core extensions they use)
and the built-in value sets win: they are what fhirconv was built and tested on;
for the other core profiles and extensions the package's definition is used (the
extensions pack publishes newer versions of R4's extensions).

Everything is looked up by canonical URL, on demand, and kept: a profile is
compiled once per process, a value set enumerated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhirconv.packages.package import (
    CORE,
    FhirPackage,
    cache_dir,
    cached_versions,
    find_in_cache,
    nearest_version,
    open_package,
)
from fhirconv.validation import definitions
from fhirconv.validation.profile_model import Profile, compile_profile
from fhirconv.validation.pruning import Expander, codesystem_codes, prune_profile, strip_version


@dataclass
class Conformance:
    packages: tuple[FhirPackage, ...] = ()
    notes: tuple[str, ...] = ()  # what loading found worth saying (a dependency not cached, ...)
    _profiles: dict[str, Profile | None] = field(default_factory=dict, repr=False)
    _by_url: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, repr=False)
    _expander: Expander | None = field(default=None, repr=False)

    # -- StructureDefinitions ---------------------------------------------------------

    def structure(self, url: str) -> dict[str, Any] | None:
        """The pruned definition of a profile or extension, or None when nothing here defines it."""
        url = strip_version(url)
        found: dict[str, Any] | None = definitions.profiles().get(url)
        if found is not None:
            return found
        raw = self._package_resource("StructureDefinition", url)
        if raw is not None:
            if not isinstance(raw.get("snapshot"), dict):
                return None  # a differential without a snapshot: nothing to walk
            return prune_profile(raw)
        found = definitions.core_profiles().get(url)
        if found is not None:
            return found
        return None

    def profile(self, url: str) -> Profile | None:
        url = strip_version(url)
        if url not in self._profiles:
            data = self.structure(url)
            self._profiles[url] = compile_profile(data) if data is not None else None
        return self._profiles[url]

    def package_of(self, url: str) -> FhirPackage | None:
        """The loaded package that defines a StructureDefinition URL."""
        for package in self.packages:
            if any(r.get("url") == url for r in package.resources("StructureDefinition")):
                return package
        return None

    def lacks_snapshot(self, url: str) -> bool:
        raw = self._package_resource("StructureDefinition", strip_version(url))
        return raw is not None and not isinstance(raw.get("snapshot"), dict)

    def _package_resource(self, kind: str, url: str) -> dict[str, Any] | None:
        if not self.packages:
            return None
        index = self._by_url.get(kind)
        if index is None:
            index = {}
            for package in self.packages:
                for resource in package.resources(kind):
                    index.setdefault(strip_version(resource["url"]), resource)
            self._by_url[kind] = index
        return index.get(url)

    # -- value sets -------------------------------------------------------------------

    def valueset_codes(self, url: str) -> dict[str, frozenset[str]] | None:
        url = strip_version(url)
        if url in definitions.valuesets() or not self.packages:
            return definitions.valueset_codes(url)
        expanded = self._expand(url)
        if "codes" not in expanded:
            return None
        return {system: frozenset(codes) for system, codes in expanded["codes"].items()}

    def unexpandable_reason(self, url: str) -> str:
        url = strip_version(url)
        if url in definitions.valuesets() or not self.packages:
            return definitions.unexpandable_reason(url)
        return str(self._expand(url).get("unexpandable", ""))

    def _expand(self, url: str) -> dict[str, Any]:
        if self._expander is None:
            self._expander = Expander(self._find_valueset, self._find_codes)
        return self._expander.expand(url)

    def _find_valueset(self, url: str) -> dict[str, Any] | None:
        return self._package_resource("ValueSet", url)

    def _find_codes(self, system: str) -> dict[str, str | None] | None:
        codes = definitions.codesystem(system)
        if codes is not None:
            return codes
        return codesystem_codes(self._package_resource("CodeSystem", system))


BUILT_IN = Conformance()


def load(specs: tuple[str, ...]) -> Conformance:
    """The built-in definitions plus the packages named by ``specs`` and their cached dependencies.

    Raises :class:`~fhirconv.packages.package.PackageError` for a package that cannot be read.
    """
    if not specs:
        return BUILT_IN
    return _load(tuple(specs), str(cache_dir()))


@cache
def _load(specs: tuple[str, ...], cache: str) -> Conformance:
    # ``cache`` is part of the key only: the same NAME@VERSION names another package in another cache.
    packages: list[FhirPackage] = []
    notes: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        package = open_package(spec)
        if package.name in seen:
            continue
        seen.add(package.name)
        packages.append(package)
    # Dependencies after everything asked for, breadth first; the core is built in.
    queue = list(packages)
    while queue:
        package = queue.pop(0)
        for name, version in package.dependencies.items():
            if name in seen:
                continue
            seen.add(name)
            if name == CORE:
                continue
            dependency, note = _dependency(name, version, package)
            if note:
                notes.append(note)
            if dependency is not None:
                packages.append(dependency)
                queue.append(dependency)
    return Conformance(tuple(packages), tuple(notes))


def _dependency(name: str, version: str, of: FhirPackage) -> tuple[FhirPackage | None, str | None]:
    folder = find_in_cache(name, version)
    if folder is not None:
        return open_package(str(folder)), None
    available = cached_versions(name)
    if not available:
        return None, (
            f"{name}#{version} (a dependency of {of.label}) is not in the package cache: "
            f"its definitions are not loaded (fhirconv ig install {name}@{version})"
        )
    nearest = nearest_version(version, available)
    return open_package(str(find_in_cache(name, nearest))), (
        f"{name}#{version} (a dependency of {of.label}) is not in the package cache: using {name}#{nearest}"
    )
