"""The durable spool: append-only segment files in one folder, one writer per file.

Each process writes its own segment, ``<time>-<pid>-<random>.spool``, and holds
an exclusive ``flock`` on it for as long as it owns it. The kernel drops that
lock when the process ends, however it ends (kill -9 included), so a segment
whose lock can be taken belongs to nobody: a process of the same project that
takes it adopts it, sends what it holds and deletes it. The lock makes
adoption exclusive; checking after locking that the path still names the
locked file (the owner deletes a finished segment while it still holds the
lock) makes it happen once. Every segment's header names the project and base
URL its events belong to; a segment of another project (or one written before
segments named their project) is never adopted, only listed by ``spool status``.

A segment is a sequence of lines ``<crc32 hex> <kind><JSON>``: ``h`` a header,
``e`` one event (numbered by its place among the file's events) and ``a`` the
events since settled, as ranges of those numbers. A line is written with one
``write`` call on an ``O_APPEND`` descriptor, so once :meth:`Segment.append`
returns the event is in the kernel and survives the process; ``fsync=True``
also makes it survive the machine. Reading stops at a torn or garbled tail
(the last write of a dying process or machine), which the adopter cuts off.
A bad line with good lines after it is corruption: that file is moved aside
(``.corrupt``), never deleted. All file steps go through :mod:`.._files`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import socket
import stat
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .. import _files
from .._exceptions import ConfigurationError
from ._errors import SpoolError

__all__ = [
    "ADOPT_AT_ONCE",
    "CORRUPT_SUFFIX",
    "REJECTED_NAME",
    "SEGMENT_SUFFIX",
    "Segment",
    "SegmentScan",
    "SegmentStatus",
    "Spool",
    "SpoolOwner",
    "encode_line",
    "folder_status",
    "scan_segment",
]

logger = logging.getLogger("jiguang_growth.reporter")

SEGMENT_SUFFIX = ".spool"
CORRUPT_SUFFIX = ".corrupt"
NEW_PREFIX = ".new-"
"""A segment being created: locked first, then renamed into place, so no one adopts it half-made."""
REJECTED_NAME = "rejected.jsonl"
"""Events the server refused, one JSON line each with the reason; kept for a person to look at."""
FORMAT_VERSION = 2
"""Version 2 headers name the project and base URL; version 1 segments are never adopted."""
STALE_NEW_SECONDS = 60.0
ADOPT_AT_ONCE = 32
"""Orphaned segments held open at most at one time; the rest are adopted as these are done."""
HEADER_BYTES = 65536

EVENT = b"e"
ACK = b"a"
HEADER = b"h"


@dataclass(frozen=True)
class SpoolOwner:
    """The project whose events a spool's segments hold: only its reporters may send them."""

    project_id: str
    base_url: str

    def describe(self) -> str:
        return f"project {self.project_id!r} at {self.base_url}"


def encode_line(kind: bytes, payload: bytes) -> bytes:
    """One spool line: CRC-32 of kind and payload, in hex, a space, kind, payload, newline."""
    body = kind + payload
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def _decode_line(line: bytes) -> tuple[bytes, bytes] | None:
    """``(kind, payload)`` of a whole line (newline included), or ``None`` if it is damaged."""
    if len(line) < 11 or line[-1:] != b"\n" or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    if zlib.crc32(body) != crc:
        return None
    return body[:1], body[1:]


def _ranges(numbers: list[int]) -> list[list[int]]:
    """Sorted inclusive ``[start, end]`` ranges covering ``numbers``."""
    found: list[list[int]] = []
    for n in sorted(numbers):
        if found and n <= found[-1][1] + 1:
            found[-1][1] = max(found[-1][1], n)
        else:
            found.append([n, n])
    return found


def _header_owner(header: dict[str, Any]) -> SpoolOwner | None:
    project, base_url = header.get("project"), header.get("base_url")
    if isinstance(project, str) and isinstance(base_url, str):
        return SpoolOwner(project, base_url)
    return None


