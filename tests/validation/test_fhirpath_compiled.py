"""The compiled invariants give fhirpathpy's verdicts.

Every invariant the validator evaluates on the test corpus (the core's, mCODE's and the
core profiles' constraints, on the official R4 and mCODE examples) is evaluated both
ways on the element it met, and again on that element damaged where the expression
looks: each name it mentions removed, emptied, given odd JSON, doubled by a ``_name``
twin or given as a choice of another type.  The compiled form must say what fhirpathpy
says, or say it is unsure (then fhirpathpy is asked in production).
"""

import copy
import json
import random
import re
from decimal import Decimal

import pytest

from fhirconv.validation import fhirpath, fhirpath_compiled, validate_bytes
from fhirconv.validation.fhirpath_compiled import Unsure, compile_expression
from tests.validation.reference_findings import GOLDEN, MCODE_EXAMPLES, R4_EXAMPLES

RAISES = "raises"


def reference(expression, value, base, resource, root):
    try:
        result = fhirpath.evaluate(expression, value, base, resource, root)
    except Exception:
        return RAISES
    return not (result == [False] or result == [])


def compiled(expression, value, base, resource, root):
    verdict = compile_expression(expression)
    assert verdict is not None, expression
    try:
        return verdict(value, base, resource, root)
    except Unsure:
        return None


@pytest.fixture(scope="module")
def samples():
    return collect_samples()


def collect_samples():
    """(expression, value, base, resource, root) of every evaluation on the corpus."""
    found = []
    seen = set()
    original = fhirpath.holds

    def record(expression, value, base, resource, root):
        key = (expression, base, json.dumps(value, sort_keys=True, default=str)[:2000])
        if key not in seen:
            seen.add(key)
            found.append((expression, value, base, resource, root))
        return original(expression, value, base, resource, root)

    fhirpath.holds = record
    try:
        paths = [*sorted(MCODE_EXAMPLES.glob("*.json")), *sorted(R4_EXAMPLES.glob("*.json")), *GOLDEN]
        for path in paths:
            validate_bytes(path.read_bytes(), source=path.name)
    finally:
        fhirpath.holds = original
    return found


def test_the_corpus_reaches_many_invariants(samples):
    expressions = {s[0] for s in samples}
    assert len(expressions) > 80
    not_compiled = sorted(e for e in expressions if compile_expression(e) is None)
    # The rest use what the compiled form leaves to fhirpathpy (arithmetic, descendants(), as, ...).
    assert len(not_compiled) <= len(expressions) // 10, not_compiled


def test_same_verdicts_on_the_corpus(samples):
    checked = 0
    for expression, value, base, resource, root in samples:
        if compile_expression(expression) is None:
            continue
        want = reference(expression, value, base, resource, root)
        got = compiled(expression, value, base, resource, root)
        assert got is None or got == want, (expression, base, value, want)
        checked += got is not None
    assert checked > 1000


