"""Validation issues as data: what was found, where, by which layer and rule.

Checking and rendering are kept apart: every layer returns a list of
:class:`Issue`, and :mod:`fhirconv.validation.render` turns lists into text, JSON
or an OperationOutcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class Layer(StrEnum):
    """The seven layers, in the order they run; the value is what users see."""

    JSON = "json"
    SCHEMA = "schema"
    STRUCTURE = "structure"
    BUNDLE = "bundle"
    INVARIANT = "invariant"
    PROFILE = "profile"
    TERMINOLOGY = "terminology"


LAYER_ORDER = {layer: index for index, layer in enumerate(Layer)}
SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFORMATION: 2}


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. ``location`` is a FHIRPath such as ``Bundle.entry[3].resource.code``."""

    severity: Severity
    layer: Layer
    location: str
    message: str
    rule: str
    line: int | None = None  # the line of an NDJSON file, or of a JSON syntax error

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity.value,
            "layer": self.layer.value,
            "location": self.location,
            "message": self.message,
            "rule": self.rule,
        }
        if self.line is not None:
            out["line"] = self.line
        return out


def error(layer: Layer, location: str, message: str, rule: str) -> Issue:
    return Issue(Severity.ERROR, layer, location, message, rule)


def warning(layer: Layer, location: str, message: str, rule: str) -> Issue:
    return Issue(Severity.WARNING, layer, location, message, rule)


def information(layer: Layer, location: str, message: str, rule: str) -> Issue:
    return Issue(Severity.INFORMATION, layer, location, message, rule)


def sort_key(issue: Issue) -> tuple[int, int, str, int, str, str]:
    """Stable, readable order: by line, layer, location, severity."""
    location = _INDEX.sub(lambda m: f"[{int(m[1]):09d}]", issue.location)
    return (
        issue.line or 0,
        LAYER_ORDER[issue.layer],
        location,
        SEVERITY_ORDER[issue.severity],
        issue.rule,
        issue.message,
    )


# entry[10] after entry[9]: indexes compare as numbers.
_INDEX = re.compile(r"\[(\d+)\]")


def has_errors(issues: list[Issue]) -> bool:
    return any(i.severity is Severity.ERROR for i in issues)
