"""The built-in cases, and finding a case by name or path.

``case1`` and ``case2`` are the two patients of the seed report (DOI
10.3389/fonc.2024.1382415), curated by hand into case files that ship with the
package, so they can be named from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fhirconv.errors import UnknownCaseError
from fhirconv.model.case import Case


def builtin_names() -> list[str]:
    folder = resources.files("fhirconv.cases")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    return resources.files("fhirconv.cases").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_case(name_or_path: str) -> Case:
    """A built-in case by name, or a case file (YAML or JSON) by path."""
    from fhirconv.model.load import load_case_file, parse_case_text

    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        return load_case_file(path)
    if name_or_path in builtin_names():
        return parse_case_text(builtin_text(name_or_path), f"<built-in {name_or_path}>")
    raise UnknownCaseError(
        f"{name_or_path!r} is neither a built-in case ({', '.join(builtin_names())}) nor a case file"
    )
