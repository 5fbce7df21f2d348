"""Checks that tie the case model to the terminology table (which knows no FHIR)."""

from __future__ import annotations

import difflib

from fhirconv.terminology import table

# Body sites with the side built into the code: the table's naming says which side
# (site.left_breast, site.right_breast, site.both_breasts).
SIDES_BUILT_IN = {"site.left_": "left", "site.right_": "right", "site.both_": "bilateral"}


def check_term_key(key: str) -> str:
    if not table().has_key(key):
        raise ValueError(f"unknown code {key!r}: not a key of fhirconv's terminology table{near_keys(key)}")
    if "~" in key:
        # Aliases are other producers' codes, read on import as the key they stand for.
        raise ValueError(f"code {key!r} is an alias read on import: use {key.partition('~')[0]!r}")
    return key


def near_keys(key: str) -> str:
    """``; did you mean 'rx.anastrozole'?`` for a near miss of a table key, else nothing."""
    keys = [c.key for c in table() if not c.is_alias]
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.75)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(k) for k in close) + "?"


def side_of_site(key: str) -> str | None:
    """The side a body-site key has built in (``site.left_breast``: left), if any."""
    for prefix, side in SIDES_BUILT_IN.items():
        if key.startswith(prefix):
            return side
    return None
