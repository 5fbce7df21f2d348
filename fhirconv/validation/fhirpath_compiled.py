"""FHIRPath invariants compiled to Python closures: fhirpathpy's answers without its interpreter.

fhirpathpy walks its parse tree for every element it is given (about 60 µs an
invariant); the invariants of the core and of mCODE use a small part of FHIRPath.
:func:`compile_expression` turns fhirpathpy's own parse tree of such an expression into
closures over the raw JSON (:mod:`.fhirpath_steps`), once per expression, and returns
None for anything outside that part.  The answer must be the one fhirpathpy gives:
wherever fhirpathpy would raise, or the data takes a shape not followed, a closure
raises :class:`Unsure` and the caller asks fhirpathpy itself.
``tests/validation/test_fhirpath_compiled.py`` holds the two to the same verdicts on
every invariant and element of the test corpus, intact and damaged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from fhirconv.validation import fhirpath_steps as steps
from fhirconv.validation.fhirpath_steps import NotCompiled, Unsure

__all__ = ["NotCompiled", "Unsure", "compile_expression"]


class _Const:
    """A constant piece (literals, their unions): folded when compiled."""

    def __init__(self, value: steps.Items) -> None:
        self.value = value

    def __call__(self, focus: steps.Items, this: steps.Items | None, env: steps.Env) -> steps.Items:
        return list(self.value)


def _literal(node: dict[str, Any]) -> _Const:
    term = (node.get("children") or [None])[0]
    if not term:
        return _Const([node["text"]])
    kind, text = term["type"], str(term["text"])
    if kind == "StringLiteral":
        return _Const([_string(text)])
    if kind == "NumberLiteral":
        # fhirpathpy: an integer when the Decimal is whole.
        number = Decimal(text)
        return _Const([int(number)] if number == int(number) else [number])
    if kind == "BooleanLiteral":
        return _Const([text == "true"])
    if kind == "NullLiteral":
        return _Const([])
    raise NotCompiled  # dates, times and quantities have their own classes in fhirpathpy


_QUOTE_ENDS = re.compile(r"^['\"]|['\"]$")
_UNICODE = re.compile(r"\\(u\d{4})")
_ESCAPES = [
    ("\\'", "'"),
    ("\\`", "`"),
    ('\\"', '"'),
    ("\\r", "\r"),
    ("\\n", "\n"),
    ("\\t", "\t"),
    ("\\f", "\f"),
]


def _string(text: str) -> str:
    """A string literal's value, unescaped in fhirpathpy's order (its string_literal)."""
    value = _QUOTE_ENDS.sub("", text)
    for escaped, plain in _ESCAPES:
        value = value.replace(escaped, plain)
    value = value.replace("\\\\", "\\")
    return _UNICODE.sub(lambda m: chr(int(m.group(1)[1:], 16)), value)


def _this(focus: steps.Items, this: steps.Items | None, env: steps.Env) -> steps.Items:
    if this is None:
        raise Unsure  # fhirpathpy has no $this outside an operator or a macro (KeyError)
    return this


_QUOTES = re.compile(r'(^"|"$)')
VARIABLES = frozenset({"resource", "rootResource", "context", "ucum"})


def _variable(node: dict[str, Any]) -> steps.Fn:
    name = _name(node["children"][0]["children"][0]).replace("`", "")
    if name not in VARIABLES:
        raise NotCompiled

    def variable(focus: steps.Items, this: steps.Items | None, env: steps.Env) -> steps.Items:
        value = env[name]
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    return variable


def _name(node: dict[str, Any]) -> str:
    # fhirpathpy's identifier(): one double quote off each end.
    return _QUOTES.sub("", str(node["text"]))


def _chain(first: steps.Fn, rest: list[steps.Fn]) -> steps.Fn:
    def run(focus: steps.Items, this: steps.Items | None, env: steps.Env) -> steps.Items:
        items = first(focus, this, env)
        for step in rest:
            items = step(items, this, env)
        return items

    return run


def _plain(fn: Callable[[steps.Items], steps.Items]) -> steps.Fn:
    return lambda focus, this, env: fn(focus)


def _function(node: dict[str, Any]) -> steps.Fn:
    functn = node["children"][0]
    name = _name(functn["children"][0])
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    if name in steps.PLAIN and not (name == "exists" and params):
        if params:
            raise NotCompiled  # fhirpathpy raises on the arity
        return _plain(steps.PLAIN[name])
    if len(params) != 1:
        raise NotCompiled
    if name in ("exists", "where", "select", "all"):
        criteria = _compile(params[0])
        return _macro(name, criteria)
    if name in ("ofType", "is"):
        wanted = steps.type_specifier(params[0])
        if name == "is":
            return steps.is_type(lambda focus, this, env: focus, params[0])
        return _of_type(wanted)
    argument = _compile(params[0])
    if not isinstance(argument, _Const) or len(argument.value) != 1 or not isinstance(argument.value[0], str):
        raise NotCompiled
    return _plain(steps.string_function(name, argument.value[0]))


def _macro(name: str, criteria: steps.Fn) -> steps.Fn:
    def run(focus: steps.Items, this: steps.Items | None, env: steps.Env) -> steps.Items:
        if name == "where":
            return steps.where(focus, criteria, env)
        if name == "exists":
            return [bool(steps.where(focus, criteria, env))]
        if name == "select":
            out: steps.Items = []
            for item in focus:
                out.extend(criteria([item], [item], env))
            return out
        for item in focus:  # all()
            result = criteria([item], [item], env)
            if not (len(result) == 1 and steps.data(result[0]) == True):  # noqa: E712 (fhirpathpy's is_true)
                return [False]
        return [True]

    return run


def _of_type(wanted: steps.TypeName) -> steps.Fn:
    def run(focus: steps.Items, this: steps.Items | None, env: steps.Env) -> steps.Items:
        return [item for item in focus if steps.is_of(steps.type_info(item), wanted)]

    return run


def _union(left: steps.Fn, right: steps.Fn) -> steps.Fn:
    """A union of literals, folded: fhirpathpy's distinct items, here of strings only."""
    if not (isinstance(left, _Const) and isinstance(right, _Const)):
        raise NotCompiled
    items = [*left.value, *right.value]
    if not all(isinstance(item, str) for item in items):
        raise NotCompiled
    return _Const(list(dict.fromkeys(items)))