@dataclass
class SegmentScan:
    """What one pass over a segment file found."""

    events: int = 0
    """Event lines (their numbers are 0 .. events - 1)."""
    settled: int = 0
    good_end: int = 0
    """Byte offset just after the last good line."""
    size: int = 0
    corrupt: bool = False
    """A damaged line has good lines after it."""
    torn: bool = False
    """The file ends with a damaged or unfinished line (cut off before appending)."""
    pid: int | None = None
    host: str | None = None
    owner: SpoolOwner | None = None
    """The project named in the header (``None``: a segment from before segments named it)."""
    acked: bytearray | None = None
    """One byte per event, 1 when settled."""

    @property
    def pending(self) -> int:
        return self.events - self.settled


def scan_segment(path: Path) -> SegmentScan:
    """Read a whole segment file: count its events, mark the settled ones, find its good end."""
    scan = SegmentScan()
    acked = bytearray()
    acks: list[list[int]] = []
    damaged_at: int | None = None
    damaged_lines = 0
    offset = 0
    with os.fdopen(_files.open_regular(path), "rb") as handle:
        for line in handle:
            decoded = _decode_line(line)
            if decoded is None:
                damaged_lines += 1
                if damaged_at is None:
                    damaged_at = offset
            else:
                if damaged_at is not None:  # good data after bad: not a torn tail
                    scan.corrupt = True
                    break
                kind, payload = decoded
                if kind == EVENT:
                    scan.events += 1
                    acked.append(0)
                elif kind == ACK:
                    acks.extend(orjson.loads(payload))
                elif kind == HEADER:
                    header = orjson.loads(payload)
                    scan.pid, scan.host = header.get("pid"), header.get("host")
                    scan.owner = _header_owner(header)
                scan.good_end = offset + len(line)
            offset += len(line)
    scan.size = offset
    if damaged_lines > 1:  # more than the one line a dying writer can leave unfinished
        scan.corrupt = True
    scan.torn = damaged_at is not None and not scan.corrupt
    for start, end in acks:
        for n in range(max(start, 0), min(end, scan.events - 1) + 1):
            acked[n] = 1
    scan.settled = acked.count(1)
    scan.acked = acked
    return scan


def _read_owner(fd: int) -> tuple[bool, SpoolOwner | None]:
    """``(whole header found, its project)`` from a segment's first line."""
    start = os.pread(fd, HEADER_BYTES, 0)
    decoded = _decode_line(start[: start.find(b"\n") + 1])
    if decoded is None or decoded[0] != HEADER:
        return False, None
    try:
        header = orjson.loads(decoded[1])
    except orjson.JSONDecodeError:
        return False, None
    return True, _header_owner(header) if isinstance(header, dict) else None


def _events(path: Path, scan: SegmentScan) -> Iterator[tuple[int, dict[str, Any]]]:
    """The unsettled events of a scanned segment, with their numbers, read lazily."""
    acked = scan.acked or bytearray()
    number = 0
    with os.fdopen(_files.open_regular(path), "rb") as handle:
        offset = 0
        for line in handle:
            if offset >= scan.good_end:
                return
            offset += len(line)
            decoded = _decode_line(line)
            if decoded is None or decoded[0] != EVENT:
                continue
            if not acked[number]:
                value = orjson.loads(decoded[1])
                if isinstance(value, dict):
                    yield number, value
            number += 1


def _identity(fd: int) -> tuple[int, int]:
    held = os.fstat(fd)
    return held.st_dev, held.st_ino


