"""The layers' fast paths, and a way to switch them off.

A fast path (orjson before the positional JSON parser, the compiled schema before python
jsonschema) only ever says "nothing wrong here"; whenever it is unsure, the reference
path runs and words the findings.  Tests run the same inputs with the fast paths on and
off (:func:`reference_only`) and require the same findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_state = {"enabled": True}


def enabled() -> bool:
    return _state["enabled"]


@contextmanager
def reference_only() -> Iterator[None]:
    """Run only the reference paths inside the block (this process only)."""
    before = _state["enabled"]
    _state["enabled"] = False
    try:
        yield
    finally:
        _state["enabled"] = before
