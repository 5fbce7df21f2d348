"""Implementation guides loaded with --ig: IPS 2.0.0 examples, the package cache, unavailable profiles,
core profiles (vital signs) and discriminators through type profiles."""

import copy
import json

import pytest

from fhirconv.validation import validate_resource
from tests.conftest import FHIR_PACKAGES
from tests.validation.conftest import errors

IPS = "hl7.fhir.uv.ips@2.0.0"
IPS_TGZ = FHIR_PACKAGES / "hl7.fhir.uv.ips-2.0.0.tgz"
R4_EXAMPLES = FHIR_PACKAGES.parent / "validation" / "data" / "r4-examples"


@pytest.fixture
def ips_cache(package_cache):
    """IPS and the dependencies on npm in the temporary cache (IPA is not: a note says so)."""
    for name in ("hl7.fhir.uv.ips", "hl7.fhir.uv.extensions.r4", "hl7.terminology.r4"):
        package_cache.add(name)
    return package_cache


def ips_examples(fhir_package):
    return sorted((fhir_package("hl7.fhir.uv.ips") / "example").glob("*.json"))


def test_every_ips_example_is_valid_with_the_ig_loaded(ips_cache, fhir_package):
    files = ips_examples(fhir_package)
    assert len(files) == 44
    checked = 0
    for path in files:
        resource = json.loads(path.read_text())
        issues = validate_resource(resource, igs=(IPS,))
        assert errors(issues) == [], (path.name, [i.as_dict() for i in errors(issues)][:3])
        # The IPS profiles were really applied, not skipped as unavailable.
        assert not any(i.rule == "profile-unavailable" for i in issues), path.name
        checked += bool(resource.get("meta", {}).get("profile"))
    assert checked >= 40


def test_without_the_ig_an_ips_profile_is_information_not_a_warning(fhir_package):
    patient = json.loads((fhir_package("hl7.fhir.uv.ips") / "example" / "Patient-66033.json").read_text())
    issues = validate_resource(patient)
    unavailable = [i for i in issues if i.rule == "profile-unavailable"]
    assert [(i.severity.value, i.location, i.message) for i in unavailable] == [
        (
            "information",
            "Patient.meta.profile[0]",
            "profile http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips not checked: "
            "not available offline (load its implementation guide with --ig)",
        )
    ]
    strict = validate_resource(patient, strict_profiles=True)
    assert [i.severity.value for i in strict if i.rule == "profile-unavailable"] == ["error"]


def test_a_profile_missing_from_a_loaded_ig_says_so(fhir_package):
    patient = json.loads((fhir_package("hl7.fhir.uv.ips") / "example" / "Patient-66033.json").read_text())
    patient["meta"]["profile"] = ["http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-nope"]
    issues = validate_resource(patient, igs=(str(IPS_TGZ),))
    assert [i.message for i in issues if i.rule == "profile-unavailable"] == [
        "profile http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-nope not checked: "
        "no loaded package defines it"
    ]


def test_an_ips_profile_catches_what_the_core_allows(fhir_package):
    patient = json.loads((fhir_package("hl7.fhir.uv.ips") / "example" / "Patient-66033.json").read_text())
    del patient["birthDate"]  # 1..1 in Patient-uv-ips, 0..1 in R4
    assert errors(validate_resource(copy.deepcopy(patient))) == []
    found = errors(validate_resource(patient, igs=(str(IPS_TGZ),)))
    assert [(i.rule, i.location, i.message) for i in found] == [
        ("profile-cardinality", "Patient.birthDate", "PatientUvIps: birthDate is required (1..1), found 0")
    ]


def test_cli_loads_an_ig_from_the_cache_and_notes_missing_dependencies(ips_cache, fhir_package, run_cli):
    path = fhir_package("hl7.fhir.uv.ips") / "example" / "Bundle-bundle-minimal.json"
    done = run_cli("validate", "--ig", IPS, str(path))
    assert done.code == 0, done.out
    assert done.err.splitlines() == [
        "Note: hl7.terminology.r4#6.5.0 (a dependency of hl7.fhir.uv.ips#2.0.0) is not in the package "
        "cache: using hl7.terminology.r4#7.0.1",
        "Note: hl7.fhir.uv.extensions.r4#5.2.0 (a dependency of hl7.fhir.uv.ips#2.0.0) is not in the "
        "package cache: using hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
        "Note: hl7.fhir.uv.ipa#1.1.0 (a dependency of hl7.fhir.uv.ips#2.0.0) is not in the package cache: "
        "its definitions are not loaded (fhirconv ig install hl7.fhir.uv.ipa@1.1.0)",
    ]
    assert "profile-unavailable" not in done.out


def test_cli_refuses_an_ig_it_cannot_find(package_cache, run_cli, tmp_path):
    good = R4_EXAMPLES / "Observation-heart-rate.json"
    done = run_cli("validate", "--ig", "hl7.fhir.us.core@6.1.0", str(good))
    assert done.code == 2
    assert done.err == (
        f"Error: hl7.fhir.us.core#6.1.0 is not in the FHIR package cache ({package_cache.root}); "
        "install it with: fhirconv ig install hl7.fhir.us.core@6.1.0\n"
    )
    done = run_cli("validate", "--ig", str(tmp_path / "us-core.tgz"), str(good))
    assert (done.code, done.err) == (
        2,
        f"Error: {tmp_path / 'us-core.tgz'}: no such package file or folder\n",
    )


