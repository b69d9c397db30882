"""The durable spool: append-only segment files in one folder, one writer per file.

Each process writes its own segment, ``<time>-<pid>-<random>.spool``, and holds
an exclusive ``flock`` on it for as long as it owns it. The kernel drops that
lock when the process ends, however it ends (kill -9 included), so a segment
whose lock can be taken belongs to nobody: the process that takes it adopts
it, sends what it holds and deletes it. The lock makes adoption exclusive;
checking after locking that the path still names the locked file (the owner
deletes a finished segment while it still holds the lock) makes it happen
once.

A segment is a sequence of lines ``<crc32 hex> <kind><JSON>``: ``h`` a header,
``e`` one event (numbered by its place among the file's events) and ``a`` the
events since settled, as ranges of those numbers. A line is written with one
``write`` call on an ``O_APPEND`` descriptor, so once :meth:`Segment.append`
returns the event is in the kernel and survives the process; ``fsync=True``
also makes it survive the machine. Reading stops at a torn or garbled tail
(the last write of a dying process or machine), which the adopter cuts off.
A bad line with good lines after it is corruption: that file is moved aside
(``.corrupt``), never deleted.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import secrets
import socket
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .._exceptions import ConfigurationError
from ._errors import SpoolError

__all__ = [
    "CORRUPT_SUFFIX",
    "REJECTED_NAME",
    "SEGMENT_SUFFIX",
    "Segment",
    "SegmentScan",
    "Spool",
    "encode_line",
    "scan_segment",
]

logger = logging.getLogger("jiguang_growth.reporter")

SEGMENT_SUFFIX = ".spool"
CORRUPT_SUFFIX = ".corrupt"
NEW_PREFIX = ".new-"
"""A segment being created: locked first, then renamed into place, so no one adopts it half-made."""
REJECTED_NAME = "rejected.jsonl"
"""Events the server refused, one JSON line each with the reason; kept for a person to look at."""
FORMAT_VERSION = 1
STALE_NEW_SECONDS = 60.0

EVENT = b"e"
ACK = b"a"
HEADER = b"h"


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
    with path.open("rb") as handle:
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


def _events(path: Path, scan: SegmentScan) -> Iterator[tuple[int, dict[str, Any]]]:
    """The unsettled events of a scanned segment, with their numbers, read lazily."""
    acked = scan.acked or bytearray()
    number = 0
    with path.open("rb") as handle:
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


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Segment:
    """One segment file this process owns (holds the lock of): the one it writes, or an adopted one."""

    def __init__(self, path: Path, fd: int, *, events: int = 0, settled: int = 0, size: int = 0) -> None:
        self.path = path
        self.fd = fd
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

    def append(self, kind: bytes, payload: bytes, *, sync: bool = False) -> None:
        """Write one line; on any failure cut the file back, so that it never holds half a line."""
        line = encode_line(kind, payload)
        try:
            written = os.write(self.fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, "short write (is the disk full?)")
            if sync:
                os.fdatasync(self.fd)
        except OSError as error:
            try:
                os.ftruncate(self.fd, self.size)
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
        """Let go of the file: delete it when all of it is settled, else leave it for adoption."""
        if not self.writable:
            return
        self.writable = False
        try:
            if self.settled >= self.events:
                self.path.unlink(missing_ok=True)  # still locked: no one can adopt it meanwhile
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

    def __init__(self, folder: str | os.PathLike[str], *, fsync: bool = False, segment_events: int) -> None:
        self.folder = Path(folder)
        self.fsync = fsync
        self.segment_events = segment_events
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(
                f"spool folder {self.folder} cannot be created: {error.strerror or error}"
            ) from None
        self.active = self._new_segment(configuration=True)

    def _new_segment(self, *, configuration: bool = False) -> Segment:
        """Create, lock and publish a new segment to write to."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SEGMENT_SUFFIX}"
        staging = self.folder / (NEW_PREFIX + name)
        try:
            fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as error:
            message = f"spool folder {self.folder} is not writable: {error.strerror or error}"
            if configuration:
                raise ConfigurationError(message) from None
            raise SpoolError(message, path=str(staging), errno=error.errno) from error
        try:
            if not _lock(fd):
                raise SpoolError(f"{staging} is locked by someone else", path=str(staging), errno=None)
            segment = Segment(self.folder / name, fd)
            header = {"version": FORMAT_VERSION, "pid": os.getpid(), "host": socket.gethostname()}
            segment.append(HEADER, orjson.dumps(header), sync=self.fsync)
            os.rename(staging, segment.path)
        except (OSError, SpoolError) as error:
            os.close(fd)
            staging.unlink(missing_ok=True)
            if configuration:
                raise ConfigurationError(f"spool folder {self.folder} is not writable: {error}") from None
            raise
        return segment

    def rotate(self) -> Segment:
        """Start a new active segment; return the previous one (the caller releases it when done)."""
        previous = self.active
        self.active = self._new_segment()
        return previous

    def adopt_orphans(self) -> list[Segment]:
        """Lock and take over every segment no live process owns; oldest first.

        Finished ones are deleted at once; corrupt ones are moved aside.
        """
        adopted = []
        for path in sorted(self.folder.glob("*" + SEGMENT_SUFFIX)):
            if path.name.startswith("."):
                continue
            segment = self._adopt(path)
            if segment is not None:
                adopted.append(segment)
        self._clear_stale_staging()
        return adopted

    def _adopt(self, path: Path) -> Segment | None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except FileNotFoundError:
            return None  # finished and deleted by its owner meanwhile
        except OSError as error:
            logger.error("cannot open spool segment %s: %s", path, error.strerror or error)
            return None
        try:
            if not _lock(fd) or not _same_file(path, fd):
                os.close(fd)
                return None
            scan = scan_segment(path)
        except (OSError, ValueError) as error:
            os.close(fd)
            logger.error("cannot read spool segment %s: %s", path, error)
            return None
        if scan.corrupt:
            aside = path.with_name(path.name + CORRUPT_SUFFIX)
            os.rename(path, aside)
            os.close(fd)
            logger.error(
                "spool segment %s is corrupt (a damaged line before good ones); moved aside to %s, "
                "its %d unsettled events were not sent",
                path,
                aside.name,
                scan.pending,
            )
            return None
        if scan.torn:
            os.ftruncate(fd, scan.good_end)
            logger.warning("spool segment %s ended in a torn line; cut it off", path.name)
        segment = Segment(path, fd, events=scan.events, settled=scan.settled, size=scan.good_end)
        if scan.pending:
            segment.backlog = _events(path, scan)
            logger.info("adopted spool segment %s: %d events to send", path.name, scan.pending)
        return segment

    def _clear_stale_staging(self) -> None:
        for path in self.folder.glob(NEW_PREFIX + "*"):
            try:
                if time.time() - path.stat().st_mtime > STALE_NEW_SECONDS:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        if _lock(fd) and _same_file(path, fd):
                            path.unlink()
                    finally:
                        os.close(fd)
            except OSError:
                continue

    def write_rejected(self, event: dict[str, Any], reason: dict[str, Any]) -> None:
        """Append one refused event and its reason to ``rejected.jsonl`` (shared, one write per line)."""
        line = json.dumps({"event": event, **reason}, ensure_ascii=False) + "\n"
        fd = os.open(
            self.folder / REJECTED_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
        )
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class SegmentStatus:
    """One file of a spool folder, as ``jiguang-growth spool status`` shows it."""

    name: str
    state: str
    """``owned`` (a live process holds it), ``orphan`` (no one does), or ``corrupt`` (moved aside)."""
    events: int
    pending: int
    size: int
    pid: int | None


def folder_status(folder: Path) -> list[SegmentStatus]:
    """Every segment of a spool folder; locks are only tested, never kept."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not (
            path.name.endswith(SEGMENT_SUFFIX) or path.name.endswith(CORRUPT_SUFFIX)
        ):
            continue
        try:
            scan = scan_segment(path)
        except (OSError, ValueError):
            continue
        if path.name.endswith(CORRUPT_SUFFIX):
            state = "corrupt"
        else:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    state = "orphan"
                except BlockingIOError:
                    state = "owned"
            finally:
                os.close(fd)
        found.append(SegmentStatus(path.name, state, scan.events, scan.pending, scan.size, scan.pid))
    return found
