"""The fragments the import reads on their own, joined to the facts they belong to once the
whole bundle is read: stage groups and their T, N and M categories to primary cancers, sizes,
recurrences and imaging findings to their owners, regimen statements to their regimen.  What
belongs to no fact of the bundle is reported."""

from __future__ import annotations

import json

from fhirconv.mapping.common import JSON
from fhirconv.mapping.reading import Reader
from fhirconv.mapping.staging import PATHOLOGICAL_PREFIXES

_OWNERS = {"size": "condition or tumour", "recurrence": "primary cancer", "finding": "imaging study"}


def _same_as_first(reader: Reader, statement: JSON, first: JSON) -> None:
    """A regimen holds one period, status, intent, ... for all its agents, and takes them from its
    first statement: what another statement says otherwise is listed, not dropped."""
    for key in sorted(set(statement) | set(first)):
        if key in ("id", "sources") or statement.get(key) == first.get(key):
            continue
        said, kept = (json.dumps(v, ensure_ascii=False) for v in (statement.get(key), first.get(key)))
        reader.report(
            reader.where.get(statement["id"]) or str(statement["id"]),
            "not mapped",
            f"{key} {said} is not the regimen's ({kept}, from its first agent): "
            "the case model holds one for all the agents of a regimen",
        )


def _staging_kind(staging: JSON) -> str:
    return "p" if staging.get("prefix") in PATHOLOGICAL_PREFIXES else "c"


def attach(
    reader: Reader,
    lists: dict[str, list[JSON]],
    primaries: dict[str, JSON],
    conditions: dict[str, JSON],
    stagings: dict[str, tuple[str | None, JSON]],
    members: dict[str, JSON],
    groups: dict[str, str],
    studies: dict[str, JSON],
    regimens: dict[str, JSON],
    pending: list[tuple[str, str | None, JSON, str]],
) -> None:
    for primary in primaries.values():
        primary["staging"], primary["recurrences"], primary["sizes"] = [], [], []
    for metastasis in lists["metastases"]:
        metastasis["sizes"] = []
    for staging_id, (owner, staging) in stagings.items():
        staged = primaries.get(owner or "")
        if staged is None:
            reader.report(reader.where[staging_id], "not mapped", "a stage group of no primary cancer")
            continue
        summary = staged.get("_stages", {}).get(staging_id)
        value = staging.pop("_group", None)
        if summary and value and summary != value:
            reader.report(
                f"{reader.where[str(owner)]}.stage",
                "conflicting facts",
                f"stage summary {summary} but its assessment Observation/{staging_id} says {value}: "
                f"kept {value}",
            )
        if value or summary:
            staging["stage_group"] = value or summary
        staged["staging"].append(staging)
    orphans = []
    for member_id, member in members.items():
        group = groups.get(member_id)
        if group in stagings:
            stagings[group][1][member["axis"]] = member["category"]
        else:
            orphans.append((member_id, member))
    for member_id, member in orphans:
        # Another producer's category no stage group lists: it belongs to the one stage group
        # of the same kind, date and (if it says) primary that lacks this axis.
        fits = [
            staging
            for owner, staging in stagings.values()
            if _staging_kind(staging) == member["kind"]
            and staging.get("date") == member["date"]
            and member["focus"] in (None, owner)
            and member["axis"] not in staging
        ]
        if len(fits) == 1:
            fits[0][member["axis"]] = member["category"]
        else:
            why = "no stage group has" if not fits else f"{len(fits)} stage groups could have"
            reader.report(reader.where[member_id], "not mapped", f"a TNM category {why}")
    for kind, owner, fragment, at in pending:
        if kind == "size" and owner in conditions:
            conditions[owner]["sizes"].append(fragment)
        elif kind == "recurrence" and owner in primaries:
            primaries[owner]["recurrences"].append(fragment)
        elif kind == "finding" and owner in studies:
            date, study_date = fragment.pop("_date", None), studies[owner].get("date")
            if date is not None and date != study_date:
                reader.report(
                    f"{at}.effective[x]",
                    "not mapped",
                    f"the finding's date {date} is not its study's ({study_date or 'none'}): "
                    "the case model dates a finding by its study",
                )
            studies[owner]["findings"].append(fragment)
        else:
            fragment.pop("_date", None)
            reader.report(at, "not mapped", f"a {kind} that names no {_OWNERS[kind]} of the bundle")
    for therapy in lists["therapies"]:
        part_of = therapy.pop("_part_of", None)
        if part_of in regimens:
            regimens[part_of]["_agents"].append((therapy, therapy.pop("agents")[0]))
    for regimen in regimens.values():
        agents = regimen.pop("_agents")
        if not agents:
            continue
        first = agents[0][0]
        regimen.update({k: v for k, v in first.items() if k != "id"})
        regimen["agents"] = [agent for _, agent in agents]
        for other, _ in agents[1:]:
            _same_as_first(reader, other, first)
    lists["therapies"] = [t for t in lists["therapies"] if "agents" in t]
    for item in [*conditions.values(), *studies.values()]:
        for key in ("sizes", "findings", "staging", "recurrences"):
            if key in item and not item[key]:
                del item[key]
        item.pop("_stages", None)
