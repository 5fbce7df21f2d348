"""Layer 7: codes checked against fhirconv's terminology table.

For a code in a system the table covers (LOINC, SNOMED CT, ICD-10-CM, ICD-O-3,
RxNorm, UCUM, CDC race and ethnicity): a known code with a display the table does
not accept is a warning; an unknown code is information for other producers'
resources and an error in fhirconv's own, because every code fhirconv emits comes
from the table.  A resource is fhirconv's own when its ``meta.source`` or a
``meta.tag`` names fhirconv (see :func:`is_own`).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from fhirconv.validation.issues import Issue, Layer, error, information, warning
from fhirconv.validation.walker import ResourceScope, Walk


class ConceptLike(Protocol):
    @property
    def display(self) -> str: ...
    @property
    def displays(self) -> tuple[str, ...]: ...


class TableLike(Protocol):
    def find(self, system: str, code: str) -> ConceptLike | None: ...
    def systems(self) -> frozenset[str]: ...


OWN_MARK = "fhirconv"


def is_own(resource: dict[str, Any]) -> bool:
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return False
    source = meta.get("source")
    if isinstance(source, str) and OWN_MARK in source.lower():
        return True
    tags = meta.get("tag")
    return isinstance(tags, list) and any(
        isinstance(t, dict) and OWN_MARK in str(t.get("system", "")).lower() for t in tags
    )


def _default_table() -> TableLike:
    # Imported here so that validation does not load the table unless this layer runs.
    from fhirconv.terminology import table

    return table()


def check(walk: Walk, table: TableLike | None = None, own: bool | None = None) -> list[Issue]:
    table = table if table is not None else _default_table()
    systems = table.systems()
    issues: list[Issue] = []
    # Verdicts on displays, by (display, system, code): the same codings repeat across resources.
    accepted: dict[tuple[str, str, str], bool] = {}
    outer = walk.resources[0].resource if walk.resources else None
    outer_own = outer is not None and is_own(outer)
    for scope in walk.resources:
        own_codes = _own(scope, outer_own) if own is None else own
        for node in scope.of_kind("coded"):
            if not isinstance(node.value, dict):
                continue
            system, code = node.value.get("system"), node.value.get("code")
            if not isinstance(system, str) or not isinstance(code, str) or system not in systems:
                continue
            concept = table.find(system, code)
            if concept is None:
                if own_codes:
                    issues.append(
                        error(
                            Layer.TERMINOLOGY,
                            node.path,
                            f"{system}|{code} is not in fhirconv's "
                            "terminology table, and every code fhirconv emits must be",
                            "terminology-unknown-own-code",
                        )
                    )
                elif node.type == "Coding":
                    issues.append(
                        information(
                            Layer.TERMINOLOGY,
                            node.path,
                            f"{system}|{code} is not in fhirconv's terminology table; not checked",
                            "terminology-unknown",
                        )
                    )
                continue
            display = node.value.get("display") if node.type == "Coding" else node.value.get("unit")
            if node.type == "Coding" and isinstance(display, str):
                key = (display, system, code)
                verdict = accepted.get(key)
                if verdict is None:
                    verdict = accepted[key] = display_accepted(display, system, concept)
            if node.type == "Coding" and isinstance(display, str) and not verdict:
                issues.append(
                    warning(
                        Layer.TERMINOLOGY,
                        f"{node.path}.display",
                        f"display '{display}' does not match {system}|{code}: expected '{concept.display}'",
                        "terminology-display",
                    )
                )
    return issues


SNOMED = "http://snomed.info/sct"
_SEMANTIC_TAG = re.compile(r"\s*\([^()]*\)$")


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def display_accepted(display: str, system: str, concept: ConceptLike) -> bool:
    """Whether a display is one the table accepts, ignoring case and runs of whitespace.

    A concept the table knows no display for accepts any (it cannot judge).  For SNOMED
    CT a fully specified name ("Chemotherapy (procedure)") and the same name without
    its semantic tag, which is how the preferred term usually reads, stand for each
    other in either direction.
    """
    accepted = [a for a in concept.displays if a.strip()]
    if not accepted:
        return True
    wanted = _normal(display)
    bare = _normal(_SEMANTIC_TAG.sub("", display)) if system == SNOMED else wanted
    for candidate in accepted:
        if _normal(candidate) == wanted:
            return True
        if system == SNOMED and _normal(_SEMANTIC_TAG.sub("", candidate)) in (wanted, bare):
            return True
    return False


def _own(scope: ResourceScope, outer_own: bool) -> bool:
    if is_own(scope.resource):
        return True
    # A bundle fhirconv wrote marks its entries as its own too.
    return scope.entry_index is not None and outer_own
