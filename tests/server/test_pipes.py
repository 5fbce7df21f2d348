"""A push whose standard output goes away, or that is stopped by a signal, in a real process.

The rule: work that changes a server either finishes (its messages then go nowhere) or
stops with a line on standard error saying what was and was not sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fhirconv.cases import builtin_text

from .conftest import Reply, Seen
from .test_server_faults import transaction_ok

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]


def case_file(tmp_path: Path, builtin: str, new_id: str) -> Path:
    """A built-in case under another id, so that what this test stores is its own."""
    text = builtin_text(builtin).replace(f"\nid: {builtin}\n", f"\nid: {new_id}\n", 1)
    path = tmp_path / f"{new_id}.yaml"
    path.write_text(text)
    return path


def fhirconv(*args: object, **kwargs) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "fhirconv", *map(str, args)], cwd=REPO, **kwargs)


def stored(base_url: str, name: str) -> bool:
    return httpx.get(f"{base_url}/{name}", timeout=30).status_code == 200


def test_push_into_a_closed_pipe_finishes_and_says_so(fhir_server, tmp_path):
    first = case_file(tmp_path, "case1", "pipeone")
    second = case_file(tmp_path, "case2", "pipetwo")
    process = fhirconv(
        "push", first, second, "--server", fhir_server.base_url, "--max-entries", "50", "--no-validate",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The reader goes away before the first line is written: every write to stdout meets EPIPE.
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert err.decode().splitlines() == [
        f"Pushed 2 of 2 bundles in 4 transactions (153 resources) to {fhir_server.base_url}",
        "Standard output closed early: the push finished; its entry list is cut short",
    ]
    # The last transaction of the second case arrived.
    assert stored(fhir_server.base_url, "DetectedIssue/pipetwo-disagreement-1")
    assert stored(fhir_server.base_url, "Patient/pipeone-patient")


def test_push_into_head_gives_its_first_line_and_stores_everything(fhir_server, tmp_path):
    first = case_file(tmp_path, "case1", "headone")
    command = (
        f"set -o pipefail; {sys.executable} -m fhirconv push {first} --server {fhir_server.base_url} "
        "--max-entries 50 --no-validate | head -1"
    )
    done = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{first} (part 1 of 2): 50 entries\n"
    assert "Pushed 1 of 1 bundle in 2 transactions (76 resources)" in done.stderr
    assert "Traceback" not in done.stderr
    assert stored(fhir_server.base_url, "Patient/headone-patient")


def first_ok_then(reply: Reply):
    """A server that stores the first transaction and answers every later one with ``reply``."""
    answered: list[bool] = []

    def answer(request: Seen) -> Reply:
        if answered:
            return reply
        answered.append(True)
        return transaction_ok(request)

    return answer


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_push_stopped_by_a_signal_says_what_was_and_was_not_sent(faulty_server, signal_number, code):
    server = faulty_server(first_ok_then(Reply(500, b"", delay=30)))
    process = fhirconv(
        "push", "case1", "case2", "--server", server.base_url, "--max-entries", "50", "--no-validate",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(server.seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.seen) == 2, "the second transaction was never sent"
    os.kill(process.pid, signal_number)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code
    assert err.decode() == (
        "Error: push interrupted; stored: case1 (part 1 of 2); in flight, stored or not: "
        "case1 (part 2 of 2); not sent: case2 (all 2 parts)\n"
    )


def test_a_server_failing_half_way_says_what_was_stored(faulty_server, run_cli):
    server = faulty_server(first_ok_then(Reply(503, b"down for maintenance", content_type="text/plain")))
    result = run_cli(
        "push", "case1", "case2", "--server", server.base_url, "--max-entries", "50", "--no-validate",
        "--retries", "0",
    )
    assert result.code == 5, result.err
    assert result.err.splitlines()[-1] == (
        "The push stopped there; stored: case1 (part 1 of 2); in flight, stored or not: "
        "case1 (part 2 of 2); not sent: case2 (all 2 parts)"
    )


def test_a_long_list_of_parts_is_cut_in_the_summary():
    from fhirconv.server.ledger import Ledger, State

    ledger = Ledger([(f"case{n}", 1, 1) for n in range(20)] + [("big", 1, 3), ("big", 2, 3), ("big", 3, 3)])
    for index in range(10):
        ledger.mark(index, State.STORED)
    ledger.mark(20, State.STORED)
    ledger.mark(21, State.REJECTED)
    assert ledger.summary() == (
        "stored: case0, case1, case2, case3, case4, case5, case6, case7, and 3 more; "
        "rejected: big (part 2 of 3); "
        "not sent: case10, case11, case12, case13, case14, case15, case16, case17, and 3 more"
    )
