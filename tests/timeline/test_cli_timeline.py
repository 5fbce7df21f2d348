"""``fhirconv timeline``: the pictures of both seed cases and of a third-party bundle."""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import astuple
from itertools import combinations
from pathlib import Path

import matplotlib
import pytest

from fhirconv.cases import load_case
from fhirconv.importing.reader import import_entries, read_files
from fhirconv.timeline.describe import describe
from fhirconv.timeline.layout import layout
from fhirconv.timeline.render import RC, figure, measurer

EXAMPLES = Path(__file__).parent.parent / "data" / "mcode-examples"
JENNY = EXAMPLES / "Bundle-mcode-patient-bundle-jenny-m.json"
DOI = "10.1000/xyz"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def svgs(tmp_path_factory):
    """The SVG of case1, case2 and the mCODE Jenny M bundle, made by the command."""
    from fhirconv.cli import main

    out = tmp_path_factory.mktemp("svg")
    made = {}
    for name, args in (("case1", ["case1"]), ("case2", ["case2"]), ("jenny", [str(JENNY), "--doi", DOI])):
        target = out / f"{name}.svg"
        with pytest.raises(SystemExit) as done:
            main(["timeline", *args, "-o", str(target)])
        assert done.value.code == 0
        made[name] = target.read_bytes()
    return made


def ids(svg: bytes) -> set[str]:
    return {element.get("id") for element in ET.fromstring(svg).iter() if element.get("id")}


def texts_of(svg: bytes, prefix: str) -> str:
    root = ET.fromstring(svg)
    parts = []
    for group in root.iter(f"{SVG}g"):
        if (group.get("id") or "").startswith(prefix):
            parts.extend(t.text or "" for t in group.iter(f"{SVG}text"))
    return " ".join(parts)


def jenny_case():
    return import_entries(read_files([JENNY]), DOI).case


@pytest.mark.parametrize("name", ["case1", "case2", "jenny"])
def test_every_dated_fact_is_in_the_svg(svgs, name):
    case = jenny_case() if name == "jenny" else load_case(name)
    found = ids(svgs[name])
    dated = [fact for fact in case.facts() if _date_of(fact)]
    assert dated
    missing = [fact.id for fact in dated if fact.id not in found]
    assert missing == []
    # The undated ones are drawn too, in their own column.
    assert [fact.id for fact in case.facts() if fact.id not in found] == []


def _date_of(fact):
    for name in ("date", "diagnosis_date", "collected"):
        if getattr(fact, name, None):
            return getattr(fact, name)
    period = getattr(fact, "period", None)
    return period and (period.start or period.end)


@pytest.mark.parametrize(("name", "count"), [("case1", 3), ("case2", 1)])
def test_disagreements_are_marked_with_both_values(svgs, name, count):
    case = load_case(name)
    found = ids(svgs[name])
    for number, disagreement in enumerate(case.disagreements, start=1):
        assert f"{disagreement.fact}.note-{number}" in found  # the mark on the item
        assert f"disagreement-{number}" in found  # the numbered note below
        note = texts_of(svgs[name], f"disagreement-{number}.text.")
        assert f"text: \u201c{disagreement.text_says}\u201d" in note
        assert f"{disagreement.figure}: \u201c{disagreement.figure_says}\u201d" in note
    assert len(case.disagreements) == count


def test_the_picture_shows_the_texts_value(svgs):
    label = texts_of(svgs["case1"], "adjuvant-chemotherapy.label")
    assert "docetaxel, epirubicin, cyclophosphamide" in label
    assert "doxorubicin" not in label


def test_declined_treatments_are_drawn_declined(svgs):
    root = ET.fromstring(svgs["case1"])
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "mdt-consult-declined")
    assert "url(#h" in ET.tostring(group, encoding="unicode")  # filled with a hatch pattern
    assert texts_of(svgs["case1"], "mdt-consult-declined.label").startswith("declined: multidisciplinary")