class Segment:
    """One segment file this process owns (holds the lock of): the one it writes, or an adopted one."""

    def __init__(self, path: Path, fd: int, *, events: int = 0, settled: int = 0, size: int = 0) -> None:
        self.path = path
        self.fd = fd
        self.identity = _identity(fd)
        """``(st_dev, st_ino)`` of the file: the path must still name it before every write."""
        self.events = events
        """Event lines in the file."""
        self.settled = settled
        """Events acknowledged in the file (accepted or rejected)."""
        self.kept = 0
        """Events whose outcome was unknown: left unsettled in the file, to be sent again later."""
        self.out = 0
        """Events handed to the sender and not settled yet."""
        self.size = size
        self.writable = True
        """False once :meth:`Spool.close` let go of it."""
        self.backlog: Iterator[tuple[int, dict[str, Any]]] | None = None
        """An adopted segment's unsettled events, not read yet."""

    def _check_in_place(self) -> None:
        """Raise if the path no longer names this file: the folder or the file was removed or replaced."""
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            named = None
        if named is None or (named.st_dev, named.st_ino) != self.identity:
            raise OSError(errno.ENOENT, "the spool folder or its segment was removed or replaced")

    def append(self, kind: bytes, payload: bytes, *, sync: bool = False) -> None:
        """Write one line; on any failure cut the file back, so that it never holds half a line."""
        line = encode_line(kind, payload)
        try:
            self._check_in_place()
            _files.append(self.fd, line, self.path)
            if sync:
                _files.sync(self.fd, self.path)
        except OSError as error:
            try:
                if os.fstat(self.fd).st_size != self.size:
                    _files.truncate(self.fd, self.size, self.path)
            except OSError:
                logger.error("could not cut %s back after a failed write", self.path)
            raise SpoolError(
                f"could not write to the spool {self.path.parent}: {error.strerror or error}",
                path=str(self.path),
                errno=error.errno,
            ) from error
        self.size += len(line)

    def add_event(self, payload: bytes, *, sync: bool) -> int:
        """Append one event (its JSON); return its number in this segment."""
        self.append(EVENT, payload, sync=sync)
        self.events += 1
        return self.events - 1

    def ack(self, numbers: list[int]) -> None:
        """Mark events settled in the file. A failure is logged: the events are sent again later."""
        if not self.writable:
            return
        try:
            self.append(ACK, orjson.dumps(_ranges(numbers)))
        except SpoolError as error:
            logger.warning("%s; %d settled events stay in the spool and will be resent", error, len(numbers))
        self.settled += len(numbers)

    @property
    def finished(self) -> bool:
        """Every event is settled or kept, none is out, and nothing more will be read or written."""
        return self.backlog is None and self.out == 0 and self.settled + self.kept >= self.events

    def release(self) -> None:
        """Let go of the file: delete it when all of it is settled, else leave it for adoption.

        A failed delete (a read-only or lost folder) is logged: the file stays, and whoever
        adopts it finds its events settled.
        """
        if not self.writable:
            return
        self.writable = False
        try:
            if self.settled >= self.events and _files.same_file(self.path, self.fd):
                _files.unlink(self.path)  # still locked: no one can adopt it meanwhile
        except OSError as error:
            logger.error("could not delete the settled spool segment %s: %s", self.path, error.strerror)
        finally:
            os.close(self.fd)

    def abandon(self) -> None:
        """Close this process's copy of the descriptor, nothing else (a forked child's inherited one).

        The file, its lock and its lines belong to the process that made it.
        """
        if not self.writable:
            return
        self.writable = False
        self.backlog = None
        try:
            os.close(self.fd)
        except OSError:
            logger.debug("could not close an inherited descriptor of %s", self.path)


