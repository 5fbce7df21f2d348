"""Field-level difference between two cases: path in the model, value before, value after.

Lists of facts (items with an id) are compared by id, with the id in the path
(``primaries[primary-left-breast].staging[s1].t``): their order is not a fact,
and a server returns resources in its own order.  Other lists compare by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhirconv.model.case import Case

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    before: Any
    after: Any

    def render(self) -> str:
        return f"{self.path}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else repr(value)


def compare_cases(before: Case, after: Case) -> list[Difference]:
    out: list[Difference] = []
    _diff(before.model_dump(mode="json"), after.model_dump(mode="json"), "", out)
    return out


def _diff(a: Any, b: Any, path: str, out: list[Difference]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            _diff(a.get(key, _MISSING), b.get(key, _MISSING), f"{path}.{key}" if path else key, out)
    elif isinstance(a, list) and isinstance(b, list) and _facts(a) and _facts(b):
        ours, theirs = {v["id"]: v for v in a}, {v["id"]: v for v in b}
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            _diff(ours.get(key, _MISSING), theirs.get(key, _MISSING), f"{path}[{key}]", out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            _diff(a[i] if i < len(a) else _MISSING, b[i] if i < len(b) else _MISSING, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(Difference(path or "(case)", a, b))


def _facts(items: list[Any]) -> bool:
    """A non-empty list of identified facts with distinct ids."""
    ids = [v.get("id") for v in items if isinstance(v, dict)]
    return bool(items) and len(ids) == len(items) and None not in ids and len(set(ids)) == len(ids)