def test_cli_strict_profiles_fails_on_an_unavailable_profile(fhir_package, run_cli):
    path = fhir_package("hl7.fhir.uv.ips") / "example" / "Patient-66033.json"
    assert run_cli("validate", str(path)).code == 0
    done = run_cli("validate", "--strict-profiles", str(path))
    assert done.code == 1
    assert "error       [profile] Patient.meta.profile[0]: profile http" in done.out


# -- core profiles named in meta.profile ----------------------------------------------------


def r4_example(name):
    return json.loads((R4_EXAMPLES / f"{name}.json").read_text())


def test_vital_signs_profiles_are_checked_from_the_core_definitions():
    bp = r4_example("Observation-blood-pressure")
    assert "http://hl7.org/fhir/StructureDefinition/vitalsigns" in bp["meta"]["profile"]
    assert errors(validate_resource(copy.deepcopy(bp))) == []
    del bp["category"]  # VSCat slice 1..1 in the vital signs profile
    found = errors(validate_resource(bp))
    assert {(i.rule, i.location) for i in found} >= {("profile-cardinality", "Observation.category")}
    assert all(i.layer.value == "profile" for i in found)


def test_vital_signs_code_pattern():
    rate = r4_example("Observation-heart-rate")
    rate["meta"] = {"profile": ["http://hl7.org/fhir/StructureDefinition/heartrate"]}
    assert errors(validate_resource(copy.deepcopy(rate))) == []
    rate["code"]["coding"][0]["code"] = "8310-5"  # body temperature, not heart rate
    found = errors(validate_resource(rate))
    assert any(i.rule in ("profile-pattern", "profile-slice-min") for i in found), found


@pytest.mark.parametrize(
    ("version", "said"), [("4.0.1", False), ("4.0", False), ("3.0.2", True), ("4.0.10", True)]
)
def test_a_profile_version_not_loaded_is_said_and_the_loaded_one_checked(version, said):
    bp = r4_example("Observation-blood-pressure")
    bp["meta"]["profile"] = [f"http://hl7.org/fhir/StructureDefinition/vitalsigns|{version}"]
    del bp["category"]  # the loaded version (4.0.1) still checks: VSCat is 1..1
    issues = validate_resource(copy.deepcopy(bp))
    assert ("profile-cardinality", "Observation.category") in {(i.rule, i.location) for i in errors(issues)}
    rule = "profile-version-unavailable"
    noted = [(i.severity.value, i.location, i.message) for i in issues if i.rule == rule]
    assert noted == (
        [
            (
                "information",
                "Observation.meta.profile[0]",
                f"profile http://hl7.org/fhir/StructureDefinition/vitalsigns version {version} is not "
                f"available: checked against version 4.0.1 (load the package of version {version} with --ig)",
            )
        ]
        if said
        else []
    )
    strict = validate_resource(bp, strict_profiles=True)
    assert [i.severity.value for i in strict if i.rule == "profile-version-unavailable"] == (
        ["error"] if said else []
    )


# -- slicing through the type profile -------------------------------------------------------


def test_mcode_tumor_identifier_slice_is_discriminated_through_its_type_profile():
    bundle = json.loads((FHIR_PACKAGES.parents[1] / "examples" / "case2.bundle.json").read_text())
    tumors = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "BodyStructure"]
    assert tumors
    tumor = copy.deepcopy(tumors[0])
    assert [i for i in validate_resource(copy.deepcopy(tumor)) if i.rule.startswith("profile-slice")] == []
    del tumor["identifier"][0]["type"]
    found = [i for i in errors(validate_resource(tumor)) if i.layer.value == "profile"]
    assert [(i.rule, i.location, i.message) for i in found] == [
        (
            "profile-slice-min",
            "BodyStructure.identifier",
            "Tumor: slice bodyStructureIdentifier is required (1..*), found 0",
        )
    ]


def test_r4_canonical_resources_are_in_the_extension_packs_canonicalresource_context(fhir_package):
    """The pack's standards-status extension names R5's CanonicalResource as a context: an R4
    StructureDefinition is one (no false alarm), a Patient is not (still an error)."""
    pack = str(FHIR_PACKAGES / "hl7.fhir.uv.extensions.r4-5.3.0-ballot-tc1.tgz")
    status = {
        "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
        "valueCode": "normative",
    }
    definition = json.loads(
        (fhir_package("hl7.fhir.r4.examples") / "StructureDefinition-Patient.json").read_text()
    )
    assert any(e.get("url") == status["url"] for e in definition.get("extension", []))
    issues = validate_resource(definition, igs=(pack,))
    assert not [i for i in issues if i.rule == "extension-context" and "CanonicalResource" in i.message]
    patient = {"resourceType": "Patient", "id": "p1", "extension": [status]}
    assert any(i.rule == "extension-context" for i in validate_resource(patient, igs=(pack,)))
