"""How deep a parsed document nests: one limit for FHIR JSON and case files alike.

Nothing FHIR writes nests deeper than a few dozen levels (the official R4 examples: 23), and a
case file a handful.  A limit well below Python's recursion limit keeps every later step (the
validation layers, the import's copies and readers, the case model's checks and messages) clear
of it, whatever the input.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 100


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (without recursing: it may be deep)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False
