"""The whole case as one Bundle: transaction (idempotent PUTs) or collection."""

from __future__ import annotations

from typing import Literal

from fhirconv.errors import MappingError
from fhirconv.mapping.common import JSON, full_url, resource_id
from fhirconv.mapping.conditions import to_condition_resources
from fhirconv.mapping.disagreements import to_disagreement
from fhirconv.mapping.medications import to_medication_resources
from fhirconv.mapping.observations import to_observation_resources
from fhirconv.mapping.patient import (
    to_age_observations,
    to_patient,
    to_report_document,
    to_vital_status_observation,
)
from fhirconv.mapping.procedures import to_procedure_resources
from fhirconv.model.case import Case

BundleType = Literal["transaction", "collection"]


def case_resources(case: Case) -> list[JSON]:
    """Every resource of the case, in a fixed order: patient first, then by kind."""
    resources: list[JSON] = [to_patient(case), to_report_document(case)]
    resources.extend(to_age_observations(case))
    vital = to_vital_status_observation(case)
    if vital:
        resources.append(vital)
    resources.extend(to_condition_resources(case))
    resources.extend(to_observation_resources(case))
    resources.extend(to_procedure_resources(case))
    resources.extend(to_medication_resources(case))
    types: dict[str, str] = {}
    for resource in resources:
        rid = resource["id"]
        if rid in types:
            raise MappingError(
                f"two resources would have the id {rid!r}: rename one of the facts whose id "
                "this is, or that it is derived from (sizes, T/N/M, findings, regimen agents)"
            )
        types[rid] = resource["resourceType"]
    for index, item in enumerate(case.disagreements):
        resources.append(to_disagreement(case, index, item, types[resource_id(case, item.fact)]))
    return resources


def build_bundle(case: Case, bundle_type: BundleType = "transaction") -> JSON:
    """The case as a Bundle.

    Transaction entries are ``PUT Type/id`` with ids derived from the case and the
    fact, so pushing the same case twice updates instead of duplicating.
    """
    entries = []
    for resource in case_resources(case):
        rtype, rid = resource["resourceType"], resource["id"]
        entry: JSON = {"fullUrl": full_url(rtype, rid), "resource": resource}
        if bundle_type == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{rtype}/{rid}"}
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": resource_id(case, "bundle"),
        "meta": {"source": f"https://doi.org/{case.report.doi}"},
        "type": bundle_type,
        "entry": entries,
    }
