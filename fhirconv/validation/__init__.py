"""Offline, layered validation of FHIR R4 JSON: bundles or single resources.

Layers, run in order (each issue names its layer):

1. ``json`` -- UTF-8, well-formed, FHIR JSON rules (:mod:`.json_layer`);
2. ``schema`` -- the official R4 JSON schema (:mod:`.schema_layer`);
3. ``structure`` -- fhir.resources R4B models, R4 winning where they differ (:mod:`.structure_layer`);
4. ``bundle`` -- bdl-* invariants, fullUrls, references (:mod:`.bundle_layer`);
5. ``invariant`` -- core FHIRPath constraints and required bindings (:mod:`.invariants`);
6. ``profile`` -- mCODE STU4 profiles named in ``meta.profile`` (:mod:`.profiles`);
7. ``terminology`` -- codes against fhirconv's table (:mod:`.terminology_layer`).

Public API::

    validate_resource(resource: dict, *, profiles=True) -> list[Issue]
        # optional: layers=(Layer.SCHEMA, ...) to run some layers only,
        # terminology=<table-like> to replace fhirconv's code table,
        # own=True to require every code in a covered system to be in the table
    validate_bytes(data: bytes, *, source: str, profiles=True) -> list[Issue]
        # source ending in .ndjson: one resource a line, issues carry .line
    Issue(severity, layer, location, message, rule, line=None)  # frozen dataclass
    FileResult(file, issues, unreadable=False)  # .valid(strict=False)
    render(results: list[FileResult], fmt, strict=False)  # "text" | "json" | "operationoutcome"
    render_text / render_json / render_operation_outcome

Checking never prints and never raises for bad content: problems are issues, sorted
by line, layer and location.  A layer that fails internally becomes an error issue
(rule ``<layer>-internal``) rather than hiding the other layers' findings.
"""

from __future__ import annotations

from fhirconv.validation.engine import validate_bytes, validate_resource
from fhirconv.validation.issues import Issue, Layer, Severity
from fhirconv.validation.render import (
    FORMATS,
    FileResult,
    render,
    render_json,
    render_operation_outcome,
    render_text,
)

__all__ = [
    "FORMATS",
    "FileResult",
    "Issue",
    "Layer",
    "Severity",
    "render",
    "render_json",
    "render_operation_outcome",
    "render_text",
    "validate_bytes",
    "validate_resource",
]
