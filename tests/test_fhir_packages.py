"""The published FHIR packages the tests read are the ones pinned in tests/fhir_packages/packages.txt."""

import json

import pytest

PINNED = [
    ("hl7.fhir.r4.examples", "4.0.1"),
    ("hl7.fhir.uv.ips", "2.0.0"),
    ("hl7.fhir.us.mcode", "4.0.0"),
    ("hl7.fhir.uv.extensions.r4", "5.3.0-ballot-tc1"),
    ("hl7.terminology.r4", "7.0.1"),
]


@pytest.mark.parametrize(("name", "version"), PINNED)
def test_package_unpacks_with_its_manifest(fhir_package, name, version):
    manifest = json.loads((fhir_package(name) / "package.json").read_text())
    assert (manifest["name"], manifest["version"]) == (name, version)
    assert any(fhir_package(name).glob("*.json"))
