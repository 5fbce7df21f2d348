"""Layer 6: the mCODE STU4 profiles a resource claims in ``meta.profile``.

A snapshot walker: each profile's snapshot (pruned by ``tools/build_definitions.py``)
becomes a tree of :class:`PElement`, and a resource is walked along it checking
cardinality, fixed values (exact) and patterns (subset match), allowed types of
choice elements, extension definitions, slices (value, pattern, type and exists
discriminators), required bindings to value sets that can be enumerated offline,
and the profile's own FHIRPath constraints.

What cannot be decided offline is said, never guessed: a binding to a value set
that cannot be expanded is reported once as information, a slice whose
discriminator cannot be evaluated has its minimum skipped (information), and a
profile that is not available is a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhirconv.validation import definitions, fhirpath
from fhirconv.validation.invariants import codings_of, in_valueset
from fhirconv.validation.issues import Issue, Layer, error, information, warning
from fhirconv.validation.walker import ResourceScope, Walk

MCODE = "http://hl7.org/fhir/us/mcode/"


@dataclass(slots=True)
class PElement:
    id: str
    name: str  # the last path segment: "extension", "value[x]"
    min: int
    max: int  # -1 for *
    types: list[dict[str, Any]]
    fixed: Any = None
    pattern: Any = None
    binding: tuple[str, str] | None = None
    discriminators: list[tuple[str, str]] | None = None  # set on a sliced element
    rules: str = "open"
    slice_name: str | None = None
    cons: list[list[str]] = field(default_factory=list)
    children: list[PElement] = field(default_factory=list)
    slices: list[PElement] = field(default_factory=list)
    has_fixed: bool = False
    has_pattern: bool = False


@dataclass(slots=True)
class Profile:
    url: str
    type: str
    name: str
    root: PElement


@cache
def compiled(url: str) -> Profile | None:
    data = definitions.profiles().get(url)
    if data is None:
        return None
    by_id: dict[str, PElement] = {}
    root: PElement | None = None
    for raw in data["elements"]:
        ident = raw["id"]
        last = ident.rsplit(".", 1)[-1]
        element = PElement(
            id=ident,
            name=last.split(":", 1)[0],
            min=raw.get("min", 0),
            max=raw.get("max", -1),
            types=raw.get("types", []),
            fixed=raw.get("fixed"),
            pattern=raw.get("pattern"),
            binding=(raw["binding"][0], raw["binding"][1]) if raw.get("binding") else None,
            slice_name=raw.get("sliceName"),
            cons=raw.get("cons", []),
            has_fixed="fixed" in raw,
            has_pattern="pattern" in raw,
        )
        if "slicing" in raw:
            element.discriminators = [(d[0], d[1]) for d in raw["slicing"]["discriminator"]]
            element.rules = raw["slicing"].get("rules", "open")
        by_id[ident] = element
        if "." not in ident:
            root = element
            continue
        if element.slice_name is not None and ":" in last:
            base_id = ident[: -(len(last))] + element.name
            base = by_id.get(base_id)
            if base is not None:
                base.slices.append(element)
                continue
        parent = by_id.get(ident.rsplit(".", 1)[0])
        if parent is not None:
            parent.children.append(element)
    if root is None:
        return None
    return Profile(url, data["type"], data.get("name") or url, root)


def check(walk: Walk) -> list[Issue]:
    issues: list[Issue] = []
    full_urls = _full_urls(walk)
    unknown_noted: set[str] = set()
    for scope in walk.resources:
        issues.extend(_extensions(scope, unknown_noted))
        meta = scope.resource.get("meta")
        claimed = meta.get("profile") if isinstance(meta, dict) else None
        if not isinstance(claimed, list):
            continue
        for index, url in enumerate(claimed):
            if not isinstance(url, str):
                continue
            canonical = url.split("|", 1)[0]
            profile = compiled(canonical)
            where = f"{scope.path}.meta.profile[{index}]"
            if profile is None:
                source = (
                    "mCODE STU4 has no such profile"
                    if canonical.startswith(MCODE)
                    else (
                        "not available offline (fhirconv carries mCODE STU4 and the core extensions it uses)"
                    )
                )
                issues.append(
                    warning(
                        Layer.PROFILE,
                        where,
                        f"profile {canonical} not checked: {source}",
                        "profile-unavailable",
                    )
                )
                continue
            if profile.type != scope.resource.get("resourceType"):
                issues.append(
                    error(
                        Layer.PROFILE,
                        where,
                        f"profile {profile.name} is for {profile.type}, not "
                        f"{scope.resource.get('resourceType')}",
                        "profile-wrong-type",
                    )
                )
                continue
            checker = _Checker(profile, scope, full_urls)
            checker.element(scope.resource, profile.root, scope.path)
            issues.extend(checker.issues)
    return issues


def _extensions(scope: ResourceScope, unknown_noted: set[str]) -> list[Issue]:
    """Every extension whose definition fhirconv carries is checked against it.

    This holds wherever the extension appears, whether or not the resource claims
    a profile (a profile's extension slices check the same again; the engine
    reports identical issues once).  An extension whose definition is not carried
    is noted once per URL, as information.
    """
    issues: list[Issue] = []
    for node in scope.nodes:
        if node.type != "Extension" or not isinstance(node.value, dict):
            continue
        url = node.value.get("url")
        if not isinstance(url, str) or "://" not in url:
            continue  # sub-extensions of a complex extension are named, not defined
        if url not in definitions.profiles():
            if url not in unknown_noted:
                unknown_noted.add(url)
                issues.append(
                    information(
                        Layer.PROFILE,
                        node.path,
                        f"extension {url} not checked: its definition is not available offline",
                        "profile-extension-unavailable",
                    )
                )
            continue
        definition = compiled(url)
        if definition is None or definition.type != "Extension":
            continue
        checker = _Checker(definition, scope)
        checker.element(node.value, definition.root, node.path)
        issues.extend(checker.issues)
    return issues


def _full_urls(walk: Walk) -> dict[str, str]:
    """fullUrl -> resourceType of the outer bundle's entries, to type urn:uuid references."""
    if not walk.resources or walk.resources[0].resource.get("resourceType") != "Bundle":
        return {}
    entries = walk.resources[0].resource.get("entry")
    found: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
            resource = entry.get("resource")
            if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
                found[entry["fullUrl"]] = resource["resourceType"]
    return found


