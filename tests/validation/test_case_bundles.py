"""fhirconv's own golden bundles: zero errors and zero warnings, every code known."""

import json
from pathlib import Path

import pytest

from fhirconv.validation import validate_bytes, validate_resource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLES = [EXAMPLES / "case1.bundle.json", EXAMPLES / "case2.bundle.json"]


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name)
def test_golden_bundle_has_no_errors_or_warnings(path):
    # The profile layer once found TumorSize.focus naming a Condition (mCODE allows only a
    # Tumor BodyStructure) and dom-6 found resources without narrative; the exporter now
    # writes both, and nothing loud may remain.
    issues = validate_bytes(path.read_bytes(), source=str(path))
    assert [i.as_dict() for i in issues if i.severity.value in ("error", "warning")] == []


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name)
def test_every_code_fhirconv_emits_is_in_its_table(path):
    bundle = json.loads(path.read_text())
    issues = validate_resource(bundle, own=True)
    assert [i.as_dict() for i in issues if i.layer.value == "terminology"] == []


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name)
def test_golden_bundle_is_really_checked(path):
    # Guard against a vacuous pass: the bundle claims mCODE profiles and the profile
    # layer finds them; breaking a profiled resource is reported.
    bundle = json.loads(path.read_text())
    claimed = [
        e for e in bundle["entry"] if "/us/mcode/" in str(e["resource"].get("meta", {}).get("profile"))
    ]
    assert len(claimed) >= 5
    target = claimed[0]["resource"]
    target["meta"]["profile"] = [p.replace("mcode-", "mcode-nonexistent-") for p in target["meta"]["profile"]]
    issues = validate_resource(bundle)
    assert any(i.rule == "profile-unavailable" for i in issues)
