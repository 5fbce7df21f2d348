"""Bulk Data exports for the tests: fhirconv's own, and the official mCODE examples laid out
as the SMART bulk-data client and Synthea leave them on disk."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

MCODE = Path(__file__).resolve().parents[1] / "data" / "mcode-examples"


def mcode_resources() -> list[dict]:
    """Every official mCODE STU4 example resource that is not a Bundle, in file-name order."""
    return [
        json.loads(p.read_text()) for p in sorted(MCODE.glob("*.json")) if not p.name.startswith("Bundle-")
    ]


def by_type(resources: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for resource in resources:
        out[resource["resourceType"]].append(resource)
    return dict(sorted(out.items()))


def write_lines(path: Path, resources: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in resources))


def client_layout(folder: Path, resources: list[dict]) -> Path:
    """As the bulk-data client saves an export: ``N.Type.ndjson`` (a server's own file names
    replaced), the server's manifest with absolute URLs as ``manifest.json``, errors in ``error/``."""
    folder.mkdir()
    output = []
    for rtype, items in by_type(resources).items():
        half = (len(items) + 1) // 2
        for number, part in enumerate((items[:half], items[half:]), start=1):
            if not part:
                continue
            write_lines(folder / f"{number}.{rtype}.ndjson", part)
            output.append(
                {"type": rtype, "url": f"https://bulk.example.org/files/{rtype.lower()}-{number}.ndjson"}
            )
    (folder / "error").mkdir()
    write_lines(
        folder / "error" / "1.OperationOutcome.ndjson",
        [{"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}],
    )
    manifest = {
        "transactionTime": "2024-01-01T00:00:00Z",
        "request": "https://bulk.example.org/fhir/$export",
        "requiresAccessToken": True,
        "output": output,
        "error": [{"type": "OperationOutcome", "url": "https://bulk.example.org/files/err.ndjson"}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=4))
    return folder


def synthea_layout(folder: Path, resources: list[dict]) -> Path:
    """As Synthea writes bulk data: ``Type.ndjson``, no manifest."""
    folder.mkdir()
    for rtype, items in by_type(resources).items():
        write_lines(folder / f"{rtype}.ndjson", items)
    return folder