_ODD = [None, [], [None], "", "x", "final", True, False, 0, -1, 1.5, 2, {}, {"x": 1}, [1, 2], ["a", "b"]]
_TWINS = [
    {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
    {"id": "a"},
    [None, {"id": "b"}],
]
_CHOICE_SUFFIXES = ["String", "Boolean", "Quantity", "CodeableConcept", "DateTime", "Period", "Integer"]
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names(expression):
    return sorted({m.group(0) for m in _WORD.finditer(re.sub(r"'[^']*'", "", expression))})


def _variants(rng, expression, value):
    """The element damaged where the expression looks (a few dozen variants)."""
    if not isinstance(value, dict):
        yield from (v for v in _ODD if v is not None)
        return
    places = [value] + [v for v in value.values() if isinstance(v, dict)]
    places += [x for v in value.values() if isinstance(v, list) for x in v if isinstance(x, dict)]
    for name in _names(expression):
        for _ in range(3):
            damaged = copy.deepcopy(value)
            target = rng.choice([damaged] + [p for p in _places_in(damaged) if p is not damaged])
            roll = rng.random()
            if roll < 0.15:
                target.pop(name, None)
            elif roll < 0.6:
                target[name] = copy.deepcopy(rng.choice(_ODD))
            elif roll < 0.8:
                target["_" + name] = copy.deepcopy(rng.choice(_TWINS))
            else:
                target[name + rng.choice(_CHOICE_SUFFIXES)] = copy.deepcopy(rng.choice(_ODD[3:]))
            yield damaged


def _places_in(node):
    found = []
    if isinstance(node, dict):
        found.append(node)
        for v in node.values():
            found.extend(_places_in(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(_places_in(v))
    return found


def test_same_verdicts_on_damaged_elements(samples):
    checked, unsure = compare_damaged(samples, random.Random(13))
    assert checked > 2000
    assert unsure < checked // 4  # most damage is still decided without fhirpathpy


def compare_damaged(samples, rng):
    by_expression = {}
    for sample in samples:
        by_expression.setdefault(sample[0], []).append(sample)
    checked = unsure = 0
    for expression, group in sorted(by_expression.items()):
        if compile_expression(expression) is None:
            continue
        for _, value, base, resource, root in rng.sample(group, min(3, len(group))):
            for damaged in _variants(rng, expression, value):
                want = reference(expression, damaged, base, resource, root)
                got = compiled(expression, damaged, base, resource, root)
                assert got is None or got == want, (expression, base, damaged, want, got)
                checked += 1
                unsure += got is None
    return checked, unsure


@pytest.mark.parametrize(
    ("expression", "value", "base", "want"),
    [
        # A primitive and its _name twin are two items to fhirpathpy: never equal to one string.
        ("status = 'final'", {"status": "final", "_status": {"id": "a"}}, "Observation", False),
        ("status = 'final'", {"status": "final"}, "Observation", True),
        # A float is compared as a float: 0.1 is not the literal's Decimal 0.1.
        ("valueQuantity.value = 0.5", {"valueQuantity": {"value": 0.5}}, "Observation", True),
        ("value.ofType(Quantity).value = 0.1", {"valueQuantity": {"value": 0.1}}, "Observation", False),
        # Choice elements are found by their typed keys.
        ("value.exists()", {"valueString": "x"}, "Observation", True),
        ("value.exists()", {"_valueString": {"id": "a"}}, "Observation", True),
        ("effective.exists() implies status = 'final'", {"status": "draft"}, "Observation", True),
        # Empty operands: or and implies with an empty side and a false one are empty (fail).
        ("code.exists() or (status = 'x')", {}, "Observation", False),
        ("(status = 'x') implies code.exists()", {}, "Observation", False),
        ("(status = 'x') implies code.exists()", {"status": "y"}, "Observation", True),
        # not() of a non-boolean singleton is false.
        ("code.not()", {"code": {"text": "x"}}, "Observation", False),
        ("where(use = 'home').empty()", {"use": "home"}, "ContactPoint", False),
        ("$this is DateTime implies $this.toString().length() >= 10", {"start": "2020"}, "Period", True),
        ("period.exists() implies period >= 0", {"period": -1}, "Timing.repeat", False),
        ("period.exists() implies period >= 0", {"period": 1.5}, "Timing.repeat", True),
    ],
)
def test_quirks_are_followed(expression, value, base, want):
    assert reference(expression, value, base, value, value) is want
    assert compiled(expression, value, base, value, value) is want


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("$this.exists()", {"a": 1}),  # no $this outside an operator: fhirpathpy raises
        ("code or status", {"code": "a", "status": "b"}),  # strings where booleans go
        ("given.exists() or status", {"status": "b"}),
        ("period >= 'a'", {"period": 1}),
        ("status in ('a' | 'b')", {"status": ["a", "b"]}),
    ],
)
def test_unsure_where_fhirpathpy_raises(expression, value):
    assert reference(expression, value, "Timing.repeat", value, value) == RAISES
    assert compiled(expression, value, "Timing.repeat", value, value) is None


def test_holds_falls_back_to_fhirpathpy():
    # htmlChecks() and arithmetic are not compiled: holds() still answers.
    assert compile_expression("(identifier.count() + name.count()) > 0") is None
    assert fhirpath.holds("(identifier.count() + name.count()) > 0", {"name": "x"}, "Location", {}, {})
    assert not fhirpath.holds("(identifier.count() + name.count()) > 0", {}, "Location", {}, {})
    with pytest.raises(Exception, match="boolean"):
        fhirpath.holds("code or status", {"code": "a", "status": "b"}, "Observation", {}, {})


def test_literals_are_fhirpathpys():
    number = {"text": "1.50", "children": [{"type": "NumberLiteral", "text": "1.50"}]}
    assert fhirpath_compiled._literal(number).value == [Decimal("1.50")]
    text = {"text": "'a\\'b'", "children": [{"type": "StringLiteral", "text": "'a\\'b'"}]}
    assert fhirpath_compiled._literal(text).value == ["a'b"]


def _definition_constraints():
    """(expression, base) of every constraint in the built-in definitions, where it applies."""
    from fhirconv.validation import definitions

    found = set()
    for sd in definitions.core_types().values():
        for path, element in sd["elements"].items():
            types = element.get("types", [])
            if "." not in path:
                base = path
            elif len(types) == 1 and types[0] not in ("BackboneElement", "Element"):
                base = types[0]
            else:
                base = path
            for c in element.get("cons", []):
                found.add((c[3], base))
    for profiles in (definitions.profiles(), definitions.core_profiles()):
        for data in profiles.values():
            for element in data["elements"]:
                types = element.get("types", [])
                base = types[0]["code"] if len(types) == 1 else data["type"]
                for c in element.get("cons", []):
                    found.add((c[3], base))
    return sorted(found)


def _random_value(rng, expression, depth=0):
    value = {}
    for name in _names(expression):
        roll = rng.random()
        if roll < 0.35:
            continue
        if roll < 0.75 or depth > 0:
            value[name] = copy.deepcopy(rng.choice(_ODD))
        elif roll < 0.85:
            value["_" + name] = copy.deepcopy(rng.choice(_TWINS))
        else:
            value[name] = [_random_value(rng, expression, depth + 1) for _ in range(rng.randrange(1, 3))]
    return value


def test_same_verdicts_on_every_definition_constraint():
    rng = random.Random(4)
    checked = 0
    for expression, base in _definition_constraints():
        if compile_expression(expression) is None:
            continue
        for _ in range(12):
            value = _random_value(rng, expression)
            resource = {"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "p"}]}
            want = reference(expression, value, base, resource, resource)
            got = compiled(expression, value, base, resource, resource)
            assert got is None or got == want, (expression, base, value, want, got)
            checked += got is not None
    assert checked > 1000


def _shape(node):
    """A parse tree as the compiler reads it: types, operators, leaf and term texts, children."""
    kind = node.get("type")
    keep_text = kind in (
        "Identifier",
        "StringLiteral",
        "NumberLiteral",
        "BooleanLiteral",
        "TypeSpecifier",
        "TermExpression",
        "InvocationExpression",
    )
    terminals = node.get("terminalNodeText") or []
    return (
        kind,
        node.get("text") if keep_text else None,
        terminals[0] if kind and kind.endswith("Expression") and terminals else None,
        [_shape(c) for c in node.get("children") or []],
    )


def test_the_parser_builds_fhirpathpys_tree():
    from fhirpathpy.parser import parse as antlr_parse

    from fhirconv.validation import fhirpath_parser
    from fhirconv.validation.fhirpath_steps import NotCompiled

    expressions = sorted({e for e, _ in _definition_constraints()})
    expressions += [
        "-1.5 > a.b",
        "a - -b * c",
        "a is System.String | {} | `div`.x(true, 'a\\'b')",
        "a.where(b)[0].c",
        "%resource.x contains 'y' implies z.is(FHIR.Quantity)",
        "a and b or c xor d implies e",
        "a = b != c ~ d",
        "x.in.contains(y)",
    ]
    parsed = 0
    for expression in expressions:
        try:
            mine = fhirpath_parser.parse(expression)
        except NotCompiled:
            continue
        assert _shape(mine) == _shape(antlr_parse(expression)), expression
        parsed += 1
    assert parsed > len(expressions) * 9 // 10


def _package_constraints(tgz):
    """(expression, base) of every constraint in the StructureDefinitions of a FHIR package."""
    import tarfile

    found = set()
    with tarfile.open(tgz) as archive:
        for member in archive.getmembers():
            if not member.name.endswith(".json"):
                continue
            handle = archive.extractfile(member)
            try:
                resource = json.loads(handle.read()) if handle else None
            except ValueError:
                continue
            if not isinstance(resource, dict) or resource.get("resourceType") != "StructureDefinition":
                continue
            for part in ("snapshot", "differential"):
                for element in (resource.get(part) or {}).get("element", []):
                    types = [t.get("code") for t in element.get("type", [])]
                    base = types[0] if len(types) == 1 else resource.get("type")
                    for c in element.get("constraint", []):
                        if isinstance(c.get("expression"), str) and isinstance(base, str):
                            found.add((c["expression"], base))
    return sorted(found)


def test_same_verdicts_on_the_constraints_of_loaded_packages():
    from tests.conftest import FHIR_PACKAGES

    rng = random.Random(11)
    pairs = []
    for name in ("hl7.fhir.uv.ips-2.0.0.tgz", "hl7.fhir.uv.extensions.r4-5.3.0-ballot-tc1.tgz"):
        pairs += _package_constraints(FHIR_PACKAGES / name)
    assert len({e for e, _ in pairs}) > 40
    checked = 0
    for expression, base in pairs:
        if compile_expression(expression) is None:
            continue
        for _ in range(6):
            value = _random_value(rng, expression)
            resource = {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "id": "p"}]}
            want = reference(expression, value, base, resource, resource)
            got = compiled(expression, value, base, resource, resource)
            assert got is None or got == want, (expression, base, value, want, got)
            checked += got is not None
    assert checked > 300
