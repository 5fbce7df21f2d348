"""Layer 4: bundle integrity and references.

The bdl-* invariants of R4 Bundle are implemented here natively (the invariant
layer skips them; ``tests/validation/test_bundle_layer.py`` checks each against its
FHIRPath), together with what FHIRPath cannot say: fullUrl agrees with the
resource's type and id, every reference resolves, and references point at a
resource type their element allows.  References are checked in any resource,
not only in bundles (a contained target, an allowed type).
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

from fhirconv.validation import bundle_rules, definitions
from fhirconv.validation.issues import Issue, Layer, error, warning
from fhirconv.validation.walker import Node, ResourceScope, Walk

_REQUEST_TYPES = {"batch", "transaction", "history"}
_RESPONSE_TYPES = {"batch-response", "transaction-response", "history"}
# RESTful reference: [base/]Type/id[/_history/version]
_REST = re.compile(
    r"^(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


def check(walk: Walk, known: Container[str] | None = None) -> list[Issue]:
    """``known``: the ``Type/id`` of every resource of the Bulk Data export a resource outside
    any Bundle belongs to; its relative references must name one of them."""
    issues: list[Issue] = []
    bundles = [s for s in walk.resources if s.resource.get("resourceType") == "Bundle"]
    for scope in bundles:
        issues.extend(_bundle_invariants(scope))
    issues.extend(_references(walk, bundles, known))
    if bundles:
        issues.extend(bundle_rules.check(walk))
    return issues


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry")
    return [e if isinstance(e, dict) else {} for e in entries] if isinstance(entries, list) else []


def _bundle_invariants(scope: ResourceScope) -> list[Issue]:
    issues: list[Issue] = []
    bundle = scope.resource
    btype = bundle.get("type")
    if btype is not None and not isinstance(btype, str):
        return issues  # the schema says the type is no code; what depends on it cannot be judged
    at = scope.path
    entries = _entries(bundle)

    def bdl(key: str, location: str, message: str) -> None:
        issues.append(error(Layer.BUNDLE, location, f"{key}: {message}", key))

    if "total" in bundle and btype not in ("searchset", "history"):
        bdl("bdl-1", f"{at}.total", "total only when a search or history")
    for index, entry in enumerate(entries):
        here = f"{at}.entry[{index}]"
        if "search" in entry and btype != "searchset":
            bdl("bdl-2", f"{here}.search", "entry.search only when a search")
        if ("request" in entry) != (btype in _REQUEST_TYPES):
            bdl(
                "bdl-3",
                here,
                "entry.request mandatory for batch/transaction/history, otherwise prohibited"
                + (
                    f" (bundle type {btype}: request missing)"
                    if btype in _REQUEST_TYPES
                    else f" (bundle type {btype}: request not allowed)"
                ),
            )
        if ("response" in entry) != (btype in _RESPONSE_TYPES):
            bdl(
                "bdl-4",
                here,
                "entry.response mandatory for batch-response/transaction-response/history, "
                "otherwise prohibited",
            )
        if not ("resource" in entry or "request" in entry or "response" in entry):
            bdl("bdl-5", here, "must be a resource unless there's a request or response")
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and "/_history/" in full_url:
            bdl("bdl-8", f"{here}.fullUrl", "fullUrl cannot be a version specific reference")
        issues.extend(_full_url_matches(entry, here))
    if btype != "history":
        seen: dict[tuple[str, Any], int] = {}
        for index, entry in enumerate(entries):
            full_url = entry.get("fullUrl")
            if not isinstance(full_url, str):
                continue
            resource = entry.get("resource")
            meta = resource.get("meta") if isinstance(resource, dict) else None
            version = meta.get("versionId") if isinstance(meta, dict) else None
            # A versionId of the wrong JSON type is the schema's to report; as a key it must hash.
            key = (full_url, version if isinstance(version, str) else repr(version))
            if key in seen:
                bdl(
                    "bdl-7",
                    f"{at}.entry[{index}].fullUrl",
                    f"FullUrl must be unique in a bundle, or else entries "
                    f"with the same fullUrl must have different meta.versionId ('{full_url}' is also "
                    f"entry[{seen[key]}])",
                )
            else:
                seen[key] = index
    if btype == "document":
        identifier = bundle.get("identifier")
        if not (isinstance(identifier, dict) and "system" in identifier and "value" in identifier):
            bdl("bdl-9", at, "A document must have an identifier with a system and a value")
        if not isinstance(bundle.get("timestamp"), str):
            bdl("bdl-10", at, "A document must have a date")
        first = entries[0].get("resource") if entries else None
        if not (isinstance(first, dict) and first.get("resourceType") == "Composition"):
            bdl("bdl-11", at, "A document must have a Composition as the first resource")
    if btype == "message":
        first = entries[0].get("resource") if entries else None
        if not (isinstance(first, dict) and first.get("resourceType") == "MessageHeader"):
            bdl("bdl-12", at, "A message must have a MessageHeader as the first resource")
    return issues


def _full_url_matches(entry: dict[str, Any], here: str) -> list[Issue]:
    full_url = entry.get("fullUrl")
    resource = entry.get("resource")
    if not isinstance(full_url, str) or not isinstance(resource, dict):
        return []
    if full_url.startswith(("urn:uuid:", "urn:oid:")):
        return []
    match = _REST.match(full_url)
    rtype, rid = resource.get("resourceType"), resource.get("id")
    if match is None:
        return []
    if match["type"] != rtype or (rid is not None and match["id"] != rid):
        return [
            error(
                Layer.BUNDLE,
                f"{here}.fullUrl",
                f"fullUrl '{full_url}' does not agree with the resource ({rtype}/{rid})",
                "bundle-fullurl-mismatch",
            )
        ]
    if rid is None:
        return [
            error(
                Layer.BUNDLE,
                f"{here}.fullUrl",
                f"fullUrl '{full_url}' names an id but the resource has none",
                "bundle-fullurl-mismatch",
            )
        ]
    return []


class _Index:
    """What the references of one bundle can resolve to."""

    def __init__(self, bundle: dict[str, Any] | None) -> None:
        self.btype = bundle.get("type") if bundle else None
        self.by_url: dict[str, dict[str, Any]] = {}
        self.by_type_id: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in _entries(bundle) if bundle else []:
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                self.by_url[full_url] = resource
            rid, rtype = resource.get("id"), resource.get("resourceType")
            if isinstance(rid, str) and isinstance(rtype, str):
                self.by_type_id.setdefault((rtype, rid), resource)


def _references(walk: Walk, bundles: list[ResourceScope], known: Container[str] | None) -> list[Issue]:
    issues: list[Issue] = []
    indexes = {id(b.resource): _Index(b.resource) for b in bundles}
    entries = {id(b.resource): _entries(b.resource) for b in bundles}
    types = definitions.resource_types()
    for scope in walk.resources:
        # References resolve within the bundle the resource is an entry of (bundles nest).
        index = indexes.get(id(scope.entry_of)) if scope.entry_of is not None else None
        entry_url = None
        if index is not None and scope.entry_index is not None:
            entry = entries[id(scope.entry_of)][scope.entry_index]
            entry_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        for node in scope.of_kind("reference"):
            if node.type == "canonical" and isinstance(node.value, str):
                issues.extend(_canonical_target(node))
                continue
            if node.type != "Reference" or not isinstance(node.value, dict):
                continue
            ref = node.value.get("reference")
            if not isinstance(ref, str):
                continue
            targets = node.element.get("targets", [])
            target_type, found = _resolve(ref, scope, index, entry_url, known)
            if target_type is not None and target_type not in types and "://" in ref:
                # An absolute URL that merely looks RESTful (.../Network/x): not a resource type.
                target_type = None
            loc = f"{node.path}.reference"
            if found == "missing" and index is None:
                issues.append(
                    warning(
                        Layer.BUNDLE,
                        loc,
                        f"reference '{ref}' does not resolve: no resource of the export has this type and id",
                        "bulk-reference-unresolved",
                    )
                )
            elif found == "missing":
                nested = scope.entry_of is not None and scope.entry_of is not walk.resources[0].resource
                if ref.startswith(("urn:uuid:", "urn:oid:")) and nested:
                    # A bundle inside a bundle (a searchset in a message, a document in a
                    # collection) may refer to its container's entries; the HL7 validator warns.
                    issues.append(
                        warning(
                            Layer.BUNDLE,
                            loc,
                            f"reference '{ref}' does not resolve within the nested bundle",
                            "bundle-reference-unresolved",
                        )
                    )
                elif ref.startswith(("urn:uuid:", "urn:oid:")):
                    issues.append(
                        error(
                            Layer.BUNDLE,
                            loc,
                            f"reference '{ref}' does not resolve: no entry has this fullUrl",
                            "bundle-reference-unresolved",
                        )
                    )
                elif index is not None and index.btype == "document":
                    # A document must carry everything it refers to.
                    issues.append(
                        error(
                            Layer.BUNDLE,
                            loc,
                            f"reference '{ref}' does not resolve within the document bundle",
                            "bundle-reference-unresolved",
                        )
                    )
                elif index is not None and index.btype in ("transaction", "batch"):
                    issues.append(
                        warning(
                            Layer.BUNDLE,
                            loc,
                            f"reference '{ref}' is not in the bundle; it must already exist on the server",
                            "bundle-reference-external",
                        )
                    )
                elif index is not None:
                    # FHIR lets collections refer outside themselves; the official mCODE patient
                    # bundle does. Worth a warning, not an error.
                    issues.append(
                        warning(
                            Layer.BUNDLE,
                            loc,
                            f"reference '{ref}' does not resolve within the bundle",
                            "bundle-reference-unresolved",
                        )
                    )
            if (
                target_type is not None
                and target_type not in types
                and found != "contained"
                and "://" not in ref
            ):
                issues.append(
                    error(
                        Layer.BUNDLE,
                        loc,
                        f"reference '{ref}' names '{target_type}', which is not a FHIR R4 resource type",
                        "bundle-reference-type",
                    )
                )
            elif (
                target_type is not None
                and targets
                and "Resource" not in targets
                and target_type not in targets
            ):
                issues.append(
                    error(
                        Layer.BUNDLE,
                        loc,
                        f"reference to a {target_type}; this element allows {', '.join(targets)}",
                        "bundle-reference-target-type",
                    )
                )
    return issues


def _canonical_target(node: Node) -> list[Issue]:
    """A canonical that names a core conformance resource must name one of a type it allows."""
    targets = node.element.get("targets")
    if not targets or "Resource" in targets:
        return []
    found = definitions.core_canonical_type(node.value.partition("|")[0])
    if found is None or found in targets:
        return []
    return [
        error(
            Layer.BUNDLE,
            node.path,
            f"canonical '{node.value}' is the URL of the core {found}; "
            f"this element refers to a {' or '.join(targets)}",
            "bundle-canonical-target-type",
        )
    ]


def _resolve(
    ref: str, scope: ResourceScope, index: _Index | None, entry_url: str | None, known: Container[str] | None
) -> tuple[str | None, str]:
    """(type of the target if known, 'found' | 'missing' | 'contained' | 'unknown')."""
    if ref.startswith("#"):
        if ref == "#":
            return None, "contained"
        for c in scope.root.get("contained", []) if isinstance(scope.root.get("contained"), list) else []:
            if isinstance(c, dict) and c.get("id") == ref[1:]:
                return str(c.get("resourceType")), "contained"
        return None, "contained"  # ref-1 reports it
    if index is None:
        match = _REST.match(ref)
        if match is not None and known is not None and match["base"] is None and scope.entry_of is None:
            return match["type"], "found" if f"{match['type']}/{match['id']}" in known else "missing"
        return (match["type"] if match else None), "unknown"
    if ref in index.by_url:
        return str(index.by_url[ref].get("resourceType")), "found"
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        return None, "missing"
    match = _REST.match(ref)
    if match is None:
        return None, "unknown"  # a conditional reference or a non-RESTful URL
    if match["base"] is None and entry_url is not None:
        # Relative: resolved against the base of the entry's fullUrl.
        entry_match = _REST.match(entry_url)
        if entry_match is not None and entry_match["base"] is not None:
            absolute = f"{entry_match['base']}/{match['type']}/{match['id']}"
            if absolute in index.by_url:
                return match["type"], "found"
    if (match["type"], match["id"]) in index.by_type_id and (match["base"] is None or ref.startswith("http")):
        return match["type"], "found"
    if match["base"] is not None and not ref.startswith(("http://", "https://")):
        return match["type"], "unknown"
    return match["type"], "missing" if match["base"] is None else "external"
