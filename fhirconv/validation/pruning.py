"""StructureDefinitions reduced to what the profile layer reads, and value sets enumerated offline.

One definition of both serves the vendored definitions (``tools/build_definitions.py``)
and the FHIR packages loaded at run time (``validate --ig``), so that a profile
behaves the same whichever way it arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
SD_PREFIX = "http://hl7.org/fhir/StructureDefinition/"


def strip_version(url: str) -> str:
    return url.split("|", 1)[0]


def max_of(value: str) -> int:
    return -1 if value == "*" else int(value)


def type_code(t: dict[str, Any]) -> str:
    code: str = t["code"]
    if code.startswith(FHIRPATH_SYSTEM):
        # id, extension.url and friends: the fhir-type extension names the FHIR primitive.
        for ext in t.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                return str(ext.get("valueUrl") or ext.get("valueUri"))
        return "string"
    return code


def target_names(t: dict[str, Any]) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p in t.get("targetProfile", [])]


def prune_profile(sd: dict[str, Any]) -> dict[str, Any]:
    """The parts of a StructureDefinition snapshot the profile layer checks."""
    elements = []
    for el in sd["snapshot"]["element"]:
        entry: dict[str, Any] = {
            "id": el.get("id") or el["path"],
            "path": el["path"],
            "min": el.get("min", 0),
        }
        entry["max"] = max_of(el.get("max", "*"))
        if "sliceName" in el:
            entry["sliceName"] = el["sliceName"]
        if "type" in el:
            entry["types"] = [
                {
                    k: v
                    for k, v in (
                        ("code", type_code(t)),
                        ("profile", [strip_version(p) for p in t.get("profile", [])]),
                        ("targets", [strip_version(p) for p in t.get("targetProfile", [])]),
                    )
                    if v
                }
                for t in el["type"]
            ]
        if "slicing" in el:
            entry["slicing"] = {
                "discriminator": [[d["type"], d["path"]] for d in el["slicing"].get("discriminator", [])],
                "rules": el["slicing"].get("rules", "open"),
            }
        for key, value in el.items():
            if key.startswith("fixed"):
                entry["fixed"] = value
            elif key.startswith("pattern"):
                entry["pattern"] = value
        binding = el.get("binding")
        if binding and binding.get("valueSet"):
            entry["binding"] = [binding.get("strength"), strip_version(binding["valueSet"])]
        cons = [
            [c["key"], c["severity"], c["human"], c["expression"]]
            for c in el.get("constraint", [])
            if "expression" in c and not c.get("source", "").startswith(SD_PREFIX)
        ]
        if cons:
            entry["cons"] = cons
        if "contentReference" in el:
            entry["cref"] = el["contentReference"].lstrip("#")
        elements.append(entry)
    pruned = {
        "url": sd["url"],
        "name": sd.get("name"),
        "type": sd["type"],
        "kind": sd["kind"],
        "base": sd.get("baseDefinition"),
        "version": sd.get("version"),
        "elements": elements,
    }
    contexts = [[c.get("type"), c.get("expression")] for c in sd.get("context", []) if isinstance(c, dict)]
    if contexts:
        pruned["context"] = contexts
    return pruned


def referenced_profiles(sd: dict[str, Any]) -> set[str]:
    refs: set[str] = set()
    for el in sd["snapshot"]["element"]:
        for t in el.get("type", []):
            refs.update(strip_version(p) for p in t.get("profile", []))
    return refs


# ---------------------------------------------------------------------------
# value sets


def codesystem_codes(cs: dict[str, Any] | None) -> dict[str, str | None] | None:
    """Every code of a complete code system with its parent code (None at the top).

    None when the code system is not complete or has no concepts.
    """
    if cs is None or cs.get("content") not in ("complete", None):
        return None
    found: dict[str, str | None] = {}
    stack: list[tuple[dict[str, Any], str | None]] = [(c, None) for c in reversed(cs.get("concept", []))]
    while stack:
        concept, parent = stack.pop()
        found.setdefault(concept["code"], parent)
        stack.extend((child, concept["code"]) for child in reversed(concept.get("concept", [])))
    return found or None


def _filtered(codes: dict[str, str | None], filters: list[dict[str, Any]]) -> set[str] | None:
    """The codes of a code system that pass hierarchy filters; None for a filter not understood."""
    chosen = set(codes)
    for f in filters:
        if f.get("property") != "concept" or f.get("op") not in ("is-a", "descendent-of", "is-not-a"):
            return None
        root = f.get("value")
        if root not in codes:
            return None
        below = {c for c in codes if _descends(codes, c, root)}
        if f["op"] == "is-a":
            chosen &= below | {root}
        elif f["op"] == "descendent-of":
            chosen &= below
        else:
            chosen -= below | {root}
    return chosen


def _descends(codes: dict[str, str | None], code: str, root: str) -> bool:
    seen = set()
    parent = codes.get(code)
    while parent is not None and parent not in seen:
        if parent == root:
            return True
        seen.add(parent)
        parent = codes.get(parent)
    return False


class Expander:
    """Enumerate value sets without a terminology server.

    A value set is enumerable when each include (and exclude) lists concepts, names a
    whole code system whose concepts are all present (content = complete), or imports
    another enumerable value set; an exclude may also name part of a hierarchy (is-a,
    descendent-of, is-not-a).  Other filters and externally defined systems (SNOMED CT,
    LOINC, ...) make it unenumerable, and the result says why.  Results are kept.
    """

    def __init__(
        self,
        find_valueset: Callable[[str], dict[str, Any] | None],
        find_codes: Callable[[str], dict[str, str | None] | None],
    ) -> None:
        self.find_valueset = find_valueset
        self.find_codes = find_codes
        self.done: dict[str, dict[str, Any]] = {}

    def expand(self, url: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if url in self.done:
            return self.done[url]
        if url in stack:
            return {"unexpandable": "circular import"}
        vs = self.find_valueset(url)
        if vs is None:
            result: dict[str, Any] = {"unexpandable": "definition not available offline"}
            self.done[url] = result
            return result
        codes: dict[str, set[str]] = {}
        reason = None
        compose = vs.get("compose")
        if compose is None:
            expansion = vs.get("expansion", {}).get("contains")
            if expansion:
                for item in expansion:
                    codes.setdefault(item["system"], set()).add(item["code"])
            else:
                reason = "no compose and no expansion"
        else:
            reason = self._part(compose.get("include", []), codes, (*stack, url), filters=False)
            if reason is None and compose.get("exclude"):
                excluded: dict[str, set[str]] = {}
                reason = self._part(compose["exclude"], excluded, (*stack, url), filters=True)
                for system, gone in excluded.items():
                    codes[system] = codes.get(system, set()) - gone
        result = (
            {"unexpandable": reason}
            if reason
            else {"codes": {s: sorted(c) for s, c in sorted(codes.items())}}
        )
        self.done[url] = result
        return result

    def _part(
        self, items: list[dict[str, Any]], codes: dict[str, set[str]], stack: tuple[str, ...], filters: bool
    ) -> str | None:
        """Add the codes of include (or exclude) items; the reason when they cannot be enumerated.

        Hierarchy filters are followed in excludes only: a code system's nesting may
        not show every parent a code has, and an include that missed one would reject
        a valid code, while an exclude that misses one only lets it through.
        """
        for inc in items:
            system = inc.get("system")
            imported: set[tuple[str, str]] | None = None
            for url in inc.get("valueSet", []):
                sub = self.expand(strip_version(url), stack)
                if "unexpandable" in sub:
                    return f"imports {url}: {sub['unexpandable']}"
                pairs = {(s, c) for s, cs in sub["codes"].items() for c in cs}
                imported = pairs if imported is None else imported & pairs
            if system is None:
                for s, c in imported or set():
                    codes.setdefault(s, set()).add(c)
                continue
            if inc.get("concept"):
                chosen = {c["code"] for c in inc["concept"]}
            else:
                if inc.get("filter") and not filters:
                    return f"filter on {system}"
                whole = self.find_codes(system)
                if whole is None:
                    if inc.get("filter"):
                        return f"filter on {system}"
                    return f"whole code system {system} not available offline"
                found = _filtered(whole, inc.get("filter", []))
                if found is None:
                    return f"filter on {system}"
                chosen = found
            if imported is not None:
                chosen &= {c for s, c in imported if s == system}
            codes.setdefault(system, set()).update(chosen)
        return None
