"""Rules of a bundle that depend on its type (R4 Bundle, search and document pages).

* ``fullUrl`` is an absolute URL (``urn:uuid:``/``urn:oid:`` included) in every bundle
  but a transaction or batch, whose entries may be new resources;
* links: in a searchset or history, each paging relation (``first``, ``previous``,
  ``next``, ``last``) and ``self`` at most once (two ``next`` links leave a client
  nowhere to go; other relations may repeat); in any other bundle the paging relations
  are prohibited (nothing pages a document or a transaction) and ``self`` is at most once,
  as the HL7 validator holds (its BUNDLE_LINK_SEARCH_PROHIBITED and
  BUNDLE_LINK_SEARCH_NO_DUPLICATES rules);
* searchset: an entry of search mode ``match`` or ``include`` is a resource the server
  holds, so it has an id; a match's type is one the search could return (the ``self``
  link's resource type, an ``_include`` aside); an ``outcome`` entry is an OperationOutcome;
* document: a reference must name exactly one entry (two entries that both answer it
  make it ambiguous), and a reference to a version names an entry of that version.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from fhirconv.validation import definitions
from fhirconv.validation.issues import Issue, Layer, error
from fhirconv.validation.walker import ResourceScope, Walk

_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_REST = re.compile(
    r"^(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/(?P<version>[^/]+))?$"
)


def check(walk: Walk) -> list[Issue]:
    issues: list[Issue] = []
    for scope in walk.resources:
        bundle = scope.resource
        if bundle.get("resourceType") != "Bundle":
            continue
        btype = bundle.get("type")
        entries = _list(bundle, "entry")
        if btype not in ("transaction", "batch"):
            issues.extend(_absolute_full_urls(entries, scope.path))
        if isinstance(btype, str):
            issues.extend(_links(bundle, btype, scope.path))
        if btype == "searchset":
            issues.extend(_searchset(bundle, entries, scope.path))
        if btype == "document":
            issues.extend(_document_references(walk, scope, entries))
    return issues


def _absolute_full_urls(entries: list[Any], at: str) -> list[Issue]:
    issues = []
    for index, entry in enumerate(entries):
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(full_url, str) and not _ABSOLUTE.match(full_url):
            issues.append(
                error(
                    Layer.BUNDLE,
                    f"{at}.entry[{index}].fullUrl",
                    f"fullUrl '{full_url}' is not an absolute URL; outside a transaction or batch "
                    "it must be one (http..., urn:uuid:..., urn:oid:...)",
                    "bundle-fullurl-relative",
                )
            )
    return issues


_PAGING = ("first", "previous", "next", "last")


def _list(bundle: dict[str, Any], key: str) -> list[Any]:
    """``bundle[key]`` when it is a list; any other value the schema layer reports."""
    value = bundle.get(key)
    return value if isinstance(value, list) else []


def _links(bundle: dict[str, Any], btype: str, at: str) -> list[Issue]:
    issues = []
    pages = btype in ("searchset", "history")
    links = _list(bundle, "link")
    seen: dict[str, int] = {}
    for index, link in enumerate(links):
        relation = link.get("relation") if isinstance(link, dict) else None
        if not isinstance(relation, str):
            continue
        if not pages and relation in _PAGING:
            issues.append(
                error(
                    Layer.BUNDLE,
                    f"{at}.link[{index}].relation",
                    f"the link relation '{relation}' pages search results; a {btype} bundle "
                    "has no pages (only a searchset or history may have it)",
                    "bundle-link-paging",
                )
            )
            continue
        if relation not in (*_PAGING, "self"):
            continue
        if relation in seen:
            issues.append(
                error(
                    Layer.BUNDLE,
                    f"{at}.link[{index}]",
                    f"the link relation '{relation}' appears twice (also link[{seen[relation]}]); "
                    f"a {btype} bundle has it at most once",
                    "bundle-searchset-link" if pages else "bundle-link-self",
                )
            )
        else:
            seen[relation] = index
    return issues


def _searchset(bundle: dict[str, Any], entries: list[Any], at: str) -> list[Issue]:
    issues = []
    links = _list(bundle, "link")
    self_url = None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "self" and isinstance(link.get("url"), str):
            self_url = link["url"]
            break
    searched = _searched_types(self_url)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("resourceType")
        here = f"{at}.entry[{index}]"
        if mode == "outcome" and rtype != "OperationOutcome":
            issues.append(
                error(
                    Layer.BUNDLE,
                    f"{here}.resource",
                    f"an entry of search mode 'outcome' must be an OperationOutcome, found {rtype}",
                    "bundle-searchset-outcome",
                )
            )
        if mode in ("match", "include") and not isinstance(resource.get("id"), str):
            issues.append(
                error(
                    Layer.BUNDLE,
                    f"{here}.resource",
                    f"a search {mode} is a resource the server holds: it needs an id",
                    "bundle-searchset-match-id",
                )
            )
        if mode == "match" and searched is not None and rtype not in searched:
            issues.append(
                error(
                    Layer.BUNDLE,
                    f"{here}.resource",
                    f"a search for {' or '.join(searched)} (the self link) cannot match a {rtype}; "
                    "included resources have search mode 'include'",
                    "bundle-searchset-match-type",
                )
            )
    return issues


def _searched_types(url: str | None) -> tuple[str, ...] | None:
    """The resource types a search URL asks for: [base]/Type?..., [base]/Type/id/Type?..., or
    a search across types, [base]?_type=Type1,Type2&... (R4 search: the _type parameter)."""
    if url is None or "?" not in url:
        return None
    path, _, query = url.partition("?")
    last = path.rstrip("/").rsplit("/", 1)[-1]
    known = definitions.resource_types()
    if last in known:
        return (last,)
    named = tuple(t for value in parse_qs(query).get("_type", []) for t in value.split(","))
    return named if named and all(t in known for t in named) else None


def _document_references(walk: Walk, bundle: ResourceScope, entries: list[Any]) -> list[Issue]:
    by_type_id: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            key = (str(resource.get("resourceType")), resource["id"])
            by_type_id.setdefault(key, []).append(resource)
    issues = []
    for scope in walk.resources:
        if scope.entry_of is not bundle.resource:
            continue
        for node in scope.of_kind("reference"):
            if node.type != "Reference" or not isinstance(node.value, dict):
                continue
            ref = node.value.get("reference")
            match = _REST.match(ref) if isinstance(ref, str) and not ref.startswith("urn:") else None
            if match is None or match["base"] is not None:
                continue
            found = by_type_id.get((match["type"], match["id"]), [])
            if len(found) > 1:
                issues.append(
                    error(
                        Layer.BUNDLE,
                        f"{node.path}.reference",
                        f"reference '{ref}' is ambiguous: {len(found)} entries of the document are "
                        f"{match['type']}/{match['id']}",
                        "bundle-reference-ambiguous",
                    )
                )
            elif len(found) == 1 and match["version"] is not None:
                meta = found[0].get("meta")
                version = meta.get("versionId") if isinstance(meta, dict) else None
                if version != match["version"]:
                    issues.append(
                        error(
                            Layer.BUNDLE,
                            f"{node.path}.reference",
                            f"reference '{ref}' names version {match['version']}, but the document's "
                            f"{match['type']}/{match['id']} is "
                            + (f"version {version}" if version else "of no stated version"),
                            "bundle-reference-version",
                        )
                    )
    return issues
