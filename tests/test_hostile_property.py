"""Property: whatever damage is done to a real resource, validate and import answer with exit
0, 1 or 2 (2 with one ``Error:`` line naming the file), print UTF-8, and never fail internally.

Real resources come from the official packages the tests install (R4 examples, IPS 2.0.0,
mCODE 4.0.0 examples) and fhirconv's own bundles.  Damage: keys deleted, values swapped for
another JSON type, arrays where objects belong and the reverse, huge numbers, odd Unicode (lone
surrogates, NUL, U+FFFF, right-to-left marks), impossible dateTimes (hour 24 and 25), deep
nesting, and text cut short.  A resource from a file without a Patient is imported together
with one, so that what validation lets through reaches the mapping.  CI runs a fixed sequence;
set FHIRCONV_FUZZ_EXAMPLES to explore more
(``FHIRCONV_FUZZ_EXAMPLES=3000 pytest --hypothesis-seed=9 tests/test_hostile_property.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.answers import check, run

EXAMPLES = int(os.environ.get("FHIRCONV_FUZZ_EXAMPLES", "40"))
DERANDOMIZE = os.environ.get("CI") == "true"
ROOT = Path(__file__).resolve().parent.parent
# Small files keep an example fast; damage to a 3 MB CodeSystem finds nothing more.
MAX_BYTES = 60_000

HUGE = ["9" * 5000, "9" * 4000, "1e999", "-1e400", "18446744073709551616", "1e-400"]
ODD = ["\ud800", "a\udc00b", "\x00", "\uffff", "\u202e", "", " ", "\U0001f600", "\\"]
# Most damage leaves the JSON readable, so that the layers and the import are reached.
HOW = ["delete", "delete", "delete", "type", "wrap", "unwrap", "odd", "odd", "date", "huge", "deep"]
DATES = ["2020-07-21T24:00:00Z", "2020-07-21T25:61:00+14:00", "2019-02-30", "0000-00-00", "2020-13"]


_CORPUS: dict[str, list[tuple[str, Any]]] = {}


def _corpus(fhir_package: Any, pool: str) -> list[tuple[str, Any]]:
    """Real resources: ``any`` small file, or ``patient``: bundles about one patient, which the
    import reads deeply (fhirconv's golden bundles, the mCODE and IPS patient bundles)."""
    if not _CORPUS:
        files = []
        for name, folder in (
            ("hl7.fhir.r4.examples", ""),
            ("hl7.fhir.uv.ips", "example"),
            ("hl7.fhir.us.mcode", "example"),
        ):
            found = sorted((fhir_package(name) / folder).glob("*.json"))
            files += [f for f in found if f.name != "package.json"]
        patients = sorted((ROOT / "examples").glob("*.bundle.json"))
        for path in files:
            text = path.read_text(encoding="utf-8")
            if path.name.startswith("Bundle-") and text.count('"resourceType": "Patient"') + text.count(
                '"resourceType":"Patient"'
            ) == 1:
                patients.append(path)
            if len(text) <= MAX_BYTES:
                _CORPUS.setdefault("any", []).append((path.name, json.loads(text)))
        _CORPUS["patient"] = [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in patients]
    return _CORPUS[pool]


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document (without recursion: damage may nest deeply)."""
    out, stack = [], [(value, path)]
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


class _Raw(str):
    """A number written as it is (huge ones that Python's own writer refuses)."""


def _damage(data: st.DataObject, document: Any) -> Any:
    deepened = False
    for _ in range(data.draw(st.integers(1, 3), label="damages")):
        places = _places(document)
        if not places:
            break
        path = data.draw(st.sampled_from(places), label="where")
        parent, key = _get(document, path[:-1]), path[-1]
        current = parent[key]
        how = data.draw(st.sampled_from(HOW), label="how")
        if how == "delete":
            del parent[key]
        elif how == "type":
            parent[key] = data.draw(st.sampled_from([1, -1, 1.5, True, None, "x", {}, [], {"a": 1}, [1]]))
        elif how == "wrap":
            parent[key] = [current]
        elif how == "unwrap":
            if isinstance(current, list):
                parent[key] = current[0] if current else {}
            elif isinstance(current, dict):
                parent[key] = list(current.values())
        elif how == "huge":
            parent[key] = _Raw(data.draw(st.sampled_from(HUGE)))
        elif how == "odd":
            odd = data.draw(st.sampled_from(ODD))
            parent[key] = current + odd if isinstance(current, str) else odd
        elif how == "date":
            parent[key] = data.draw(st.sampled_from(DATES))
        elif not deepened:
            # Once: deep damage inside deep damage only makes the test's own writer recurse past
            # its limit (3,000 levels already are 30 times what is read).
            deepened = True
            for _ in range(data.draw(st.sampled_from([60, 200, 1500]))):
                current = {"extension": [current]}
            parent[key] = current
    return document


def _write(document: Any, ascii_only: bool) -> str:
    """JSON text, huge numbers as written, lone surrogates as \\u escapes or raw (then invalid UTF-8)."""
    marks: dict[str, str] = {}

    def default(value: Any) -> Any:
        raise TypeError(value)

    def swap(value: Any) -> Any:
        if isinstance(value, _Raw):
            mark = f"@@raw{len(marks)}@@"
            marks[mark] = str(value)
            return mark
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # the deep damage: 1500 levels of object and array
    try:
        text = json.dumps(swap(document), ensure_ascii=ascii_only, default=default)
    finally:
        sys.setrecursionlimit(limit)
    for mark, raw in marks.items():
        text = text.replace(f'"{mark}"', raw)
    return text


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_damaged_real_resources_never_fail_internally(fhir_package, tmp_path_factory, data):
    pool = data.draw(st.sampled_from(["any", "patient"]), label="pool")
    name, original = data.draw(st.sampled_from(_corpus(fhir_package, pool)), label="resource")
    document = _damage(data, json.loads(json.dumps(original)))
    text = _write(document, ascii_only=data.draw(st.booleans(), label="ascii"))
    if data.draw(st.integers(0, 9), label="cut") == 0:
        text = text[: data.draw(st.integers(0, len(text)), label="at")]
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    # A resource about a patient the file does not hold is imported with one, so that the damage
    # reaches the mapping (alone, the import stops at "no Patient").
    inputs = [str(path)]
    if '"resourceType": "Patient"' not in json.dumps(original):
        patient = folder / "patient.json"
        patient.write_text(json.dumps({"resourceType": "Patient", "id": "fuzz", "gender": "female"}))
        inputs.insert(0, str(patient))
    for args in (
        ("validate", str(path)),
        ("validate", "--format", "json", str(path)),
        ("validate", "--format", "operationoutcome", str(path)),
        ("import", *inputs, "-o", str(path.with_suffix(".yaml"))),
        ("import", "--lenient", *inputs, "-o", str(path.with_suffix(".yaml"))),
    ):
        code, out, err = run(*args)
        event(f"{args[0]} exit {code}")  # --hypothesis-show-statistics shows how deep damage got
        check(code, out, err, path)


def test_a_hundred_thousand_levels_deep_import_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.json"
    # Four levels open before the extension's brackets: the 97th of them is the 101st level.
    start = '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
    start += '{"resourceType": "Basic", "extension": '
    path.write_text(start + "[" * 100_000 + "]" * 100_000 + "}}]}")
    code, _, err = run("import", str(path))
    where = f"{path}:1:{len(start) + 97}"
    why = "nested more than 100 levels deep (FHIR needs a few dozen)"
    assert (code, err) == (2, f"Error: {where}: not valid JSON: {why}\n")
