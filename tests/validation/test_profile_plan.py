"""The profile layer's shortcuts: what it skips could not have reported anything.

Each profile's elements are settled once (inert, silent, absent_ok in
:mod:`fhirconv.validation.profile_model`); the checker skips values and children on
that word, and resolves ``Type/id`` references through an index instead of a scan.
"""

import copy
import random

from fhirconv.validation import Layer, conformance, validate_resource
from fhirconv.validation.profile_checker import RunContext
from fhirconv.validation.profile_model import compile_profile
from tests.validation.conftest import example
from tests.validation.reference_findings import MCODE_EXAMPLES


def _elements(el):
    yield el
    for child in el.children:
        yield from _elements(child)
    for sl in el.slices:
        yield from _elements(sl)


def test_settled_flags_follow_their_definition():
    built = conformance.load(())
    profile = built.profile("http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition")
    assert profile is not None
    seen = {"inert": 0, "silent": 0, "active": 0}
    for el in _elements(profile.root):
        required = el.binding is not None and el.binding[0] == "required"
        if el.inert:
            seen["inert"] += 1
            assert not (el.has_fixed or el.has_pattern or required or el.cons or el.type_profiled)
            assert all(child.silent for child in el.children)
        if el.silent:
            seen["silent"] += 1
            assert el.inert and el.min == 0 and el.max < 0 and not el.slices and not el.choice
        assert el.active == [c for c in el.children if not c.silent]
        seen["active"] += len(el.active)
    assert seen["inert"] and seen["silent"] and seen["active"]
    # A required element, a bounded one and a choice are never silent.
    by_name = {c.name: c for c in profile.root.children}
    assert not by_name["subject"].silent and not by_name["onset[x]"].silent


def test_profile_findings_are_those_of_the_whole_walk():
    """With every element treated as active, the findings are the same on damaged examples."""
    import fhirconv.validation.profile_model as model

    rng = random.Random(7)
    paths = sorted(MCODE_EXAMPLES.glob("*.json"))
    resources = [example(p.stem) for p in paths[::3]]
    damaged = []
    for resource in resources:
        copy_ = copy.deepcopy(resource)
        for key in rng.sample(sorted(k for k in copy_ if k != "resourceType"), k=min(2, len(copy_) - 1)):
            del copy_[key]
        damaged.append(copy_)
    fast = [validate_resource(r, layers=(Layer.PROFILE,)) for r in resources + damaged]
    original = model._settle

    def settle_nothing(el):
        original(el)
        for item in _elements(el):
            item.inert = item.silent = item.absent_ok = False
            item.active = list(item.children)

    model._settle = settle_nothing
    conformance.BUILT_IN._profiles.clear()
    try:
        slow = [validate_resource(r, layers=(Layer.PROFILE,)) for r in resources + damaged]
    finally:
        model._settle = original
        conformance.BUILT_IN._profiles.clear()
    assert fast == slow
    assert any(issues for issues in slow)


def test_relative_references_resolve_to_the_first_matching_full_url():
    run = RunContext(conformance.BUILT_IN)
    first, second, other = {"resourceType": "Patient"}, {"resourceType": "Patient"}, {"resourceType": "Group"}
    run.by_url = {
        "urn:uuid:1": other,
        "http://a.org/fhir/Patient/1": first,
        "http://b.org/fhir/Patient/1": second,
        "XPatient/2": other,  # no slash before the type: not a match for a scan either
    }
    assert run.resolve("Patient/1") is first
    assert run.resolve("Patient/1/_history/3") is first
    assert run.resolve("Patient/2") is None
    assert run.resolve("fhir/Patient/1") is first  # more than Type/id: the scan
    assert run.resolve("urn:uuid:1") is other


def test_compiled_profiles_are_settled():
    data = {
        "url": "http://example.org/p",
        "type": "Observation",
        "elements": [
            {"id": "Observation", "path": "Observation", "min": 0, "max": -1},
            {"id": "Observation.note", "path": "Observation.note", "min": 0, "max": -1},
            {"id": "Observation.status", "path": "Observation.status", "min": 1, "max": 1},
        ],
    }
    profile = compile_profile(data)
    assert profile is not None
    note, status = profile.root.children
    assert note.silent and not status.silent and not status.absent_ok
    assert profile.root.active == [status] and not profile.root.inert
