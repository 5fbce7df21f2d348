"""Required bindings: the codes a coded value carries and whether a value set holds them.

Used by the invariant layer (the core's required bindings) and the profile layer
(a profile's).
"""

from __future__ import annotations

from typing import Any

from fhirconv.validation import definitions
from fhirconv.validation.issues import Issue, Layer, error, information
from fhirconv.validation.walker import Node


def codings_of(value: Any, type_code: str) -> list[tuple[str | None, str]] | None:
    """(system, code) pairs a coded value carries; None when the type is not coded."""
    if type_code == "code":
        return [(None, value)] if isinstance(value, str) else []
    if type_code == "Coding":
        return [_pair(value)] if isinstance(value, dict) and isinstance(value.get("code"), str) else []
    if type_code == "CodeableConcept":
        codings = value.get("coding") if isinstance(value, dict) else None
        if not isinstance(codings, list):
            return []  # not a list: the schema layer says so
        return [_pair(c) for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)]
    if type_code == "Quantity":
        return [_pair(value)] if isinstance(value, dict) and isinstance(value.get("code"), str) else []
    return None


def _pair(coding: dict[str, Any]) -> tuple[str | None, str]:
    system = coding.get("system")
    return (system if isinstance(system, str) else None, coding["code"])


def in_valueset(codes: dict[str, frozenset[str]], system: str | None, code: str) -> bool:
    if system is None:
        return any(code in c for c in codes.values())
    return code in codes.get(system, frozenset())


def check_binding(node: Node) -> list[Issue]:
    url = node.element["bind"]
    pairs = codings_of(node.value, node.type)
    if pairs is None:
        return []
    codes = definitions.valueset_codes(url)
    if codes is None:
        return [
            information(
                Layer.INVARIANT,
                node.path,
                f"required binding to {url} not checked: {definitions.unexpandable_reason(url)}",
                "binding-not-checked",
            )
        ]
    if not pairs:
        if node.type == "CodeableConcept":
            return [
                error(
                    Layer.INVARIANT,
                    node.path,
                    f"no coding from the required value set {url}",
                    "binding-required",
                )
            ]
        return []
    if any(in_valueset(codes, system, code) for system, code in pairs):
        return []
    shown = ", ".join(f"{s}#{c}" if s else c for s, c in pairs[:3])
    return [
        error(
            Layer.INVARIANT, node.path, f"{shown} is not in the required value set {url}", "binding-required"
        )
    ]