def _polarity(sign: str, operand: steps.Fn) -> steps.Fn:
    if not isinstance(operand, _Const) or len(operand.value) != 1 or not steps.is_number(operand.value[0]):
        raise NotCompiled
    return _Const([-operand.value[0]] if sign == "-" else list(operand.value))


_OPERATORS: dict[str, Callable[[str, steps.Fn, steps.Fn], steps.Fn]] = {
    "EqualityExpression": steps.equality,
    "InequalityExpression": steps.inequality,
    "AndExpression": steps.logic,
    "OrExpression": steps.logic,
    "XorExpression": steps.logic,
    "ImpliesExpression": steps.logic,
    "MembershipExpression": steps.membership,
}
_SUPPORTED_OPS = frozenset({"=", "!=", "<", ">", "<=", ">=", "and", "or", "xor", "implies", "in", "contains"})


def _compile(node: dict[str, Any]) -> steps.Fn:
    kind = node.get("type")
    children = node.get("children") or []
    if kind in ("TermExpression", "InvocationTerm", "ParenthesizedTerm"):
        return _compile(children[0])
    if kind == "LiteralTerm":
        return _literal(node)
    if kind == "ThisInvocation":
        return _this
    if kind == "ExternalConstantTerm":
        return _variable(node)
    if kind == "MemberInvocation":
        key = _name(children[0]).replace("`", "")
        if not key or key[0] == key[0].upper():
            raise NotCompiled  # a capitalised name may be a type filter in fhirpathpy
        return steps.member(key)
    if kind == "FunctionInvocation":
        return _function(node)
    if kind == "InvocationExpression":
        return _chain(_compile(children[0]), [_compile(c) for c in children[1:]])
    if kind == "UnionExpression":
        return _union(_compile(children[0]), _compile(children[1]))
    if kind == "PolarityExpression":
        return _polarity(node["terminalNodeText"][0], _compile(children[0]))
    if kind == "TypeExpression":
        if node["terminalNodeText"][0] != "is":
            raise NotCompiled
        return steps.is_type(_compile(children[0]), children[1])
    if kind in _OPERATORS:
        op = node["terminalNodeText"][0]
        if op not in _SUPPORTED_OPS or len(children) != 2:
            raise NotCompiled
        return _OPERATORS[kind](op, _compile(children[0]), _compile(children[1]))
    raise NotCompiled


Verdict = Callable[[Any, str, Any, Any], bool]


def _parse(expression: str) -> dict[str, Any]:
    """fhirconv's parser where it suffices (no ANTLR to load), else fhirpathpy's."""
    from fhirconv.validation import fhirpath_parser

    try:
        return fhirpath_parser.parse(expression)
    except NotCompiled:
        from fhirpathpy.parser import parse

        tree: dict[str, Any] = parse(expression)
        return tree


@cache
def compile_expression(expression: str) -> Verdict | None:
    """Whether an invariant holds on one element, as fhirpathpy says; None when not compiled.

    The verdict function raises :class:`Unsure` where only fhirpathpy can answer.
    """
    try:
        fn = _compile(_parse(expression)["children"][0])
    # The parser's own errors, and anything not covered: fhirpathpy's path says what it says.
    except Exception:
        return None

    def holds(value: Any, base: str, resource: Any, root: Any) -> bool:
        node = steps.node(value, base)
        env = {
            "resource": resource,
            "rootResource": root,
            "context": node,
            "ucum": "http://unitsofmeasure.org",
        }
        result = fn([node], None, env)
        # fhirpathpy's raw results leave out a primitive's extension-only twin.
        kept = [
            item
            for item in result
            if not (type(item) is tuple and isinstance(item[0], dict) and list(item[0]) == ["extension"])
        ]
        # An invariant holds unless it evaluates to false or to nothing.
        return not (not kept or (len(kept) == 1 and steps.data(kept[0]) == False))  # noqa: E712

    return holds
