"""The reference-findings corpus: fixed inputs whose full issue lists are stored and compared.

Validation gets faster by taking shortcuts (orjson before the positional parser, a compiled
schema validator before python jsonschema, ...); a shortcut must never change a finding.
This corpus fixes what "the findings" are: every official R4 example, every official mCODE
STU4 example, fhirconv's golden bundles, the mutation catalogue's inputs and a fixed set
of hostile inputs (broken bytes, odd JSON, random damage to real resources), each with the
full list of issues fhirconv reports for it, stored in ``data/reference-findings.json``.

A change that alters findings on purpose (a new check, a false alarm removed, a reworded
message) regenerates the file and shows the change in review:

    python -m tests.validation.reference_findings      # rewrite the stored findings
    git diff tests/validation/data/reference-findings.json

The file is written by the reference paths (every fast path off); the test holds the
normal run to it.  A speed change must leave the file as it is.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STORED = HERE / "data" / "reference-findings.json"
REGENERATE = "python -m tests.validation.reference_findings"
R4_EXAMPLES = HERE / "data" / "r4-examples"
MCODE_EXAMPLES = ROOT / "tests" / "data" / "mcode-examples"
GOLDEN = [ROOT / "examples" / "case1.bundle.json", ROOT / "examples" / "case2.bundle.json"]

# name -> (bytes, source name the validator is given: .json or .ndjson)
Item = tuple[str, bytes, str]

# Hostile bytes and odd JSON, each a case a fast parser might treat differently from the
# positional one: duplicate keys (also with whitespace before the colon), NaN and
# Infinity, numbers past 64 bits or past float range, lone surrogates, control
# characters, byte order marks, truncated UTF-8, deep nesting, trailing data.
FIXED_HOSTILE: list[bytes] = [
    b"",
    b"   \n",
    b"{",
    b"[]",
    b"null",
    b'"Patient"',
    b"{}",
    b'{"resourceType": "Patient", "id": "a", "id": "b"}',
    b'{"resourceType": "Patient", "id" : "a", "id"\n: "b"}',
    b'{"resourceType": "Patient", "name": [{"family": "A", "family": "B"}], "name": []}',
    b'{"resourceType": "Patient", "note": "x\\": y", "id": "a"}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": NaN}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": Infinity}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": -Infinity}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 123456789012345678901234567890}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 18446744073709551616}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": -9223372036854775809}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 1e400}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": -1e-400}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 1E2}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": -0}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 0.1000000000000000055511151231257827}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 01}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": .5}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": 1.}}',
    b'{"resourceType": "Observation", "valueQuantity": {"value": +1}}',
    b'{"resourceType": "Patient", "id": "\\ud800"}',
    b'{"resourceType": "Patient", "id": "\\udc00\\ud800"}',
    b'{"resourceType": "Patient", "id": "\\ud83d\\ude00"}',
    b'{"resourceType": "Patient", "id": "a\tb"}',
    b'{"resourceType": "Patient", "id": "a\x00b"}',
    b'{"resourceType": "Patient", "id": "a\\u0000b"}',
    b'{"resourceType": "Patient", "gender": "male\\n"}',
    b'{"resourceType": "Patient", "birthDate": "2020-01-01\\n"}',
    b'{"resourceType": "Patient", "id": "a\\u00a0b", "gender": "male\\u00a0"}',
    b'{"resourceType": "Patient", "name": [{"text": "\\u2003"}]}',
    b'\xef\xbb\xbf{"resourceType": "Patient"}',
    b'\xff\xfe{\x00"\x00}\x00',
    b'{"resourceType": "Patient", "id": "\xc0\xaf"}',
    b'{"resourceType": "Patient", "id": "\xe2\x82"}',
    b'{"resourceType": "Patient", "id": "\xed\xa0\x80"}',
    b'{"resourceType": "Patient"} x',
    b'{"resourceType": "Patient",}',
    b"{'resourceType': 'Patient'}",
    b'{"resourceType": "Patient" /* note */}',
    b'{"resourceType":\x0c"Patient"}',
    b'{"resourceType":\xc2\xa0"Patient"}',
    b'{"resourceType": "Patient", "": 1}',
    b'{"resourceType": "Patient", "\\u0069d": "a", "id": "b"}',
    b'{"resourceType": "Patient", "active": tru}',
    b'{"resourceType": "Patient", "active": True}',
    b'{"resourceType": "Patient", "extension": [[{"url": "http://x"}]], "name": [null]}',
    b'{"resourceType": "Patient", "name": [{"given": ["a", null], "_given": [null, {"id": "x"}]}]}',
    b'{"resourceType": "Patient", "contained": [{"resourceType": "Patient", "id": "a", "id": "a"}]}',
    b'{"resourceType": "Bundle", "type": "collection", '
    b'"entry": [{"resource": {"resourceType": "Nonsense"}}]}',
    b'{"resourceType": "Parameters", "parameter": [{"name": "p", "part": [{"name": "q", "resource": '
    b'{"resourceType": "Patient", "gender": "x"}}]}]}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"resourceType": "Patient", "text": {"status": "generated", "div": "' + b"x" * 100_000 + b'"}}',
]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _files(folder: Path, prefix: str) -> Iterator[Item]:
    for path in sorted(folder.glob("*.json")):
        yield f"{prefix}/{path.name}", path.read_bytes(), path.name


def _mutations() -> Iterator[Item]:
    from tests.validation.conftest import example
    from tests.validation.test_mutations import CATALOGUE

    for name, mutate, *_ in CATALOGUE:
        resource = example(name)
        mutate(resource)
        yield f"mutation/{mutate.__name__}", _json(resource), f"{name}.json"


_SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**70,
    "",
    " ",
    "x",
    "2019-02-30",
    "2020-01-01T25:00:00Z",
    "\u00a0",
    "urn:uuid:0",
    "#",
    "http://loinc.org",
    "Patient/1",
]
_KEYS = [
    "id",
    "meta",
    "code",
    "status",
    "subject",
    "reference",
    "extension",
    "url",
    "valueString",
    "valueBoolean",
    "coding",
    "system",
    "display",
    "contained",
    "resourceType",
    "value",
    "component",
    "_status",
    "text",
    "div",
    "profile",
    "effectivePeriod",
    "start",
    "end",
    "colour",
]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.5:
        return rng.choice(_SCALARS)
    if roll < 0.7:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 3))]
    return {rng.choice(_KEYS): _random_value(rng, depth + 1) for _ in range(rng.randrange(0, 3))}


def _places(node: Any) -> list[Any]:
    """Every dict and list inside ``node`` (its own place included)."""
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            if isinstance(value, dict | list):
                found.extend(_places(value))
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                found.extend(_places(value))
    return found


def _damaged(rng: random.Random, resource: dict[str, Any]) -> dict[str, Any]:
    """A real resource with a few random elements replaced, added or removed."""
    damaged = copy.deepcopy(resource)
    for _ in range(rng.randrange(1, 4)):
        place = rng.choice(_places(damaged))
        if isinstance(place, dict):
            if place and rng.random() < 0.3:
                del place[rng.choice(sorted(place))]
            else:
                place[rng.choice([*_KEYS, *place])] = _random_value(rng)
        elif place:
            place[rng.randrange(len(place))] = _random_value(rng)
    return damaged


# Damage the schema lets through and only the structure layer (the R4B models) judges.
_CHOICES: list[tuple[str, Any]] = [
    ("valueBoolean", True),
    ("valueString", "x"),
    ("valueInteger", 2),
    ("effectiveDateTime", "2020"),
    ("onsetString", "x"),
    ("deceasedBoolean", False),
    ("multipleBirthInteger", 2),
    ("medicationReference", {"reference": "Medication/x"}),
    ("occurrenceDateTime", "2020"),
    ("performedString", "x"),
]
_NUMBERS: list[Any] = [0, -1, 1.5, 2.0, 2**31, 2**31 - 1, -(2**31) - 1]


def structural_damage(rng: random.Random, resource: dict[str, Any]) -> dict[str, Any]:
    """A real resource with one damage the JSON schema allows: a key dropped (required
    elements go missing), a second type for a choice, an integer out of its range or a
    fraction, a final line break, a value given by its extensions only, an empty ``_name``."""
    damaged = copy.deepcopy(resource)
    objects = [p for p in _places(damaged) if isinstance(p, dict) and p]
    place = rng.choice(objects)
    keys = sorted(k for k in place if k != "resourceType")
    kind = rng.randrange(6)
    if kind == 0 and keys:
        del place[rng.choice(keys)]
    elif kind == 1:
        key, value = rng.choice(_CHOICES)
        place[key] = value
    elif kind == 2:
        numbers = [o for o in objects if any(type(v) is int for v in o.values())]
        if numbers:
            target = rng.choice(numbers)
            key = rng.choice(sorted(k for k, v in target.items() if type(v) is int))
            target[key] = rng.choice(_NUMBERS)
    elif kind == 3:
        texts = [(o, k) for o in objects for k, v in o.items() if isinstance(v, str) and k != "resourceType"]
        if texts:
            target, key = rng.choice(texts)
            target[key] += "\n"
    elif kind == 4:
        primitives = [k for k in keys if isinstance(place[k], str | int | float | bool)]
        if primitives:
            key = rng.choice(primitives)
            del place[key]
            place["_" + key] = rng.choice(
                [{"extension": [{"url": "http://example.org/x", "valueString": "y"}]}, {"id": "a"}, {}]
            )
    elif keys:
        place["_" + rng.choice(keys)] = {}
    return damaged


def _hostile() -> Iterator[Item]:
    for index, data in enumerate(FIXED_HOSTILE):
        yield f"hostile/fixed-{index:02d}", data, "hostile.json"
    rng = random.Random(13)
    sources = sorted(MCODE_EXAMPLES.glob("*.json"))[::6] + sorted(R4_EXAMPLES.glob("*.json"))[::12]
    for index in range(150):
        resource = json.loads(rng.choice(sources).read_bytes())
        yield f"hostile/damaged-{index:03d}", _json(_damaged(rng, resource)), "damaged.json"
    for index in range(120):
        resource = json.loads(rng.choice(sources).read_bytes())
        yield f"hostile/structure-{index:03d}", _json(structural_damage(rng, resource)), "structure.json"
    for index in range(40):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        yield f"hostile/bytes-{index:02d}", data, "bytes.json"
    lines = [path.read_bytes().replace(b"\n", b" ") for path in sorted(MCODE_EXAMPLES.glob("*.json"))[:20]]
    lines[3] = lines[3][:40]
    lines[7] = b""
    lines[11] = b'{"resourceType": "Patient", "id": "a", "id": "b"}'
    yield "hostile/lines.ndjson", b"\n".join(lines) + b"\n", "lines.ndjson"


def corpus() -> list[Item]:
    """Every input of the reference run, in a fixed order."""
    items: list[Item] = []
    items += _files(R4_EXAMPLES, "r4")
    items += _files(MCODE_EXAMPLES, "mcode")
    items += ((f"golden/{p.name}", p.read_bytes(), p.name) for p in GOLDEN)
    items += _mutations()
    items += _hostile()
    return items


def findings(items: list[Item]) -> dict[str, list[dict[str, Any]]]:
    """The full issue list of every item, as the JSON the report would show."""
    from fhirconv.validation import validate_bytes

    return {name: [i.as_dict() for i in validate_bytes(data, source=source)] for name, data, source in items}


def dumps(found: dict[str, list[dict[str, Any]]]) -> str:
    """One issue a line, so that a change in findings reads as a small diff."""
    out = ["{"]
    names = sorted(found)
    for n, name in enumerate(names):
        issues = found[name]
        comma = "," if n + 1 < len(names) else ""
        if not issues:
            out.append(f"  {json.dumps(name)}: []{comma}")
            continue
        out.append(f"  {json.dumps(name)}: [")
        for k, issue in enumerate(issues):
            tail = "," if k + 1 < len(issues) else ""
            out.append(f"    {json.dumps(issue, ensure_ascii=False, sort_keys=True)}{tail}")
        out.append(f"  ]{comma}")
    out.append("}")
    return "\n".join(out) + "\n"


def main() -> None:
    from fhirconv.validation import fastpaths

    # The stored run is the reference paths' run, so that the fast paths are held to it.
    with fastpaths.reference_only():
        found = findings(corpus())
    STORED.write_text(dumps(found), encoding="utf-8")
    total = sum(len(v) for v in found.values())
    where = STORED.relative_to(ROOT)
    print(f"{where}: {len(found)} inputs, {total} issues; review with git diff", file=sys.stderr)


if __name__ == "__main__":
    main()
