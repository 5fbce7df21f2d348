"""Tumor markers with their specimens, imaging studies and findings, disease status."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.common import (
    JSON,
    body_site,
    codeable,
    coded,
    effective,
    labelled_note,
    meta,
    notes,
    patient_ref,
    reference,
    resource_id,
    size_components,
    text_concept,
)
from fhirconv.mapping.reading import Reader, take_text, text_of
from fhirconv.mapping.tumors import RELATED_CONDITION_EXT, size_from_components, with_method
from fhirconv.model.case import Case, DiseaseStatus, Imaging, Specimen, TumorMarker
from fhirconv.terminology import table

# R4 Specimen has no collection.procedure (R5 has): the R5 element travels as its
# cross-version extension on Specimen.collection.  Bundles written before used the core
# supportingInfo extension, which R4 allows only on DiagnosticReport, Observation and
# CommunicationRequest; the import still reads it.
COLLECTION_PROCEDURE_EXT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Specimen.collection.procedure"
SUPPORTING_INFO_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo"
IMAGING_STUDY = "imaging study"
IMAGING_FINDING = "Imaging finding"
BIRADS_CODE = "BI-RADS assessment category"
EVIDENCE_NOTE = "evidence"
EVIDENCE_PREFIX = "Evidence: "
EVIDENCE_TYPE_EXT = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status-evidence-type"
)
MARKER_KEYS = {"ER": "marker.er", "PR": "marker.pr", "HER2": "marker.her2", "Ki-67": "marker.ki67"}


def to_specimen(case: Case, specimen: Specimen) -> JSON:
    resource: JSON = {
        "resourceType": "Specimen",
        "id": resource_id(case, specimen.id),
        "meta": meta(case, specimen.sources, "mcode-human-specimen"),
        "type": coded("specimen.tissue", specimen.description),
        "subject": patient_ref(case),
    }
    collection: JSON = {}
    if specimen.procedure:
        collection["extension"] = [
            {
                "url": COLLECTION_PROCEDURE_EXT,
                "valueReference": reference("Procedure", resource_id(case, specimen.procedure)),
            }
        ]
    if specimen.collected:
        collection["collectedDateTime"] = specimen.collected
    site = body_site(specimen.body_site, specimen.laterality)
    if site:
        collection["bodySite"] = site
    if collection:
        resource["collection"] = collection
    if specimen.note:
        resource["note"] = notes(specimen.note)
    return resource


def result_concept(result: str) -> JSON:
    key = f"result.{result}"
    if table().has_key(key):
        return coded(key, result)
    # HER2-low, Ki-67 'low': no confirmed code exists, so the report's word stands alone.
    return text_concept(result)


def _marker_value(marker: TumorMarker) -> JSON:
    if marker.percent is not None:
        value: JSON = {
            "valueQuantity": {
                "value": marker.percent,
                "unit": "%",
                "system": table().get("unit.percent").system,
                "code": "%",
            }
        }
        if marker.result is not None:
            # A percentage and a word ("20%, low"): the word is the interpretation.
            value["interpretation"] = [result_concept(marker.result)]
        return value
    assert marker.result is not None  # the model requires a result or a percent
    return {"valueCodeableConcept": result_concept(marker.result)}


def to_tumor_marker(case: Case, marker: TumorMarker) -> JSON:
    resource: JSON = {
        "resourceType": "Observation",
        "id": resource_id(case, marker.id),
        "meta": meta(case, marker.sources, "mcode-tumor-marker-test"),
    }
    if marker.condition:
        resource["extension"] = [
            {
                "url": RELATED_CONDITION_EXT,
                "valueReference": reference("Condition", resource_id(case, marker.condition)),
            }
        ]
    resource.update(
        {
            "status": "final",
            "category": [coded("category.laboratory")],
            "code": coded(MARKER_KEYS[marker.marker], marker.marker),
            "subject": patient_ref(case),
            **effective(marker.date, allow_partial_datetime=False),
            **_marker_value(marker),
        }
    )
    if marker.specimen:
        resource["specimen"] = reference("Specimen", resource_id(case, marker.specimen))
    if marker.note:
        resource["note"] = notes(marker.note)
    return resource


def to_imaging_resources(case: Case, study: Imaging) -> list[JSON]:
    """The study as a Procedure, each finding as an Observation that is part of it."""
    study_id = resource_id(case, study.id)
    procedure: JSON = {
        "resourceType": "Procedure",
        "id": study_id,
        "meta": meta(case, study.sources),
        "status": "completed",
        "category": text_concept(IMAGING_STUDY),
        "code": codeable(study.modality),
        "subject": patient_ref(case),
    }
    if study.date:
        procedure["performedDateTime"] = study.date
    site = body_site(study.body_site, None)
    if site:
        procedure["bodySite"] = [site]
    if study.note:
        procedure["note"] = notes(study.note)
    out = [procedure]
    for i, finding in enumerate(study.findings):
        observation: JSON = {
            "resourceType": "Observation",
            "id": resource_id(case, f"{study.id}-finding-{i + 1}"),
            "meta": meta(case, study.sources),
            "partOf": [reference("Procedure", study_id)],
            "status": "final",
            "category": [coded("category.imaging")],
            "code": text_concept(IMAGING_FINDING),
            "subject": patient_ref(case),
            **effective(study.date, allow_partial_datetime=True),
            "valueString": finding.description,
        }
        site = body_site(None, finding.laterality)
        if site:
            observation["bodySite"] = site
        components: list[JSON] = []
        if finding.birads:
            # No confirmed LOINC or SNOMED CT International code for BI-RADS categories.
            components.append(
                {
                    "code": text_concept(BIRADS_CODE),
                    "valueCodeableConcept": text_concept(f"BI-RADS {finding.birads}"),
                }
            )
        if finding.size:
            components.extend(size_components(finding.size))
            if finding.size.method:
                observation["method"] = text_concept(finding.size.method)
        if components:
            observation["component"] = components
        out.append(observation)
    return out


def to_disease_status(case: Case, status: DiseaseStatus) -> JSON:
    resource: JSON = {
        "resourceType": "Observation",
        "id": resource_id(case, status.id),
        "meta": meta(case, status.sources, "mcode-cancer-disease-status"),
    }
    coded_evidence = [e for e in status.evidence if table().has_key(f"evidence.{e}")]
    if coded_evidence:
        resource["extension"] = [
            {"url": EVIDENCE_TYPE_EXT, "valueCodeableConcept": coded(f"evidence.{e}")} for e in coded_evidence
        ]
    resource.update(
        {
            "status": "final",
            "code": coded("disease_status.code"),
            "subject": patient_ref(case),
        }
    )
    if status.focus:
        resource["focus"] = [reference("Condition", resource_id(case, ref)) for ref in status.focus]
    resource.update(effective(status.date, allow_partial_datetime=True))
    resource["valueCodeableConcept"] = coded(f"status.{status.status}", status.description)
    annotations = []
    if len(coded_evidence) < len(status.evidence):
        # Some evidence has no code for the extension: the note lists all of it, in order.
        annotations.append(labelled_note(EVIDENCE_NOTE, EVIDENCE_PREFIX + "; ".join(status.evidence)))
    annotations.extend(notes(status.note))
    if annotations:
        resource["note"] = annotations
    return resource


def to_observation_resources(case: Case) -> list[JSON]:
    out: list[JSON] = [to_specimen(case, s) for s in case.specimens]
    out.extend(to_tumor_marker(case, m) for m in case.tumor_markers)
    for study in case.imaging:
        out.extend(to_imaging_resources(case, study))
    out.extend(to_disease_status(case, s) for s in case.disease_status)
    return out


# --- the way back -------------------------------------------------------------------------

RESULTS = ("positive", "negative", "low", "equivocal")
MARKERS = {key: name for name, key in MARKER_KEYS.items()}


def from_specimen(reader: Reader, resource: JSON, loc: str) -> JSON:
    out: JSON = reader.fact(resource, loc)
    kind = resource.get("type")
    key = reader.concept_key(kind, f"{loc}.type", "specimen.")
    # The model needs words for a specimen: fhirconv writes them as the type's text; for
    # another producer's the type's display, else a plain label.
    described = take_text(resource, "type") or reader.text(kind, f"{loc}.type")
    out["description"] = described or (table().get(key).display if key else "specimen")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    collection = resource.get("collection")
    if isinstance(collection, dict):
        collected = collection.pop("collectedDateTime", None)
        if isinstance(collected, str):
            out["collected"] = reader.partial_date(collected, f"{loc}.collection.collectedDateTime")
        term, side = reader.body_site(collection.get("bodySite"), f"{loc}.collection.bodySite")
        if term:
            out["body_site"] = term
        if side:
            out["laterality"] = side
    places = [(resource, loc, SUPPORTING_INFO_EXT)]
    if isinstance(collection, dict):
        places.insert(0, (collection, f"{loc}.collection", COLLECTION_PROCEDURE_EXT))
    for holder, at, url in places:
        for i, ext in enumerate(holder.get("extension") or []):
            if isinstance(ext, dict) and ext.get("url") == url:
                where = f"{at}.extension[{i}].valueReference"
                procedure = reader.ref(ext.get("valueReference"), where, ("Procedure",))
                if procedure and "procedure" not in out:
                    out["procedure"] = procedure
                    ext.pop("url")
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return out


def from_tumor_marker(reader: Reader, resource: JSON, loc: str) -> JSON | None:
    out: JSON = reader.fact(resource, loc)
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == RELATED_CONDITION_EXT:
            where = f"{loc}.extension[{i}].valueReference"
            condition = reader.ref(ext.get("valueReference"), where, ("Condition",))
            if condition:
                out["condition"] = condition
                ext.pop("url")
    resource.pop("status", None)
    for i, category in enumerate(resource.get("category") or []):
        reader.concept_key(category, f"{loc}.category[{i}]", "category.laboratory")
    code = resource.get("code")
    key = reader.concept_key(code, f"{loc}.code", "marker.")
    if key is None:
        return None
    out["marker"] = MARKERS[key]
    if isinstance(code, dict) and code.get("text") == out["marker"]:
        code.pop("text")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    date = reader.date(resource, "effective", loc)
    if date:
        out["date"] = date
    percent = reader.quantity(resource.get("valueQuantity"), {"unit.percent": 1})
    if percent is not None:
        out["percent"] = percent
    result = _result(reader, resource.get("valueCodeableConcept"), f"{loc}.valueCodeableConcept")
    for i, interpretation in enumerate(resource.get("interpretation") or []):
        result = result or _result(reader, interpretation, f"{loc}.interpretation[{i}]")
    if result:
        out["result"] = result
    if "result" not in out and "percent" not in out:
        reader.report(loc, "not mapped", f"{out['marker']} test with no result the case model holds")
        return None
    specimen = reader.ref(resource.get("specimen"), f"{loc}.specimen", ("Specimen",))
    if specimen:
        out["specimen"] = specimen
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return out


def _result(reader: Reader, concept: Any, loc: str) -> str | None:
    if not isinstance(concept, dict):
        return None
    key = reader.concept_key(concept, loc, "result.")
    text = concept.get("text")
    word = key.removeprefix("result.") if key else text if text in RESULTS else None
    if word is not None and text == word:
        concept.pop("text")
    return word


def from_imaging_study(reader: Reader, resource: JSON, loc: str) -> JSON:
    out: JSON = reader.fact(resource, loc)
    if resource.get("status") == "completed":
        resource.pop("status")
    take_text(resource, "category")
    out["modality"] = reader.term(resource.get("code"), f"{loc}.code")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    date = reader.date(resource, "performed", loc)
    if date:
        out["date"] = date
    sites = resource.get("bodySite") or []
    if sites:
        # The case model holds no side for a study (its findings have one): the site alone is
        # read, and a laterality qualifier on it is left to be reported as not mapped.
        term = reader.term(sites[0], f"{loc}.bodySite[0]")
        if term:
            out["body_site"] = term
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    out["findings"] = []
    return out


def from_imaging_finding(reader: Reader, resource: JSON, loc: str) -> tuple[str | None, JSON]:
    """(the imaging study it is part of, the model's Finding)."""
    reader.sources(resource, loc)
    study = None
    for i, part in enumerate(resource.get("partOf") or []):
        study = study or reader.ref(part, f"{loc}.partOf[{i}]", ("Procedure",))
    resource.pop("status", None)
    for i, category in enumerate(resource.get("category") or []):
        reader.concept_key(category, f"{loc}.category[{i}]", "category.imaging")
    take_text(resource, "code")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    # A finding is dated by its study: a date of its own is compared when the two meet.
    out: JSON = {
        "description": resource.pop("valueString", None),
        "_date": reader.date(resource, "effective", loc),
    }
    site = resource.get("bodySite")
    # A finding holds a side and no site: a site named here is left to be reported as not mapped.
    side = reader.laterality(site, f"{loc}.bodySite") if isinstance(site, dict) else None
    if side:
        out["laterality"] = side
    for component in resource.get("component") or []:
        if isinstance(component, dict) and text_of(component.get("code")) == BIRADS_CODE:
            text = take_text(component, "valueCodeableConcept")
            if text and text.startswith("BI-RADS "):
                out["birads"] = text.removeprefix("BI-RADS ")
                component.pop("code")
    size = size_from_components(reader, resource, loc)
    if size:
        out["size"] = with_method(resource, size)
    return study, out


def from_disease_status(reader: Reader, resource: JSON, loc: str) -> JSON:
    out: JSON = reader.fact(resource, loc)
    coded_evidence = []
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == EVIDENCE_TYPE_EXT:
            key = reader.concept_key(ext.get("valueCodeableConcept"), f"{loc}.extension[{i}]", "evidence.")
            if key:
                coded_evidence.append(key.removeprefix("evidence."))
                ext.pop("url")
    resource.pop("status", None)
    reader.concept_key(resource.get("code"), f"{loc}.code", "disease_status.")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    focus = []
    for i, item in enumerate(resource.get("focus") or []):
        ref = reader.ref(item, f"{loc}.focus[{i}]", ("Condition",))
        if ref:
            focus.append(ref)
    if focus:
        out["focus"] = focus
    date = reader.date(resource, "effective", loc)
    if date:
        out["date"] = date
    value = resource.get("valueCodeableConcept")
    key = reader.concept_key(value, f"{loc}.valueCodeableConcept", "status.")
    out["status"] = key.removeprefix("status.") if key else "undetermined"
    out["description"] = take_text(resource, "valueCodeableConcept") or out["status"]
    labelled, plain = reader.notes(resource)
    evidence_text = labelled.pop(EVIDENCE_NOTE, None)
    if evidence_text is not None and evidence_text.startswith(EVIDENCE_PREFIX):
        out["evidence"] = evidence_text.removeprefix(EVIDENCE_PREFIX).split("; ")
    elif coded_evidence:
        out["evidence"] = coded_evidence
    if plain:
        out["note"] = "\n\n".join(plain)
    return out
