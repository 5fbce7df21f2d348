"""Never drop a fact silently: every value of fhirconv's own bundles, changed in turn, either
changes the imported case or is listed as not mapped (or the bundle is refused).

A value the import takes and then throws away is a fact lost without a word whenever another
producer's bundle says something else there; this sweep found such places (imaging sites
and dates, a primary's verification, units of sizes and ages, a Patient's death, a regimen's
agents, therapy categories).  What remains below in ``DERIVED`` is written by the export from
other facts of the case and is read back from those facts, each with the reason.

CI changes every twelfth value of each bundle; all of them (about 4,000 imports, two minutes on
one core) with ``FHIRCONV_SILENT=all pytest tests/mapping/test_no_silent_loss.py``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import FhirconvError
from fhirconv.importing.reader import import_entries, read_entries

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WHOLE = os.environ.get("FHIRCONV_SILENT") == "all"
STEP_IN_CI = 12


def _regimen(resource: dict[str, Any], bundle: dict[str, Any]) -> bool:
    """A Procedure that MedicationStatements are part of: the regimen they make up."""
    names = {f"Procedure/{resource.get('id')}"} | {
        entry["fullUrl"] for entry in bundle["entry"] if entry["resource"] is resource
    }
    return any(
        part.get("reference") in names
        for entry in bundle["entry"]
        for part in entry["resource"].get("partOf", [])
        if entry["resource"]["resourceType"] == "MedicationStatement"
    )


Allowed = Callable[[str, str, dict[str, Any], dict[str, Any]], bool]
DERIVED: dict[str, Allowed] = {
    # A code says what a concept is; its display is words for it (validate's terminology layer
    # checks displays against the table).
    "displays": lambda rtype, path, res, bundle: path.endswith(".display"),
    # The UCUM code says the unit; ``unit`` is its words.
    "a quantity's unit words": lambda rtype, path, res, bundle: path.endswith("valueQuantity.unit"),
    # The mCODE Tumor stands for the cancer it is a tumour of: its identifier is written from
    # that Condition's id, and its location's words from the Condition's site (its codes are
    # compared with the Condition's).
    "the tumour's identity and site words": lambda rtype, path, res, bundle: rtype == "BodyStructure"
    and (path.startswith("identifier") or path == "location.text"),
    # The stage summary's coding is derived from its text, which is checked against the stage
    # group it summarises.
    "the coded stage summary": lambda rtype, path, res, bundle: rtype == "Condition"
    and path.startswith("stage.[].summary.coding"),
    # A disagreement's detail and evidence words are written from its fields (what the text and
    # the figure say), which are read from the DetectedIssue's structured parts.
    "a disagreement's sentence": lambda rtype, path, res, bundle: rtype == "DetectedIssue"
    and path in ("detail", "status", "evidence.[].code.[].text"),
    # A regimen's Procedure is written from its MedicationStatements, which are read instead.
    "a regimen's summary": lambda rtype, path, res, bundle: rtype == "Procedure"
    and _regimen(res, bundle)
    and path.startswith(("code", "performedPeriod", "status", "statusReason")),
    # The name is withheld (data-absent-reason "masked"): a case report names no person.
    "the withheld name": lambda rtype, path, res, bundle: rtype == "Patient"
    and path == "name.[].extension.[].valueCode",
}


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path, value


def _changed(value: Any) -> Any:
    """Another value of the same kind: a year earlier for dates, more for numbers, else a letter more."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if re.match(r"^\d{4}(-|$)", value):
        return f"{int(value[:4]) - 1:04d}{value[4:]}"
    return value + "Z"


def _import(bundle: dict[str, Any]) -> Any:
    return import_entries(read_entries(json.dumps(bundle).encode(), "bundle.json"))


def _places(bundle: dict[str, Any]) -> list[tuple[int, tuple[Any, ...]]]:
    places = [
        (index, path)
        for index, entry in enumerate(bundle["entry"])
        for path, _ in _leaves(entry["resource"])
        if path[0] not in ("id", "meta", "text")  # identity, provenance, generated narrative
    ]
    return places if WHOLE else places[::STEP_IN_CI]


@pytest.mark.parametrize("name", ["case1", "case2"])
def test_every_value_changed_changes_the_case_or_is_listed(name: str) -> None:
    bundle = json.loads((EXAMPLES / f"{name}.bundle.json").read_text())
    before = _import(bundle)
    assert before.unmapped == []
    silent = []
    for index, path in _places(bundle):
        resource = bundle["entry"][index]["resource"]
        words = ".".join("[]" if isinstance(p, int) else str(p) for p in path)
        if any(allowed(resource["resourceType"], words, resource, bundle) for allowed in DERIVED.values()):
            continue
        changed = copy.deepcopy(bundle)
        holder = changed["entry"][index]["resource"]
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = _changed(holder[path[-1]])
        try:
            after = _import(changed)
        except FhirconvError:
            continue  # refused, with a message: not silent
        if after.unmapped == [] and after.case == before.case:
            silent.append(f"Bundle.entry[{index}].resource.{words}")
    assert silent == []
