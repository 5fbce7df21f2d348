"""fhirconv import of a Bulk Data export: one case file per patient."""

from __future__ import annotations

import json
import tempfile

from fhirconv.cases import builtin_text, load_case
from fhirconv.importing.compare import compare_cases
from fhirconv.importing.reader import import_entries, read_files
from fhirconv.model.load import load_case_file
from tests.bulk.helpers import MCODE, client_layout, mcode_resources, synthea_layout

DOI = "10.1000/example"


def _tree(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_own_bulk_export_comes_back_case_by_case(run_cli, tmp_path):
    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "case2", "--out-dir", bulk, "--layout", "bulk").code == 0
    trees = []
    for jobs in ("1", "2"):
        out = tmp_path / f"cases-{jobs}"
        result = run_cli("import", bulk, "--out-dir", out, "--jobs", jobs)
        assert result.code == 0, result.err
        assert result.err == (
            f"Imported 2 of 2 patients (153 resources) into {out}; 0 element(s) not mapped; 0 failed\n"
        )
        trees.append(_tree(out))
    assert trees[0] == trees[1]
    assert sorted(trees[0]) == ["case1.yaml", "case2.yaml"]
    for name in ("case1", "case2"):
        # Facts compare by id: an export lists resources by type, so lists come back in another order.
        assert compare_cases(load_case(name), load_case_file(tmp_path / "cases-1" / f"{name}.yaml")) == []


def test_third_party_layouts(run_cli, tmp_path):
    resources = mcode_resources()
    client = client_layout(tmp_path / "client", resources)
    synthea = synthea_layout(tmp_path / "synthea", resources)
    outs = []
    for source in (client / "manifest.json", synthea):
        out = tmp_path / f"out-{len(outs)}"
        report = tmp_path / f"report-{len(outs)}.json"
        result = run_cli("import", source, "--out-dir", out, "--doi", DOI, "--report", report)
        patients = {r["id"] for r in resources if r["resourceType"] == "Patient"}
        written = {p.stem for p in out.iterdir()}
        failed = {
            line.split(":")[0].removeprefix("Error: Patient/")
            for line in result.err.splitlines()
            if line.startswith("Error: Patient/")
        }
        assert written and written | failed == patients and not written & failed, result.err
        assert result.code == (1 if failed else 0)
        cases = json.loads(report.read_text())["cases"]
        assert {c["case"] for c in cases} == written
        outs.append(_tree(out))
    # The same export in either layout gives the same cases (each names the files it was read from).
    assert outs[0].keys() == outs[1].keys()
    for name in outs[0]:
        assert _only_files_differ(outs[0][name], outs[1][name])
    # Jenny M's case is what importing her example files one by one gives.
    files = [
        MCODE / "Patient-cancer-patient-jenny-m.json",
        *sorted(
            p
            for p in MCODE.glob("*.json")
            if not p.name.startswith(("Bundle-", "Patient-"))
            and '"Patient/cancer-patient-jenny-m"' in p.read_text()
        ),
    ]
    direct = import_entries(read_files(files), DOI).case
    bulk = load_case_file(tmp_path / "out-0" / "cancer-patient-jenny-m.yaml")
    # Alike but for the files each was read from.
    assert [d for d in compare_cases(direct, bulk) if not d.path.startswith("report.files")] == []
    assert bulk.report.files and all(name.endswith(".ndjson") for name in bulk.report.files)


def _only_files_differ(one: bytes, two: bytes) -> bool:
    import yaml

    a, b = yaml.safe_load(one), yaml.safe_load(two)
    a["report"].pop("files", None)
    b["report"].pop("files", None)
    return a == b


def test_bad_lines_are_named_and_the_other_patients_imported(run_cli, tmp_path):
    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "case2", "--out-dir", bulk, "--layout", "bulk").code == 0
    observations = (bulk / "Observation.ndjson").read_text().splitlines()
    observations[4] = "not json"
    (bulk / "Observation.ndjson").write_text("\n".join(observations) + "\n")
    out = tmp_path / "cases"
    result = run_cli("import", bulk, "--out-dir", out)
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0] == f"Error: {bulk / 'Observation.ndjson'}:5: not valid JSON at column 1: Expecting value"
    assert lines[-1] == "Error: 1 input problem(s) (listed above); the rest was imported"
    assert sorted(p.name for p in out.iterdir()) == ["case1.yaml", "case2.yaml"]


def test_a_folder_needs_out_dir(run_cli, tmp_path):
    result = run_cli("import", tmp_path)
    assert result.code == 2
    assert "a folder (a Bulk Data export) holds many patients: give --out-dir" in result.err


