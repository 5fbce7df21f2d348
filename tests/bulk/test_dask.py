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
