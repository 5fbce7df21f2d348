"""StructureDefinitions given as input: the errors a snapshot generator would meet.

A profile's differential names elements by path; every path must exist in the type
it constrains (R4 core), following data types (``Observation.code.coding``), choice
elements named by type (``Observation.valueQuantity`` for ``value[x]``) and content
references (``Questionnaire.item.item``).  A path that does not exist cannot be
placed in a snapshot: the HL7 validator's snapshot generator stops there, and so the
profile is unusable.  Extension definitions' paths are checked the same way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhirconv.validation import definitions
from fhirconv.validation.issues import Issue, Layer, error


def check(resource: dict[str, Any], path: str) -> list[Issue]:
    if resource.get("resourceType") != "StructureDefinition" or resource.get("derivation") != "constraint":
        return []
    sd_type = resource.get("type")
    types = definitions.core_types()
    if not isinstance(sd_type, str) or sd_type not in types:
        return []  # a logical model or a type fhirconv does not carry
    issues: list[Issue] = []
    for part in ("differential", "snapshot"):
        block = resource.get(part)
        elements = block.get("element") if isinstance(block, dict) else None
        if not isinstance(elements, list):
            continue
        for index, element in enumerate(elements):
            if not isinstance(element, dict) or not isinstance(element.get("path"), str):
                continue
            element_path = element["path"]
            problem = _problem(sd_type, element_path)
            if problem is not None:
                issues.append(
                    error(
                        Layer.PROFILE,
                        f"{path}.{part}.element[{index}].path",
                        f"{part} element path '{element_path}' {problem}; no snapshot can be generated",
                        "sd-illegal-path",
                    )
                )
    return issues


def _problem(sd_type: str, element_path: str) -> str | None:
    segments = element_path.split(".")
    if segments[0] != sd_type:
        return f"does not start with the type the profile constrains ({sd_type})"
    if ".".join(segments[:2]) in _not_vendored():
        return None  # an element the vendored core lacks (see versions.json): no verdict
    types = definitions.core_types()
    sd, current = sd_type, sd_type
    for depth, segment in enumerate(segments[1:], start=1):
        found = _step(sd, current, segment)
        if found is None:
            # Below an element of a data type (one, or one of a choice's): continue in its definition.
            for type_code in types[sd]["elements"].get(current, {}).get("types", []):
                if type_code in types and types[type_code]["kind"] == "complex-type":
                    found = _step(type_code, type_code, segment)
                elif segment == "value" and depth == len(segments) - 1:
                    found = (sd, current)  # a primitive's value, as some snapshots list it
                if found is not None:
                    break
        if found is None and segment in ("extension", "modifierExtension"):
            found = ("Extension", "Extension")  # any element may carry extensions
        elif found is None and segment == "id" and depth == len(segments) - 1:
            found = (sd, current)
        if found is None:
            shown = ".".join(segments[: depth + 1])
            return f"names '{shown}', which {sd_type} does not have"
        sd, current = found
    return None


@cache
def _not_vendored() -> frozenset[str]:
    return frozenset(definitions.versions().get("notInR4Dropped", []))


def _step(sd: str, current: str, segment: str) -> tuple[str, str] | None:
    types = definitions.core_types()
    elements = types[sd]["elements"]
    candidate = f"{current}.{segment}"
    element = elements.get(candidate)
    if element is not None:
        if "cref" in element:
            return sd, element["cref"]
        return sd, candidate
    # valueQuantity for value[x]: a choice element constrained to one of its types.
    for key, choice in elements.items():
        if (
            not key.startswith(current + ".")
            or not key.endswith("[x]")
            or key.count(".") != current.count(".") + 1
        ):
            continue
        stem = key.rsplit(".", 1)[1][:-3]
        if segment.startswith(stem) and len(segment) > len(stem):
            suffix = segment[len(stem) :]
            for type_code in choice.get("types", []):
                if type_code[0].upper() + type_code[1:] == suffix:
                    if type_code in types and types[type_code]["kind"] == "complex-type":
                        return type_code, type_code
                    return sd, key
    return None
