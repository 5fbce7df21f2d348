"""The whole case as one Bundle: transaction (idempotent PUTs) or collection."""

from __future__ import annotations

import json
import re
from typing import Literal

from fhirconv.errors import MappingError
from fhirconv.mapping.attach import attach
from fhirconv.mapping.common import JSON, case_urn, copy_json, digest, full_url, report_url, resource_id
from fhirconv.mapping.conditions import (
    condition_kind,
    from_primary_condition,
    from_secondary_condition,
    to_condition_resources,
)
from fhirconv.mapping.disagreements import from_disagreement, to_disagreement
from fhirconv.mapping.held import make_case
from fhirconv.mapping.medications import (
    EnteredInError,
    NoAgent,
    from_administration,
    from_medication,
    from_regimen,
    from_request,
    from_statement,
    to_medication_resources,
)
from fhirconv.mapping.narrative import drop_generated, with_narrative
from fhirconv.mapping.observations import (
    IMAGING_FINDING,
    IMAGING_STUDY,
    MARKER_KEYS,
    from_disease_status,
    from_imaging_finding,
    from_imaging_study,
    from_specimen,
    from_tumor_marker,
    to_observation_resources,
)
from fhirconv.mapping.patient import (
    AGE_CODE,
    ORIGIN_TYPE,
    REPORT_TYPE,
    VITAL_CODE,
    case_id_from_patient,
    from_age_observation,
    from_patient,
    from_report_document,
    from_vital_status,
    own_case_urn,
    take_case_identifier,
    to_age_observations,
    to_patient,
    to_report_document,
    to_vital_status_observation,
    vital_from_patient,
)
from fhirconv.mapping.procedures import from_procedure, to_procedure_resources
from fhirconv.mapping.reading import Reader, Unmapped, drop_bookkeeping, has_code, text_of
from fhirconv.mapping.staging import (
    GROUP_KEYS,
    TNM_AXES,
    from_staging_group,
    from_tnm_category,
)
from fhirconv.mapping.tumors import (
    RECURRENCE_CODE,
    check_tumor_site,
    from_recurrence,
    from_size_observation,
    from_tumor,
)
from fhirconv.model.case import Case

BundleType = Literal["transaction", "collection"]
# One-agent therapies; a MedicationStatement may be part of a regimen and is read in place.
MEDICATION_READERS = {"MedicationRequest": from_request, "MedicationAdministration": from_administration}
# Observations the export names by text only (no confirmed code exists).
TEXT_KINDS = {
    AGE_CODE: "age",
    VITAL_CODE: "vital",
    RECURRENCE_CODE: "recurrence",
    IMAGING_FINDING: "finding",
}


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
    for resource in map(with_narrative, case_resources(case)):
        rtype, rid = resource["resourceType"], resource["id"]
        entry: JSON = {"fullUrl": full_url(rtype, rid), "resource": resource}
        if bundle_type == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{rtype}/{rid}"}
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": resource_id(case, "bundle"),
        "meta": {"source": report_url(case)},
        "type": bundle_type,
        "entry": entries,
    }


# --- the way back -------------------------------------------------------------------------


