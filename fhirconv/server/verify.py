"""Read pushed resources back and say, element by element, what the server changed.

A server legitimately adds ``meta.versionId``, ``meta.lastUpdated`` and
``meta.source``, may generate a narrative (``text``) and rewrites ``urn:uuid:``
references to the ids it stored.  Everything else that differs is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fhirconv.server.client import FhirClient
from fhirconv.server.errors import ResourceNotFound
from fhirconv.server.references import rewrite_references
from fhirconv.server.transaction import EntryResult

# The server's bookkeeping, replaced on every write whatever was sent.
SERVER_VERSIONING = ("versionId", "lastUpdated")
# What a server may add when the client sent none.
SERVER_ADDED_META = ("source",)
_MISSING = object()


@dataclass(frozen=True)
class Difference:
    resource: str  # Type/id
    path: str  # FHIRPath-like, e.g. Observation.code.coding[0].display
    sent: Any
    got: Any

    def __str__(self) -> str:
        def show(value: Any) -> str:
            return "nothing" if value is _MISSING else repr(value)

        return f"{self.resource}: {self.path}: sent {show(self.sent)}, server has {show(self.got)}"


def comparable(resource: dict[str, Any], sent: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resource without the server's bookkeeping; with ``sent``, also without
    what the server added to it (``meta.source``, a narrative) where ``sent`` had none."""
    out = dict(resource)
    meta = out.get("meta")
    if isinstance(meta, dict):
        sent_meta = ((sent or {}).get("meta") or {}) if sent is not None else meta
        meta = {
            k: v
            for k, v in meta.items()
            if k not in SERVER_VERSIONING and (k not in SERVER_ADDED_META or k in sent_meta)
        }
        if meta:
            out["meta"] = meta
        else:
            del out["meta"]
    if sent is not None and "text" not in sent:
        out.pop("text", None)
    return out


def differences(name: str, sent: Any, got: Any, path: str) -> Iterator[Difference]:
    """Every element where ``got`` is not ``sent``, depth first, in the sent order."""
    if isinstance(sent, dict) and isinstance(got, dict):
        for key in sent:
            yield from differences(name, sent[key], got.get(key, _MISSING), f"{path}.{key}")
        for key in got:
            if key not in sent:
                yield Difference(name, f"{path}.{key}", _MISSING, got[key])
        return
    if isinstance(sent, list) and isinstance(got, list):
        for i in range(max(len(sent), len(got))):
            yield from differences(
                name,
                sent[i] if i < len(sent) else _MISSING,
                got[i] if i < len(got) else _MISSING,
                f"{path}[{i}]",
            )
        return
    if not _same(sent, got):
        yield Difference(name, path, sent, got)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        # bool is an int in Python, but JSON true is not the number 1.
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        # 2 and 2.0 are one JSON number; a server may write either.
        return a == b
    return type(a) is type(b) and a == b


def stored_names(bundle: dict[str, Any], results: list[EntryResult]) -> dict[str, str]:
    """fullUrl -> Type/id as the server stored it."""
    names = {}
    for entry, result in zip(bundle.get("entry") or [], results, strict=True):
        full_url = entry.get("fullUrl")
        if full_url and result.location:
            names[full_url] = result.location
    return names


def verify_push(client: FhirClient, bundle: dict[str, Any], results: list[EntryResult]) -> list[Difference]:
    """Read back every resource the transaction stored and compare it with what was sent."""
    names = stored_names(bundle, results)
    found: list[Difference] = []
    for entry, result in zip(bundle.get("entry") or [], results, strict=True):
        resource = entry.get("resource")
        method = (entry.get("request") or {}).get("method")
        if not isinstance(resource, dict) or method not in ("PUT", "POST"):
            continue
        if result.location is None:
            found.append(
                Difference(result.sent, "location", "a stored resource", "no location in the response")
            )
            continue
        resource_type, resource_id = result.location.split("/", 1)
        expected = rewrite_references(resource, names)
        expected = {**expected, "id": resource_id}
        try:
            got = client.read(resource_type, resource_id)
        except ResourceNotFound:
            found.append(Difference(result.location, resource_type, "the resource", _MISSING))
            continue
        found.extend(
            differences(result.location, comparable(expected), comparable(got, expected), resource_type)
        )
    return found
