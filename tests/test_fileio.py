"""fileio.write_output: atomic for regular files, written through for devices and FIFOs.

Special files are made with mknod/mkfifo in a temporary directory: never the real /dev.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from fhirconv.errors import InputError
from fhirconv.fileio import check_outputs, open_output, write_output


@contextlib.contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def make_device(path: Path, major: int, minor: int) -> Path:
    """A character device node like /dev/null (1, 3) or /dev/full (1, 7), in a temporary directory."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD); the CI runs as root")
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, mask, mode):
    target = tmp_path / "new.json"
    with umask(mask):
        write_output(b"{}\n", target)
    assert target.read_bytes() == b"{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert leftovers(tmp_path) == []


def test_an_existing_file_keeps_its_mode_and_is_replaced_whole(tmp_path):
    target = tmp_path / "out.json"
    target.write_bytes(b"old content that is longer than the new one\n")
    target.chmod(0o640)
    before = target.stat().st_ino
    with umask(0o022):
        write_output(b"new\n", target)
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != before  # replaced by rename, not rewritten in place
    assert leftovers(tmp_path) == []


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_bytes(b"old\n")
    with pytest.raises(RuntimeError), open_output(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("the producer failed")
    assert target.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_a_character_device_is_written_through_and_stays_a_device(tmp_path):
    null = make_device(tmp_path / "null", 1, 3)
    write_output(b"x" * 100_000, null)
    info = null.lstat()
    assert stat.S_ISCHR(info.st_mode)
    assert info.st_rdev == os.makedev(1, 3)
    assert leftovers(tmp_path) == []


def test_a_full_device_gives_one_clear_error_and_stays_a_device(tmp_path):
    full = make_device(tmp_path / "full", 1, 7)
    with pytest.raises(InputError) as caught:
        write_output(b"x" * 100_000, full)
    assert str(caught.value) == f"{full}: cannot write: No space left on device"
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_a_fifo_is_written_through_to_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=read)
    reader.start()
    write_output(b"through the fifo\n", fifo)
    reader.join(timeout=10)
    assert received == [b"through the fifo\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert leftovers(tmp_path) == []


def test_a_symbolic_link_keeps_pointing_at_its_target_which_is_written(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "case.yaml"
    target.write_bytes(b"old\n")
    target.chmod(0o604)
    middle = tmp_path / "middle"
    middle.symlink_to("real/case.yaml")  # relative, and a chain of two links
    link = tmp_path / "link"
    link.symlink_to(middle)
    write_output(b"new\n", link)
    assert link.is_symlink() and middle.is_symlink()
    assert os.readlink(link) == str(middle)
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []


def test_a_dangling_symbolic_link_gets_its_target_created(tmp_path):
    link = tmp_path / "link"
    link.symlink_to("made.json")
    with umask(0o022):
        write_output(b"{}\n", link)
    assert link.is_symlink()
    assert (tmp_path / "made.json").read_bytes() == b"{}\n"
    assert stat.S_IMODE((tmp_path / "made.json").stat().st_mode) == 0o644


def test_a_link_to_a_device_writes_the_device(tmp_path):
    null = make_device(tmp_path / "null", 1, 3)
    link = tmp_path / "out.json"
    link.symlink_to(null)
    write_output(b"{}\n", link)
    assert link.is_symlink() and stat.S_ISCHR(null.lstat().st_mode)


def test_dash_and_the_dev_stdout_names_are_standard_output(capsysbinary):
    write_output(b"one\n", "-")
    write_output(b"two\n", None)
    write_output(b"three\n", Path("/dev/stdout"))
    write_output(b"four\n", "/dev/stderr")
    captured = capsysbinary.readouterr()
    assert captured.out == b"one\ntwo\nthree\n"
    assert captured.err == b"four\n"


def test_a_directory_and_a_socket_are_refused_in_one_line(tmp_path):
    with pytest.raises(InputError) as caught:
        write_output(b"{}", tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, not a file"
    address = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(address))
        with pytest.raises(InputError) as caught:
            write_output(b"{}", address)
    assert str(caught.value) == (
        f"{address}: cannot write: not a file, device or FIFO that can be written (a socket?)"
    )


def test_a_missing_directory_is_named(tmp_path):
    target = tmp_path / "no-such-dir" / "out.json"
    with pytest.raises(InputError) as caught:
        write_output(b"{}", target)
    assert str(caught.value) == f"{target}: cannot write: No such file or directory"


def test_two_outputs_in_one_place_are_refused(tmp_path):
    check_outputs({"-o": tmp_path / "a", "--report": tmp_path / "b", "--bundle": None})
    with pytest.raises(InputError) as caught:
        check_outputs({"-o": "-", "--report": "-"})
    assert str(caught.value) == "-o and --report would both write to standard output"
    link = tmp_path / "link"
    link.symlink_to("a")
    with pytest.raises(InputError) as caught:
        check_outputs({"-o": tmp_path / "a", "--report": link})
    assert str(caught.value) == f"-o and --report would both write to {link}"


# -- through the commands -------------------------------------------------------------------------


def test_export_to_a_device_node_leaves_the_device(run_cli, tmp_path):
    null = make_device(tmp_path / "null", 1, 3)
    done = run_cli("export", "case2", "-o", null)
    assert done.code == 0, done.err
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert done.err == f"Wrote 77 resources to {null}\n"


def test_every_output_option_takes_dash(run_cli, tmp_path):
    done = run_cli("export", "case1", "-o", "-")
    assert done.code == 0 and done.out.startswith('{\n  "resourceType": "Bundle"')
    assert done.err == ""
    done = run_cli("schema", "-o", "-")
    assert done.code == 0 and '"$schema"' in done.out
    done = run_cli("timeline", "case1", "-o", "-")
    assert done.code == 0 and "<svg" in done.out[:400], done.err
    case = tmp_path / "case1.yaml"
    done = run_cli("import", "examples/case1.bundle.json", "-o", case, "--report", "-")
    assert done.code == 0, done.err
    assert done.out.startswith('{\n  "unmapped": []')
    assert case.read_text().startswith("# Imported by fhirconv: case case1")


def test_timeline_to_a_device_node_needs_only_the_format(run_cli, tmp_path):
    null = make_device(tmp_path / "null", 1, 3)
    done = run_cli("timeline", "case1", "-o", null, "--format", "svg")
    assert done.code == 0, done.err
    assert stat.S_ISCHR(null.lstat().st_mode)


def test_import_refuses_case_file_and_report_on_standard_output(run_cli):
    done = run_cli("import", "examples/case1.bundle.json", "--report", "-")
    assert done.code == 2
    assert done.err == "Error: -o and --report would both write to standard output\n"


def test_a_folder_that_refuses_new_files_is_named(tmp_path, monkeypatch):
    # As root every folder takes new files; a read-only mount is not at hand: refuse the create.
    target = tmp_path / "out.json"
    target.write_bytes(b"old\n")
    real_open = os.open

    def refusing(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing)
    with pytest.raises(InputError) as caught:
        write_output(b"new\n", target)
    assert str(caught.value) == (
        f"{target}: cannot write: a file is replaced atomically through a temporary file beside it, "
        f"and {tmp_path} refuses new files (Permission denied)"
    )
    assert target.read_bytes() == b"old\n"


def test_dash_is_no_folder(run_cli):
    done = run_cli("export", "case1", "case2", "--out-dir", "-")
    assert done.code == 2
    assert done.err == "Error: - is standard output, which takes one file: name a folder for many files\n"