def case_from_resources(
    entries: list[tuple[str, JSON, str | None]],
    doi: str | None = None,
    files: tuple[str, ...] = (),
    source: str | None = None,
) -> tuple[Case, list[Unmapped]]:
    """The case a set of resources tells, and what of them could not be mapped.

    ``entries`` are (location, resource, fullUrl or None), in bundle order.  The
    resources are read from copies: each reader takes what it maps, and what is
    left is reported.  A case records where it comes from: fhirconv's own bundles
    say so in their report document; for others, ``doi`` names the publication,
    ``files`` the files read and ``source`` where they were fetched (else the
    ``meta.source`` the resources share).
    """
    reader = Reader()
    work = []
    originals: dict[int, JSON] = {}  # the copy's id() -> the resource as it came
    for loc, resource, url in entries:
        if not isinstance(resource.get("resourceType"), str):
            # Only unvalidated input gets here (validation refuses it): nothing says what it is.
            reader.report(loc, "unsupported", "not a resource: it has no resourceType string")
            continue
        if resource.get("resourceType") == "Condition" and not resource.get("code"):
            # Nothing in the case model is a condition without saying which.
            reader.report(f"{loc}.code", "missing code", "a Condition with no code is not imported")
            continue
        work_copy = copy_json(resource)
        drop_generated(work_copy)
        drop_bookkeeping(work_copy)
        work.append((loc, work_copy, url))
        originals[id(work_copy)] = resource
    _identify(work)
    patients = [(loc, r) for loc, r, _ in work if r.get("resourceType") == "Patient"]
    if not patients:
        raise MappingError("the bundle has no Patient: a case is about one patient")
    if len(patients) > 1:
        where = ", ".join(loc for loc, _ in patients)
        raise MappingError(f"the bundle has {len(patients)} Patients ({where}): a case is about one patient")
    patient_loc, patient = patients[0]
    documents = [(loc, r) for loc, r, _ in work if _is_report(r)]
    if documents:
        # fhirconv's own document says where the case comes from; it names a DOI or none.
        doi = None
        for identifier in documents[0][1].get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") == "https://doi.org":
                doi = identifier.get("value")
    if doi:
        reader.report_url = f"https://doi.org/{doi}"
        reader.case_id = case_id_from_patient(patient, reader.report_url)
    elif urn := own_case_urn(patient):
        reader.report_url, reader.case_id = urn, case_id_from_patient(patient, urn)
    reader.case_id = reader.case_id or _slug(str(patient.get("id", "case")))
    reader.report_url = reader.report_url or case_urn(reader.case_id)
    origin: JSON = {}
    if not documents:
        source = source or _shared_source(work)
        origin = {"doi": doi, "source": source, "files": list(files)}
        reader.origin_source = source
    for _, resource, url in work:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str):
            continue
        target = (rtype, reader.assign(rtype, rid))
        reader.targets[f"{rtype}/{rid}"] = target
        # NDJSON has no fullUrls: fhirconv's own are derived from type and id.
        reader.targets.setdefault(full_url(rtype, rid), target)
        if url:
            reader.targets[url] = target
    case = _assemble(reader, work, patient_loc, patient, documents, origin, originals)
    return case, reader.unmapped


def _shared_source(work: list[tuple[str, JSON, str | None]]) -> str | None:
    """The one ``meta.source`` the resources name (the system they come from), if there is one."""
    found = {
        meta.get("source")
        for _, resource, _ in work
        if isinstance(meta := resource.get("meta"), dict) and isinstance(meta.get("source"), str)
    }
    return found.pop() if len(found) == 1 else None