def test_the_svg_is_byte_identical_across_runs(svgs, tmp_path):
    again = tmp_path / "again.svg"
    done = subprocess.run(
        [sys.executable, "-m", "fhirconv", "timeline", "case1", "-o", str(again)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert again.read_bytes() == svgs["case1"]
    assert b"<dc:date>" not in svgs["case1"]


def test_png_output_and_its_size(tmp_path, run_cli):
    target = tmp_path / "case2.png"
    code, out, err = astuple(run_cli("timeline", "case2", "-o", target))
    assert code == 0, err
    assert out == ""
    assert err == (
        "Wrote the timeline of case2 (27 dated and 6 undated item(s), 1 text/figure disagreement(s)) "
        f"to {target}\n"
    )
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 13 * 150 and height > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["case2.png"]


def test_svg_to_standard_output_without_a_file(run_cli):
    code, out, _ = astuple(run_cli("timeline", "case2", "--width", "10"))
    assert code == 0
    assert out.startswith("<?xml") and 'width="720pt"' in out


@pytest.mark.parametrize("name", ["case1", "case2"])
def test_no_labels_overlap_at_the_default_size(name):
    """Every text (labels, results, marks, axis, notes) measured by the renderer itself."""
    with matplotlib.rc_context(RC):
        fig = figure(layout(describe(load_case(name)), measurer()))
        fig.set_dpi(150)
        fig.canvas.draw()  # places the chips' boxes
        renderer = fig.canvas.get_renderer()
        boxes = []
        for text in fig.axes[0].texts:
            extent = text.get_window_extent(renderer)
            patch = text.get_bbox_patch()
            if patch is not None:
                extent = patch.get_window_extent(renderer)
            boxes.append((text.get_text(), extent))
        marks = [
            (artist.get_gid(), artist.get_window_extent(renderer))
            for artist in fig.axes[0].get_children()
            if artist.get_gid() and not isinstance(artist, matplotlib.text.Text)
        ]
    width, height = fig.bbox.width, fig.bbox.height
    assert len(boxes) > 50
    for text, box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, text
    clashes = [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if _overlap(box_a, box_b)]
    assert clashes == []
    over_marks = [(t, m) for t, box in boxes for m, mark in marks if _overlap(box, mark)]
    assert over_marks == []


def _overlap(a, b):
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def test_a_bundle_with_no_dated_facts_is_refused(tmp_path, run_cli):
    patient = json.loads((EXAMPLES / "Patient-cancer-patient-jenny-m.json").read_text())
    specimen = json.loads((EXAMPLES / "Specimen-human-specimen-left-breast-jenny-m.json").read_text())
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in (patient, specimen)
        ],
    }
    source = tmp_path / "undated.json"
    source.write_text(json.dumps(bundle))
    target = tmp_path / "out.svg"
    code, out, err = astuple(run_cli("timeline", source, "--doi", DOI, "-o", target))
    assert (code, out) == (1, "")
    assert err == f"Error: {source}: nothing to draw: its 1 fact(s) have no date\n"
    assert not target.exists()
    patient_only = tmp_path / "patient.json"
    patient_only.write_text(json.dumps(patient))
    code, _, err = astuple(run_cli("timeline", patient_only, "--doi", DOI, "-o", target))
    assert code == 1
    assert err == f"Error: {patient_only}: nothing to draw: it holds no clinical facts\n"


def test_an_unknown_picture_format_exits_2(tmp_path, run_cli):
    target = tmp_path / "case1.pdf"
    code, _, err = astuple(run_cli("timeline", "case1", "-o", target))
    assert code == 2
    assert err == (
        f"Error: {target}: cannot tell the picture format from the suffix '.pdf': "
        "name the file .svg or .png, or give --format\n"
    )
    code, _, _ = astuple(run_cli("timeline", "case1", "-o", target, "--format", "png"))
    assert code == 0 and target.read_bytes()[:4] == b"\x89PNG"


def test_an_unknown_case_exits_2(run_cli):
    code, _, err = astuple(run_cli("timeline", "case9", "-o", "x.svg"))
    assert code == 2
    assert err == "Error: 'case9' is neither a built-in case (case1, case2) nor a case file\n"


def test_a_bundle_naming_no_publication_is_drawn_naming_its_file(run_cli, tmp_path):
    code, _, err = astuple(run_cli("timeline", JENNY, "-o", tmp_path / "j.svg"))
    assert code == 0, err
    assert JENNY.name in (tmp_path / "j.svg").read_text()


def test_help_names_the_command_and_examples(run_cli):
    code, out, _ = astuple(run_cli("timeline", "--help"))
    assert code == 0
    assert "fhirconv timeline case1 -o case1-timeline.svg" in out
    assert re.search(r"--format \[svg\|png\]", out)


def test_a_png_is_not_written_to_a_terminal(tmp_path):
    import os

    primary, secondary = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fhirconv", "timeline", "case1", "--format", "png"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parent.parent.parent,
            check=False,
        )
    finally:
        os.close(secondary)
        os.close(primary)
    assert done.returncode == 2
    expected = "Error: a PNG is not for a terminal: give -o FILE.png, or redirect standard output\n"
    assert done.stderr == expected


def test_a_json_case_file_is_a_case_not_a_bundle(tmp_path, run_cli):
    source = tmp_path / "case2.json"
    source.write_text(load_case("case2").model_dump_json(exclude_defaults=True))
    code, _, err = astuple(run_cli("timeline", source, "-o", tmp_path / "c.svg"))
    assert code == 0, err
    assert err.startswith("Wrote the timeline of case2 (27 dated")


def test_what_the_import_could_not_map_is_counted(tmp_path, run_cli):
    code, _, err = astuple(run_cli("timeline", JENNY, "--doi", DOI, "-o", tmp_path / "j.svg"))
    assert code == 0
    assert re.match(
        rf"{re.escape(str(JENNY))}: \d+ element\(s\) the import could not map are not pictured "
        rf"\(`fhirconv import {re.escape(str(JENNY))}` lists them\)\n"
        "Wrote the timeline of cancer-patient-jenny-m",
        err,
    )
