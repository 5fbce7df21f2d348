"""The built-in cases, and finding a case by name or path.

``case1`` and ``case2`` are the two patients of the seed report (DOI
10.3389/fonc.2024.1382415), curated by hand into case files that ship with the
package, so they can be named from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fhirconv.errors import CaseFileError, UnknownCaseError
from fhirconv.model.case import Case


def builtin_names() -> list[str]:
    folder = resources.files("fhirconv.cases")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    return resources.files("fhirconv.cases").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_case(name_or_path: str) -> Case:
    """A built-in case by name, or a case file (YAML or JSON) by path; ``-`` is standard input."""
    from fhirconv.model.load import load_case_file, parse_case_text

    if name_or_path == "-":
        return _from_stdin()
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        try:
            return load_case_file(path)
        except CaseFileError as err:
            raise _what_it_is(_bytes_or_none(path), str(path)) or err from None
    if name_or_path in builtin_names():
        return parse_case_text(builtin_text(name_or_path), f"<built-in {name_or_path}>")
    raise UnknownCaseError(
        f"{name_or_path!r} is neither a built-in case ({', '.join(builtin_names())}) nor a case file"
    )


def case_source(name_or_path: str) -> tuple[str, str]:
    """(name for messages, text) of a built-in case or a case file, read here: a batch sends
    the text to its workers, which need not see the file."""
    from fhirconv.model.load import read_case_file

    if name_or_path == "-":
        return "stdin", _stdin_text()
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        return str(path), read_case_file(path)
    if name_or_path in builtin_names():
        return f"<built-in {name_or_path}>", builtin_text(name_or_path)
    raise UnknownCaseError(
        f"{name_or_path!r} is neither a built-in case ({', '.join(builtin_names())}) nor a case file"
    )


def parse_case_source(label: str, text: str) -> Case:
    """The case in ``text`` (from :func:`case_source`); a file that is no case file is named
    for what it is, as :func:`load_case` names it."""
    from fhirconv.model.load import parse_case_text

    # Standard input has no suffix to tell: JSON is read as JSON (its own messages and rules).
    is_json = text.lstrip().startswith("{") if label == "stdin" else None
    try:
        return parse_case_text(text, label, is_json=is_json)
    except CaseFileError as err:
        if label.startswith("<built-in "):
            raise
        raise _what_it_is(text.encode("utf-8"), label) or err from None


def _what_it_is(data: bytes | None, name: str) -> Exception | None:
    """An error naming what a file that is no case file holds instead (None: nothing in particular)."""
    from fhirconv.kinds import FOR_CASES, Kind, recognise, wrong_kind

    if data is None:
        return None
    found = recognise(data)
    return None if found.kind is Kind.CASE_FILE else wrong_kind(name, found, "a case file", FOR_CASES)


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None  # the case reader has said why


def _from_stdin() -> Case:
    return parse_case_source("stdin", _stdin_text())


def _stdin_text() -> str:
    import sys

    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        not_text = CaseFileError(f"stdin: not UTF-8 text (byte {err.start})")
        raise _what_it_is(data, "stdin") or not_text from None
