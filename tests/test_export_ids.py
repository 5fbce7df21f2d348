"""Exported ids fit FHIR (at most 64 characters of [A-Za-z0-9-.]) whatever the case and fact ids
the schema allows (48 characters each), and the import reads the facts back under their ids."""

import re

from fhirconv.cases import load_case
from fhirconv.importing.compare import compare_cases
from fhirconv.importing.reader import import_entries
from fhirconv.mapping.bundle import build_bundle
from fhirconv.model.case import Case
from fhirconv.validation import Severity, validate_resource

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _longest_ids(name):
    """The built-in case with its id and every fact id as long as the schema allows."""
    data = load_case(name).model_dump(mode="json", exclude_defaults=True)
    text = repr(data)
    renamed = {fact.id: (fact.id + "-" + "x" * 48)[:48] for fact in load_case(name).facts()}

    def rename(value, key=None):
        if isinstance(value, dict):
            return {k: rename(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v, key) for v in value]
        if key in ("id", "primary", "specimen", "condition", "procedure", "focus", "fact"):
            return renamed.get(value, value)
        return value

    data = rename(data)
    data["id"] = ("long-case-" + name + "-" * 48)[:47] + "z"
    assert text  # the case had facts to rename
    return Case.model_validate(data)


def test_every_exported_id_fits_fhir_and_the_round_trip_is_lossless():
    for name in ("case1", "case2"):
        case = _longest_ids(name)
        bundle = build_bundle(case)
        ids = [entry["resource"]["id"] for entry in bundle["entry"]] + [bundle["id"]]
        assert all(FHIR_ID.fullmatch(rid) for rid in ids), [rid for rid in ids if len(rid) > 64]
        assert len(set(ids)) == len(ids)
        errors = [i for i in validate_resource(bundle) if i.severity is Severity.ERROR]
        assert errors == []
        entries = [(f"Bundle.entry[{i}].resource", e["resource"], e["fullUrl"])
                   for i, e in enumerate(bundle["entry"])]
        result = import_entries(entries)
        assert result.unmapped == []
        assert compare_cases(case, result.case) == []


def test_ids_that_fit_are_unchanged():
    bundle = build_bundle(load_case("case1"))
    assert all(entry["resource"]["id"].startswith("case1-") for entry in bundle["entry"])
