"""Reading FHIR packages: .tgz, unpacked folders, the package cache, dependencies, errors."""

import tarfile

import pytest

from fhirconv.packages.package import (
    PackageError,
    cache_dir,
    nearest_version,
    open_package,
    parse_spec,
    version_key,
)
from fhirconv.validation.conformance import Conformance, load
from tests.conftest import FHIR_PACKAGES

IPS_TGZ = FHIR_PACKAGES / "hl7.fhir.uv.ips-2.0.0.tgz"
IPS_PROFILE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips"


def test_a_tgz_is_read_with_its_manifest_and_definitions():
    package = open_package(str(IPS_TGZ))
    assert package.label == "hl7.fhir.uv.ips#2.0.0"
    assert package.dependencies["hl7.fhir.uv.extensions.r4"] == "5.2.0"
    urls = {r["url"] for r in package.resources("StructureDefinition")}
    assert IPS_PROFILE in urls
    assert len(urls) == 32
    # The examples of package/example/ are not definitions.
    assert all(r["resourceType"] == "ValueSet" for r in package.resources("ValueSet"))
    assert len(package.resources("ValueSet")) == 36


def test_an_unpacked_folder_and_its_package_subfolder_both_work(fhir_package):
    inner = fhir_package("hl7.fhir.uv.ips")
    for spec in (inner, inner.parent):
        package = open_package(str(spec))
        assert package.label == "hl7.fhir.uv.ips#2.0.0"
        assert any(r["url"] == IPS_PROFILE for r in package.resources("StructureDefinition"))


def test_the_cache_by_name_and_version_in_both_spellings(package_cache):
    package_cache.add("hl7.fhir.uv.ips")
    assert cache_dir() == package_cache.root
    for spec in ("hl7.fhir.uv.ips@2.0.0", "hl7.fhir.uv.ips#2.0.0", "hl7.fhir.uv.ips"):
        assert open_package(spec).label == "hl7.fhir.uv.ips#2.0.0"


def test_without_a_version_the_highest_cached_one_is_taken(package_cache):
    package_cache.add("hl7.fhir.uv.ips", as_version="1.1.0")
    package_cache.add("hl7.fhir.uv.ips", as_version="2.0.0")
    assert open_package("hl7.fhir.uv.ips").origin == "hl7.fhir.uv.ips#2.0.0"


def test_the_cache_defaults_to_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("FHIRCONV_PACKAGE_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".fhir" / "packages"


def test_a_package_missing_from_the_cache_says_how_to_install_it(package_cache):
    with pytest.raises(PackageError) as err:
        open_package("hl7.fhir.uv.ips@9.9.9")
    assert str(err.value) == (
        f"hl7.fhir.uv.ips#9.9.9 is not in the FHIR package cache ({package_cache.root}); "
        "install it with: fhirconv ig install hl7.fhir.uv.ips@9.9.9"
    )


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(PackageError) as err:
        open_package(str(tmp_path / "us-core.tgz"))
    assert str(err.value) == f"{tmp_path / 'us-core.tgz'}: no such package file or folder"


def test_a_tgz_without_a_manifest_is_not_a_package(tmp_path):
    archive = tmp_path / "other.tgz"
    inner = tmp_path / "x.json"
    inner.write_text("{}")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(inner, arcname="package/x.json")
    with pytest.raises(PackageError) as err:
        open_package(str(archive))
    assert str(err.value) == f"{archive}: not a FHIR package (no package/package.json in the archive)"


def test_a_file_that_is_not_an_archive_is_refused(tmp_path):
    bogus = tmp_path / "bogus.tgz"
    bogus.write_bytes(b"not a tarball")
    with pytest.raises(PackageError) as err:
        open_package(str(bogus))
    assert str(err.value).startswith(f"{bogus}: cannot read the package archive (")


def test_a_folder_without_a_manifest_is_not_a_package(tmp_path):
    with pytest.raises(PackageError) as err:
        open_package(str(tmp_path))
    assert str(err.value) == (
        f"{tmp_path}: not a FHIR package (no package.json in it or in its package/ folder)"
    )


def test_specs_and_versions():
    assert parse_spec("hl7.fhir.uv.ips@2.0.0") == ("hl7.fhir.uv.ips", "2.0.0")
    assert parse_spec("hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1") == (
        "hl7.fhir.uv.extensions.r4",
        "5.3.0-ballot-tc1",
    )
    assert parse_spec("hl7.fhir.uv.ips") == ("hl7.fhir.uv.ips", None)
    assert parse_spec("not a spec") is None
    assert version_key("1.10.0") > version_key("1.9.0")
    assert version_key("5.3.0-ballot-tc1") < version_key("5.3.0")
    assert nearest_version("6.5.0", ["5.0.0", "6.2.0", "7.0.1"]) == "6.2.0"
    assert nearest_version("5.2.0", ["5.3.0-ballot-tc1", "1.0.0"]) == "5.3.0-ballot-tc1"


def test_dependencies_come_from_the_cache_the_nearest_version_said(package_cache):
    package_cache.add("hl7.fhir.uv.ips")
    package_cache.add("hl7.fhir.uv.extensions.r4")  # 5.3.0-ballot-tc1; IPS pins 5.2.0
    package_cache.add("hl7.terminology.r4")  # 7.0.1; IPS pins 6.5.0
    loaded = load(("hl7.fhir.uv.ips@2.0.0",))
    assert [p.label for p in loaded.packages] == [
        "hl7.fhir.uv.ips#2.0.0",
        "hl7.terminology.r4#7.0.1",
        "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
    ]
    assert loaded.notes == (
        "hl7.terminology.r4#6.5.0 (a dependency of hl7.fhir.uv.ips#2.0.0) is not in the package cache: "
        "using hl7.terminology.r4#7.0.1",
        "hl7.fhir.uv.extensions.r4#5.2.0 (a dependency of hl7.fhir.uv.ips#2.0.0) is not in the package "
        "cache: using hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
        "hl7.fhir.uv.ipa#1.1.0 (a dependency of hl7.fhir.uv.ips#2.0.0) is not in the package cache: "
        "its definitions are not loaded (fhirconv ig install hl7.fhir.uv.ipa@1.1.0)",
    )
    # The core is built in, never looked for.
    assert not any("hl7.fhir.r4.core" in note for note in loaded.notes)


def test_definitions_are_served_lazily_and_once():
    package = open_package(str(IPS_TGZ))
    loaded = Conformance((package,))
    assert package._parsed == {}  # nothing parsed by loading
    first = loaded.profile(IPS_PROFILE)
    assert first is not None and first.type == "Patient"
    assert loaded.profile(IPS_PROFILE + "|2.0.0") is first  # compiled once, version ignored
    assert set(package._parsed) == {"StructureDefinition"}


def test_package_value_sets_are_enumerated_with_core_code_systems():
    loaded = load((str(IPS_TGZ),))
    # IPS's results-status: the whole core observation-status code system but entered-in-error.
    codes = loaded.valueset_codes("http://hl7.org/fhir/uv/ips/ValueSet/results-status-uv-ips")
    assert codes == {
        "http://hl7.org/fhir/observation-status": frozenset(
            {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "unknown"}
        )
    }
    assert loaded.unexpandable_reason("http://hl7.org/fhir/uv/ips/ValueSet/problems-uv-ips") == (
        "filter on http://snomed.info/sct"
    )
