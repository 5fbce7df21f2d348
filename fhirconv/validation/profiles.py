"""Layer 6: the profiles a resource claims in ``meta.profile``, and every extension it carries.

Profiles come from :mod:`.conformance`: mCODE STU4 and the R4 core profiles (vital
signs, ...) built in, and whatever packages ``validate --ig`` loaded.  Each claimed
profile's snapshot is walked by :class:`~.profile_checker.Checker`.  A profile that
is not available is information (an error with ``strict_profiles``).

Every extension is checked against its definition wherever it appears: its value
and sub-extensions, and the contexts its definition allows it in.  An extension
whose definition cannot be found is an error outside HL7's own URL spaces (nothing
can say what it means) and information inside them (HL7 defines it, fhirconv does
not carry it).
"""

from __future__ import annotations

from typing import Any

from fhirconv.validation import capability_statements, definitions, structure_definitions
from fhirconv.validation.conformance import BUILT_IN, Conformance
from fhirconv.validation.issues import Issue, Layer, error, information
from fhirconv.validation.profile_checker import Checker, RunContext
from fhirconv.validation.profile_model import Profile
from fhirconv.validation.walker import Node, ResourceScope, Walk

MCODE = "http://hl7.org/fhir/us/mcode/"
# HL7's own URL spaces, and the example domains the specification itself uses.
HL7_SPACES = ("http://hl7.org/", "https://hl7.org/", "http://terminology.hl7.org/", "http://fhir.org/")
EXAMPLE_SPACES = ("http://example.org/", "https://example.org/", "http://acme.com/", "http://nema.org/")


def check(walk: Walk, conformance: Conformance = BUILT_IN, strict_profiles: bool = False) -> list[Issue]:
    issues: list[Issue] = []
    run = RunContext(conformance)
    run.scopes = {id(s.resource): s for s in walk.resources}
    run.by_url = _full_urls(walk)
    unknown_noted: set[str] = set()
    for scope in walk.resources:
        issues.extend(_extensions(scope, run, unknown_noted))
        if scope.resource.get("resourceType") == "StructureDefinition":
            issues.extend(structure_definitions.check(scope.resource, scope.path))
        elif scope.resource.get("resourceType") == "CapabilityStatement":
            issues.extend(capability_statements.check(scope.resource, scope.path))
        meta = scope.resource.get("meta")
        claimed = meta.get("profile") if isinstance(meta, dict) else None
        if not isinstance(claimed, list):
            continue
        for index, url in enumerate(claimed):
            if not isinstance(url, str):
                continue
            canonical, _, version = url.partition("|")
            where = f"{scope.path}.meta.profile[{index}]"
            profile = conformance.profile(canonical)
            if profile is None:
                issues.append(_unavailable(canonical, where, conformance, strict_profiles))
                continue
            if version and not _same_version(version, profile.version):
                make = error if strict_profiles else information
                issues.append(
                    make(
                        Layer.PROFILE,
                        where,
                        f"profile {canonical} version {version} is not available: checked against "
                        f"version {profile.version} (load the package of version {version} with --ig)",
                        "profile-version-unavailable",
                    )
                )
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
            checker = Checker(profile, scope, run)
            checker.element(scope.resource, profile.root, scope.path)
            issues.extend(checker.issues)
    return issues


def _same_version(wanted: str, loaded: str | None) -> bool:
    """Whether the loaded definition is the version a canonical asks for: the same, or one of the
    releases a shorter version names (4.0 -> 4.0.1), as canonical references match versions."""
    return loaded is None or loaded == wanted or loaded.startswith(wanted + ".")


def _unavailable(canonical: str, where: str, conformance: Conformance, strict: bool) -> Issue:
    if conformance.lacks_snapshot(canonical):
        why = "its definition has no snapshot"
    elif canonical.startswith(MCODE):
        why = "mCODE STU4 has no such profile"
    elif conformance.packages:
        why = "no loaded package defines it"
    else:
        why = "not available offline (load its implementation guide with --ig)"
    make = error if strict else information
    return make(Layer.PROFILE, where, f"profile {canonical} not checked: {why}", "profile-unavailable")


def _extensions(scope: ResourceScope, run: RunContext, unknown_noted: set[str]) -> list[Issue]:
    """Every extension checked against its definition, whether or not the resource claims a profile.

    A profile's extension slices check the same again; the engine reports identical
    issues once.
    """
    issues: list[Issue] = []
    for node in scope.of_kind("extension"):
        if not isinstance(node.value, dict):
            continue
        url = node.value.get("url")
        if not isinstance(url, str) or "://" not in url:
            continue  # sub-extensions of a complex extension are named, not defined
        definition = run.conformance.profile(url)
        if definition is None:
            issue = _unknown_extension(url, node.path, unknown_noted)
            if issue is not None:
                issues.append(issue)
            continue
        if definition.type != "Extension":
            issues.append(
                error(
                    Layer.PROFILE,
                    node.path,
                    f"{url} is a {definition.type} profile, not an extension definition",
                    "extension-not-extension",
                )
            )
            continue
        issues.extend(_context(definition, node, scope, run))
        checker = Checker(definition, scope, run)
        checker.element(node.value, definition.root, node.path)
        issues.extend(checker.issues)
    return issues


