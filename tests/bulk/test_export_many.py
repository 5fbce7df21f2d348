"""fhirconv export of many cases: a Bundle per case, or the FHIR Bulk Data layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirconv.cases import builtin_text
from fhirconv.fileio import atomic_directory
from fhirconv.server.references import references


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_bulk_layout_is_a_bulk_data_export(run_cli, tmp_path):
    out = tmp_path / "bulk"
    result = run_cli("export", "case1", "case2", "--out-dir", out, "--layout", "bulk", "--jobs", "1")
    assert result.code == 0, result.err
    assert result.err == (
        f"Exported 2 of 2 cases (153 resources) to {out} (Bulk Data layout, 10 files); 0 failed\n"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest) == ["transactionTime", "request", "requiresAccessToken", "output", "error"]
    assert manifest["transactionTime"] == "1970-01-01T00:00:00Z"
    assert (manifest["request"], manifest["requiresAccessToken"], manifest["error"]) == ("$export", False, [])
    types = [item["type"] for item in manifest["output"]]
    assert types == sorted(types) and "Patient" in types and "Observation" in types
    ids = set()
    for item in manifest["output"]:
        assert item["url"] == f"{item['type']}.ndjson"
        lines = (out / item["url"]).read_text().splitlines()
        assert len(lines) == item["count"]
        resources = [json.loads(line) for line in lines]
        assert {r["resourceType"] for r in resources} == {item["type"]}
        ids |= {f"{r['resourceType']}/{r['id']}" for r in resources}
    assert sum(item["count"] for item in manifest["output"]) == 153
    # References name Type/id (no Bundle around a line to resolve urn:uuid in) and all resolve.
    text = "".join((out / f"{t}.ndjson").read_text() for t in types)
    resources = [json.loads(line) for line in text.splitlines()]
    refs = {ref for resource in resources for ref in references(resource)}
    assert refs and refs <= ids
    assert "urn:uuid:" not in text


def test_same_input_same_bytes_whatever_the_jobs(run_cli, tmp_path):
    runs = []
    for jobs in ("1", "2", "1"):
        out = tmp_path / f"out-{len(runs)}"
        assert run_cli("export", "case2", "case1", "--out-dir", out, "--layout", "bulk", "-j", jobs).code == 0
        runs.append(_tree(out))
    assert runs[0] == runs[1] == runs[2]
    assert runs[0]["Patient.ndjson"].index(b"case2-patient") < runs[0]["Patient.ndjson"].index(
        b"case1-patient"
    )


def test_transaction_time_from_the_option_or_source_date_epoch(run_cli, tmp_path):
    run_cli(
        "export",
        "case1",
        "--out-dir",
        tmp_path / "a",
        "--layout",
        "bulk",
        env={"SOURCE_DATE_EPOCH": "1714564800"},
    )
    assert (
        json.loads((tmp_path / "a" / "manifest.json").read_text())["transactionTime"]
        == "2024-05-01T12:00:00Z"
    )
    run_cli(
        "export",
        "case1",
        "--out-dir",
        tmp_path / "b",
        "--layout",
        "bulk",
        "--transaction-time",
        "2024-05-01T14:00:00+02:00",
        "--base-url",
        "https://files.example.org/x/",
    )
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["transactionTime"] == "2024-05-01T14:00:00+02:00"
    assert manifest["request"] == "https://files.example.org/x/$export"
    assert manifest["output"][0]["url"] == "https://files.example.org/x/BodyStructure.ndjson"
    bad = run_cli(
        "export", "case1", "--out-dir", tmp_path / "c", "--layout", "bulk", "--transaction-time", "2024-05-01"
    )
    assert bad.code == 2
    assert bad.err == (
        "Error: --transaction-time '2024-05-01': expected a FHIR instant such as 2024-05-01T12:00:00Z\n"
    )
    assert not (tmp_path / "c").exists()


def test_bundles_layout_is_the_single_export_of_each_case(run_cli, tmp_path):
    cases = tmp_path / "cases"
    (cases / "nested").mkdir(parents=True)
    (cases / "one.yaml").write_text(builtin_text("case1"))
    (cases / "nested" / "two.yaml").write_text(builtin_text("case2"))
    (cases / ".hidden.yaml").write_text("not: [a case")
    (cases / "notes.txt").write_text("not a case file")
    out = tmp_path / "out"
    result = run_cli("export", cases, "--out-dir", out, "--type", "collection")
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["case1.json", "case2.json"]
    for name in ("case1", "case2"):
        single = run_cli("export", name, "--type", "collection")
        assert (out / f"{name}.json").read_text() == single.out


def test_a_failing_case_is_reported_by_name_and_the_others_go_out(run_cli, tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a.yaml").write_text(builtin_text("case1"))
    broken = builtin_text("case2").replace("diagnosis_date: 2020-07", "diagnosis_date: 2020-13", 1)
    assert broken != builtin_text("case2")
    (cases / "b.yaml").write_text(broken)
    (cases / "c.yaml").write_text(builtin_text("case1"))  # the same case id again
    out = tmp_path / "out"
    result = run_cli("export", cases, "--out-dir", out, "--layout", "bulk")
    assert result.code == 1
    lines = result.err.splitlines()
    assert (
        lines[0].startswith(f"Error: {cases / 'b.yaml'}:") and "'2020-13' is not a calendar date" in lines[0]
    )
    assert lines[1] == f"Error: {cases / 'c.yaml'}: case id 'case1' is also the id of {cases / 'a.yaml'}"
    assert lines[2] == f"Exported 1 of 3 cases (76 resources) to {out} (Bulk Data layout, 11 files); 2 failed"
    assert lines[3] == "Error: 2 of 3 cases could not be exported"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["error"] == [{"type": "OperationOutcome", "url": "error/OperationOutcome.ndjson"}]
    outcomes = [
        json.loads(line) for line in (out / "error" / "OperationOutcome.ndjson").read_text().splitlines()
    ]
    assert [o["issue"][0]["diagnostics"] for o in outcomes] == [
        line.removeprefix("Error: ") for line in lines[:2]
    ]
    assert b"case1-patient" in (out / "Patient.ndjson").read_bytes()


def test_output_folder_is_never_half_written(run_cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_cli("export", "case1", "case2", "--out-dir", out)
    assert result.code == 2
    assert result.err == (
        f"Error: {out}: exists and is not empty; name a new folder or add --force to replace it\n"
    )
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert run_cli("export", "case1", "case2", "--out-dir", out, "--force").code == 0
    assert sorted(p.name for p in out.iterdir()) == ["case1.json", "case2.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_atomic_directory_leaves_nothing_when_the_work_fails(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), atomic_directory(target) as folder:
        (folder / "Patient.ndjson").write_text("{}\n")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_usage(run_cli, tmp_path):
    several = run_cli("export", "case1", "case2")
    assert several.code == 2 and "several cases, or a folder of them, need --out-dir" in several.err
    both = run_cli("export", "case1", "case2", "--out-dir", tmp_path / "x", "-o", tmp_path / "y.json")
    assert both.code == 2 and "-o writes one case" in both.err
    scheduler = run_cli(
        "export", "case1", "case2", "--out-dir", tmp_path / "z", "--scheduler", "tcp://127.0.0.1:1"
    )
    assert scheduler.code == 2 and scheduler.err == "Error: --scheduler needs --engine dask\n"
    assert not (tmp_path / "z").exists()


def test_ndjson_of_one_case_refers_by_type_and_id(run_cli):
    result = run_cli("export", "case1", "--format", "ndjson")
    resources = [json.loads(line) for line in result.out.splitlines()]
    assert len(resources) == 76
    assert resources[1]["subject"] == {"reference": "Patient/case1-patient"}


@pytest.mark.parametrize("as_json", [False, True], ids=["yaml", "json"])
def test_a_case_on_standard_input_joins_the_others(run_cli, tmp_path, monkeypatch, as_json):
    import io
    import sys

    import yaml

    text = builtin_text("case2")
    if as_json:
        text = json.dumps(yaml.safe_load(text), default=str)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    out = tmp_path / "out"
    result = run_cli("export", "case1", "-", "--out-dir", out)
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["case1.json", "case2.json"]
    assert (out / "case2.json").read_text() == run_cli("export", "case2").out


def test_a_broken_case_on_standard_input_is_named_stdin(run_cli, tmp_path, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"id: x\npatient: [unclosed\n")))
    out = tmp_path / "out"
    result = run_cli("export", "case1", "-", "--out-dir", out)
    assert result.code == 1
    assert result.err.splitlines()[0].startswith("Error: stdin:3:1: not valid YAML: ")
    assert sorted(p.name for p in out.iterdir()) == ["case1.json"]
    twice = run_cli("export", "-", "-", "--out-dir", tmp_path / "twice")
    assert twice.code == 2 and twice.err.endswith("Error: standard input (-) can be given only once\n")


def test_when_every_case_fails_no_folder_is_written_and_an_old_one_is_kept(run_cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(builtin_text("case2").replace("diagnosis_date: 2020-07", "diagnosis_date: 2020-13", 1))
    out = tmp_path / "out"
    result = run_cli("export", broken, "--out-dir", out)
    assert result.code == 1
    assert result.err.splitlines()[-2:] == [
        f"Exported none of 1 case; {out} not written",
        "Error: 1 of 1 cases could not be exported",
    ]
    assert not out.exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "case2.json").write_text("an earlier result")
    result = run_cli("export", broken, "--out-dir", old, "--force", "--layout", "bulk")
    assert result.code == 1 and f"Exported none of 1 case; {old} left as it was" in result.err
    assert _tree(old) == {"case2.json": b"an earlier result"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml", "old"]
