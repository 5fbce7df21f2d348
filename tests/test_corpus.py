"""Corpus: validate and import over the real third-party R4 the tests install.

The official R4 examples (hl7.fhir.r4.examples 4.0.1, 5,306 files), the IPS 2.0.0 examples and
the mCODE STU4 examples: every answer of validate and import (--lenient) is exit 0, 1 or 2,
with no traceback, no internal error and no validation layer failing on its input.  A file that
holds no Patient is imported with a Patient of the same package, so its resources are mapped.  CI runs a
fixed sample (about 40 files of each producer, evenly spread); the whole corpus runs with
``FHIRCONV_CORPUS=all pytest -s tests/test_corpus.py``, which prints the figures per producer
that the README quotes.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from tests.answers import check, run

# Producer -> (package, folder, a Patient of it): a file that holds no Patient is imported together
# with that one, so that every resource reaches the mapping (alone it would stop at "no Patient").
PRODUCERS = {
    "HL7 FHIR R4 examples 4.0.1": ("hl7.fhir.r4.examples", "", "Patient-example.json"),
    "IPS 2.0.0 examples": ("hl7.fhir.uv.ips", "example", "Patient-patient-example-female.json"),
    "mCODE STU4 4.0.0 examples": ("hl7.fhir.us.mcode", "example", "Patient-cancer-patient-jenny-m.json"),
}
_PATIENT = re.compile(r'"resourceType"\s*:\s*"Patient"')
WHOLE = os.environ.get("FHIRCONV_CORPUS") == "all"
SAMPLE = 40


@pytest.mark.parametrize("producer", list(PRODUCERS))
def test_every_answer_is_a_clean_exit(fhir_package, tmp_path, producer):
    package, folder, patient = PRODUCERS[producer]
    files = sorted(p for p in (fhir_package(package) / folder).glob("*.json") if p.name != "package.json")
    with_patient = fhir_package(package) / folder / patient
    if not WHOLE:
        files = files[:: max(1, len(files) // SAMPLE)]
    assert files, f"{package} has no examples"
    figures: dict[str, Counter[int]] = {"validate": Counter(), "import": Counter()}
    for path in files:
        code, out, err = run("validate", str(path))
        check(code, out, err, path)
        figures["validate"][code] += 1
        alone = _PATIENT.search(path.read_text(encoding="utf-8", errors="replace"))
        inputs = [str(path)] if alone else [str(with_patient), str(path)]
        code, out, err = run("import", "--lenient", *inputs, "-o", str(tmp_path / "case.yaml"))
        check(code, out, err, path)
        figures["import"][code] += 1
    print(f"\n{producer}: {len(files)} files;", "; ".join(
        f"{command} " + ", ".join(f"exit {code}: {count}" for code, count in sorted(counts.items()))
        for command, counts in figures.items()
    ))
