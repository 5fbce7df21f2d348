"""Measure fhirconv's validator against the HL7 validator's published test cases.

Usage::

    python tools/parity.py DIR [--scope tools/parity_scope.json] [--ig SPEC]... [--json] [-v]

DIR is a folder laid out like ``validator/`` of the FHIR/fhir-test-cases repository (its
``manifest.json`` and the test files beside it), or a clone of that repository. The data is not
part of fhirconv: fetch it yourself (``git clone https://github.com/FHIR/fhir-test-cases``).

Each test case of the manifest names a file, the FHIR version it is validated as and what the
HL7 Java validator reports for it (``java.errorCount``). This tool selects the R4 (4.0.x) JSON
cases that need nothing but the core specification, or packages that ``--ig`` / the package cache
can supply; runs fhirconv's validator on each file in-process (every layer, as ``fhirconv validate``
does); and prints, per case, the errors the HL7 validator expects against those fhirconv found.

* an invalid case (expected errors > 0) is *caught* when fhirconv reports at least one error;
* a valid case (expected 0) is a *false alarm* when fhirconv reports any error.

Cases the scope file classifies as out of scope (they need a terminology server, a network fetch,
a validator mode fhirconv does not have, ...) are still run and listed, but counted apart. Every
skipped case is counted by its reason. Exit status 0 always: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The packages fhirconv can load; any other a case needs makes it skipped (see _packages_missing).
_LOADABLE = ("hl7.fhir.uv.ips", "hl7.fhir.us.mcode", "hl7.fhir.uv.extensions.r4", "hl7.terminology.r4")

# What an expected message of the HL7 validator is about, by its wording: the check class the
# summary groups missed cases by. First match wins.
_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("json syntax and shape", r"Error parsing JSON|Unrecognised property|must be an Array|"
         r"Array cannot be empty|simple value, not null|Duplicated property"),
        ("structure definitions", r"Snapshot|Illegal path|differential"),
        ("xhtml narrative", r"XHTML|txt-\d"),
        ("bundle and references", r"Bundle|Search results|OperationOutcome|fullUrl|resolve|"
         r"Canonical URL .* wrong type"),
        ("extensions", r"\bextension\b"),
        ("invariants", r"\b[a-z]{2,5}-\d+:"),
        ("cardinality", r"minimum required|max allowed"),
        ("terminology", r"value ?set|Unknown Code|code system|No code provided|display|"
         r"is not valid in the system|Version '"),
        ("data types", r"Base64|Attachment|decimal|integer|id value|Invalid Resource id|timezone|"
         r"UUID|Canonical URLs|URL|longer than permitted|date"),
    )
)


_PREFIX = re.compile(r"^(?:[A-Za-z]+: )?\S*: ")


@dataclass
class Case:
    name: str
    file: str
    expected: int
    classes: list[str]
    igs: tuple[str, ...] = ()
    scope: str | None = None  # out-of-scope reason, from the scope file
    found: int = 0
    rules: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        return self.expected > 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="validator/ folder of fhir-test-cases (or the repository)")
    parser.add_argument("--scope", type=Path, help="JSON file: {case name: reason it is out of scope}")
    parser.add_argument("--ig", action="append", default=[], help="a package to load for every case")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print fhirconv's errors per case")
    args = parser.parse_args(argv)

    folder = args.dir / "validator" if (args.dir / "validator" / "manifest.json").is_file() else args.dir
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        print(f"parity: no manifest.json in {args.dir} (nor in {args.dir}/validator)", file=sys.stderr)
        return 2
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    scope: dict[str, str] = json.loads(args.scope.read_text(encoding="utf-8")) if args.scope else {}

    cases, skipped = select(manifest.get("test-cases", []), folder, scope, tuple(args.ig))
    details = {case.name: run(case, folder, args.verbose) for case in cases}
    report = summarise(cases, skipped)
    if args.json:
        report["cases"] = [
            {"name": c.name, "file": c.file, "expected": c.expected, "found": c.found,
             "scope": c.scope, "rules": c.rules, "classes": c.classes}
            for c in cases
        ]
        print(json.dumps(report, indent=1))
    else:
        print_report(cases, skipped, report, details if args.verbose else {})
    return 0


def select(
    entries: list[dict[str, Any]], folder: Path, scope: dict[str, str], igs: tuple[str, ...]
) -> tuple[list[Case], Counter[str]]:
    """The cases to run, and the number of cases skipped for each reason."""
    cases: list[Case] = []
    skipped: Counter[str] = Counter()
    for entry in entries:
        reason = _skip_reason(entry, folder)
        if reason:
            skipped[reason] += 1
            continue
        java = entry.get("java") or {}
        outputs = [o for o in java.get("output") or [] if isinstance(o, str)]
        errors = [o for o in outputs if not o.startswith(("WARNING", "INFORMATION", "warning"))]
        cases.append(
            Case(
                name=entry["name"],
                file=entry["file"],
                expected=int(java.get("errorCount", 0)),
                classes=sorted({_class_of(o) for o in errors}) or ["(not stated)"],
                igs=igs + tuple(entry.get("packages", ())),
                scope=scope.get(entry["name"]),
            )
        )
    return cases, skipped


def _skip_reason(entry: dict[str, Any], folder: Path) -> str | None:
    version = str(entry.get("version", ""))
    file = str(entry.get("file", ""))
    if entry.get("use-test") is False:
        return "disabled in the manifest (use-test: false)"
    if not version:
        return "no version: validated as R5 by the HL7 validator"
    if not version.startswith("4.0"):
        major, _, rest = version.partition(".")
        return f"FHIR version {major}.{rest.partition('.')[0] or 0}, not R4"
    if not file.endswith(".json"):
        return f"not JSON (.{file.rsplit('.', 1)[-1]})"
    if "java" not in entry:
        return "no expectation for the HL7 Java validator"
    if entry.get("supporting") or entry.get("profiles") or entry.get("logical"):
        return "needs supporting files (profiles, questionnaires, libraries) loaded beside it"
    missing = _packages_missing(entry.get("packages", []))
    if missing:
        return f"needs a package fhirconv cannot load ({', '.join(sorted(missing))})"
    if not (folder / file).is_file():
        return "file not present in DIR"
    return None


def _packages_missing(packages: list[str]) -> list[str]:
    from fhirconv.validation import conformance  # imported late: heavy

    missing = []
    for spec in packages:
        if not spec.startswith(_LOADABLE):
            missing.append(spec)
            continue
        try:
            conformance.load((spec,))
        except Exception:  # any failure to load: the case cannot be run
            missing.append(spec)
    return missing


def _class_of(message: str) -> str:
    # "ERROR: ValueSet.url: Canonical URLs ...": the location would match words of its own.
    message = _PREFIX.sub("", message, count=1)
    for name, pattern in _CLASSES:
        if pattern.search(message):
            return name
    return "other"


def run(case: Case, folder: Path, verbose: bool) -> list[str]:
    """Validate the case's file; set ``found`` and ``rules``; return the error lines."""
    from fhirconv.validation import Severity, validate_bytes

    issues = validate_bytes((folder / case.file).read_bytes(), source=case.file, igs=case.igs)
    errors = [i for i in issues if i.severity is Severity.ERROR]
    case.found = len(errors)
    case.rules = sorted({i.rule for i in errors})
    return [f"{i.location}: {i.message} [{i.rule}]" for i in errors] if verbose else []