# A fullUrl's resource id: a UUID or OID URN, or the id of a RESTful URL (Type/id, maybe versioned).
_URL_ID = re.compile(
    r"^urn:(?:uuid|oid):(?P<urn>[A-Za-z0-9\-.]{1,64})$"
    r"|/[A-Z][A-Za-z]+/(?P<rest>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


def _identify(work: list[tuple[str, JSON, str | None]]) -> None:
    """Give every resource without an id one (on the working copy): the case model names facts by id.

    Document bundles and POST transactions identify entries by fullUrl alone.  The id comes
    from the fullUrl when it has one, else from the resource's content, so the same bundle
    always gives the same fact ids; identical resources are numbered apart.
    """
    given: set[tuple[str, str]] = set()
    for _, resource, url in work:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(rid, str) or not isinstance(rtype, str):
            continue
        match = _URL_ID.search(url or "")
        if match:
            rid = match["urn"] or match["rest"]
        else:
            content = json.dumps(resource, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            rid = f"{rtype.lower()[:20]}-{digest(content)}"
        candidate, number = rid, 2
        while (rtype, candidate) in given:
            candidate = f"{rid}-{number}"
            number += 1
        given.add((rtype, candidate))
        resource["id"] = candidate


def _is_report(resource: JSON) -> bool:
    kind = resource.get("type")
    return resource.get("resourceType") == "DocumentReference" and isinstance(kind, dict) and (
        kind.get("text") in (REPORT_TYPE, ORIGIN_TYPE)
    )


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:48]
    return slug or "case"


def _observation_kind(resource: JSON) -> str | None:
    code = resource.get("code")
    text = text_of(code)
    if text in TEXT_KINDS and not (isinstance(code, dict) and code.get("coding")):
        return TEXT_KINDS[text]
    if has_code(code, "size.tumor"):
        return "size"
    if any(has_code(code, key) for key in GROUP_KEYS):
        return "staging"
    if any(has_code(code, key) for key in TNM_AXES):
        return "tnm"
    if any(has_code(code, key) for key in MARKER_KEYS.values()):
        return "marker"
    if has_code(code, "disease_status.code"):
        return "status"
    return None


def _procedure_kind(resource: JSON) -> str:
    category = text_of(resource.get("category"))
    if category == IMAGING_STUDY:
        return "imaging"
    if category == "regimen":
        return "regimen"
    return "procedure"




def _code_words(concept: object) -> str:
    """' (system|code display)' of a concept's first coding, to say which kind it is."""
    if not isinstance(concept, dict):
        return ""
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            display = f" {coding['display']}" if coding.get("display") else ""
            return f" ({coding.get('system')}|{coding['code']}{display})"
    return f" ({concept['text']})" if concept.get("text") else ""


def _assemble(
    reader: Reader,
    work: list[tuple[str, JSON, str | None]],
    patient_loc: str,
    patient: JSON,
    documents: list[tuple[str, JSON]],
    origin: JSON,
    originals: dict[int, JSON] | None = None,
) -> Case:
    originals = originals or {}
    data: JSON = {"id": reader.case_id}
    take_case_identifier(patient, reader.report_url)
    data["patient"] = from_patient(reader, patient, patient_loc)
    title = None
    if documents:
        data["report"], title = from_report_document(reader, documents[0][1], documents[0][0])
    else:
        data["report"] = {key: value for key, value in origin.items() if value}
    data["title"] = title or f"Imported case {reader.case_id}"
    lists: dict[str, list[JSON]] = {key: [] for key in (
        "ages", "primaries", "metastases", "specimens", "tumor_markers", "imaging", "procedures",
        "therapies", "disease_status", "disagreements")}
    primaries: dict[str, JSON] = {}
    conditions: dict[str, JSON] = {}
    stagings: dict[str, tuple[str | None, JSON]] = {}
    members: dict[str, JSON] = {}  # T/N/M observation id -> axis, category, kind, date, focus
    groups: dict[str, str] = {}  # T/N/M observation id -> the stage group that has it as member
    studies: dict[str, JSON] = {}
    regimens: dict[str, JSON] = {}
    tumors: dict[str, str] = {}  # Tumor BodyStructure id -> the condition it stands for
    tumor_sites: list[tuple[str, str, JSON | None]] = []  # (location, condition, the Tumor's location)
    # (kind, owner, fragment, location) attached after all are read
    pending: list[tuple[str, str | None, JSON, str]] = []
    # Medications first: the therapies that name them may come earlier in the bundle.
    for loc, resource, _ in work:
        if resource.get("resourceType") == "Medication" and isinstance(resource.get("id"), str):
            agent = from_medication(reader, resource, loc)
            if agent is not None:
                reader.medications[reader.fact_id(resource)] = agent
            resource.pop("resourceType")
            resource.pop("id")
            reader.leftover(resource, loc, originals.get(id(resource)))
    for loc, resource, _ in work:
        rtype = resource.get("resourceType")
        if rtype is None:
            continue  # read above
        reader.foreign = not reader.is_own(resource)
        if isinstance(resource.get("id"), str):
            reader.where[reader.fact_id(resource)] = loc
        if resource is patient or (documents and resource is documents[0][1]):
            pass
        elif rtype == "Observation":
            kind = _observation_kind(resource)
            if kind == "age":
                age = from_age_observation(reader, resource, loc)
                if age is None:
                    continue  # reported as a whole
                lists["ages"].append(age)
            elif kind == "vital":
                data["vital_status"] = from_vital_status(reader, resource, loc)
            elif kind == "size":
                owner, size = from_size_observation(reader, resource, loc)
                pending.append(("size", owner, size, loc))
            elif kind == "staging":
                owner, staging, member_ids = from_staging_group(reader, resource, loc)
                stagings[staging["id"]] = (owner, staging)
                for member in member_ids:
                    groups[member] = staging["id"]
            elif kind == "tnm":
                found = from_tnm_category(reader, resource, loc)
                if found:
                    members[reader.fact_id(resource)] = found
                else:
                    reader.report(loc, "not mapped", "a TNM category the import could not read")
            elif kind == "recurrence":
                owner, recurrence = from_recurrence(reader, resource, loc)
                pending.append(("recurrence", owner, recurrence, loc))
            elif kind == "marker":
                marker = from_tumor_marker(reader, resource, loc)
                if marker:
                    lists["tumor_markers"].append(marker)
            elif kind == "finding":
                study, finding = from_imaging_finding(reader, resource, loc)
                pending.append(("finding", study, finding, loc))
            elif kind == "status":
                lists["disease_status"].append(from_disease_status(reader, resource, loc))
            else:
                what = "an Observation of a kind the case model does not hold"
                what += _code_words(resource.get("code"))
                reader.report(loc, "unsupported", what)
                continue
        elif rtype == "Condition":
            cancer = condition_kind(resource)
            if cancer is None:
                what = "a Condition the case model does not hold: no cancer by profile, histology or code"
                reader.report(loc, "unsupported", what)
                continue
            if cancer == "primary":
                primary = from_primary_condition(reader, resource, loc)
                primaries[primary["id"]] = primary
                conditions[primary["id"]] = primary
                lists["primaries"].append(primary)
            else:
                metastasis = from_secondary_condition(reader, resource, loc)
                conditions[metastasis["id"]] = metastasis
                lists["metastases"].append(metastasis)
        elif rtype == "BodyStructure" and (tumor_of := from_tumor(reader, resource, loc)):
            tumors[reader.fact_id(resource)] = tumor_of
            tumor_sites.append((loc, tumor_of, resource.pop("location", None)))
        elif rtype == "Specimen":
            lists["specimens"].append(from_specimen(reader, resource, loc))
        elif rtype == "Procedure":
            kind = _procedure_kind(resource)
            if kind == "imaging":
                imaging = from_imaging_study(reader, resource, loc)
                studies[imaging["id"]] = imaging
                lists["imaging"].append(imaging)
            elif kind == "regimen":
                regimen = from_regimen(reader, resource, loc)
                regimen["_agents"] = []
                regimens[regimen["id"]] = regimen
                lists["therapies"].append(regimen)
            else:
                lists["procedures"].append(from_procedure(reader, resource, loc))
        elif rtype == "MedicationStatement" or rtype in MEDICATION_READERS:
            mark = len(reader.unmapped)
            try:
                if rtype == "MedicationStatement":
                    part_of, therapy, agent = from_statement(reader, resource, loc)
                    # Joined to its regimen once all are read: the regimen may come later.
                    therapy["agents"], therapy["_part_of"] = [agent], part_of
                    lists["therapies"].append(therapy)
                else:
                    lists["therapies"].append(MEDICATION_READERS[str(rtype)](reader, resource, loc))
            except EnteredInError:
                reader.report(loc, "entered in error", f"a {rtype} entered in error states no fact")
                continue
            except NoAgent as missing:
                # The resource is left out whole: only what says why its agent is unreadable stays.
                reader.unmapped[mark:] = [
                    u for u in reader.unmapped[mark:] if u.location.startswith(missing.location + ".")
                ]
                what = f"the {rtype} is not imported: {missing.why}, and a therapy names what was given"
                reader.report(missing.location, "no agent", what)
                continue
        elif rtype == "DetectedIssue":
            disagreement = from_disagreement(reader, resource, loc)
            if disagreement:
                lists["disagreements"].append(disagreement)
            continue
        else:
            reader.report(loc, "unsupported", f"resource type {rtype} is not part of the case model")
            continue
        resource.pop("resourceType", None)
        resource.pop("id", None)
        reader.leftover(resource, loc, originals.get(id(resource)))
    pending = [(kind, tumors.get(owner or "", owner), fragment, at) for kind, owner, fragment, at in pending]
    attach(reader, lists, primaries, conditions, stagings, members, groups, studies, regimens, pending)
    vital_from_patient(reader, data, patient_loc)
    for at, owner, location in tumor_sites:
        if owner in conditions:
            check_tumor_site(reader, location, at, conditions[owner])
    for key, items in lists.items():
        if items:
            data[key] = items
    return make_case(reader, data)
