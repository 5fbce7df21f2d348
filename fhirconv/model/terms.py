"""Checks that tie the case model to the terminology table (which knows no FHIR)."""

from __future__ import annotations

from fhirconv.terminology import table


def check_term_key(key: str) -> str:
    if not table().has_key(key):
        raise ValueError(f"unknown code {key!r}: not a key of fhirconv's terminology table")
    if "~" in key:
        # Aliases are other producers' codes, read on import as the key they stand for.
        raise ValueError(f"code {key!r} is an alias read on import: use {key.partition('~')[0]!r}")
    return key