def summarise(cases: list[Case], skipped: Counter[str]) -> dict[str, Any]:
    def tally(group: list[Case]) -> dict[str, Any]:
        invalid = [c for c in group if c.invalid]
        valid = [c for c in group if not c.invalid]
        caught = [c for c in invalid if c.found]
        alarms = [c for c in valid if c.found]
        return {
            "invalid": len(invalid),
            "caught": len(caught),
            "catch_rate": round(100 * len(caught) / len(invalid), 1) if invalid else None,
            "valid": len(valid),
            "false_alarms": len(alarms),
            "missed": [c.name for c in invalid if not c.found],
            "false_alarm_cases": [c.name for c in alarms],
        }

    in_scope = [c for c in cases if c.scope is None]
    out_scope = [c for c in cases if c.scope is not None]
    by_class: dict[str, Counter[str]] = defaultdict(Counter)
    for case in in_scope:
        if case.invalid:
            for name in case.classes:
                by_class[name]["caught" if case.found else "missed"] += 1
    return {
        "selected": len(cases),
        "in_scope": tally(in_scope),
        "out_of_scope": tally(out_scope),
        "out_of_scope_reasons": dict(Counter(c.scope for c in out_scope if c.scope)),
        "by_expected_class": {k: dict(v) for k, v in sorted(by_class.items())},
        "skipped": dict(skipped.most_common()),
    }


def print_report(
    cases: list[Case], skipped: Counter[str], report: dict[str, Any], details: dict[str, list[str]]
) -> None:
    print(f"{'case':44} {'expected':>8} {'found':>5}  verdict   fhirconv rules")
    for case in sorted(cases, key=lambda c: (c.scope is not None, c.name)):
        if case.invalid:
            verdict = "caught" if case.found else "MISSED"
        else:
            verdict = "FALSE-ALARM" if case.found else "ok"
        if case.scope:
            verdict += " (out of scope)"
        print(f"{case.name:44} {case.expected:>8} {case.found:>5}  {verdict:9} {', '.join(case.rules)}")
        for line in details.get(case.name, []):
            print(f"    {line}")
    ins, outs = report["in_scope"], report["out_of_scope"]
    print()
    print(f"selected {report['selected']} R4 JSON cases; {sum(skipped.values())} skipped")
    print(f"in scope: caught {ins['caught']} of {ins['invalid']} invalid ({ins['catch_rate']}%), "
          f"false alarms on {ins['false_alarms']} of {ins['valid']} valid")
    print(f"out of scope: {outs['caught']} of {outs['invalid']} invalid caught anyway, "
          f"{outs['false_alarms']} of {outs['valid']} valid with errors")
    for reason, count in sorted(report["out_of_scope_reasons"].items()):
        print(f"  {count:3}  {reason}")
    print("invalid cases in scope by the check class of the HL7 validator's errors:")
    for name, counts in report["by_expected_class"].items():
        print(f"  {name:28} caught {counts.get('caught', 0):3}  missed {counts.get('missed', 0):3}")
    print("skipped:")
    for reason, count in report["skipped"].items():
        print(f"  {count:3}  {reason}")


if __name__ == "__main__":
    raise SystemExit(main())
