"""--engine dask on a real dask.distributed cluster: worker processes on loopback, started here.

The same per-partition functions run there as with --jobs; the outputs must be the
bytes --jobs 1 gives.
"""

from __future__ import annotations

import distributed  # the test extra installs dask[distributed]
import pytest


@pytest.fixture(scope="module")
def scheduler():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_validate_import_on_a_cluster_equal_jobs_1(run_cli, tmp_path, scheduler):
    on_cluster = ["--engine", "dask", "--scheduler", scheduler]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert run_cli("export", "case1", "case2", "--out-dir", local, "--layout", "bulk", "-j", "1").code == 0
    result = run_cli("export", "case1", "case2", "--out-dir", remote, "--layout", "bulk", *on_cluster)
    assert result.code == 0, result.err
    assert _tree(local) == _tree(remote)

    one = run_cli("validate", "--format", "json", "-j", "1", local)
    many = run_cli("validate", "--format", "json", local, *on_cluster)
    assert one.code == many.code == 0 and one.out == many.out

    cases_local, cases_remote = tmp_path / "cases-local", tmp_path / "cases-remote"
    assert run_cli("import", local, "--out-dir", cases_local, "-j", "1").code == 0
    assert run_cli("import", local, "--out-dir", cases_remote, *on_cluster).code == 0
    assert _tree(cases_local) == _tree(cases_remote)


def test_a_scheduler_that_does_not_answer(run_cli, tmp_path, monkeypatch):
    import socket

    from fhirconv import parallel

    monkeypatch.setattr(parallel, "SCHEDULER_TIMEOUT", 1.0)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    out = tmp_path / "out"
    result = run_cli("export", "case1", "case2", "--out-dir", out, "--engine", "dask", "--scheduler", address)
    assert result.code == 3
    assert result.err == (
        f"Error: the Dask scheduler at {address} could not be reached (Timed out trying to connect to "
        f"{address} after 1 s); start it with `dask scheduler` or check the address\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def _other_end(tmp_path, run_cli, address):
    out = tmp_path / "out"
    result = run_cli("export", "case1", "case2", "--out-dir", out, "--engine", "dask", "--scheduler", address)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    return result


def test_a_server_that_accepts_and_stays_silent(run_cli, tmp_path, monkeypatch):
    import socket

    from fhirconv import parallel

    monkeypatch.setattr(parallel, "SCHEDULER_TIMEOUT", 1.0)
    # The kernel completes connections to a listening socket that nobody accepts: a server that
    # never says a word (distributed alone would wait for its handshake for ever).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        result = _other_end(tmp_path, run_cli, address)
    assert result.code == 3
    assert result.err == (
        f"Error: the Dask scheduler at {address} did not answer: something accepts connections there but "
        "said nothing in 1.5 s; check the address (a scheduler listens on port 8786 by default)\n"
    )


def test_a_server_speaking_another_protocol(run_cli, tmp_path):
    import socket
    import threading

    with socket.socket() as web:
        web.bind(("127.0.0.1", 0))
        web.listen(8)
        address = f"tcp://127.0.0.1:{web.getsockname()[1]}"

        def answer() -> None:
            connection, _ = web.accept()
            with connection:
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
                connection.recv(1024)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = _other_end(tmp_path, run_cli, address)
    assert result.code == 3
    head = f"Error: {address} answered, but not as a Dask scheduler (not in Dask's protocol: "
    assert result.err.startswith(head)
    assert result.err.endswith("); check the address (a scheduler listens on port 8786 by default)\n")
    assert result.err.count("\n") == 1


def test_a_worker_address_is_not_a_scheduler(run_cli, tmp_path, scheduler):
    with distributed.Client(scheduler) as client:
        worker = sorted(client.scheduler_info()["workers"])[0]
    result = _other_end(tmp_path, run_cli, worker)
    assert result.code == 3
    head = f"Error: {worker} answered, but not as a Dask scheduler (it refused a client: "
    assert result.err.startswith(head)
    assert result.err.endswith("is it a worker's address? A scheduler listens on port 8786 by default\n")
