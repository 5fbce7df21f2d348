"""Progress bars: a sane time remaining, only on a terminal, never on the line of other output."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from fhirconv.progress import make_bar, tracked

REPO = Path(__file__).resolve().parents[1]
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_slow_start_does_not_inflate_the_time_remaining():
    # Worker processes take 10 s to start, then each of 100 files takes 0.1 s. Time since the
    # start over files done (click's estimate) said (10.4 / 5) * 95 = 198 s after five files.
    clock = Clock()
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with make_bar(console, clock) as bar:
        task = bar.add_task("Validating", total=100)
        clock.now += 10
        bar.advance(task)
        for _ in range(4):
            clock.now += 0.1
            bar.advance(task)
        remaining = bar.tasks[0].time_remaining
        assert remaining is not None and 9 <= remaining <= 10  # 95 files at 0.1 s
        bar.refresh()
    assert "5/100 0:00:10 eta 0:00:10" in CONTROL.sub("", screen.getvalue())


def test_no_bar_when_standard_error_is_not_a_terminal(capsys):
    with tracked(range(5), "Working", 5) as items:
        assert list(items) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""


def run_in_terminal(*args: str) -> str:
    """fhirconv ARGS with standard output and error on one pseudo-terminal: what the screen gets."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirconv", *args], cwd=REPO, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    process.wait(timeout=120)
    return b"".join(chunks).decode()


def visible_lines(output: str) -> list[str]:
    """Each line as a terminal leaves it: what follows the last carriage return or line clear."""
    lines = []
    for raw in output.split("\n"):
        text = re.split(r"\r|\x1b\[2K", raw.rstrip("\r"))[-1]
        lines.append(CONTROL.sub("", text))
    return lines


def test_validate_on_a_terminal_draws_the_bar_apart_from_the_report(tmp_path):
    files = []
    for n in range(3):
        target = tmp_path / f"c{n}.json"
        target.write_bytes((REPO / "examples" / "case1.bundle.json").read_bytes())
        files.append(str(target))
    output = run_in_terminal("validate", "--jobs", "1", *files)
    assert "Validating" in output
    lines = visible_lines(output)
    reports = [line for line in lines if ": valid (" in line]
    assert [line.split(":")[0] for line in reports] == files  # each report line starts its own line
    assert all("Validating" not in line for line in reports)
