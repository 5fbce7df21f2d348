"""fhirpathpy, set up the way FHIR invariants need it.

fhirpathpy 2.2.4 lacks ``hasValue()``, ``htmlChecks()`` and ``resolve()``; they are
supplied through its user function table.  ``trace()`` would print to stdout, so it
gets a silent trace function.  Expressions run per element, typed through the R4
model (without it fhirpathpy misreads choice types and gives false ext-1 results),
with ``%resource`` and ``%rootResource`` set.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from html.entities import name2codepoint
from typing import Any
from xml.etree import ElementTree

_XHTML = "{http://www.w3.org/1999/xhtml}"
# The HTML elements R4 narrative allows (R4 Narrative.div / txt-1).
_ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "acronym",
        "b",
        "big",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "tt",
        "ul",
        "var",
    ]
)
_EVENT_ATTR = re.compile(r"^on", re.IGNORECASE)


_HTML_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "apos"})
XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
_TAGS = re.compile(r"<[^>]*>")


def _entity(match: re.Match[str]) -> str:
    # HTML's named entities (&nbsp;) are not XML: replaced for parsing, reported by txt-1.
    name = match.group(1)
    if name in _XML_ENTITIES or name not in name2codepoint:
        return match.group(0)
    return chr(name2codepoint[name])


def html_ok(div: Any) -> bool:
    """htmlChecks(): txt-1 and txt-2 together."""
    return html_structure_ok(div) and html_has_content(div)


def html_structure_ok(div: Any) -> bool:
    """txt-1: a well-formed XHTML div of the allowed elements and attributes."""
    # Only a string can be a div (and be a key of the verdict cache).
    return isinstance(div, str) and not _html_verdict(div)[0]


def html_problem(div: Any) -> str:
    """What is wrong with a div that fails txt-1, in plain words."""
    if not isinstance(div, str):
        return "the div is not a string"
    return _html_verdict(div)[0]


def html_has_content(div: Any) -> bool:
    """txt-2: some non-whitespace content (text or an image)."""
    return isinstance(div, str) and _html_verdict(div)[1]


@lru_cache(maxsize=512)
def _html_verdict(div: str) -> tuple[str, bool]:
    """(what breaks txt-1, or ""; whether txt-2's content is there)."""
    problem = ""
    named = [m.group(1) for m in _HTML_ENTITY.finditer(div) if m.group(1) not in _XML_ENTITIES]
    if named:
        problem = (
            f"the div uses the HTML entity &{named[0]};, which XHTML narrative does not allow: "
            "only &lt; &gt; &amp; &quot; &apos; and numeric references such as &#160;"
        )
    try:
        root = ElementTree.fromstring(_HTML_ENTITY.sub(_entity, div))
    except UnicodeEncodeError:
        # A lone surrogate (JSON's \ud800): no XML character, and the parser cannot even take it.
        return "the div holds a lone UTF-16 surrogate, which is no XML character", bool(
            _TAGS.sub("", div).strip()
        )
    except ElementTree.ParseError as err:
        # Whether there is content is still plain to see: text outside the tags.
        return f"the div is not well-formed XML ({err})", bool(_TAGS.sub("", div).strip())
    namespace, _, local = root.tag.rpartition("}") if isinstance(root.tag, str) else ("", "", "")
    if local != "div":
        return f"the root element is <{local}>, not <div>", False
    if not namespace:
        problem = problem or f'the div lacks the XHTML namespace (xmlns="{XHTML_NAMESPACE}")'
    elif namespace != "{" + XHTML_NAMESPACE:
        problem = problem or f"the div is in the namespace {namespace[1:]}, not {XHTML_NAMESPACE}"
    has_content = False
    for node in root.iter():
        tag = node.tag
        if not isinstance(tag, str):
            continue
        name = tag.rpartition("}")[2]
        foreign = tag.startswith("{") and not tag.startswith(_XHTML)
        if not problem and (foreign or name not in _ALLOWED_TAGS):
            problem = f"the element <{name}> is not allowed in narrative"
        if not problem:
            event = next((a for a in node.attrib if _EVENT_ATTR.match(a)), None)
            if event is not None:
                problem = f"the event attribute {event} is not allowed in narrative"
        if name == "img" or (node.text and node.text.strip()) or (node.tail and node.tail.strip()):
            has_content = True
    return problem, has_content


def _has_value(inputs: list[Any]) -> list[bool]:
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)]


def _html_checks(inputs: list[Any]) -> list[bool]:
    return [len(inputs) == 1 and html_ok(inputs[0])]


def _resolve(inputs: list[Any]) -> list[Any]:
    # Resolution needs the bundle; the one core invariant that uses it (ctm-1) treats
    # an unresolved reference as satisfied, which is what an empty answer gives.
    return []


@cache
def _model() -> Any:
    from fhirpathpy.models import models

    return models["r4"]


@cache
def _options() -> dict[str, Any]:
    return {
        "userInvocationTable": {
            "hasValue": {"fn": _has_value, "arity": {0: []}},
            "htmlChecks": {"fn": _html_checks, "arity": {0: []}},
            "resolve": {"fn": _resolve, "arity": {0: []}},
        },
        "traceFn": lambda *args: None,
        # Invariants yield booleans: skip the conversion of results back to JSON, which
        # also builds a self-referencing closure per call (garbage only the GC can free).
        "returnRawData": True,
    }


Compiled = Callable[[Any, dict[str, Any]], list[Any]]


@cache
def compiled(expression: str) -> Compiled:
    """Compile once per process; raises on expressions fhirpathpy cannot parse."""
    import fhirpathpy

    return fhirpathpy.compile(expression, _model(), _options())


def evaluate(
    expression: str, value: Any, base: str, resource: dict[str, Any], root: dict[str, Any]
) -> list[Any]:
    """Evaluate on one element ``value`` whose definition path or type is ``base``."""
    from fhirpathpy.engine.nodes import ResourceNode, TypeInfo

    from fhirconv.validation import fhirpath_steps

    if fhirpath_steps.TYPE_MODEL["set"] and not TypeInfo.model:
        # A compiled ``is`` ran before fhirpathpy was loaded; fhirpathpy's own would have set it.
        TypeInfo.model = _model()
    node = ResourceNode.create_node(value, base)
    result: list[Any] = compiled(expression)(node, {"resource": resource, "rootResource": root})
    return result


def holds(expression: str, value: Any, base: str, resource: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether an invariant holds on one element: it holds unless it evaluates to false or to
    nothing (as in the HL7 validator).  Raises what fhirpathpy raises.

    The compiled form (:mod:`.fhirpath_compiled`) answers where it can; fhirpathpy where not.
    """
    from fhirconv.validation import fastpaths, fhirpath_compiled

    if fastpaths.enabled():
        verdict = fhirpath_compiled.compile_expression(expression)
        if verdict is not None:
            try:
                return verdict(value, base, resource, root)
            # Unsure, or data odd enough to trip the compiled form: fhirpathpy decides.
            except Exception:
                pass
    result = evaluate(expression, value, base, resource, root)
    return not (result == [False] or result == [])
