"""Running the layers in order over one resource, one document or one NDJSON file."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from typing import Any

from fhirconv.validation import (
    bundle_layer,
    invariants,
    json_layer,
    schema_compiled,
    schema_layer,
    structure_layer,
    walker,
)
from fhirconv.validation.issues import Issue, Layer, Severity, error, sort_key

# Layers that run on a parsed resource, in order. Profiles and terminology come from
# their own modules and are optional (profiles) or need fhirconv's code table.
ALL_LAYERS = (Layer.SCHEMA, Layer.STRUCTURE, Layer.BUNDLE, Layer.INVARIANT, Layer.PROFILE, Layer.TERMINOLOGY)
SYNTAX_RULES = frozenset({"json-syntax", "json-encoding"})


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Hold the cyclic collector off while validating.

    Parsing and walking a large bundle creates millions of short-lived containers;
    the collector's repeated full passes over them made a 10,000-resource bundle
    several times slower per resource than a small one.  Nothing here creates
    reference cycles that outlive the call, and the collector's state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate_resource(
    resource: Any,
    *,
    profiles: bool = True,
    layers: tuple[Layer, ...] | None = None,
    terminology: Any = None,
    own: bool | None = None,
    igs: tuple[str, ...] = (),
    strict_profiles: bool = False,
    known: Container[str] | None = None,
) -> list[Issue]:
    """Validate a parsed JSON resource (a Bundle included) with every layer after JSON parsing.

    ``terminology`` replaces fhirconv's code table in the terminology layer (tests
    pass a small fake); ``own`` says the resource is fhirconv's output, so every code
    in a system its table covers must be known (None: decided from ``meta``);
    ``layers`` restricts the run to some layers (benchmarks); ``igs`` names FHIR packages
    whose profiles, extensions and value sets the profile layer uses besides the built-in
    ones, and ``strict_profiles`` makes a claimed profile that is not available an error;
    ``known`` holds the ``Type/id`` of every resource of a Bulk Data export the resource is
    part of, for its references to resolve against.
    """
    wanted = set(layers or ALL_LAYERS)
    if not profiles:
        wanted.discard(Layer.PROFILE)
    options = ProfileOptions(igs, strict_profiles)
    with _no_gc_pauses():
        issues = json_layer.check_tree(resource, {}) if layers is None or Layer.JSON in wanted else []
        return _after_json(resource, issues, wanted, terminology, own, options, known)


@dataclasses.dataclass(frozen=True)
class ProfileOptions:
    """What the profile layer is given: the packages to load (``--ig``) and ``--strict-profiles``."""

    igs: tuple[str, ...] = ()
    strict_profiles: bool = False


def _after_json(
    resource: Any,
    issues: list[Issue],
    wanted: set[Layer],
    terminology: Any,
    own: bool | None = None,
    options: ProfileOptions = ProfileOptions(),
    known: Container[str] | None = None,
) -> list[Issue]:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        if not issues:
            issues.append(
                error(Layer.JSON, "(document)", "expected a JSON object with resourceType", "json-root")
            )
        return issues
    path = str(resource["resourceType"])
    runs: list[tuple[Layer, Callable[[], list[Issue]]]] = []
    verdict: list[bool] = []

    def schema_valid() -> bool:
        # The compiled schema's word, asked once for the schema and structure layers both.
        if not verdict:
            verdict.append(schema_compiled.valid(resource))
        return verdict[0]

    if Layer.SCHEMA in wanted:
        runs.append((Layer.SCHEMA, lambda: schema_layer.check(resource, path, schema_valid)))
    walk_: list[walker.Walk] = []

    def walked() -> walker.Walk:
        if not walk_:
            walk_.append(walker.walk(resource, path))
        return walk_[0]

    if Layer.STRUCTURE in wanted:
        runs.append((Layer.STRUCTURE, lambda: structure_layer.check(resource, path, walked, schema_valid)))
    if Layer.BUNDLE in wanted:
        runs.append((Layer.BUNDLE, lambda: bundle_layer.check(walked(), known)))
    if Layer.INVARIANT in wanted:
        runs.append((Layer.INVARIANT, lambda: invariants.check(walked())))
    if Layer.PROFILE in wanted:
        from fhirconv.validation import conformance, profiles

        loaded = conformance.load(options.igs)
        runs.append((Layer.PROFILE, lambda: profiles.check(walked(), loaded, options.strict_profiles)))
    if Layer.TERMINOLOGY in wanted:
        from fhirconv.validation import terminology_layer

        runs.append((Layer.TERMINOLOGY, lambda: terminology_layer.check(walked(), terminology, own)))
    for layer, run in runs:
        try:
            issues.extend(run())
        except RecursionError:
            issues.append(error(layer, path, "nested too deeply to validate", f"{layer.value}-too-deep"))
        # One layer's failure must not hide the others' findings; it becomes an error issue.
        except Exception as err:
            issues.append(
                error(
                    layer,
                    path,
                    f"the {layer.value} layer failed on this input "
                    f"({type(err).__name__}: {err}); please report it",
                    f"{layer.value}-internal",
                )
            )
    return _dedupe(issues)


def _dedupe(issues: list[Issue]) -> list[Issue]:
    """Report a problem once: the schema layer's word stands over the same complaint later."""
    schema_errors = {i.location for i in issues if i.layer is Layer.SCHEMA and i.severity is Severity.ERROR}
    out = []
    seen: set[Issue] = set()
    for issue in issues:
        if issue in seen:
            continue
        seen.add(issue)
        if issue.location in schema_errors and (
            issue.layer is Layer.STRUCTURE or issue.rule == "binding-required"
        ):
            continue
        out.append(issue)
    out.sort(key=sort_key)
    return out


