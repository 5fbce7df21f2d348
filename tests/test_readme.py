"""The README's error-message examples are true: each `$ fhirconv ...` shown with an error is run.

Commands are run in a directory holding the files the README names (tests/data/readme, the
examples folder, and case files made from the built-in cases).  Examples with a pipe or a
comment (a closed pipe, a Ctrl-C) stand for what a subprocess test checks elsewhere
(tests/server/test_pipes.py).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from fhirconv.cases import builtin_text

REPO = Path(__file__).resolve().parents[1]


def examples() -> list[tuple[int, str, str]]:
    """(line, command, expected output) for every `$ fhirconv` line of the README's code blocks."""
    found = []
    lines = (REPO / "README.md").read_text().splitlines()
    in_block = False
    current: tuple[int, str, list[str]] | None = None
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            if current:
                found.append((current[0], current[1], "\n".join(current[2]) + "\n"))
                current = None
            in_block = not in_block
            continue
        if not in_block:
            continue
        if line.startswith("$ "):
            if current:
                found.append((current[0], current[1], "\n".join(current[2]) + "\n"))
            current = (number, line[2:], [])
        elif current:
            current[2].append(line)
    return [
        (n, c, out)
        for n, c, out in found
        if c.startswith("fhirconv ") and out.startswith("Error: ") and not re.search(r"[|#]", c)
    ]


@pytest.fixture
def readme_dir(tmp_path, monkeypatch, run_cli):
    for source in (REPO / "tests" / "data" / "readme").iterdir():
        shutil.copy(source, tmp_path / source.name)
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / "case2.yaml").write_text(builtin_text("case2"))
    monkeypatch.chdir(tmp_path)
    ndjson = run_cli("export", "case2", "--format", "ndjson")
    (tmp_path / "case2.ndjson").write_text(ndjson.out)
    return tmp_path


def test_the_readme_has_examples_to_check():
    assert len(examples()) >= 8


@pytest.mark.parametrize(("line", "command", "expected"), examples(), ids=lambda v: str(v)[:40])
def test_readme_example(readme_dir, run_cli, line, command, expected):
    done = run_cli(*shlex.split(command)[1:])
    assert done.out + done.err == expected, f"README.md line {line}: {command}"
