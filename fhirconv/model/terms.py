"""Checks that tie the case model to the terminology table (which knows no FHIR)."""

from __future__ import annotations

from fhirconv.terminology import table


def check_term_key(key: str) -> str:
    if not table().has_key(key):
        raise ValueError(f"unknown code {key!r}: not a key of fhirconv's terminology table")
    return key
