"""A FHIRPath parser for the compiled invariants, giving the tree fhirpathpy's parser gives.

fhirpathpy parses with an ANTLR grammar: importing it and parsing the few dozen
expressions a document meets took a third of a cold ``fhirconv validate``.  This
recursive-descent parser covers the part of FHIRPath :mod:`.fhirpath_compiled`
compiles (no comments, dates, times, quantities or string escapes other than ``\\'``
and ``\\\\``) and builds the same nodes (``type``, ``text``, ``terminalNodeText``,
``children``) with the grammar's precedence and left associativity; anything else
raises :class:`~.fhirpath_steps.NotCompiled` and fhirpathpy parses it.
``tests/validation/test_fhirpath_compiled.py`` compares both parsers' trees on every
constraint of the built-in definitions.
"""

from __future__ import annotations

import re
from typing import Any

from fhirconv.validation.fhirpath_steps import NotCompiled

Node = dict[str, Any]

_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
    (?P<string>'(?:[^'\\]|\\['\\])*')
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`\\]*`)
    |(?P<special>\$(?:this|index|total))
    |(?P<op><=|>=|!=|!~|[=~<>|+\-*/&.()\[\],%{}])
    )""",
    re.VERBOSE,
)
# Keywords that are not identifiers (as, contains, in and is are both, in the grammar).
_RESERVED = frozenset({"and", "or", "xor", "implies", "div", "mod", "true", "false"})
_TIME_UNITS = frozenset(
    {
        *("year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours"),
        *("minute", "minutes", "second", "seconds", "millisecond", "milliseconds"),
    }
)
# Binary operators by precedence, loosest first, with the node each makes.
_LEVELS: list[tuple[str, frozenset[str]]] = [
    ("ImpliesExpression", frozenset({"implies"})),
    ("OrExpression", frozenset({"or", "xor"})),
    ("AndExpression", frozenset({"and"})),
    ("MembershipExpression", frozenset({"in", "contains"})),
    ("EqualityExpression", frozenset({"=", "~", "!=", "!~"})),
    ("InequalityExpression", frozenset({"<=", "<", ">", ">="})),
    ("UnionExpression", frozenset({"|"})),
    ("TypeExpression", frozenset({"is", "as"})),
    ("AdditiveExpression", frozenset({"+", "-", "&"})),
    ("MultiplicativeExpression", frozenset({"*", "/", "div", "mod"})),
]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    at = 0
    end = len(text.rstrip(" \t\r\n"))  # FHIRPath's whitespace only
    while at < end:
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise NotCompiled  # comments, dates, other escapes: fhirpathpy's to parse
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        at = match.end()
    return out


def parse(expression: str) -> Node:
    """The tree of one expression, as ``fhirpathpy.parser.parse`` returns it."""
    parser = _Parser(_tokens(expression))
    tree = parser.expression(0)
    if parser.at != len(parser.tokens):
        raise NotCompiled
    return {"children": [tree]}


def _node(kind: str, children: list[Node], terminals: list[str] | None = None, text: Any = None) -> Node:
    return {"type": kind, "text": text, "terminalNodeText": terminals or [], "children": children}


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, text: str | None = None) -> str:
        kind, value = self.peek()
        if kind == "end" or (text is not None and value != text):
            raise NotCompiled
        self.at += 1
        return value

    def text_since(self, start: int) -> str:
        # ANTLR's getText(): the tokens, without the whitespace between them.
        return "".join(value for _, value in self.tokens[start : self.at])

    def operator(self, level: int) -> str | None:
        kind, value = self.peek()
        if kind in ("op", "name") and value in _LEVELS[level][1]:
            return value
        return None

    def expression(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.polarity()
        kind = _LEVELS[level][0]
        left = self.expression(level + 1)
        while (op := self.operator(level)) is not None:
            self.take()
            right = self.type_specifier() if kind == "TypeExpression" else self.expression(level + 1)
            left = _node(kind, [left, right], [op])
        return left

    def type_specifier(self) -> Node:
        start = self.at
        names = [self.identifier()]
        while self.peek() == ("op", "."):
            self.take()
            names.append(self.identifier())
        qualified = _node("QualifiedIdentifier", names, ["."] * (len(names) - 1))
        return _node("TypeSpecifier", [qualified], text=self.text_since(start))

    def polarity(self) -> Node:
        if self.peek() in (("op", "+"), ("op", "-")):
            sign = self.take()
            return _node("PolarityExpression", [self.polarity()], [sign])
        return self.postfix()

    def postfix(self) -> Node:
        start = self.at
        left = self.term()
        while True:
            if self.peek() == ("op", "."):
                self.take()
                left = _node("InvocationExpression", [left, self.invocation()], ["."])
                left["text"] = self.text_since(start)
            elif self.peek() == ("op", "["):
                self.take()
                index = self.expression(0)
                self.take("]")
                left = _node("IndexerExpression", [left, index], ["[", "]"])
            else:
                return left

    def term(self) -> Node:
        start = self.at
        kind, value = self.peek()
        if kind in ("string", "number") or value in ("true", "false", "{"):
            inner = self.literal()
        elif value == "%":
            self.take()
            if self.peek()[0] != "name":
                raise NotCompiled  # %'string' constants
            constant = _node("ExternalConstant", [self.identifier()], ["%"])
            inner = _node("ExternalConstantTerm", [constant])
        elif value == "(":
            self.take()
            body = self.expression(0)
            self.take(")")
            inner = _node("ParenthesizedTerm", [body], ["(", ")"])
        else:
            inner = _node("InvocationTerm", [self.invocation()])
        return _node("TermExpression", [inner], text=self.text_since(start))

    def literal(self) -> Node:
        start = self.at
        kind, value = self.peek()
        self.take()
        if kind == "string":
            leaf = _node("StringLiteral", [], [value], value)
        elif kind == "number":
            follow_kind, follow = self.peek()
            if follow_kind == "string" or follow in _TIME_UNITS:
                raise NotCompiled  # a quantity
            leaf = _node("NumberLiteral", [], [value], value)
        elif value == "{":
            self.take("}")
            leaf = _node("NullLiteral", [], ["{", "}"], "{}")
        else:
            leaf = _node("BooleanLiteral", [], [value], value)
        return _node("LiteralTerm", [leaf], text=self.text_since(start))

    def invocation(self) -> Node:
        kind, value = self.peek()
        if kind == "special":
            self.take()
            name = {"$this": "ThisInvocation", "$index": "IndexInvocation", "$total": "TotalInvocation"}
            return _node(name[value], [], [value])
        identifier = self.identifier()
        if self.peek() != ("op", "("):
            return _node("MemberInvocation", [identifier])
        self.take()
        parts = [identifier]
        if self.peek() != ("op", ")"):
            params = [self.expression(0)]
            while self.peek() == ("op", ","):
                self.take()
                params.append(self.expression(0))
            parts.append(_node("ParamList", params, [","] * (len(params) - 1)))
        self.take(")")
        return _node("FunctionInvocation", [_node("Functn", parts, ["(", ")"])])

    def identifier(self) -> Node:
        kind, value = self.peek()
        if kind != "name" or value in _RESERVED:
            raise NotCompiled
        self.take()
        return _node("Identifier", [], [value], value)