def test_ndjson_on_standard_input_and_jsonl(run_cli, tmp_path, monkeypatch):
    import io
    import sys

    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "case2", "--out-dir", bulk, "--layout", "bulk").code == 0
    data = b"".join(p.read_bytes() for p in sorted(bulk.glob("*.ndjson")))
    (tmp_path / "all.jsonl").write_bytes(data)
    folder = run_cli("import", bulk, "--out-dir", tmp_path / "from-folder")
    jsonl = run_cli("import", tmp_path / "all.jsonl", "--out-dir", tmp_path / "from-jsonl")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    stdin = run_cli("import", "-", "--out-dir", tmp_path / "from-stdin")
    assert folder.code == jsonl.code == stdin.code == 0, stdin.err
    assert stdin.err.startswith("Imported 2 of 2 patients (153 resources) into ")
    trees = [_tree(tmp_path / name) for name in ("from-folder", "from-jsonl", "from-stdin")]
    assert trees[0] == trees[1] == trees[2] and sorted(trees[0]) == ["case1.yaml", "case2.yaml"]
    assert list(spool.iterdir()) == []  # the spooled standard input is gone


def test_a_bundle_where_ndjson_is_read_is_one_line_and_nothing_written(run_cli, tmp_path):
    bundle = tmp_path / "case1.json"
    assert run_cli("export", "case1", "-o", bundle).code == 0
    out = tmp_path / "cases"
    result = run_cli("import", bundle, "--out-dir", out)
    assert result.code == 2
    assert result.err == (
        f"Error: {bundle} is a FHIR Bundle (transaction, 76 entries), not NDJSON (one FHIR resource a line); "
        f"without --out-dir, `fhirconv import {bundle} -o CASE.yaml` reads it\n"
        f"Error: 1 input problem(s) (listed above); nothing to import, {out} not written\n"
    )
    assert not out.exists()


def test_other_kinds_of_file_in_an_export_are_named_for_what_they_are(run_cli, tmp_path):
    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "--out-dir", bulk, "--layout", "bulk").code == 0
    (bulk / "manifest.json").unlink()  # every *.ndjson of the folder is read
    (bulk / "Aaa.ndjson").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (bulk / "Case.ndjson").write_text(builtin_text("case2"))
    result = run_cli("import", bulk, "--out-dir", tmp_path / "cases")
    assert result.code == 2
    assert result.err.splitlines()[:2] == [
        f"Error: {bulk / 'Aaa.ndjson'} is a PNG image, not NDJSON (one FHIR resource a line)",
        f"Error: {bulk / 'Case.ndjson'} is a case file (YAML), not NDJSON (one FHIR resource a line); "
        f"did you mean `fhirconv export {bulk / 'Case.ndjson'}`?",
    ]
    assert [p.name for p in (tmp_path / "cases").iterdir()] == ["case1.yaml"]


def test_many_broken_lines_of_a_file_are_counted_not_listed(run_cli, tmp_path):
    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "case2", "--out-dir", bulk, "--layout", "bulk").code == 0
    path = bulk / "Observation.ndjson"
    lines = path.read_text().splitlines()
    for number in range(2, 12):
        lines[number] = lines[number][:-1]  # cut short: not JSON
    path.write_text("\n".join(lines) + "\n")
    result = run_cli("import", bulk, "--out-dir", tmp_path / "cases")
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("Error: ")]
    assert [e.split(": not valid JSON")[0] for e in errors[:5]] == [f"Error: {path}:{n}" for n in range(3, 8)]
    assert errors[5:] == [
        f"Error: {path}: 5 more lines are not JSON resources",
        "Error: 6 input problem(s) (listed above); the rest was imported",
    ]
    assert sorted(p.name for p in (tmp_path / "cases").iterdir()) == ["case1.yaml", "case2.yaml"]


def test_a_client_download_named_with_its_query_string(run_cli, tmp_path):
    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "--out-dir", bulk, "--layout", "bulk").code == 0
    manifest = json.loads((bulk / "manifest.json").read_text())
    for item in manifest["output"]:
        # As the bulk-data client saves https://server/files/Patient.ndjson?sig=abc: basename and all.
        item["url"] = f"https://bulk.example.org/files/{item['url']}?sig=abc"
        (bulk / item["url"].rsplit("/", 1)[1]).write_bytes((bulk / f"{item['type']}.ndjson").read_bytes())
        (bulk / f"{item['type']}.ndjson").unlink()
    (bulk / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("import", bulk / "manifest.json", "--out-dir", tmp_path / "cases")
    assert result.code == 0, result.err
    assert [p.name for p in (tmp_path / "cases").iterdir()] == ["case1.yaml"]


def test_when_every_patient_fails_no_folder_is_written_and_an_old_one_is_kept(run_cli, tmp_path):
    bulk = tmp_path / "bulk"
    assert run_cli("export", "case1", "case2", "--out-dir", bulk, "--layout", "bulk").code == 0
    patients = [json.loads(line) for line in (bulk / "Patient.ndjson").read_text().splitlines()]
    for patient in patients:
        patient["birthDate"] = "1970-13"
    (bulk / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    out = tmp_path / "cases"
    result = run_cli("import", bulk, "--out-dir", out)
    assert result.code == 1
    assert result.err.splitlines()[-2:] == [
        f"Imported none of 2 patients; {out} not written",
        "Error: 2 of 2 patients could not be imported",
    ]
    assert not out.exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "case1.yaml").write_text("an earlier result")
    result = run_cli("import", bulk, "--out-dir", old, "--force")
    assert result.code == 1 and f"Imported none of 2 patients; {old} left as it was" in result.err
    assert _tree(old) == {"case1.yaml": b"an earlier result"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