@cache
def target_type(name: str) -> str | None:
    """The resource type a reference target names (core type, mCODE or US Core profile id)."""
    types = definitions.resource_types()
    if name in types or name == "Resource":
        return name
    mcode = definitions.profiles().get(f"{MCODE}StructureDefinition/{name}")
    if mcode is not None:
        return str(mcode["type"])
    if name.startswith("us-core-"):
        # US Core profile ids start with their resource type (us-core-condition-problems-...).
        word = name[len("us-core-") :].split("-", 1)[0]
        return next((t for t in types if t.lower() == word), None)
    return None


_REFERENCE = re.compile(r"^(?:.*/)?(?P<type>[A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")


class _Checker:
    def __init__(
        self, profile: Profile, scope: ResourceScope, full_urls: dict[str, str] | None = None
    ) -> None:
        self.profile = profile
        self.scope = scope
        self.full_urls = full_urls or {}
        self.issues: list[Issue] = []
        self.noted: set[str] = set()

    def err(self, location: str, message: str, rule: str) -> None:
        self.issues.append(error(Layer.PROFILE, location, f"{self.profile.name}: {message}", rule))

    def note(self, key: str, location: str, message: str, rule: str) -> None:
        # Said once per profile and resource: the same unknowable thing repeats.
        if key not in self.noted:
            self.noted.add(key)
            self.issues.append(information(Layer.PROFILE, location, f"{self.profile.name}: {message}", rule))

    # -- one value against one element definition ------------------------------------

    def element(self, value: Any, el: PElement, path: str, type_code: str | None = None) -> None:
        if el.has_fixed and not _equal(value, el.fixed):
            self.err(path, f"must be exactly {_show(el.fixed)}, found {_show(value)}", "profile-fixed")
        if el.has_pattern and not _matches(value, el.pattern):
            self.err(
                path, f"must match the pattern {_show(el.pattern)}, found {_show(value)}", "profile-pattern"
            )
        if el.binding is not None and el.binding[0] == "required":
            self.binding(value, el, path, type_code or (el.types[0]["code"] if len(el.types) == 1 else ""))
        for key, severity, human, expression in el.cons:
            self.constraint(value, el, path, key, severity, human, expression, type_code)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            self.reference_target(value["reference"], el, path)
        if isinstance(value, dict):
            extension_profile = self.extension_profile(el)
            if extension_profile is not None:
                url = value.get("url")
                if isinstance(url, str) and url == extension_profile.url:
                    nested = _Checker(extension_profile, self.scope, self.full_urls)
                    nested.element(value, extension_profile.root, path)
                    self.issues.extend(nested.issues)
            for child in el.children:
                self.children(value, child, path)

    def reference_target(self, ref: str, el: PElement, path: str) -> None:
        names = [n for t in el.types if t.get("code") == "Reference" for n in t.get("targets", [])]
        if not names:
            return
        allowed = {target_type(n) for n in names}
        if None in allowed or "Resource" in allowed:
            return  # a target profile fhirconv cannot place: no verdict
        actual = self.full_urls.get(ref)
        if actual is None:
            match = _REFERENCE.match(ref)
            actual = match["type"] if match else None
        if actual is not None and actual not in allowed:
            self.err(
                f"{path}.reference",
                f"refers to a {actual}; allowed: {', '.join(sorted(str(a) for a in allowed))}",
                "profile-reference-target",
            )

    def extension_profile(self, el: PElement) -> Profile | None:
        if len(el.types) != 1 or el.types[0].get("code") != "Extension":
            return None
        urls = el.types[0].get("profile") or []
        if not urls:
            return None
        found = compiled(urls[0])
        if found is None:
            self.note(
                f"ext:{urls[0]}",
                self.scope.path,
                f"extension definition {urls[0]} is not available "
                "offline; extensions using it were not checked against it",
                "profile-extension-unavailable",
            )
        return found

    def binding(self, value: Any, el: PElement, path: str, type_code: str) -> None:
        assert el.binding is not None
        url = el.binding[1]
        pairs = codings_of(value, type_code)
        if pairs is None:
            return
        codes = definitions.valueset_codes(url)
        if codes is None:
            self.note(
                f"vs:{url}",
                path,
                f"required binding to {url} not checked: {definitions.unexpandable_reason(url)}",
                "profile-binding-not-checked",
            )
            return
        if not pairs and type_code == "CodeableConcept":
            self.err(path, f"no coding from the required value set {url}", "profile-binding")
        elif pairs and not any(in_valueset(codes, s, c) for s, c in pairs):
            shown = ", ".join(f"{s}#{c}" if s else c for s, c in pairs[:3])
            self.err(path, f"{shown} is not in the required value set {url}", "profile-binding")

    def constraint(
        self,
        value: Any,
        el: PElement,
        path: str,
        key: str,
        severity: str,
        human: str,
        expression: str,
        type_code: str | None,
    ) -> None:
        if el is self.profile.root:
            base = self.profile.type
        elif type_code:
            base = type_code
        elif len(el.types) == 1:
            base = el.types[0]["code"]
        else:
            base = el.id.split(":")[0]
        try:
            result = fhirpath.evaluate(expression, value, base, self.scope.resource, self.scope.root)
        # fhirpathpy raises bare Exception for what it does not implement.
        except Exception as err:
            self.note(
                f"con:{key}",
                path,
                f"{key} could not be evaluated offline ({type(err).__name__})",
                f"{key}-not-evaluated",
            )
            return
        if result == [False]:
            make = error if severity == "error" else warning
            self.issues.append(make(Layer.PROFILE, path, f"{self.profile.name}: {key}: {human}", key))

    # -- the values of one child element, with its cardinality and slices ------------

    def children(self, parent: dict[str, Any], el: PElement, path: str) -> None:
        values = _values(parent, el)
        where = f"{path}.{el.name.replace('[x]', '')}"
        if len(values) < el.min:
            self.err(
                where, f"{el.name} is required ({_card(el)}), found {len(values)}", "profile-cardinality"
            )
        elif el.max >= 0 and len(values) > el.max:
            self.err(where, f"{el.name} allows at most {el.max}, found {len(values)}", "profile-cardinality")
        allowed = {t["code"] for t in el.types}
        for key, index, value, type_code in values:
            here = f"{path}.{key}" + (f"[{index}]" if index is not None else "")
            if el.name.endswith("[x]") and allowed and type_code not in allowed:
                self.err(
                    here,
                    f"type {type_code} is not allowed here (allowed: {', '.join(sorted(allowed))})",
                    "profile-type",
                )
                continue
            self.element(value, el, here, type_code if el.name.endswith("[x]") else None)
        if el.slices:
            self.slices(values, el, where, path)

    def slices(
        self, values: list[tuple[str, int | None, Any, str]], el: PElement, where: str, path: str
    ) -> None:
        counts = {s.slice_name: 0 for s in el.slices}
        unknown: set[str | None] = set()
        for key, index, value, type_code in values:
            here = f"{path}.{key}" + (f"[{index}]" if index is not None else "")
            matched = False
            for sl in el.slices:
                verdict = self.in_slice(value, type_code, sl, el.discriminators or [])
                if verdict is None:
                    unknown.add(sl.slice_name)
                    continue
                if verdict:
                    counts[sl.slice_name] += 1
                    matched = True
                    self.element(value, sl, here, type_code if el.name.endswith("[x]") else None)
                    break
            if not matched and el.rules == "closed" and not unknown:
                self.err(
                    here,
                    f"matches none of the slices of {el.name} and the slicing is closed",
                    "profile-slice-closed",
                )
        for sl in el.slices:
            n = counts[sl.slice_name]
            if sl.slice_name in unknown and n < sl.min:
                self.note(
                    f"slice:{sl.id}",
                    where,
                    f"slice {sl.slice_name} not checked: its discriminator cannot be evaluated offline",
                    "profile-slice-not-checked",
                )
                continue
            if n < sl.min:
                self.err(
                    where, f"slice {sl.slice_name} is required ({_card(sl)}), found {n}", "profile-slice-min"
                )
            elif sl.max >= 0 and n > sl.max:
                self.err(
                    where, f"slice {sl.slice_name} allows at most {sl.max}, found {n}", "profile-slice-max"
                )

    def in_slice(
        self, value: Any, type_code: str, sl: PElement, discriminators: list[tuple[str, str]]
    ) -> bool | None:
        """Whether a value belongs to a slice; None when that cannot be decided offline."""
        for kind, dpath in discriminators:
            if kind in ("value", "pattern"):
                verdict = self.by_value(value, sl, dpath)
            elif kind == "type":
                verdict = self.by_type(value, type_code, sl, dpath)
            elif kind == "exists":
                target = _descend_element(sl, dpath)
                present = bool(_follow(value, dpath))
                verdict = None if target is None else present == (target.min > 0)
            else:
                verdict = None  # profile discriminators need conformance checks of referenced resources
            if verdict is not True:
                return verdict
        return True

    def by_value(self, value: Any, sl: PElement, dpath: str) -> bool | None:
        if dpath == "url" and sl.types and sl.types[0].get("code") == "Extension":
            urls = sl.types[0].get("profile") or []
            if urls:
                return isinstance(value, dict) and value.get("url") == urls[0]
        target = sl if dpath == "$this" else _descend_element(sl, dpath)
        if target is None:
            return None
        actual = value if dpath == "$this" else _follow(value, dpath)
        if target.has_fixed:
            return any(_equal(v, target.fixed) for v in _as_list(actual))
        if target.has_pattern:
            return any(_matches(v, target.pattern) for v in _as_list(actual))
        if target.binding is not None:
            codes = definitions.valueset_codes(target.binding[1])
            if codes is None:
                return None
            for v in _as_list(actual):
                pairs = (
                    codings_of(
                        v,
                        "CodeableConcept"
                        if isinstance(v, dict) and "coding" in v
                        else "Coding"
                        if isinstance(v, dict)
                        else "code",
                    )
                    or []
                )
                if any(in_valueset(codes, s, c) for s, c in pairs):
                    return True
            return False
        return None

    def by_type(self, value: Any, type_code: str, sl: PElement, dpath: str) -> bool | None:
        target = sl if dpath == "$this" else _descend_element(sl, dpath)
        if target is None or not target.types:
            return None
        wanted = {t["code"] for t in target.types}
        if dpath == "$this":
            return type_code in wanted
        found = _follow(value, dpath)
        if len(found) == 1 and isinstance(found[0], dict) and isinstance(found[0].get("resourceType"), str):
            return bool(found[0]["resourceType"] in wanted)
        return None