def _unknown_extension(url: str, location: str, unknown_noted: set[str]) -> Issue | None:
    if url.startswith(HL7_SPACES) or url.startswith(EXAMPLE_SPACES):
        if url in unknown_noted:
            return None
        unknown_noted.add(url)
        return information(
            Layer.PROFILE,
            location,
            f"extension {url} not checked: its definition is not available offline "
            "(load the package that defines it with --ig)",
            "profile-extension-unavailable",
        )
    return error(
        Layer.PROFILE,
        location,
        f"extension {url} is unknown: no loaded package defines it, so it is not allowed here "
        "(load its implementation guide with --ig)",
        "extension-unknown",
    )


def _context(definition: Profile, node: Node, scope: ResourceScope, run: RunContext) -> list[Issue]:
    """The extension's contexts of use (element paths, FHIRPath or another extension) allow this place."""
    if not definition.context or any(e in _ANYWHERE for _, e in definition.context):
        return []
    here = _element_path(node, scope, run)
    if here is None:
        return []
    for kind, expression in definition.context:
        if _context_allows(kind, expression, here):
            return []
    allowed = ", ".join(expression for _, expression in definition.context)
    return [
        error(
            Layer.PROFILE,
            node.path,
            f"extension {definition.url} is not allowed on {max(here[0], key=len)} "
            f"(its contexts of use: {allowed})",
            "extension-context",
        )
    ]


Here = tuple[set[str], str, str | None, dict[str, Any]]


def _element_path(node: Node, scope: ResourceScope, run: RunContext) -> Here | None:
    """(the paths that name the element the extension sits on, its type, a parent extension's url).

    ``Patient.contact.name._family`` is named Patient.contact.name.family and HumanName.family;
    a nested Questionnaire item is named by its definition too (Questionnaire.item).
    """
    owner_location, _, last = node.path.rpartition(".")
    if last.split("[", 1)[0] not in ("extension", "modifierExtension"):
        return None
    rtype = str(scope.resource.get("resourceType"))
    if owner_location == scope.path:
        return {rtype}, rtype, None, {}
    names = {rtype}
    location = scope.path
    owner: Node | None = None
    for piece in owner_location[len(scope.path) + 1 :].split("."):
        location = f"{location}.{piece}"
        step = piece.split("[", 1)[0].lstrip("_")
        names = {f"{name}.{step}" for name in names}
        owner = run.node_at(scope, location)
        if owner is None:
            return None
        if owner.context is not None:
            names.add(owner.context.path)  # a data type's name, or a backbone's definition path
    assert owner is not None
    parent_url = (
        owner.value.get("url") if owner.type == "Extension" and isinstance(owner.value, dict) else None
    )
    return names, owner.type, parent_url if isinstance(parent_url, str) else None, owner.element


_ANYWHERE = frozenset({"Element", "Resource", "DomainResource", "Base"})

# R5's CanonicalResource, a context of many definitions in HL7's extensions pack, has no R4 type
# to derive from: the R4 resources it stands for, as HL7's IG publisher enumerates them
# (FetchedResource.isCanonical, "Enumerate the R4 canonicals"), so that the pack's extensions on
# an R4 StructureDefinition or ValueSet are not taken for misplaced ones.
_R4_CANONICAL = frozenset(
    {
        "ActivityDefinition", "CapabilityStatement", "ChargeItemDefinition", "CodeSystem",
        "CompartmentDefinition", "ConceptMap", "EventDefinition", "ExampleScenario", "GraphDefinition",
        "ImplementationGuide", "Library", "Measure", "MessageDefinition", "NamingSystem",
        "ObservationDefinition", "OperationDefinition", "PlanDefinition", "Questionnaire",
        "SearchParameter", "SpecimenDefinition", "StructureDefinition", "StructureMap",
        "TerminologyCapabilities", "TestScript", "ValueSet",
    }
)  # fmt: skip


def _context_allows(kind: str, expression: str, here: Here) -> bool:
    paths, owner_type, parent_url, owner_element = here
    if kind == "extension":
        return parent_url == expression
    if kind == "fhirpath":
        return True  # FHIRPath contexts need an engine over the element's position: not judged
    # element: a resource or type name (or one they derive from), or an element path.
    candidates = {*paths, *_lineage(owner_type)}
    if owner_type == "Element":
        # A primitive's extensions (_display) sit on the primitive: string, code, ...
        candidates.update(str(t) for t in owner_element.get("types", []))
    for path in paths:
        if "." not in path:
            candidates.update(_lineage(path))
            if path in _R4_CANONICAL:
                candidates.add("CanonicalResource")
    target = expression.replace("[x]", "")
    return any(c == target or _choice_match(c, target) for c in candidates)


def _lineage(type_name: str) -> list[str]:
    """A type and the types it derives from: Age, Quantity, Element."""
    types = definitions.core_types()
    out = []
    current: str | None = type_name
    while current and current in types and current not in out:
        out.append(current)
        current = types[current].get("base")
    return out


def _choice_match(path: str, expression: str) -> bool:
    # Observation.valueQuantity is in the context Observation.value[x].
    return path.startswith(expression) and path[len(expression) : len(expression) + 1].isupper()


def _full_urls(walk: Walk) -> dict[str, dict[str, Any]]:
    """fullUrl -> resource of every bundle's entries, to resolve references in slicing and targets."""
    found: dict[str, dict[str, Any]] = {}
    for scope in walk.resources:
        if scope.resource.get("resourceType") != "Bundle":
            continue
        entries = scope.resource.get("entry")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
                resource = entry.get("resource")
                if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
                    found.setdefault(entry["fullUrl"], resource)
    return found
