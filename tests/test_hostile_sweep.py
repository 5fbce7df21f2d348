"""Exhaustive damage: every place of a few real bundles in turn, five ways (wrapped in an array,
an object, a number or a string put there, deleted); validate and a lenient import must answer
without a layer failing or an internal error.

Where the fuzz test (tests/test_hostile_property.py) draws damage at random, this one walks
every place, so a value of another JSON type reaches every element the layers and the import
read.  CI runs a fixed slice (a few places of each bundle, one damage each); the whole sweep
(32,715 damaged bundles, about 40 minutes on 2 cores) runs with
``FHIRCONV_SWEEP=all pytest tests/test_hostile_sweep.py``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import FhirconvError
from fhirconv.importing.reader import import_entries, read_entries
from fhirconv.validation import validate_bytes

ROOT = Path(__file__).resolve().parent.parent
WHOLE = os.environ.get("FHIRCONV_SWEEP") == "all"
PLACES_IN_CI = 15
BUNDLES = {
    "fhirconv case1": (None, ROOT / "examples" / "case1.bundle.json"),
    "mCODE Jenny M": ("hl7.fhir.us.mcode", "example/Bundle-mcode-patient-bundle-jenny-m.json"),
    "R4 Bundle-father": ("hl7.fhir.r4.examples", "Bundle-father.json"),
    "R4 nested searchset": ("hl7.fhir.r4.examples", "Bundle-bundle-response-simplesummary.json"),
}


def _set(value: Any) -> Callable[[dict[Any, Any] | list[Any], Any], None]:
    def damage(parent: dict[Any, Any] | list[Any], key: Any) -> None:
        parent[key] = copy.deepcopy(value)

    return damage


def _wrap(parent: Any, key: Any) -> None:
    parent[key] = [parent[key]]


def _delete(parent: Any, key: Any) -> None:
    del parent[key]


DAMAGES: dict[str, Callable[[Any, Any], None]] = {
    "wrap": _wrap,
    "object": _set({"a": 1}),
    "number": _set(1),
    "string": _set("x"),
    "delete": _delete,
}


def _places(value: Any) -> list[tuple[Any, ...]]:
    out, stack = [], [(value, ())]
    while stack:
        item, here = stack.pop()
        if here:
            out.append(here)
        if isinstance(item, dict):
            stack.extend((v, (*here, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*here, i)) for i, v in enumerate(item))
    return sorted(out, key=repr)


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@pytest.mark.parametrize("name", list(BUNDLES))
def test_every_place_damaged_in_turn(fhir_package, name):
    package, where = BUNDLES[name]
    path = Path(where) if package is None else fhir_package(package) / where
    original = json.loads(path.read_text(encoding="utf-8"))
    places = _places(original)
    if WHOLE:
        work = [(place, how) for place in places for how in DAMAGES]
    else:
        chosen = places[:: max(1, len(places) // PLACES_IN_CI)]
        work = [(place, list(DAMAGES)[i % len(DAMAGES)]) for i, place in enumerate(chosen)]
    failures = []
    for place, how in work:
        document = copy.deepcopy(original)
        DAMAGES[how](_get(document, place[:-1]), place[-1])
        data = json.dumps(document).encode()
        internal = [i.message for i in validate_bytes(data, source="s.json") if i.rule.endswith("-internal")]
        if internal:
            failures.append((place, how, internal[0]))
        problems: list[Any] = []
        try:
            import_entries(read_entries(data, "s.json", problems=problems), problems=problems)
        except FhirconvError:
            pass  # refused with a message: an answer
        except Exception as err:  # what the test looks for: any other failure
            failures.append((place, how, f"import: {type(err).__name__}: {err}"))
    assert failures == [], failures[:5]
