"""Transaction bundles on the way out, transaction-responses on the way back.

fhirconv's re-push is idempotent by resource id: every entry is
``PUT Type/id`` (update as create, FHIR R4 http.html#upsert), so the second push
of the same case updates the same resources instead of adding copies.  A server
must therefore let the client choose ids on update
(``CapabilityStatement.rest.resource.updateCreate = true``; Medplum's engine
does, a Google Cloud FHIR store only with ``enableUpdateCreate``, HAPI refuses
ids of digits only by default).  Conditional creates would avoid
that requirement but need identifiers on every resource and serializable
transactions, which fewer servers get right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhirconv.errors import InputError
from fhirconv.server.errors import ServerFailure
from fhirconv.server.references import components_in_dependency_order, references, rewrite_references

# Type/id, with or without a base in front and a _history/vid behind.
_LOCATION = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([^/]+))?/?$")


@dataclass(frozen=True)
class EntryResult:
    """What the server said about one entry of a transaction."""

    index: int
    sent: str  # "PUT Patient/abc": the request as sent
    status: str  # "201 Created", as the server wrote it
    location: str | None  # Type/id of the stored resource, when the server says
    version: str | None
    outcome: dict[str, Any] | None

    @property
    def code(self) -> int:
        match = re.match(r"\s*(\d{3})", self.status)
        return int(match.group(1)) if match else 0


def as_transaction(bundle: dict[str, Any], source: str) -> dict[str, Any]:
    """A transaction Bundle to send: a transaction as it is, a collection turned into PUTs."""
    if bundle.get("resourceType") != "Bundle":
        raise InputError(f"{source}: not a FHIR Bundle (resourceType is {bundle.get('resourceType')!r})")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{source}: the Bundle has no entries to push")
    kind = bundle.get("type")
    if kind == "transaction":
        for i, entry in enumerate(entries):
            request = entry.get("request") if isinstance(entry, dict) else None
            if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
                raise InputError(f"{source}: Bundle.entry[{i}] has no request.method and request.url")
        return bundle
    if kind != "collection":
        raise InputError(f"{source}: can push a transaction or collection Bundle, not a {kind!r} Bundle")
    converted = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not resource.get("resourceType") or not resource.get("id"):
            # Without an id the only request is a POST, and a re-push would duplicate it.
            raise InputError(f"{source}: Bundle.entry[{i}] has no resource with resourceType and id to PUT")
        new_entry = dict(entry)
        new_entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        converted.append(new_entry)
    return {**bundle, "type": "transaction", "entry": converted}


# How servers refuse a transaction for its size: 413 Payload Too Large, or a 400/422 saying so
# in words (Medplum: "Transaction contains more update operations than allowed").
_TOO_LARGE = re.compile(
    r"too (many|large|big)|more .{0,60}than (allowed|permitted)|exceeds? .{0,60}(maximum|limit)"
    r"|maximum (number|size)",
    re.IGNORECASE,
)


def refused_for_size(status: int | None, message: str) -> bool:
    """Whether a refusal of a transaction says it is too large (so a smaller one may pass)."""
    return status == 413 or (status in (400, 422) and bool(_TOO_LARGE.search(message)))


def parse_location(location: str | None) -> tuple[str, str, str | None] | None:
    """(type, id, version) from a response location, or None when it names no resource."""
    if not location:
        return None
    match = _LOCATION.search(location.split("?")[0])
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)


def read_response(sent: dict[str, Any], response: dict[str, Any]) -> list[EntryResult]:
    """Pair every sent entry with its response entry (FHIR keeps them in the same order)."""
    if response.get("type") != "transaction-response":
        raise ServerFailure(
            f"The server answered the transaction with a {response.get('type')!r} Bundle, "
            "not a transaction-response"
        )
    sent_entries = sent.get("entry") or []
    got_entries = response.get("entry") or []
    if len(got_entries) != len(sent_entries):
        raise ServerFailure(
            f"The server answered {len(got_entries)} entries to a transaction of "
            f"{len(sent_entries)}; cannot tell which resource is which"
        )
    results = []
    for i, (out, back) in enumerate(zip(sent_entries, got_entries, strict=True)):
        request = out.get("request") or {}
        answer = (back or {}).get("response") or {}
        location = answer.get("location")
        parsed = parse_location(location)
        if parsed is None and isinstance((back or {}).get("resource"), dict):
            resource = back["resource"]
            if resource.get("resourceType") and resource.get("id"):
                parsed = (
                    resource["resourceType"],
                    resource["id"],
                    (resource.get("meta") or {}).get("versionId"),
                )
        outcome = answer.get("outcome") if isinstance(answer.get("outcome"), dict) else None
        results.append(
            EntryResult(
                index=i,
                sent=f"{request.get('method', '?')} {request.get('url', '?')}",
                status=str(answer.get("status", "?")),
                location=f"{parsed[0]}/{parsed[1]}" if parsed else None,
                version=parsed[2] if parsed else None,
                outcome=outcome,
            )
        )
    return results


def split_transaction(bundle: dict[str, Any], max_entries: int, source: str) -> list[dict[str, Any]]:
    """The transaction as several of at most ``max_entries`` entries each, for servers that cap size.

    Only a bundle of ``PUT Type/id`` entries can be split: each part must stand on
    its own, so references to a fullUrl become ``Type/id``, which the earlier
    part has stored.  Resources that refer to each other in a cycle stay in one
    part, and a part comes after the parts it refers to, so a server that checks
    references on write finds them.  Atomic per part only: a failed part leaves
    the earlier ones stored, and pushing again completes it.
    """
    entries = bundle.get("entry") or []
    if max_entries <= 0 or len(entries) <= max_entries:
        return [bundle]
    names: dict[str, str] = {}
    for i, entry in enumerate(entries):
        request = entry.get("request") or {}
        url = str(request.get("url", ""))
        if request.get("method") != "PUT" or parse_location(url) is None or "?" in url:
            raise InputError(
                f"{source}: cannot split into transactions of {max_entries}: Bundle.entry[{i}] is "
                f"{request.get('method')} {url}, not PUT Type/id"
            )
        if entry.get("fullUrl"):
            names[str(entry["fullUrl"])] = url
        names[url] = url
    rewritten = [rewrite_references(entry, names) for entry in entries]
    refers_to = [
        sorted({names[r] for r in references(entry.get("resource")) if r in names} - {names_of(entry)})
        for entry in rewritten
    ]
    index_of = {names_of(entry): i for i, entry in enumerate(rewritten)}
    graph = [[index_of[name] for name in targets] for targets in refers_to]
    parts: list[list[int]] = [[]]
    for component in components_in_dependency_order(graph):
        if len(component) > max_entries:
            raise InputError(
                f"{source}: cannot split into transactions of {max_entries}: {len(component)} resources "
                "refer to each other in a cycle and must go in one transaction"
            )
        if len(parts[-1]) + len(component) > max_entries:
            parts.append([])
        parts[-1].extend(component)
    return [{**bundle, "entry": [rewritten[i] for i in sorted(part)]} for part in parts if part]


def names_of(entry: dict[str, Any]) -> str:
    return str((entry.get("request") or {}).get("url", ""))
