"""Rendering results as text, JSON or OperationOutcome; no checking happens here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from fhirconv.validation.issues import Issue, Severity, has_errors

FORMATS = ("text", "json", "operationoutcome")
WARNINGS_SHOWN = 3  # per kind of warning in text output; errors are always all shown


@dataclass(frozen=True, slots=True)
class FileResult:
    """The issues found in one input; ``unreadable`` when it could not be parsed at all."""

    file: str
    issues: list[Issue] = field(default_factory=list)
    unreadable: bool = False

    def valid(self, *, strict: bool = False) -> bool:
        if strict:
            return not any(i.severity in (Severity.ERROR, Severity.WARNING) for i in self.issues)
        return not has_errors(self.issues)


def printable(text: str) -> str:
    """``text`` with lone surrogates (from ``\\ud800`` escapes, or undecodable file names) written
    as ``\\ud800``: UTF-8, so every output, can carry anything else but not them."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _printable_results(results: list[FileResult]) -> list[FileResult]:
    """The results with every file name, location and message printable."""
    out = []
    for result in results:
        issues = [
            replace(issue, location=printable(issue.location), message=printable(issue.message))
            for issue in result.issues
        ]
        out.append(replace(result, file=printable(result.file), issues=issues))
    return out


def render(results: list[FileResult], fmt: str, *, strict: bool = False) -> str:
    results = _printable_results(results)
    if fmt == "text":
        return render_text(results, strict=strict)
    if fmt == "json":
        return render_json(results, strict=strict)
    if fmt == "operationoutcome":
        return render_operation_outcome(results, strict=strict)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def _where(issue: Issue, file: str) -> str:
    """FILE:LINE: FHIRPath for a line of an NDJSON file (as compilers and grep name places)."""
    if issue.line is not None and not issue.location.startswith("line "):
        return f"{file}:{issue.line}: {issue.location}"
    return issue.location


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def render_text(results: list[FileResult], *, strict: bool = False) -> str:
    """Grouped by file; one line per issue, errors first within each layer."""
    lines: list[str] = []
    for result in results:
        counts = Counter(i.severity for i in result.issues)
        summary = ", ".join(
            [
                _plural(counts[Severity.ERROR], "error"),
                _plural(counts[Severity.WARNING], "warning"),
                _plural(counts[Severity.INFORMATION], "note"),
            ]
        )
        verdict = "valid" if result.valid(strict=strict) else "INVALID"
        lines.append(f"{result.file}: {verdict} ({summary})")
        notes: dict[tuple[str, str], list[Issue]] = {}
        repeats: dict[tuple[str, str], int] = {}
        for issue in result.issues:
            if issue.severity is Severity.INFORMATION:
                notes.setdefault((issue.layer.value, issue.rule), []).append(issue)
                continue
            if issue.severity is Severity.WARNING:
                # The same warning at many places: the first few, then a count.
                key = (issue.rule, issue.message)
                repeats[key] = repeats.get(key, 0) + 1
                if repeats[key] > WARNINGS_SHOWN:
                    continue
            lines.append(
                f"  {issue.severity.value:<11} [{issue.layer.value}] {_where(issue, result.file)}: "
                f"{issue.message} ({issue.rule})"
            )
        for (rule, _), count in repeats.items():
            if count > WARNINGS_SHOWN:
                lines.append(
                    f"  warning     ... and {count - WARNINGS_SHOWN} more {rule} warnings like these "
                    "(--format json lists every one)"
                )
        # Notes say what could not be checked or is merely advice: one line per kind,
        # so that errors and warnings stay readable (json and operationoutcome list all).
        for (layer, rule), group in notes.items():
            first = group[0]
            more = f" (and {len(group) - 1} more like it)" if len(group) > 1 else ""
            where = _where(first, result.file)
            lines.append(f"  note        [{layer}] {where}: {first.message} ({rule}){more}")
    return "\n".join(lines) + "\n"


def render_json(results: list[FileResult], *, strict: bool = False) -> str:
    data = {
        "files": [
            {
                "file": r.file,
                "valid": r.valid(strict=strict),
                "issues": [i.as_dict() for i in r.issues],
            }
            for r in results
        ]
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


_OO_CODE = {
    "json": "structure",
    "schema": "structure",
    "structure": "structure",
    "bundle": "invalid",
    "invariant": "invariant",
    "profile": "processing",
    "terminology": "code-invalid",
}


# Extensions of HL7's extensions pack (hl7.fhir.uv.extensions), as the HL7 validator writes them:
# the file an OperationOutcome is about, and the line of an issue.
FILE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"
LINE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"


def operation_outcome(result: FileResult, *, strict: bool = False) -> dict[str, Any]:
    """The issues of one file as an OperationOutcome naming the file, with a narrative (dom-6)."""
    issues: list[dict[str, Any]] = []
    for issue in result.issues:
        code = _OO_CODE[issue.layer.value]
        if issue.severity is Severity.INFORMATION:
            code = "informational"
        entry: dict[str, Any] = {}
        if issue.line is not None:
            entry["extension"] = [{"url": LINE_EXTENSION, "valueInteger": issue.line}]
        entry |= {
            "severity": issue.severity.value,
            "code": code,
            "details": {"text": issue.message},
            "diagnostics": f"{issue.layer.value} layer, rule {issue.rule}",
        }
        if issue.location.startswith(("line ", "(")):
            entry["diagnostics"] += f", at {issue.location}"
        else:
            entry["expression"] = [issue.location]
        if issue.line is not None:
            entry["diagnostics"] += f", line {issue.line}"
        issues.append(entry)
    if not issues:
        issues.append({"severity": "information", "code": "informational", "details": {"text": "no issues"}})
    return {
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": _narrative(result, strict=strict)},
        "extension": [{"url": FILE_EXTENSION, "valueString": result.file}],
        "issue": issues,
    }


def _narrative(result: FileResult, *, strict: bool) -> str:
    """The verdict, the counts and one table row per issue, as the resource states them."""
    import html

    def cell(text: str) -> str:
        return f"<td>{html.escape(text, quote=False)}</td>"

    counts = Counter(i.severity for i in result.issues)
    verdict = "valid" if result.valid(strict=strict) else "INVALID"
    summary = (
        f"{result.file}: {verdict} ({_plural(counts[Severity.ERROR], 'error')}, "
        f"{_plural(counts[Severity.WARNING], 'warning')}, {_plural(counts[Severity.INFORMATION], 'note')})"
    )
    parts = [f"<p>{html.escape(summary, quote=False)}</p>"]
    if result.issues:
        parts.append("<table><tr><th>Severity</th><th>Location</th><th>Issue</th></tr>")
        for issue in result.issues:
            parts.append(
                "<tr>"
                + cell(issue.severity.value)
                + cell(_where(issue, result.file))
                + cell(f"{issue.message} ({issue.layer.value}: {issue.rule})")
                + "</tr>"
            )
        parts.append("</table>")
    return '<div xmlns="http://www.w3.org/1999/xhtml">' + "".join(parts) + "</div>"


def render_operation_outcome(results: list[FileResult], *, strict: bool = False) -> str:
    """One OperationOutcome for one file; a collection Bundle of them for several.

    Each names its file (the operationoutcome-file extension, and its narrative); entries
    have fullUrls derived from the file's place in the list and its name.
    """
    if len(results) == 1:
        data: dict[str, Any] = operation_outcome(results[0], strict=strict)
    else:
        import uuid

        data = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'fhirconv-file:{i}:{r.file}')}",
                    "resource": operation_outcome(r, strict=strict),
                }
                for i, r in enumerate(results)
            ],
        }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
