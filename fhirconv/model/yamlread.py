"""YAML case text to plain data, fast for the common file and exact for every other.

PyYAML's libyaml loader parses in C but builds nodes and then Python objects in Python,
which made two thirds of a case's export time.  :func:`load_yaml` builds the objects
straight from libyaml's events.  It takes the YAML every case file is written in (block
and flow mappings and sequences, plain and quoted scalars, the core scalar types) and
hands anything else (anchors, aliases, merge keys, explicit tags, several documents) to
the full loader, so that the result is always the full loader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

# Without timestamps: a case keeps the precision its dates were given in (2016, 2020-11).
RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# The resolvers by first character, as Resolver.resolve picks them (no path resolvers are set),
# looked up here: calling resolve for every plain scalar was a fifth of the read.
_WILDCARD = tuple(RESOLVERS.get(None, ()))
_BY_FIRST = {first: (*resolvers, *_WILDCARD) for first, resolvers in RESOLVERS.items() if first is not None}

_SCALARS: dict[str, Callable[[Any, yaml.ScalarNode], Any]] = {
    "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
}


class DuplicateKey(Exception):
    """A mapping names a key twice (found while loading; located afterwards)."""


class _Unusual(Exception):
    """YAML the fast path leaves to the full loader."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    if len(keys) != len(set(keys)):
        raise DuplicateKey()
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


class CaseLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The libyaml-backed safe loader where PyYAML has it, dates kept as text, keys given
    twice refused."""

    yaml_implicit_resolvers = RESOLVERS
    construct_mapping = _construct_mapping


class _PythonCaseLoader(yaml.SafeLoader):
    """:class:`CaseLoader` without libyaml, for text libyaml could not compose safely."""

    yaml_implicit_resolvers = RESOLVERS
    construct_mapping = _construct_mapping


# libyaml's scanner refuses nesting this deep since PyYAML 6.0.4; before that nothing bounded
# it, and PyYAML composes nodes by recursing in C: text nested ~100,000 levels deep overflowed
# the stack, a segfault rather than an error.  The loaders below keep to that limit on every
# PyYAML version.
LIBYAML_MAX_DEPTH = 1000
_TOO_DEEP = "exceeded maximum nesting depth"
# Where a line can open block collections: its indentation and the indicators that follow it
# (`- - x`, `? k`); each open block level sits at a column of its own within it.
_BLOCK_PREFIX = re.compile(r"^ *(?:[-?:](?: +|$))*", re.MULTILINE)
_BRACKET = re.compile(r"[\[\]{}]")


def libyaml_can_compose(text: str) -> bool:
    """Whether ``text`` surely nests less deep than libyaml's limit.

    A cheap upper bound, not a parse: brackets in quoted text and long indentation count
    as nesting, so a few harmless texts are judged deep (and read by the Python parser).
    """
    block = max((len(m.group()) for m in _BLOCK_PREFIX.finditer(text)), default=0)
    flow = text.count("[") + text.count("{")
    if flow >= LIBYAML_MAX_DEPTH // 2:
        depth = flow = 0
        for found in _BRACKET.finditer(text):
            depth += 1 if found.group() in "[{" else -1
            flow = max(flow, depth)
    # A sequence may sit at its mapping key's column: two levels a column, and the document.
    return 2 * (block + 1) + flow + 1 < LIBYAML_MAX_DEPTH


def safe_loader(text: str) -> type[yaml.SafeLoader]:
    """PyYAML's safe loader for ``text``: libyaml's where it is safe, else the Python one."""
    c_loader = getattr(yaml, "CSafeLoader", None)
    return c_loader if c_loader is not None and libyaml_can_compose(text) else yaml.SafeLoader


class PlainCaseLoader(yaml.SafeLoader):
    """The pure-Python twin, for messages: libyaml words its errors differently, and its
    nodes carry the lines messages point at."""

    yaml_implicit_resolvers = RESOLVERS


def load_yaml(text: str) -> Any:
    """The data of a YAML document, as ``yaml.load(text, Loader=CaseLoader)`` gives it.

    Raises :class:`yaml.YAMLError` for text that is not YAML and :class:`DuplicateKey`
    for a mapping that names a key twice (the same key text, as the full loader counts).
    """
    try:
        return _from_events(text)
    except (_Unusual, DuplicateKey):
        # A key given twice too: the full loader reads the whole text first, so a syntax
        # error further on is the one reported, as it always was.
        if libyaml_can_compose(text):
            return yaml.load(text, Loader=CaseLoader)
        try:
            return yaml.load(text, Loader=_PythonCaseLoader)
        except RecursionError:
            raise yaml.YAMLError(_TOO_DEEP) from None


def _from_events(text: str) -> Any:
    loader = CaseLoader(text)
    try:
        return _build(loader)
    finally:
        loader.dispose()


def _build(loader: Any) -> Any:
    get = loader.get_event
    get()  # the stream's start
    if type(get()) is not DocumentStartEvent:
        raise _Unusual  # no document: the full loader says what it makes of that
    # Open containers: [container, keys seen (mappings), key waiting for its value].
    open_: list[list[Any]] = []
    root: Any = None
    done = False
    while not done:
        event = get()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None:
                raise _Unusual
            value: Any = event.value
            tag = event.tag
            if tag is None or tag == "!":
                tag = _STR
                if event.implicit[0]:
                    for candidate, regexp in _BY_FIRST.get(value[:1], _WILDCARD):
                        if regexp.match(value):
                            tag = candidate
                            break
            if tag != _STR:
                construct = _SCALARS.get(tag)
                if construct is None:
                    raise _Unusual
                value = construct(loader, yaml.ScalarNode(tag, value, style=event.style))
            if open_:
                top = open_[-1]
                if top[1] is not None and top[2] is _NO_KEY:
                    if event.value in top[1]:
                        raise DuplicateKey()
                    top[1].add(event.value)
                    top[2] = value
                    continue
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(open_) >= LIBYAML_MAX_DEPTH:
                raise yaml.YAMLError(_TOO_DEEP)
            plain_tag = _MAP if kind is MappingStartEvent else _SEQ
            if event.anchor is not None or event.tag not in (None, "!", plain_tag):
                raise _Unusual
            if open_ and open_[-1][1] is not None and open_[-1][2] is _NO_KEY:
                raise _Unusual  # a mapping or sequence as a key
            open_.append([{}, set(), _NO_KEY] if kind is MappingStartEvent else [[], None, _NO_KEY])
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = open_.pop()[0]
        elif kind is DocumentEndEvent:
            done = True
            continue
        else:
            raise _Unusual  # an alias
        if not open_:
            root = value
        elif open_[-1][1] is None:
            open_[-1][0].append(value)
        else:
            top = open_[-1]
            top[0][top[2]] = value
            top[2] = _NO_KEY
    if type(get()) is not StreamEndEvent:
        raise _Unusual  # a second document: the full loader refuses it in its own words
    return root


_NO_KEY = object()
