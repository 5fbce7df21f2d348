"""Commands whose standard output closes early: no traceback, and the exit status the work earns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_with_closed_stdout(*args: object) -> tuple[int, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirconv", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # before the first write: every write meets EPIPE
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode()


def test_export_into_a_closed_pipe_is_quiet():
    assert run_with_closed_stdout("export", "case2") == (0, "")


def test_validate_into_a_closed_pipe_keeps_its_verdict(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient", "gender": "mostly"}')
    code, err = run_with_closed_stdout("validate", "examples/case1.bundle.json", bad)
    assert (code, err) == (1, "Error: 1 of 2 files failed validation with errors\n")


def test_sigterm_while_waiting_on_a_fifo_exits_143_without_a_traceback(tmp_path):
    import os
    import signal
    import time

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "fhirconv", "export", "case1", "-o", str(fifo)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Wait until the export is done and the process waits for a reader of the FIFO (Linux).
    deadline = time.monotonic() + 60
    wchan = Path(f"/proc/{process.pid}/wchan")
    while wchan.read_text() != "wait_for_partner" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wchan.read_text() == "wait_for_partner"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert err.decode().strip() == "Terminated."
    assert [p.name for p in tmp_path.iterdir()] == ["out.fifo"]
