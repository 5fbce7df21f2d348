"""The structure layer's fast path: the walk decides when the R4B models need to run, and
whenever it lets them off they would have reported nothing."""

import importlib.util
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirconv.validation import (
    definitions,
    fastpaths,
    structure_fast,
    structure_layer,
    validate_bytes,
    walker,
)
from tests.validation.conftest import example
from tests.validation.reference_findings import MCODE_EXAMPLES, R4_EXAMPLES, structural_damage

SOURCES = sorted(MCODE_EXAMPLES.glob("*.json"))[::3] + sorted(R4_EXAMPLES.glob("*.json"))[::5]


def test_the_r4_types_r4b_lacks_are_the_listed_ones():
    r4b = Path(importlib.util.find_spec("fhir.resources.R4B").origin).parent
    missing = {t for t in definitions.resource_types() if not (r4b / f"{t.lower()}.py").exists()}
    assert missing == structure_fast.R4B_MISSING
    assert structure_layer._model("MedicinalProduct") is None
    assert structure_layer._model("Observation") is not None


def clean(resource):
    return structure_fast.clean(walker.walk(resource, resource["resourceType"]))


def status_example():
    return example("Observation-cancer-disease-status-jenny-m")


@pytest.mark.parametrize(
    ("damage", "is_clean"),
    [
        (lambda r: None, True),
        (lambda r: r.pop("status"), False),  # required
        (lambda r: r.update(status=None), False),
        (lambda r: r.update(_status={"extension": [{"url": "http://x.org/e", "valueCode": "a"}]}), True),
        (lambda r: r.pop("status") and r.update(_status={"id": "a"}), False),  # no extension: still missing
        (
            lambda r: (
                r.pop("status")
                and r.update(_status={"extension": [{"url": "http://x.org/e", "valueCode": "a"}]})
            ),
            True,
        ),
        (lambda r: r.update(valueBoolean=True), False),  # a second type for value[x]
        (lambda r: r.update(_effectiveDateTime={"id": "a"}), True),  # same type as effectiveDateTime
        (lambda r: r.update(_effectivePeriod={"id": "a"}), False),
        (lambda r: r.update(_status={}), False),
        (lambda r: r.update(status="final\n"), False),
        (lambda r: r["subject"].update(display="Jenny\n"), True),  # a string may end in a line break
    ],
)
def test_what_the_walk_lets_the_models_off_for(damage, is_clean):
    resource = status_example()
    damage(resource)
    assert clean(resource) is is_clean
    if is_clean:  # and the models agree
        assert structure_layer.check(resource, "Observation") == []


@pytest.mark.parametrize(
    ("value", "is_clean"),
    [(1, True), (2**31 - 1, True), (0, False), (-1, False), (2**31, False), (1.0, False), (1.5, False)],
)
def test_positive_ints_in_range_only(value, is_clean):
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueSampledData": {"origin": {"value": 1}, "period": 1, "dimensions": value},
    }
    assert clean(resource) is is_clean
    if is_clean:
        assert structure_layer.check(resource, "Observation") == []


def same_findings(resource):
    data = json.dumps(resource).encode()
    fast = [i.as_dict() for i in validate_bytes(data, source="d.json")]
    with fastpaths.reference_only():
        reference = [i.as_dict() for i in validate_bytes(data, source="d.json")]
    assert fast == reference


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32), source=st.sampled_from(SOURCES))
def test_structural_damage_gives_the_same_findings_both_ways(seed, source):
    rng = random.Random(seed)
    resource = json.loads(source.read_bytes())
    for _ in range(rng.randrange(1, 3)):
        resource = structural_damage(rng, resource)
    same_findings(resource)
