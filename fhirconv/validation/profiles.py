"""Layer 6: mCODE STU4 profiles (placeholder until the snapshot walker lands)."""

from __future__ import annotations

from fhirconv.validation.issues import Issue
from fhirconv.validation.walker import Walk


def check(walk: Walk) -> list[Issue]:
    return []
