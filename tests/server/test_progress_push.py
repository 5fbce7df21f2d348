"""push on a terminal: the progress bar and the entry list never share a line."""

from __future__ import annotations

import pytest

from tests.test_progress import run_in_terminal, visible_lines

from .test_server_faults import COLLECTION_FILE, FAST, SMALL, transaction_ok

pytestmark = pytest.mark.server


def test_push_prints_entries_above_the_bar(faulty_server):
    server = faulty_server(transaction_ok)
    output = run_in_terminal("push", str(SMALL), str(COLLECTION_FILE), "--server", server.base_url, *FAST)
    assert "Pushing" in output
    lines = visible_lines(output)
    entries = [line for line in lines if "PUT " in line]
    assert entries, output
    assert all(line.startswith("  201 Created PUT ") for line in entries), entries
    labels = [line for line in lines if line.endswith(" entries") or line.endswith(" entry")]
    assert [line.split(":")[0] for line in labels] == [str(SMALL), str(COLLECTION_FILE)], labels
    assert any(line.startswith("Pushed 2 of 2 bundles") for line in lines)