def validate_bytes(
    data: bytes,
    *,
    source: str,
    profiles: bool = True,
    terminology: Any = None,
    own: bool | None = None,
    igs: tuple[str, ...] = (),
    strict_profiles: bool = False,
) -> list[Issue]:
    """Validate raw bytes: JSON (one resource) or, when ``source`` ends in .ndjson or .jsonl,
    one resource a line."""
    options = ProfileOptions(igs, strict_profiles)
    with _no_gc_pauses():
        return _validate_bytes(
            data, source=source, profiles=profiles, terminology=terminology, options=options
        )


def _validate_bytes(
    data: bytes, *, source: str, profiles: bool, terminology: Any, options: ProfileOptions
) -> list[Issue]:
    if source.lower().endswith((".ndjson", ".jsonl")):
        return _validate_ndjson(data, profiles=profiles, terminology=terminology, options=options)
    try:
        value, issues = json_layer.load(data)
    except json_layer.JsonSyntaxError as err:
        rule = "json-encoding" if err.message.startswith("not UTF-8") else "json-syntax"
        return [
            dataclasses.replace(
                error(Layer.JSON, f"line {err.line}, column {err.column}", err.message, rule), line=err.line
            )
        ]
    wanted = set(ALL_LAYERS)
    if not profiles:
        wanted.discard(Layer.PROFILE)
    return _after_json(value, issues, wanted, terminology, None, options)


def _validate_ndjson(
    data: bytes, *, profiles: bool, terminology: Any, options: ProfileOptions
) -> list[Issue]:
    issues: list[Issue] = []
    try:
        text, head = json_layer.decode(data)
    except json_layer.JsonSyntaxError as err:
        return [
            dataclasses.replace(
                error(Layer.JSON, f"line {err.line}, column {err.column}", err.message, "json-encoding"),
                line=err.line,
            )
        ]
    issues.extend(head)
    wanted = set(ALL_LAYERS)
    if not profiles:
        wanted.discard(Layer.PROFILE)
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            issues.extend(_line(line, number, wanted, terminology, options, None))
    if not text.strip():
        issues.append(
            error(Layer.JSON, "(document)", "the NDJSON file holds no resources", "json-empty-file")
        )
    issues.sort(key=sort_key)
    return issues


def _line(
    line: str,
    number: int,
    wanted: set[Layer],
    terminology: Any,
    options: ProfileOptions,
    known: Container[str] | None,
) -> list[Issue]:
    """The issues of one NDJSON line, each carrying the line number."""
    try:
        value, duplicates = json_layer.parse(line)
    except json_layer.JsonSyntaxError as err:
        return [
            dataclasses.replace(
                error(
                    Layer.JSON,
                    f"line {number}, column {err.column}",
                    err.message.replace("line 1, ", ""),
                    "json-syntax",
                ),
                line=number,
            )
        ]
    found = json_layer.check_tree(value, duplicates)
    found = _after_json(value, found, wanted, terminology, None, options, known)
    return [dataclasses.replace(i, line=number) for i in found]


def validate_line(
    data: bytes,
    number: int,
    *,
    profiles: bool = True,
    terminology: Any = None,
    igs: tuple[str, ...] = (),
    strict_profiles: bool = False,
    known: Container[str] | None = None,
) -> list[Issue]:
    """Validate one line of an NDJSON file (``number`` counts from 1), for streaming readers.

    ``known``: the ``Type/id`` of every resource of the export, for references to resolve against.
    """
    wanted = set(ALL_LAYERS)
    if not profiles:
        wanted.discard(Layer.PROFILE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return [
            dataclasses.replace(
                error(
                    Layer.JSON,
                    f"line {number}, column {err.start + 1}",
                    f"not UTF-8: byte 0x{data[err.start]:02x} at column {err.start + 1}",
                    "json-encoding",
                ),
                line=number,
            )
        ]
    with _no_gc_pauses():
        return _line(text, number, wanted, terminology, ProfileOptions(igs, strict_profiles), known)


def syntax_failure(issues: list[Issue]) -> Issue | None:
    """The issue that made a whole document unreadable (exit 2), if any."""
    for issue in issues:
        if issue.rule in SYNTAX_RULES and issue.line is not None and issue.location.startswith("line "):
            return issue
    return None
