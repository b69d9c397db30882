"""The file layer under the reporter's spool and the bulk runs' folders: private, checked, testable.

Every file the package keeps user data in is opened here, so the same rules
hold everywhere:

- Files are created ``0600`` and folders ``0700``: other local users cannot
  read the events, attributes or channels they hold.
- No symbolic link is followed inside a folder we write to (``O_NOFOLLOW``),
  and only regular files are opened (``O_NONBLOCK``, then ``fstat``): a link
  or a FIFO planted under one of our names is refused, never written through
  and never waited on.
- :func:`append` writes a whole buffer with one ``write`` call or raises: a
  short write is an error (``ENOSPC``), not a silent loss.
- :func:`open_locked` is the one place that opens a file, takes its ``flock``
  without waiting and checks that the path still names the locked file.

Each step (``open``, ``lock``, ``write``, ``fsync``, ``rename``, ``unlink``,
``truncate``, ``mkdir``) first calls :func:`_step`, the seam through which a
test injects faults: see :func:`inject`. The package is POSIX-only (it needs
``fcntl.flock``); importing it elsewhere fails with a message saying so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - only on platforms without POSIX file locks
    raise ImportError(
        "jiguang_growth's spool and bulk run folders need a POSIX system (Linux, macOS, BSD): "
        "the fcntl module (flock) is missing on this platform"
    ) from None

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "Injector",
    "append",
    "inject",
    "lock",
    "make_folder",
    "open_locked",
    "open_regular",
    "read_all",
    "rename",
    "replace_file",
    "same_file",
    "sync",
    "truncate",
    "unlink",
]

FILE_MODE = 0o600
"""Files holding user data: readable and writable by their owner only."""
FOLDER_MODE = 0o700
"""Folders we create for user data."""

Injector = Callable[[str, str], "int | None"]
"""``injector(step, path)``: raise an ``OSError`` to fail the step, or for ``write`` return how many
bytes to really write (a short write); ``None`` lets the step run."""

_injector: Injector | None = None


def inject(injector: Injector | None) -> Injector | None:
    """Route every file step through ``injector`` (``None``: stop); return the one it replaces. For tests."""
    global _injector
    previous, _injector = _injector, injector
    return previous


def _step(step: str, path: str | os.PathLike[str]) -> int | None:
    injector = _injector
    return None if injector is None else injector(step, os.fspath(path))


def make_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) ``0700``; an existing folder keeps its mode."""
    if path.is_dir():
        return
    _step("mkdir", path)
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def open_regular(
    path: str | os.PathLike[str],
    flags: int = os.O_RDONLY,
    *,
    create: bool = False,
    exclusive: bool = False,
) -> int:
    """Open a regular file without following a link or waiting on a FIFO; create it ``0600``.

    Raises ``OSError``: ``ELOOP`` for a symbolic link, ``EINVAL`` for anything but a regular file.
    """
    _step("open", path)
    flags |= os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    if create:
        flags |= os.O_CREAT | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def lock(fd: int, path: str | os.PathLike[str], *, shared: bool = False, wait: bool = False) -> bool:
    """Take the file's ``flock`` (without waiting unless ``wait``); False when someone else holds it."""
    _step("lock", path)
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, mode)
    except BlockingIOError:
        return False
    return True


def same_file(path: str | os.PathLike[str], fd: int) -> bool:
    """Whether ``path`` (not followed if a link) still names the file open as ``fd``."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def open_locked(path: str | os.PathLike[str], flags: int, *, shared: bool = False) -> int | None:
    """Open a regular file, lock it without waiting and check that ``path`` still names it.

    ``None`` when the file is gone, someone holds its lock, or it was replaced
    meanwhile; the descriptor is closed then. Other failures raise ``OSError``.
    """
    try:
        fd = open_regular(path, flags)
    except FileNotFoundError:
        return None
    try:
        if lock(fd, path, shared=shared) and same_file(path, fd):
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def append(fd: int, data: bytes, path: str | os.PathLike[str]) -> None:
    """Write ``data`` with one ``write`` call; a short write raises ``OSError(ENOSPC)``."""
    limit = _step("write", path)
    chunk = data if limit is None else data[:limit]
    written = os.write(fd, chunk)
    if written != len(data):
        raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes; is the disk full?)")


def sync(fd: int, path: str | os.PathLike[str], *, data_only: bool = True) -> None:
    """Write the file's data (and with ``data_only=False`` its metadata) through to the disk."""
    _step("fsync", path)
    if data_only and hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def truncate(fd: int, size: int, path: str | os.PathLike[str]) -> None:
    _step("truncate", path)
    os.ftruncate(fd, size)


def rename(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Rename within one folder; a link at ``target`` is replaced, never followed."""
    _step("rename", source)
    os.rename(source, target)


def unlink(path: str | os.PathLike[str]) -> None:
    """Delete a file; one that is already gone is no error."""
    _step("unlink", path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def read_all(fd: int) -> bytes:
    """Everything in the file from its start (the descriptor's offset is left alone)."""
    parts: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        offset += len(chunk)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole: a new private file beside it, synced, then renamed over it."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_regular(staging, os.O_WRONLY | os.O_TRUNC, create=True)
    try:
        append(fd, data, staging)
        sync(fd, staging, data_only=False)
    except BaseException:
        os.close(fd)
        _discard(staging)
        raise
    os.close(fd)
    try:
        rename(staging, path)
    except BaseException:
        _discard(staging)
        raise


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
