"""Cancers as other producers code them: no mCODE profile, only a code (SNOMED CT, ICD-10-CM,
ICD-O-3).  Every such code is in the terminology table with its source."""

import json

import pytest

from fhirconv.importing.reader import import_entries, read_entries
from fhirconv.mapping.conditions import condition_kind
from fhirconv.terminology import table

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def _entry(uid, resource):
    request = {"method": "POST", "url": resource["resourceType"]}
    return {"fullUrl": f"urn:uuid:{uid}", "resource": resource, "request": request}


def _synthea_like():
    """The shape of a Synthea breast-cancer record: urn:uuid references, no profiles, SNOMED CT
    254837009 for the cancer, LOINC receptor tests, a MedicationRequest giving the cancer as reason."""
    patient = "00000000-0000-4000-8000-000000000001"
    cancer = "00000000-0000-4000-8000-000000000002"
    subject = {"reference": f"urn:uuid:{patient}"}

    def receptor(uid, code, answer):
        return _entry(uid, {
            "resourceType": "Observation", "id": uid, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]}, "subject": subject,
            "effectiveDateTime": "2015-03-02T10:00:00-05:00",
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": answer}]},
        })

    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        _entry(patient, {"resourceType": "Patient", "id": patient, "gender": "female"}),
        _entry(cancer, {
            "resourceType": "Condition", "id": cancer,
            "clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": SNOMED, "code": "254837009",
                                 "display": "Malignant neoplasm of breast (disorder)"}],
                     "text": "Malignant neoplasm of breast (disorder)"},
            "subject": subject, "onsetDateTime": "2015-03-01T10:00:00-05:00",
        }),
        receptor("00000000-0000-4000-8000-000000000003", "85337-4", "10828004"),
        receptor("00000000-0000-4000-8000-000000000004", "85339-0", "10828004"),
        receptor("00000000-0000-4000-8000-000000000005", "85319-2", "260385009"),
        _entry("00000000-0000-4000-8000-000000000006", {
            "resourceType": "MedicationRequest", "id": "00000000-0000-4000-8000-000000000006",
            "status": "stopped", "intent": "order", "subject": subject,
            "medicationCodeableConcept": {"coding": [{
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "84857",
                "display": "anastrozole"}]},
            "reasonReference": [{"reference": f"urn:uuid:{cancer}"}],
            "authoredOn": "2015-04-01T10:00:00-05:00",
        }),
    ]}


def _import(bundle):
    return import_entries(read_entries(json.dumps(bundle).encode(), "synthea.json"), files=("synthea.json",))


def test_a_synthea_breast_cancer_is_the_primary_its_facts_hang_on():
    result = _import(_synthea_like())
    (primary,) = result.case.primaries
    assert primary.condition.codes == ("condition.breast_cancer",)
    assert primary.diagnosis_date == "2015-03-01"
    assert [(m.marker, m.result) for m in result.case.tumor_markers] == [
        ("ER", "positive"), ("PR", "positive"), ("HER2", "negative")]
    (therapy,) = result.case.therapies
    assert therapy.primary == primary.id  # not dangling
    assert not [u for u in result.unmapped if u.reason in ("dangling", "unsupported")]


@pytest.mark.parametrize(
    ("system", "code", "kind"),
    [
        (SNOMED, "254837009", "primary"),  # Synthea, mCODE: Malignant neoplasm of breast
        (SNOMED, "353431000119107", "primary"),  # mCODE Jenny M: primary, female left breast
        (SNOMED, "254637007", "primary"),  # non-small cell lung cancer
        (SNOMED, "94225005", "secondary"),  # secondary malignant neoplasm of brain
        (ICD10CM, "C50.411", "primary"),  # upper-outer quadrant of right female breast
        (ICD10CM, "C50.929", "primary"),  # unspecified male breast
        (ICD10CM, "C79.81", "secondary"),  # secondary malignant neoplasm of breast
        (ICD10CM, "C78.7", "secondary"),  # liver
        (ICD10CM, "C77.3", "secondary"),  # axillary lymph nodes
        (ICDO3, "8520/3", "primary"),  # lobular carcinoma: behaviour 3, primary site
        (ICDO3, "8500/2", "primary"),  # in situ
        (ICDO3, "8000/6", "secondary"),  # behaviour 6: metastatic site (not in the table)
        (ICDO3, "8000/1", None),  # uncertain behaviour: no cancer the model holds
        (ICD10CM, "E88.A", None),  # cachexia: a comorbidity
    ],
)
def test_which_cancer_a_code_names(system, code, kind):
    condition = {"resourceType": "Condition", "code": {"coding": [{"system": system, "code": code}]}}
    assert condition_kind(condition) == kind


def test_every_breast_and_secondary_icd10cm_code_of_mcode_is_in_the_table(fhir_package):
    package = fhir_package("hl7.fhir.us.mcode")
    wanted = []
    for name, prefix in (
        ("ValueSet-mcode-primary-malignant-neoplasm-disorder-vs.json", "C50"),
        ("ValueSet-mcode-secondary-cancer-disorder-vs.json", "C"),
    ):
        value_set = json.loads((package / name).read_text())
        for include in value_set["compose"]["include"]:
            if include.get("system") == ICD10CM:
                wanted += [c["code"] for c in include["concept"] if c["code"].startswith(prefix)]
    assert len(wanted) == 54 + 68
    missing = [code for code in wanted if table().find(ICD10CM, code) is None]
    assert missing == []
    assert all(table().find(ICD10CM, code).source for code in wanted)