# ---------------------------------------------------------------------------
# helpers


def _card(el: PElement) -> str:
    return f"{el.min}..{'*' if el.max < 0 else el.max}"


def _values(parent: dict[str, Any], el: PElement) -> list[tuple[str, int | None, Any, str]]:
    """(json key, index, value, type) for every value of a child element."""
    out: list[tuple[str, int | None, Any, str]] = []
    if el.name.endswith("[x]"):
        stem = el.name[:-3]
        for key, value in parent.items():
            if key.startswith(stem) and len(key) > len(stem) and key[len(stem)].isupper():
                type_code = key[len(stem)].lower() + key[len(stem) + 1 :]
                if type_code not in definitions.core_types() and type_code[0].isupper() is False:
                    type_code = key[len(stem) :]
                out.append((key, None, value, _type_name(key[len(stem) :])))
        return out
    value = parent.get(el.name)
    type_code = el.types[0]["code"] if len(el.types) == 1 else ""
    if isinstance(value, list):
        out.extend((el.name, i, v, type_code) for i, v in enumerate(value) if v is not None)
    elif value is not None:
        out.append((el.name, None, value, type_code))
    return out


def _type_name(suffix: str) -> str:
    """The FHIR type a choice suffix names: 'Quantity' -> Quantity, 'DateTime' -> dateTime."""
    if suffix in definitions.core_types() and definitions.core_types()[suffix]["kind"] != "primitive-type":
        return suffix
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in definitions.core_types() else suffix


