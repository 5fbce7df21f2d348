"""The vendored definitions in ``fhirconv/data/definitions``, loaded once per process.

They are built by ``tools/build_definitions.py`` from pinned npm packages (see
``versions.json`` there); nothing is fetched at run time.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources
from typing import Any

import orjson


def _load(name: str) -> Any:
    data = resources.files("fhirconv.data").joinpath("definitions", name).read_bytes()
    return orjson.loads(gzip.decompress(data) if name.endswith(".gz") else data)


@cache
def core_types() -> dict[str, Any]:
    """Core R4 types by name.

    Each: ``{kind, abstract, base, elements{path: ...}, children{path: {key: [path, type]}}}``.
    """
    types: dict[str, Any] = _load("core.json.gz")["types"]
    return types


@cache
def resource_types() -> frozenset[str]:
    return frozenset(
        name for name, t in core_types().items() if t["kind"] == "resource" and not t["abstract"]
    )


@cache
def valuesets() -> dict[str, Any]:
    """Value sets by canonical URL: ``{"codes": {system: [code, ...]}}`` or ``{"unexpandable": why}``."""
    data: dict[str, Any] = _load("valuesets.json.gz")
    return data


@cache
def valueset_codes(url: str) -> dict[str, frozenset[str]] | None:
    """The enumerated codes of a value set, or None when it cannot be enumerated offline."""
    vs = valuesets().get(url)
    if vs is None or "codes" not in vs:
        return None
    return {system: frozenset(codes) for system, codes in vs["codes"].items()}


def unexpandable_reason(url: str) -> str:
    vs = valuesets().get(url)
    if vs is None:
        return "value set definition not available offline"
    return str(vs.get("unexpandable", ""))


@cache
def profiles() -> dict[str, dict[str, Any]]:
    """mCODE STU4 profiles and the extension definitions they use, by canonical URL."""
    data: dict[str, Any] = _load("profiles.json.gz")
    return data


@cache
def core_profiles() -> dict[str, dict[str, Any]]:
    """The other profiles and extension definitions of the R4 core (vital signs, SimpleQuantity, ...)."""
    data: dict[str, Any] = _load("core-profiles.json.gz")
    return data


@cache
def codesystems() -> dict[str, list[list[str | None]]]:
    """The codes of every complete core code system with their parents, by canonical URL."""
    data: dict[str, list[list[str | None]]] = _load("codesystems.json.gz")
    return data


@cache
def codesystem(url: str) -> dict[str, str | None] | None:
    """code -> parent code (None at the top) of a complete core code system."""
    pairs = codesystems().get(url)
    return {str(code): parent for code, parent in pairs} if pairs is not None else None


_CORE_SD = "http://hl7.org/fhir/StructureDefinition/"


@cache
def core_canonical_type(url: str) -> str | None:
    """The resource type of the R4 core conformance resource with this canonical URL (no version),
    when it is one of the value sets, code systems or StructureDefinitions vendored here."""
    if url in valuesets():
        return "ValueSet"
    if url in codesystems():
        return "CodeSystem"
    if url.startswith(_CORE_SD) and (url[len(_CORE_SD) :] in core_types() or url in core_profiles()):
        return "StructureDefinition"
    return None


@cache
def search_param_types() -> dict[str, str]:
    """The type (token, date, reference, ...) of every core SearchParameter, by canonical URL."""
    data: dict[str, str] = _load("searchparams.json.gz")
    return data


@cache
def required_choices() -> dict[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...]]:
    """(type, element path) -> the choice elements under it with min >= 1, as (JSON key prefix, types):
    ``("MedicationRequest", "MedicationRequest") -> (("medication", ("CodeableConcept", "Reference")),)``."""
    found: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for name, sd in core_types().items():
        for path, element in sd["elements"].items():
            if path.endswith("[x]") and element.get("min", 0) >= 1:
                parent, _, last = path.rpartition(".")
                found.setdefault((name, parent), []).append((last[:-3], tuple(element.get("types", ()))))
    return {key: tuple(value) for key, value in found.items()}


@cache
def json_schema() -> dict[str, Any]:
    data: dict[str, Any] = _load("fhir-r4.schema.json.gz")
    return data


@cache
def versions() -> dict[str, Any]:
    data: dict[str, Any] = _load("versions.json")
    return data
