"""CapabilityStatements given as input: what they declare must agree with the definitions they name.

A search parameter a CapabilityStatement supports names its definition
(``rest.resource.searchParam.definition``, ``rest.searchParam.definition``) and repeats its
type; the type is the definition's, so a CapabilityStatement that calls a core token parameter
a date misdescribes the server. Definitions outside the R4 core are not known offline and are
not judged.
"""

from __future__ import annotations

from typing import Any

from fhirconv.validation import definitions
from fhirconv.validation.issues import Issue, Layer, error


def check(resource: dict[str, Any], path: str) -> list[Issue]:
    issues: list[Issue] = []
    for r, rest in _items(resource, "rest"):
        where = f"{path}.rest[{r}]"
        issues.extend(_search_params(rest, where))
        for i, res in _items(rest, "resource"):
            issues.extend(_search_params(res, f"{where}.resource[{i}]"))
    return issues


def _items(parent: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    values = parent.get(key)
    if not isinstance(values, list):
        return []
    return [(i, v) for i, v in enumerate(values) if isinstance(v, dict)]


def _search_params(parent: dict[str, Any], where: str) -> list[Issue]:
    types = definitions.search_param_types()
    issues = []
    for k, param in _items(parent, "searchParam"):
        url, declared = param.get("definition"), param.get("type")
        if not isinstance(url, str) or not isinstance(declared, str):
            continue
        actual = types.get(url.partition("|")[0])
        if actual is not None and actual != declared:
            issues.append(
                error(
                    Layer.PROFILE,
                    f"{where}.searchParam[{k}].type",
                    f"search parameter '{param.get('name')}' is declared {declared}, but its definition "
                    f"{url} is a {actual} parameter",
                    "capability-searchparam-type",
                )
            )
    return issues
