"""Writing output: one writer for every output option (``-o``, ``--report``, ``--bundle``, ...).

What a path names decides how it is written, as a careful shell user expects:

- ``-`` (or no path) is standard output;
- a regular file, or a path that does not exist yet, is replaced atomically: the data goes
  to a temporary file beside it, which is renamed over it only once it is complete, so a
  failure never leaves half a file behind.  A new file gets the mode the umask gives (as
  ``>`` would); a replaced file keeps its mode and, where permitted, its owner;
- a symbolic link is followed: its target is written (by the rules above) and the link stays;
- anything else (a character or block device, a FIFO) is written through, never replaced:
  renaming over ``/dev/null`` would turn the device into a regular file;
- ``/dev/stdout``, ``/dev/stderr`` and ``/dev/fd/N`` are the process's own streams, written
  through as well.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fhirconv.errors import InputError

# The standard streams by the names a shell user gives them.
_STREAM_NAMES = {
    "/dev/stdout": 1,
    "/dev/fd/1": 1,
    "/proc/self/fd/1": 1,
    "/dev/stderr": 2,
    "/dev/fd/2": 2,
    "/proc/self/fd/2": 2,
}
# A temporary file is created with O_EXCL under a fresh random name; a clash is retried.
_TEMP_ATTEMPTS = 100
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def is_stdout(output: Path | str | None) -> bool:
    """Whether ``output`` means standard output (no path, or ``-``)."""
    return output is None or str(output) == "-"


def write_output(data: bytes, output: Path | str | None) -> None:
    """``data`` to ``output`` (``None`` or ``-``: standard output) by the rules of this module."""
    with open_output(output) as handle:
        handle.write(data)


@contextlib.contextmanager
def open_output(output: Path | str | None) -> Iterator[BinaryIO]:
    """A binary stream to ``output``, for writers that produce their data piece by piece.

    A file replaced atomically appears only when the ``with`` block ends without an
    exception; if it raises, the temporary file is removed and the old file is untouched.
    """
    if is_stdout(output):
        yield from _to_stream(1)
        return
    path = Path(str(output))
    fd = _STREAM_NAMES.get(os.path.normpath(str(path)))
    if fd is not None:
        yield from _to_stream(fd)
        return
    try:
        info = os.stat(path)  # follows symbolic links
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise _cannot_write(path, err) from None
    if info is None or stat.S_ISREG(info.st_mode):
        yield from _replace_atomically(_link_target(path), info)
    elif stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, not a file")
    else:
        yield from _write_through(path)


def _to_stream(fd: int) -> Iterator[BinaryIO]:
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()  # text already written through the text layer goes first
    yield stream.buffer
    stream.buffer.flush()


def _link_target(path: Path) -> Path:
    """The file a chain of symbolic links ends at (which may not exist yet); ``path`` itself if none."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _replace_atomically(path: Path, existing: os.stat_result | None) -> Iterator[BinaryIO]:
    directory = path.parent
    fd, temp = _create_temp(path)
    try:
        if existing is not None:
            _keep_mode_and_owner(fd, existing)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _cannot_write(path, err) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(directory)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new file beside ``path``; mode 0666 as the umask trims it, exactly as for a new file."""
    for _ in range(_TEMP_ATTEMPTS):
        temp = path.parent / f".{path.name}.{os.urandom(4).hex()}.tmp"
        try:
            return os.open(temp, _CREATE_FLAGS, 0o666), temp
        except FileExistsError:
            continue
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and path.exists():
                # The file may be writable where its folder is not: say which one refused.
                raise InputError(
                    f"{path}: cannot write: a file is replaced atomically through a temporary file "
                    f"beside it, and {path.parent} refuses new files ({err.strerror})"
                ) from None
            raise _cannot_write(path, err) from None
    raise InputError(f"{path}: cannot write: no free temporary name in {path.parent}")


def _keep_mode_and_owner(fd: int, existing: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    if hasattr(os, "fchown"):
        # Only root may give a file away; anyone else keeps their own ownership, as with `>`.
        with contextlib.suppress(OSError):
            os.fchown(fd, existing.st_uid, existing.st_gid)
            # chown clears set-user-ID and set-group-ID bits: put them back.
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every file system lets a directory be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_through(path: Path) -> Iterator[BinaryIO]:
    """A device or FIFO: opened for writing as it is (a FIFO waits for its reader, as ``>`` does)."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
    except OSError as err:
        raise _cannot_write(path, err) from None


def _cannot_write(path: Path, err: OSError) -> InputError:
    if err.errno == errno.ENXIO:
        reason = "not a file, device or FIFO that can be written (a socket?)"
    else:
        reason = err.strerror or str(err)
    return InputError(f"{path}: cannot write: {reason}")


def dump_json(value: object) -> bytes:
    """Canonical JSON for output: two-space indent, keys in mapping order, UTF-8, final newline.

    orjson writes what ``json.dumps(indent=2, ensure_ascii=False)`` writes, twenty times
    faster (the stdlib indents in pure Python); only floats below 1e-4 or from 1e16 are
    spelled otherwise (``0.00001``, not ``1e-05``).  What orjson refuses (integers past
    64 bits, read from someone's JSON) goes through the stdlib.
    """
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"
    except orjson.JSONEncodeError:
        import json

        # A lone surrogate (quoted from bad input in a report) comes out as its JSON escape.
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")


def check_outputs(outputs: dict[str, Path | str | None]) -> None:
    """Refuse two outputs that would land in the same place (``outputs``: option -> path or ``-``).

    Standard output counts once: a case file and a JSON report interleaved on it would be
    neither.  An output that is not written is ``None``.
    """
    seen: dict[str, str] = {}
    for option, output in outputs.items():
        if output is None:
            continue
        where = "-" if is_stdout(output) else os.path.realpath(str(output))
        if where in seen:
            place = "standard output" if where == "-" else str(output)
            raise InputError(f"{seen[where]} and {option} would both write to {place}")
        seen[where] = option


class NothingWritten(Exception):
    """Raised in an :func:`atomic_directory` block whose work produced nothing worth keeping:
    the new folder is dropped, ``target`` stays as it was, and the code after the block runs."""


@contextlib.contextmanager
def atomic_directory(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """A new, empty folder beside ``target`` to fill; it becomes ``target`` only when the
    ``with`` block ends without an exception, else it is removed.  A failed run leaves
    nothing that looks complete, and an existing ``target`` untouched.

    An existing ``target`` must be an empty folder, unless ``replace`` says to put the new
    one in its place (the old one is moved aside first, then removed).
    """
    import shutil
    import tempfile

    check_new_directory(target, replace=replace)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as err:
        raise _cannot_write(target, err) from None
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp, 0o777 & ~mask)  # mkdtemp makes it private; a folder made by mkdir would not be
        yield temp
        _sync_directory(temp)
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".old"))
            os.replace(target, old / target.name)
            os.replace(temp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, target)
        _sync_directory(parent)
    except NothingWritten:
        shutil.rmtree(temp, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(temp, ignore_errors=True)
        raise _cannot_write(target, err) from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def check_new_directory(target: Path, *, replace: bool = False) -> None:
    """Refuse, before any work, an output folder that cannot be (re)placed."""
    if is_stdout(target):
        raise InputError("- is standard output, which takes one file: name a folder for many files")
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"{target}: exists and is not a folder")
    if not replace and any(target.iterdir()):
        raise InputError(f"{target}: exists and is not empty; name a new folder or add --force to replace it")
