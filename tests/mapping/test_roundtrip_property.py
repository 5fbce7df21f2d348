"""Property: any case the model allows exports, imports and compares equal.

500 examples in the normal run; for the long run set
``FHIRCONV_HYPOTHESIS_EXAMPLES=10000``.
"""

import json
import os
import re

from hypothesis import HealthCheck, given, settings

from fhirconv.importing.compare import compare_cases
from fhirconv.importing.reader import case_to_yaml, import_entries, read_entries
from fhirconv.mapping.bundle import build_bundle
from fhirconv.model.load import parse_case_text
from tests.mapping.strategies import cases

EXAMPLES = int(os.environ.get("FHIRCONV_HYPOTHESIS_EXAMPLES", "500"))
# CI runs a fixed sequence of examples, so a landing never depends on luck; local runs
# keep exploring new ones, and a failure they find becomes a fix and a test.
DERANDOMIZE = os.environ.get("CI") == "true"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _entries(bundle):
    return [
        (f"Bundle.entry[{i}].resource", e["resource"], e["fullUrl"]) for i, e in enumerate(bundle["entry"])
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_export_then_import_gives_the_same_case(case):
    bundle = build_bundle(case)
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert all(FHIR_ID.fullmatch(rid) for rid in ids) and len(set(ids)) == len(ids)
    result = import_entries(_entries(bundle))
    assert result.unmapped == []
    assert compare_cases(case, result.case) == []
    assert result.case == case


@settings(
    max_examples=max(10, EXAMPLES // 50),
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_generated_bundles_are_valid_and_case_files_read_back(case):
    from fhirconv.validation import validate_resource

    bundle = build_bundle(case, "collection")
    problems = [i for i in validate_resource(bundle) if i.severity.value != "information"]
    assert problems == []
    # Through JSON text, as a file would be.
    result = import_entries(read_entries(json.dumps(bundle).encode(), "generated.json"))
    assert result.case == case
    assert parse_case_text(case_to_yaml(case), "generated.yaml") == case
