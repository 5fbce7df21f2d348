"""No false alarms: every official mCODE STU4 example validates with zero errors.

The examples are the npm package hl7.fhir.us.mcode@4.0.0 ``example/`` folder
(CC0), vendored unchanged in tests/data/mcode-examples.  Each genuine exception
is listed in KNOWN_PROBLEMS with the reason; the test also fails when a listed
exception stops being reported, so the list cannot go stale.
"""

import json

import pytest

from fhirconv.validation import validate_bytes
from tests.validation.conftest import EXAMPLES

FILES = sorted(p for p in EXAMPLES.glob("*.json"))

# file name -> {(rule, location)} of errors that are genuinely in the example.
KNOWN_PROBLEMS: dict[str, set[tuple[str, str]]] = {}


def test_the_examples_are_all_there():
    assert len(FILES) == 179


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_example_has_no_errors(path):
    issues = validate_bytes(path.read_bytes(), source=str(path))
    got = {(i.rule, i.location) for i in issues if i.severity.value == "error"}
    assert got == KNOWN_PROBLEMS.get(path.name, set()), [
        i.as_dict() for i in issues if i.severity.value == "error"
    ]


def test_examples_claim_mcode_profiles():
    # Guards the test above against a corpus that would not exercise the profile layer.
    claimed = 0
    for path in FILES:
        meta = json.loads(path.read_text()).get("meta", {})
        claimed += any("/us/mcode/" in p for p in meta.get("profile", []))
    assert claimed > 100
