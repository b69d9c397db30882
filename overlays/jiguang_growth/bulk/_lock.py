"""One run at a time per output folder: an ``flock`` on ``run.lock`` inside it.

A bulk run holds an exclusive lock on ``run.lock`` in its output folder from
before it reads the journal until it has written its summary. A second run on
the folder, or a ``--resume`` while the first still runs, is refused at once
with :class:`RunLockedError`, which names the folder and the PID the holder
wrote into the file. The kernel drops the lock when the holder's process ends
in any way (kill -9 included), so a crash never leaves the folder locked; the
file itself stays (removing it would let a third run lock a new file while the
second still holds the old one).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .. import _files
from ._errors import OutputError

__all__ = ["LOCK_NAME", "RunLockedError", "hold_run_lock", "refuse_if_locked"]

LOCK_NAME = "run.lock"
ACQUIRE_TRIES = 20
"""Attempts, ``ACQUIRE_PAUSE`` apart, before a held lock refuses the run: another run's
:func:`refuse_if_locked` holds the lock for an instant, and must not refuse a real run."""
ACQUIRE_PAUSE = 0.05


class RunLockedError(OutputError):
    """Another run (a process that is still alive) holds the output folder; nothing was sent."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        who = f"PID {pid}" if pid is not None else "a process whose PID it has not written yet"
        super().__init__(
            f"{folder} is in use by another run ({who}); wait for it to end, or stop it, "
            "before running or resuming there"
        )
        self.folder = folder
        self.pid = pid


def _open(path: Path, *, create: bool) -> int | None:
    try:
        return _files.open_regular(path, os.O_RDWR, create=create)
    except FileNotFoundError:
        if create:
            raise
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OutputError(f"{path} is a symbolic link; a run does not follow one") from None
        raise OutputError(f"cannot open {path}: {error.strerror or error}") from None


def _holder(fd: int) -> int | None:
    """The PID the lock's holder wrote into the file, if it has yet."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def refuse_if_locked(folder: Path) -> None:
    """Raise :class:`RunLockedError` if a run holds ``folder`` now (a look, not a hold)."""
    fd = _open(folder / LOCK_NAME, create=False)
    if fd is None:
        return
    try:
        if not _files.lock(fd, folder / LOCK_NAME, shared=True):  # a shared look: two looks never clash
            raise RunLockedError(folder, _holder(fd))
    finally:
        os.close(fd)  # drops the shared lock


@contextlib.contextmanager
def hold_run_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s run lock while inside (the folder is created ``0700`` if missing)."""
    try:
        _files.make_folder(folder)
        fd = _open(folder / LOCK_NAME, create=True)
    except OSError as error:
        raise OutputError(f"cannot create {folder / LOCK_NAME}: {error.strerror or error}") from None
    assert fd is not None
    try:
        _acquire(fd, folder)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # drops the lock


def _acquire(fd: int, folder: Path) -> None:
    for attempt in range(ACQUIRE_TRIES):
        if _files.lock(fd, folder / LOCK_NAME):
            return
        if attempt + 1 < ACQUIRE_TRIES:
            time.sleep(ACQUIRE_PAUSE)
    raise RunLockedError(folder, _holder(fd))
