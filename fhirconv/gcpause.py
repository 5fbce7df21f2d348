"""Building a large tree of objects without paying the cyclic garbage collector again and again.

Import maps a bundle into a case: tens of thousands of dicts and models that form no cycles.
While they accumulate, the collector keeps running its full collections over everything alive,
more of it each time, which made the mapping of 50,000 resources 40% slower per resource than
that of 10,000 (8,000 against 14,000 resources/s with the collector paused, at both sizes).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off for the block, back as it was afterwards (nested blocks are fine).

    Only for work that makes no reference cycles: a cycle made inside is collected later, once
    the collector runs again.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
