"""Fetch everything a server holds about one patient, as a collection Bundle.

``Patient/[id]/$everything`` when the CapabilityStatement offers it; otherwise
a search per resource type by ``patient=Patient/[id]`` (the reference form: some
servers match a bare id, others do not), following ``next`` links.  Only plain
FHIR R4 REST is used, so any server that can be searched can be pulled from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from fhirconv.server.client import FhirClient, display_url
from fhirconv.server.errors import ResourceNotFound, ServerRejected
from fhirconv.server.references import dependency_order, references

# The clinical resource types of the R4 Patient compartment
# (http://hl7.org/fhir/R4/compartmentdefinition-patient.html, FHIR 4.0.1) with
# the search parameter that names the patient, the first the definition lists.
# The whole compartment rather than the types fhirconv writes today: a pull must
# not miss what a newer export or another producer stored.  Left out: billing,
# scheduling, audit and the people around the patient (Account, Appointment,
# AppointmentResponse, AuditEvent, ChargeItem, Claim, ClaimResponse, Coverage,
# CoverageEligibilityRequest, CoverageEligibilityResponse, EnrollmentRequest,
# ExplanationOfBenefit, Group, Invoice, Patient, Person, RelatedPerson, Schedule,
# SupplyDelivery, SupplyRequest).
PATIENT_SEARCH: dict[str, str] = {
    "AdverseEvent": "subject",
    "AllergyIntolerance": "patient",
    "Basic": "patient",
    "BodyStructure": "patient",
    "CarePlan": "patient",
    "CareTeam": "patient",
    "ClinicalImpression": "subject",
    "Communication": "subject",
    "CommunicationRequest": "subject",
    "Composition": "subject",
    "Condition": "patient",
    "Consent": "patient",
    "DetectedIssue": "patient",
    "DeviceRequest": "subject",
    "DeviceUseStatement": "subject",
    "DiagnosticReport": "subject",
    "DocumentManifest": "subject",
    "DocumentReference": "subject",
    "Encounter": "subject",
    "EpisodeOfCare": "patient",
    "FamilyMemberHistory": "patient",
    "Flag": "patient",
    "Goal": "patient",
    "ImagingStudy": "patient",
    "Immunization": "patient",
    "ImmunizationEvaluation": "patient",
    "ImmunizationRecommendation": "patient",
    "List": "subject",
    "MeasureReport": "patient",
    "Media": "subject",
    "MedicationAdministration": "patient",
    "MedicationDispense": "subject",
    "MedicationRequest": "subject",
    "MedicationStatement": "subject",
    "MolecularSequence": "patient",
    "NutritionOrder": "patient",
    "Observation": "subject",
    "Procedure": "patient",
    "Provenance": "patient",
    "QuestionnaireResponse": "subject",
    "RequestGroup": "subject",
    "RiskAssessment": "subject",
    "ServiceRequest": "subject",
    "Specimen": "subject",
    "Task": "patient",
    "VisionPrescription": "patient",
}

# Outside the Patient compartment, so no search by patient finds them, but named by what is in it
# and read by the import: the Medication a MedicationStatement, Request, Administration or
# Dispense names as its agent by ``medicationReference`` (and one Medication names as an ingredient).
REFERENCED_TYPES = ("Medication",)

# The order resources are written in: the patient first, then by type and id,
# so the same server content always gives the same bytes.
_TYPE_ORDER = {"Patient": 0}


def offers_everything(capabilities: dict[str, Any]) -> bool:
    """True when the CapabilityStatement lists Patient $everything."""
    for rest in capabilities.get("rest") or []:
        operations = list(rest.get("operation") or [])
        for resource in rest.get("resource") or []:
            if resource.get("type") == "Patient":
                operations.extend(resource.get("operation") or [])
        for operation in operations:
            name = str(operation.get("name", "")).lstrip("$")
            definition = str(operation.get("definition", ""))
            if name in ("everything", "patient-everything") or definition.endswith("Patient-everything"):
                return True
    return False


def searchable_types(capabilities: dict[str, Any], wanted: Iterable[str]) -> list[str]:
    """The wanted types the server says it can search; all of them when it does not say."""
    listed: dict[str, bool] = {}
    for rest in capabilities.get("rest") or []:
        if rest.get("mode", "server") != "server":
            continue
        for resource in rest.get("resource") or []:
            codes = {i.get("code") for i in resource.get("interaction") or []}
            listed[str(resource.get("type"))] = "search-type" in codes
    if not listed:
        return list(wanted)
    return [t for t in wanted if listed.get(t, False)]


def fetch_patient(
    client: FhirClient,
    patient_id: str,
    *,
    types: Iterable[str] = PATIENT_SEARCH,
    use_everything: bool | None = None,
    progress: Callable[[str], None] | None = None,
    left_out: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The patient and every resource of ``types`` that refers to it, deduplicated, in a fixed order.

    ``left_out`` gets where the server answered with something that is no resource with a type
    and an id (nothing can name it, so it is not kept).
    """
    dropped = left_out if left_out is not None else []
    try:
        patient = client.read("Patient", patient_id)
    except ResourceNotFound as err:
        raise ResourceNotFound(f"The server has no Patient/{patient_id}", err.outcome, err.status) from None
    try:
        capabilities = client.capabilities()
    except ServerRejected:
        # Every R4 server should answer /metadata; one that does not still
        # answers searches, and all of them are tried.
        capabilities = {}
    if use_everything is None:
        use_everything = offers_everything(capabilities)
    found: dict[tuple[str, str], dict[str, Any]] = {("Patient", patient_id): patient}
    if use_everything:
        if progress:
            progress(f"Patient/{patient_id}/$everything")
        for resource in client.pages(f"Patient/{patient_id}/$everything"):
            _keep(found, resource, dropped, "$everything")
    else:
        reference = f"Patient/{patient_id}"
        for resource_type in searchable_types(capabilities, types):
            if progress:
                progress(resource_type)
            param = PATIENT_SEARCH.get(resource_type, "patient")
            for resource in client.search(resource_type, {param: reference}):
                _keep(found, resource, dropped, f"the {resource_type} search")
    _follow_references(client, found, progress, dropped)
    # Referenced resources before those that refer to them: a reader can resolve
    # every reference in one pass.
    return dependency_order(sorted(found.values(), key=_order))


