"""Field-level difference between two cases: path in the model, value before, value after."""

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
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            _diff(a[i] if i < len(a) else _MISSING, b[i] if i < len(b) else _MISSING, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(Difference(path or "(case)", a, b))