def _descend_element(el: PElement, dpath: str) -> PElement | None:
    current: PElement | None = el
    for part in dpath.split("."):
        if current is None:
            return None
        current = next((c for c in current.children if c.name == part or c.name == part + "[x]"), None)
    return current


def _follow(value: Any, dpath: str) -> Any:
    current: list[Any] = [value]
    for part in dpath.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict):
                found = item.get(part)
                if found is None and part.endswith("[x]"):
                    found = next((v for k, v in item.items() if k.startswith(part[:-3])), None)
                nxt.extend(_as_list(found))
        current = nxt
    return current


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _equal(value: Any, fixed: Any) -> bool:
    if isinstance(fixed, dict):
        return (
            isinstance(value, dict)
            and set(value) == set(fixed)
            and all(_equal(value[k], v) for k, v in fixed.items())
        )
    if isinstance(fixed, list):
        return isinstance(value, list) and len(value) == len(fixed) and all(map(_equal, value, fixed))
    return bool(value == fixed and type(value) is type(fixed)) or (
        isinstance(value, int | float)
        and isinstance(fixed, int | float)
        and not isinstance(value, bool)
        and value == fixed
    )


def _matches(value: Any, pattern: Any) -> bool:
    """Pattern semantics: everything in the pattern is in the value; the value may hold more."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and _matches(value[k], v) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(_matches(item, p) for item in items) for p in pattern)
    return _equal(value, pattern)


def _show(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
