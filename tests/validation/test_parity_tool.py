"""tools/parity.py on a small folder laid out like fhir-test-cases' validator/ (cases of our own)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("parity", ROOT / "tools" / "parity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["parity"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _write(folder: Path, name: str, resource: dict[str, Any]) -> None:
    (folder / name).write_text(json.dumps(resource), encoding="utf-8")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "validator"
    folder.mkdir()
    _write(folder, "good.json", {"resourceType": "Patient", "gender": "female"})
    # administrative-gender is a required binding: 'woman' is not one of its codes.
    _write(folder, "bad.json", {"resourceType": "Patient", "gender": "woman"})
    # A document bundle without an identifier breaks bdl-9; the expectation says it is valid.
    document = {"resourceType": "Bundle", "type": "document", "timestamp": "2024-01-01T00:00:00Z"}
    _write(folder, "disputed.json", document)
    cases = [
        {"name": "good", "file": "good.json", "version": "4.0", "java": {"errorCount": 0}},
        {"name": "bad", "file": "bad.json", "version": "4.0.1",
         "java": {"errorCount": 1, "output": ["ERROR: Patient.gender: not in the value set"]}},
        {"name": "disputed", "file": "disputed.json", "version": "4.0", "java": {"errorCount": 0}},
        {"name": "r5", "file": "good.json", "java": {"errorCount": 0}},
        {"name": "r3", "file": "good.json", "version": "3.0", "java": {"errorCount": 0}},
        {"name": "xml", "file": "good.xml", "version": "4.0", "java": {"errorCount": 0}},
        {"name": "supported", "file": "good.json", "version": "4.0", "supporting": ["q.json"], "java": {}},
        {"name": "absent", "file": "absent.json", "version": "4.0", "java": {"errorCount": 1}},
        {"name": "us-core", "file": "good.json", "version": "4.0", "packages": ["hl7.fhir.us.core#3.1.0"],
         "java": {"errorCount": 0}},
    ]
    (folder / "manifest.json").write_text(json.dumps({"test-cases": cases}), encoding="utf-8")
    scope = tmp_path / "scope.json"
    scope.write_text(json.dumps({"disputed": "expectation older than the rule"}), encoding="utf-8")
    return tmp_path


def test_counts_catches_false_alarms_and_skips(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main([str(suite), "--scope", str(suite / "scope.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["selected"] == 3
    assert report["in_scope"] == {
        "invalid": 1, "caught": 1, "catch_rate": 100.0, "valid": 1, "false_alarms": 0,
        "missed": [], "false_alarm_cases": [],
    }
    assert report["out_of_scope"]["false_alarm_cases"] == ["disputed"]
    assert report["out_of_scope_reasons"] == {"expectation older than the rule": 1}
    assert report["by_expected_class"] == {"terminology": {"caught": 1}}
    assert report["skipped"] == {
        "no version: validated as R5 by the HL7 validator": 1,
        "FHIR version 3.0, not R4": 1,
        "not JSON (.xml)": 1,
        "needs supporting files (profiles, questionnaires, libraries) loaded beside it": 1,
        "file not present in DIR": 1,
        "needs a package fhirconv cannot load (hl7.fhir.us.core#3.1.0)": 1,
    }


def test_text_report_and_a_missing_manifest(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    assert tool.main([str(suite / "validator")]) == 0
    out = capsys.readouterr().out
    assert "in scope: caught 1 of 1 invalid (100.0%), false alarms on 1 of 2 valid" in out
    assert "disputed" in out and "FALSE-ALARM" in out
    assert tool.main([str(tmp_path / "nowhere")]) == 2
    assert "parity: no manifest.json in" in capsys.readouterr().err