def _follow_references(
    client: FhirClient,
    found: dict[tuple[str, str], dict[str, Any]],
    progress: Callable[[str], None] | None,
    dropped: list[str],
) -> None:
    """Read the resources of :data:`REFERENCED_TYPES` that what was found names, until none is new.

    Each is read by id (plain REST: ``_include`` is optional and not every server has it).
    One the server no longer has is left out: the import reports the reference as missing.
    """
    own = re.compile(
        rf"^(?:{re.escape(display_url(client.base_url).rstrip('/'))}/)?"
        rf"({'|'.join(REFERENCED_TYPES)})/([A-Za-z0-9\-.]{{1,64}})(?:/_history/[^/]+)?$"
    )
    tried: set[tuple[str, str]] = set()
    while True:
        wanted = sorted(
            {
                (match[1], match[2])
                for resource in found.values()
                for target in references(resource)
                if (match := own.match(target))
            }
            - tried
            - found.keys()
        )
        if not wanted:
            return
        if progress:
            progress(", ".join(sorted({kind for kind, _ in wanted})))
        for kind, rid in wanted:
            tried.add((kind, rid))
            try:
                _keep(found, client.read(kind, rid), dropped, f"{kind}/{rid}")
            except ResourceNotFound:
                continue


def _keep(
    found: dict[tuple[str, str], dict[str, Any]], resource: dict[str, Any], dropped: list[str], where: str
) -> None:
    kind, rid = resource.get("resourceType"), resource.get("id")
    if kind == "OperationOutcome":
        return  # a searchset may carry one with warnings: not patient data
    if isinstance(kind, str) and isinstance(rid, str):
        found[(kind, rid)] = resource
    else:
        dropped.append(where)


def _order(resource: dict[str, Any]) -> tuple[int, str, str]:
    kind = resource["resourceType"]
    return (_TYPE_ORDER.get(kind, 1), kind, resource["id"])


def collection_bundle(resources: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    """The pulled resources as a collection Bundle, fullUrls on the server they came from."""
    base = display_url(base_url).rstrip("/")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