class Spool:
    """The spool folder: this process's segments, adoption of orphans, and the rejected log."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        owner: SpoolOwner,
        fsync: bool = False,
        segment_events: int,
    ) -> None:
        self.folder = Path(folder)
        self.owner = owner
        self.fsync = fsync
        self.segment_events = segment_events
        self.more = False
        """The last look for orphans stopped at :data:`ADOPT_AT_ONCE`: more are waiting."""
        self._skipped: set[str] = set()
        """Files named like segments that are not adopted (another project, not a file): warned once."""
        try:
            _files.make_folder(self.folder)
            self.place = os.stat(self.folder).st_dev, os.stat(self.folder).st_ino
        except OSError as error:
            raise ConfigurationError(
                f"spool folder {self.folder} cannot be created: {error.strerror or error}"
            ) from None
        self.active = self._new_segment(configuration=True)

    def _check_folder(self) -> None:
        try:
            now = os.stat(self.folder)
        except FileNotFoundError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != self.place:
            raise OSError(errno.ENOENT, "the spool folder was removed or replaced")

    def _new_segment(self, *, configuration: bool = False) -> Segment:
        """Create, lock and publish a new segment to write to."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SEGMENT_SUFFIX}"
        staging = self.folder / (NEW_PREFIX + name)
        try:
            self._check_folder()
            fd = _files.open_regular(staging, os.O_RDWR | os.O_APPEND, create=True, exclusive=True)
        except OSError as error:
            message = f"spool folder {self.folder} is not writable: {error.strerror or error}"
            if configuration:
                raise ConfigurationError(message) from None
            raise SpoolError(message, path=str(staging), errno=error.errno) from error
        try:
            if not _files.lock(fd, staging):
                raise SpoolError(f"{staging} is locked by someone else", path=str(staging), errno=None)
            segment = Segment(staging, fd)
            header = {
                "version": FORMAT_VERSION,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "project": self.owner.project_id,
                "base_url": self.owner.base_url,
            }
            segment.append(HEADER, orjson.dumps(header), sync=self.fsync)
            _files.rename(staging, self.folder / name)
            segment.path = self.folder / name
        except (OSError, SpoolError) as error:
            os.close(fd)
            try:
                _files.unlink(staging)
            except OSError:
                logger.error("could not delete the unfinished segment %s", staging)
            if configuration:
                raise ConfigurationError(f"spool folder {self.folder} is not writable: {error}") from None
            if isinstance(error, SpoolError):
                raise
            raise SpoolError(
                f"could not start a spool segment in {self.folder}: {error.strerror or error}",
                path=str(staging),
                errno=error.errno,
            ) from error
        return segment

    def rotate(self) -> Segment:
        """Start a new active segment; return the previous one (the caller releases it when done)."""
        previous = self.active
        self.active = self._new_segment()
        return previous

    def adopt_orphans(self, limit: int = ADOPT_AT_ONCE) -> list[Segment]:
        """Lock and take over up to ``limit`` segments of this project that no live process owns.

        Oldest first. Finished ones are deleted at once; corrupt ones are moved
        aside. :attr:`more` tells whether orphans were left for a later call.
        """
        adopted: list[Segment] = []
        self.more = False
        for path in _candidates(self.folder):
            if len(adopted) >= limit:
                self.more = True
                break
            segment = self._adopt(path)
            if segment is not None:
                adopted.append(segment)
        self._clear_stale_staging()
        return adopted

    def _skip_once(self, path: Path, message: str) -> None:
        if path.name not in self._skipped:
            self._skipped.add(path.name)
            logger.warning("spool segment %s %s; left alone", path, message)

    def _adopt(self, path: Path) -> Segment | None:
        try:
            if not stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode):
                self._skip_once(path, "is not a regular file")
                return None
            fd = _files.open_locked(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            return None  # finished and deleted by its owner meanwhile
        except OSError as error:
            logger.error("cannot open spool segment %s: %s", path, error.strerror or error)
            return None
        if fd is None:
            return None
        try:
            return self._take_over(path, fd)
        except BaseException:
            os.close(fd)
            raise

    def _take_over(self, path: Path, fd: int) -> Segment | None:
        """Check a locked segment's project, cut a torn tail or move a corrupt file aside; else adopt it."""
        try:
            whole, owner = _read_owner(fd)
            if whole and owner != self.owner:
                why = (
                    "was written before segments named their project"
                    if owner is None
                    else (f"belongs to {owner.describe()}, not this reporter's {self.owner.describe()}")
                )
                self._skip_once(path, why)
                os.close(fd)
                return None
            scan = scan_segment(path)
        except (OSError, ValueError) as error:
            os.close(fd)
            logger.error("cannot read spool segment %s: %s", path, error)
            return None
        if scan.corrupt:
            aside = path.with_name(path.name + CORRUPT_SUFFIX)
            try:
                _files.rename(path, aside)
            except OSError as error:
                logger.error("could not move the corrupt spool segment %s aside: %s", path, error.strerror)
            else:
                logger.error(
                    "spool segment %s is corrupt (a damaged line before good ones); moved aside to %s, "
                    "its %d unsettled events were not sent",
                    path,
                    aside.name,
                    scan.pending,
                )
            os.close(fd)
            return None
        if scan.torn:
            try:
                _files.truncate(fd, scan.good_end, path)
            except OSError as error:
                logger.error("could not cut the torn end off %s: %s; not adopted", path, error.strerror)
                os.close(fd)
                return None
            logger.warning("spool segment %s ended in a torn line; cut it off", path.name)
        segment = Segment(path, fd, events=scan.events, settled=scan.settled, size=scan.good_end)
        if scan.pending:
            segment.backlog = _events(path, scan)
            logger.info("adopted spool segment %s: %d events to send", path.name, scan.pending)
        return segment

    def _clear_stale_staging(self) -> None:
        for path in self.folder.glob(NEW_PREFIX + "*"):
            try:
                if time.time() - os.stat(path, follow_symlinks=False).st_mtime <= STALE_NEW_SECONDS:
                    continue
                fd = _files.open_locked(path, os.O_RDONLY)
                if fd is not None:
                    try:
                        _files.unlink(path)
                    finally:
                        os.close(fd)
            except OSError:
                continue

    def write_rejected(self, event: dict[str, Any], reason: dict[str, Any]) -> None:
        """Append one refused event and its reason to ``rejected.jsonl`` and sync it; raise ``OSError``.

        The file is shared by every process of the folder: each appends one line under the file's
        lock; a failed append is cut back off, and a line torn by a writer that died is cut off by
        the next writer, so the lines stay whole.
        """
        line = json.dumps({"event": event, **reason}, ensure_ascii=False) + "\n"
        path = self.folder / REJECTED_NAME
        fd = _files.open_regular(path, os.O_RDWR | os.O_APPEND, create=True)
        try:
            _files.lock(fd, path, wait=True)
            start = _whole_lines_end(fd, path)
            try:
                _files.append(fd, line.encode(errors="backslashreplace"), path)
                _files.sync(fd, path)
            except OSError:
                try:
                    if os.fstat(fd).st_size != start:
                        _files.truncate(fd, start, path)
                except OSError:
                    logger.error("could not cut %s back after a failed write", path)
                raise
        finally:
            os.close(fd)


def _whole_lines_end(fd: int, path: Path) -> int:
    """The file's size after cutting off a torn last line (a writer died mid-append); lock held."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = _files.read_all(fd).rfind(b"\n") + 1
    _files.truncate(fd, end, path)
    logger.warning("cut a torn last line (%d bytes) off %s", size - end, path)
    return end


def _candidates(folder: Path) -> list[Path]:
    """The folder's segment names, oldest first (hidden staging files left out)."""
    return sorted(
        folder / name
        for name in os.listdir(folder)
        if name.endswith(SEGMENT_SUFFIX) and not name.startswith(".")
    )


@dataclass(frozen=True)
class SegmentStatus:
    """One file of a spool folder, as ``jiguang-growth spool status`` shows it."""

    name: str
    state: str
    """``owned`` (a live process holds it), ``orphan`` (no one does), ``corrupt`` (moved aside), or
    ``skipped`` (not a regular file, or unreadable)."""
    events: int
    pending: int
    size: int
    pid: int | None
    owner: SpoolOwner | None = None
    """The project its events belong to (``None``: not named, a segment from before version 2)."""


def folder_status(folder: Path) -> list[SegmentStatus]:
    """Every segment of a spool folder; locks are only tested, never kept; nothing is waited on."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not (
            path.name.endswith(SEGMENT_SUFFIX) or path.name.endswith(CORRUPT_SUFFIX)
        ):
            continue
        try:
            if not stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            scan = scan_segment(path)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            logger.warning("spool status: skipped %s: %s", path, getattr(error, "strerror", None) or error)
            found.append(SegmentStatus(path.name, "skipped", 0, 0, 0, None))
            continue
        if path.name.endswith(CORRUPT_SUFFIX):
            state = "corrupt"
        else:
            try:
                fd = _files.open_regular(path)
            except FileNotFoundError:
                continue
            try:
                state = "orphan" if _files.lock(fd, path, shared=True) else "owned"
            finally:
                os.close(fd)
        found.append(
            SegmentStatus(path.name, state, scan.events, scan.pending, scan.size, scan.pid, scan.owner)
        )
    return found
