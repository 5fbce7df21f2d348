"""Checking one value against one profile: cardinality, fixed and pattern values, types, slices,
bindings, reference targets, type profiles and the profile's own constraints.

What cannot be decided offline is said, never guessed: a binding to a value set that
cannot be enumerated is reported once as information, and a slice whose
discriminator cannot be evaluated has its minimum skipped (information).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fhirconv.validation import definitions, fhirpath
from fhirconv.validation.bindings import codings_of, in_valueset
from fhirconv.validation.conformance import Conformance
from fhirconv.validation.issues import Issue, Layer, Severity, error, information, warning
from fhirconv.validation.profile_model import (
    PElement,
    Profile,
    Value,
    card,
    equal,
    follow,
    location,
    matches,
    show,
    values_of,
)
from fhirconv.validation.walker import Node, ResourceScope

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
_REFERENCE = re.compile(r"^(?:.*/)?(?P<type>[A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")


@dataclass
class RunContext:
    """What every check of one validation run shares: definitions, the bundle, the scopes."""

    conformance: Conformance
    by_url: dict[str, dict[str, Any]] = field(default_factory=dict)  # fullUrl -> resource
    scopes: dict[int, ResourceScope] = field(default_factory=dict)  # id(resource) -> its scope
    verdicts: dict[tuple[int, str], bool] = field(default_factory=dict)
    _nodes: dict[int, dict[str, Node]] = field(default_factory=dict)
    _tails: dict[str, dict[str, Any]] | None = None  # "Type/id" -> the first resource whose fullUrl ends so
    _target_types: dict[str, str | None] = field(default_factory=dict)

    def node_at(self, scope: ResourceScope, location: str) -> Node | None:
        """The walked element at a location of a resource (looked up once per resource)."""
        nodes = self._nodes.get(id(scope))
        if nodes is None:
            nodes = self._nodes[id(scope)] = {n.path: n for n in scope.nodes}
        return nodes.get(location)

    def resolve(self, ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, str):
            return None
        found = self.by_url.get(ref)
        if found is None:
            match = _REFERENCE.match(ref)
            if match is not None:
                tail = ref.split("/_history/", 1)[0]
                if tail.count("/") == 1:
                    found = self._by_tail().get(tail)
                else:
                    found = next((r for u, r in self.by_url.items() if u.endswith("/" + tail)), None)
        return found

    def _by_tail(self) -> dict[str, dict[str, Any]]:
        """The fullUrls by their last two segments, the first of each kept (as a scan in order finds)."""
        if self._tails is None:
            self._tails = {}
            for url, resource in self.by_url.items():
                if url.count("/") >= 2:
                    self._tails.setdefault("/".join(url.rsplit("/", 2)[-2:]), resource)
        return self._tails

    def target_type(self, url: str) -> str | None:
        """The resource type a reference target profile constrains (once per URL and run)."""
        if url not in self._target_types:
            self._target_types[url] = self._target_type(url)
        return self._target_types[url]

    def _target_type(self, url: str) -> str | None:
        types = definitions.resource_types()
        name = url.rsplit("/", 1)[-1]
        if url.startswith(CORE_SD) and (name in types or name == "Resource"):
            return name
        data = self.conformance.structure(url)
        if data is not None:
            return str(data["type"])
        if name.startswith("us-core-"):
            # US Core profile ids start with their resource type (us-core-condition-problems-...).
            word = name[len("us-core-") :].split("-", 1)[0]
            return next((t for t in types if t.lower() == word), None)
        return None

    def conforms(self, resource: dict[str, Any], profile: Profile) -> bool:
        key = (id(resource), profile.url)
        if key not in self.verdicts:
            scope = self.scopes.get(id(resource))
            if scope is None:
                return False
            checker = Checker(profile, scope, self)
            checker.element(resource, profile.root, scope.path)
            self.verdicts[key] = not any(i.severity is Severity.ERROR for i in checker.issues)
        return self.verdicts[key]


class Checker:
    def __init__(self, profile: Profile, scope: ResourceScope, run: RunContext) -> None:
        self.profile = profile
        self.scope = scope
        self.run = run
        self.issues: list[Issue] = []
        self.noted: set[str] = set()

    def err(self, location: str, message: str, rule: str) -> None:
        self.issues.append(error(Layer.PROFILE, location, f"{self.profile.name}: {message}", rule))

    def note(self, key: str, location: str, message: str, rule: str) -> None:
        # Said once per profile and resource: the same unknowable thing repeats.
        if key not in self.noted:
            self.noted.add(key)
            self.issues.append(information(Layer.PROFILE, location, f"{self.profile.name}: {message}", rule))

    def nested(self, profile: Profile, value: Any, path: str) -> list[Issue]:
        checker = Checker(profile, self.scope, self.run)
        checker.element(value, profile.root, path)
        return checker.issues

    # -- one value against one element definition ------------------------------------

    def element(self, value: Any, el: PElement, path: str, type_code: str | None = None) -> None:
        if el.inert:
            return
        if el.has_fixed and not equal(value, el.fixed):
            self.err(path, f"must be exactly {show(el.fixed)}, found {show(value)}", "profile-fixed")
        if el.has_pattern and not matches(value, el.pattern):
            self.err(
                path, f"must match the pattern {show(el.pattern)}, found {show(value)}", "profile-pattern"
            )
        if el.binding is not None and el.binding[0] == "required":
            self.binding(value, el, path, type_code or (el.types[0]["code"] if len(el.types) == 1 else ""))
        for key, severity, human, expression in el.cons:
            self.constraint(value, el, path, key, severity, human, expression, type_code)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            self.reference_target(value["reference"], el, path)
        if isinstance(value, dict):
            if el.type_profiled:
                self.type_profiles(value, el, path, type_code)
            for child in el.active:
                # Most children of a profile are absent from a value and content to be so.
                if child.absent_ok and child.name not in value and child.twin not in value:
                    continue
                self.children(value, child, path)

    def type_profiles(self, value: dict[str, Any], el: PElement, path: str, type_code: str | None) -> None:
        """The profiles an element's type names (an extension's definition, SimpleQuantity, ...)."""
        types = [t for t in el.types if type_code is None or t.get("code") == type_code]
        if len(types) != 1 or not types[0].get("profile"):
            return
        code, urls = types[0]["code"], types[0]["profile"]
        if code == "Extension":
            definition = self.type_profile(urls[0])
            if definition is not None and value.get("url") == definition.url:
                self.issues.extend(self.nested(definition, value, path))
            return
        found = [p for p in (self.type_profile(u) for u in urls) if p is not None]
        if not found:
            return
        if isinstance(value.get("resourceType"), str):
            # A resource (Bundle.entry.resource) is checked in its own scope.
            scope = self.run.scopes.get(id(value))
            if scope is None:
                return
            runs = []
            for profile in found:
                checker = Checker(profile, scope, self.run)
                checker.element(value, profile.root, scope.path)
                runs.append(checker.issues)
        else:
            runs = [self.nested(profile, value, path) for profile in found]
        # Several profiles: conforming to one is enough.
        best = min(runs, key=lambda issues: sum(i.severity is Severity.ERROR for i in issues))
        self.issues.extend(best)

    def type_profile(self, url: str) -> Profile | None:
        found = self.run.conformance.profile(url)
        if found is None:
            self.note(
                f"type:{url}",
                self.scope.path,
                f"definition {url} is not available offline; values using it were not checked against it",
                "profile-extension-unavailable",
            )
        return found

    def reference_target(self, ref: str, el: PElement, path: str) -> None:
        urls = [u for t in el.types if t.get("code") == "Reference" for u in t.get("targets", [])]
        if not urls:
            return
        allowed = {self.run.target_type(u) for u in urls}
        if None in allowed or "Resource" in allowed:
            return  # a target profile fhirconv cannot place: no verdict
        target = self.run.resolve(ref)
        actual = target.get("resourceType") if target is not None else None
        if actual is None:
            match = _REFERENCE.match(ref)
            actual = match["type"] if match else None
        if actual is not None and actual not in allowed:
            self.err(
                f"{path}.reference",
                f"refers to a {actual}; allowed: {', '.join(sorted(str(a) for a in allowed))}",
                "profile-reference-target",
            )

    def binding(self, value: Any, el: PElement, path: str, type_code: str) -> None:
        assert el.binding is not None
        url = el.binding[1]
        pairs = codings_of(value, type_code)
        if pairs is None:
            return
        codes = self.run.conformance.valueset_codes(url)
        if codes is None:
            self.note(
                f"vs:{url}",
                path,
                f"required binding to {url} not checked: {self.run.conformance.unexpandable_reason(url)}",
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
        elif len(el.types) == 1 and el.types[0]["code"] not in ("BackboneElement", "Element"):
            base = el.types[0]["code"]
        else:
            # A backbone element is typed by its path (Observation.component), without slice names.
            base = ".".join(part.split(":", 1)[0] for part in el.id.split("."))
        try:
            ok = fhirpath.holds(expression, value, base, self.scope.resource, self.scope.root)
        # fhirpathpy raises bare Exception for what it does not implement.
        except Exception as err:
            self.note(
                f"con:{key}",
                path,
                f"{key} could not be evaluated offline ({type(err).__name__})",
                f"{key}-not-evaluated",
            )
            return
        if not ok:  # empty fails, as in the HL7 validator
            make = error if severity == "error" else warning
            self.issues.append(make(Layer.PROFILE, path, f"{self.profile.name}: {key}: {human}", key))

    # -- the values of one child element, with its cardinality and slices ------------

    def children(self, parent: dict[str, Any], el: PElement, path: str) -> None:
        if el.silent or (el.absent_ok and el.name not in parent and el.twin not in parent):
            return
        values = values_of(parent, el)
        where = f"{path}.{el.name.replace('[x]', '')}"
        if len(values) < el.min:
            self.err(where, f"{el.name} is required ({card(el)}), found {len(values)}", "profile-cardinality")
        elif el.max >= 0 and len(values) > el.max:
            self.err(where, f"{el.name} allows at most {el.max}, found {len(values)}", "profile-cardinality")
        allowed = el.allowed
        if el.choice or not el.inert:
            for found in values:
                here = f"{path}.{location(found)}"
                if el.choice and allowed and found[3] not in allowed:
                    self.err(
                        here,
                        f"type {found[3]} is not allowed here (allowed: {', '.join(sorted(allowed))})",
                        "profile-type",
                    )
                    continue
                self.value(found, el, here)
        if el.slices:
            self.slices(values, el, where, path)

    def value(self, found: Value, el: PElement, here: str) -> None:
        if el.inert:
            return
        if not found[4]:
            self.element(found[2], el, here, found[3] if el.choice else None)
        else:
            # Only the extensions are there to check (a data-absent-reason, a translation).
            for child in el.children:
                if child.name in ("extension", "id") and isinstance(found[2], dict):
                    self.children(found[2], child, here)

    def slices(self, values: list[Value], el: PElement, where: str, path: str) -> None:
        counts = {s.slice_name: 0 for s in el.slices}
        unknown: set[str | None] = set()
        for found in values:
            here = f"{path}.{location(found)}"
            matched = False
            for sl in el.slices:
                verdict = self.in_slice(found[2], found[3], sl, el.discriminators or [])
                if verdict is None:
                    unknown.add(sl.slice_name)
                    continue
                if verdict:
                    counts[sl.slice_name] += 1
                    matched = True
                    self.value(found, sl, here)
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
                    where, f"slice {sl.slice_name} is required ({card(sl)}), found {n}", "profile-slice-min"
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
                target = self.descend(sl, dpath)
                present = bool(follow(value, dpath))
                verdict = None if target is None else present == (target.min > 0)
            elif kind == "profile":
                verdict = self.by_profile(value, sl, dpath)
            else:
                verdict = None
            if verdict is not True:
                return verdict
        return True

    def descend(self, el: PElement, dpath: str) -> PElement | None:
        """The element a discriminator path names, through the type profiles on the way."""
        current: PElement | None = el
        for part in dpath.split("."):
            if current is None:
                return None
            found = _child(current, part)
            if found is None and len(current.types) == 1 and current.types[0].get("profile"):
                # The slice's type profile holds the constraint (mCODE's body-structure identifier).
                profile = self.run.conformance.profile(current.types[0]["profile"][0])
                found = _child(profile.root, part) if profile is not None else None
            current = found
        return current

    def by_value(self, value: Any, sl: PElement, dpath: str) -> bool | None:
        if dpath == "url" and sl.types and sl.types[0].get("code") == "Extension":
            urls = sl.types[0].get("profile") or []
            if urls:
                return isinstance(value, dict) and value.get("url") == urls[0]
        if dpath == "$this":
            target: PElement | None = sl
            if not (sl.has_fixed or sl.has_pattern or sl.binding) and sl.types and sl.types[0].get("profile"):
                profile = self.run.conformance.profile(sl.types[0]["profile"][0])
                target = profile.root if profile is not None else None
        else:
            target = self.descend(sl, dpath)
        if target is None:
            return None
        actual = [value] if dpath == "$this" else follow(value, dpath)
        if target.has_fixed:
            return any(equal(v, target.fixed) for v in actual)
        if target.has_pattern:
            return any(matches(v, target.pattern) for v in actual)
        if target.binding is not None:
            codes = self.run.conformance.valueset_codes(target.binding[1])
            if codes is None:
                return None
            for v in actual:
                pairs = codings_of(v, _coded_type(v)) or []
                if any(in_valueset(codes, s, c) for s, c in pairs):
                    return True
            return False
        return None

    def by_type(self, value: Any, type_code: str, sl: PElement, dpath: str) -> bool | None:
        if dpath == "resolve()":
            return self.by_resolved_type(value, sl)
        target = sl if dpath == "$this" else self.descend(sl, dpath)
        if target is None or not target.types:
            return None
        wanted = {t["code"] for t in target.types}
        if dpath == "$this":
            return type_code in wanted
        found = follow(value, dpath)
        if len(found) == 1 and isinstance(found[0], dict) and isinstance(found[0].get("resourceType"), str):
            return bool(found[0]["resourceType"] in wanted)
        return None

    def by_resolved_type(self, value: Any, sl: PElement) -> bool | None:
        target = self.run.resolve(value.get("reference") if isinstance(value, dict) else None)
        if target is None:
            return None
        urls = [u for t in sl.types for u in t.get("targets", [])]
        wanted = {self.run.target_type(u) for u in urls}
        if not wanted or None in wanted:
            return None
        return target.get("resourceType") in wanted

    def by_profile(self, value: Any, sl: PElement, dpath: str) -> bool | None:
        """Profile discriminators: the value (or the resource it names) conforms to the slice's profile."""
        if dpath == "resolve()":
            subject = self.run.resolve(value.get("reference") if isinstance(value, dict) else None)
            urls = [u for t in sl.types for u in t.get("targets", [])]
        else:
            found = follow(value, dpath) if dpath != "$this" else [value]
            subject = found[0] if len(found) == 1 and isinstance(found[0], dict) else None
            target = self.descend(sl, dpath) if dpath != "$this" else sl
            urls = [u for t in (target.types if target else []) for u in t.get("profile", [])]
        if subject is None or not urls:
            return None
        profiles = [self.run.conformance.profile(u) for u in urls]
        if any(p is None for p in profiles):
            return None
        if not isinstance(subject.get("resourceType"), str):
            return any(not _has_error(self.nested(p, subject, "")) for p in profiles if p is not None)
        return any(
            p.type == subject["resourceType"] and self.run.conforms(subject, p)
            for p in profiles
            if p is not None
        )


def _child(el: PElement, part: str) -> PElement | None:
    return next((c for c in el.children if c.name == part or c.name == part + "[x]"), None)


def _coded_type(value: Any) -> str:
    if isinstance(value, dict):
        return "CodeableConcept" if "coding" in value else "Coding"
    return "code"


def _has_error(issues: list[Issue]) -> bool:
    return any(i.severity is Severity.ERROR for i in issues)
