"""Fault-injection harness for the spool and a bulk run's journal, in the spirit of SQLite's I/O-error tests.

    python harness.py CONFIG.json

A dry run of a workload records every file step it performs through
``jiguang_growth._files`` (open, lock, write, fsync, rename, unlink, truncate,
mkdir). Then, for each step and each error that step can meet, the workload
runs again in a fresh forked process with that error injected at that step
(once, or from then on for a full or read-only disk; a crash ends the process
right there, a torn write ends it after half a line). A clean restart follows
in another forked process (a new reporter, or ``resume=True``). What each case
tracked, found rejected and found still held is written to the output file for
the test to check against the sandboxes. This process starts no threads, so it
forks safely; each case's child has a time limit (a hang is recorded).

CONFIG: ``{"mode": "spool"|"bulk", "work": DIR, "out": FILE, "a": {...}, "b": {...}}`` where
``a``/``b`` are ``{"project_id", "project_secret", "base_url"}`` of two sandboxes.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jiguang_growth import EventReporter, GrowthClient, SpoolError, _files, bulk
from jiguang_growth._exceptions import GrowthError
from jiguang_growth._reporter import _spool

CRASH = 77
"""Exit status of a child that the harness crashed on purpose."""
CASE_SECONDS = 30.0
"""A child still running after this long is a hang: killed and recorded."""
TRANSIENT = ("ENOSPC", "EIO", "EROFS", "EACCES", "ENOLCK")
ERRORS: dict[str, tuple[str, ...]] = {
    "open": ("ENOSPC", "EIO", "EROFS", "EACCES", "crash", "ENOSPC*", "EROFS*"),
    "lock": ("ENOLCK", "EIO", "crash"),
    "write": ("ENOSPC", "EIO", "short", "torn", "crash", "ENOSPC*"),
    "fsync": ("EIO", "ENOSPC", "EROFS", "crash", "EROFS*"),
    "rename": ("ENOSPC", "EIO", "EROFS", "EACCES", "crash"),
    "unlink": ("EIO", "EROFS", "EACCES", "crash", "EROFS*"),
    "truncate": ("EIO", "EROFS", "crash"),
    "mkdir": ("ENOSPC", "EIO", "EROFS", "EACCES", "crash"),
}
"""Each step's errors. ``X*``: the error persists from that step on (a full or read-only disk)."""


def event(n: int, name: str = "open_app") -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": name, "itime": 1654076420772 + n}


class Plan:
    """The injector: counts file steps; at step ``at`` (or from it on) fails, shortens or crashes."""

    def __init__(self, at: int = -1, fault: str = "") -> None:
        self.at, self.fault = at, fault
        self.count = 0
        self.trace: list[str] = []
        self.crash_next = False

    def __call__(self, step: str, path: str) -> int | None:
        index, self.count = self.count, self.count + 1
        if self.at < 0:
            self.trace.append(step)
            return None
        if self.crash_next:
            os._exit(CRASH)
        persistent = self.fault.endswith("*")
        if index != self.at and not (persistent and index > self.at):
            return None
        fault = self.fault.rstrip("*")
        if fault == "crash":
            os._exit(CRASH)
        if fault in ("short", "torn"):
            if step != "write":
                return None
            self.crash_next = fault == "torn"
            return 7
        raise OSError(getattr(errno, fault), os.strerror(getattr(errno, fault)), path)


def run_child(body: Callable[[], dict[str, Any]], plan: Plan | None) -> dict[str, Any]:
    """Run ``body`` in a forked child (with ``plan`` as the injector); its report, or how it ended."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 0
        try:
            os.close(read_end)
            _files.inject(plan)
            report = body()
            if plan is not None and plan.at < 0:
                report["trace"] = plan.trace
            os.write(write_end, json.dumps(report).encode())
        except BaseException as error:
            os.write(write_end, json.dumps({"error": repr(error)}).encode())
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    deadline = time.monotonic() + CASE_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)
            return {"hang": True}
        time.sleep(0.002)
    with os.fdopen(read_end, "rb") as pipe:
        raw = pipe.read()
    report: dict[str, Any] = json.loads(raw) if raw else {}
    report["exit"] = os.waitstatus_to_exitcode(status)
    return report


_clients: dict[str, GrowthClient] = {}


def client(settings: dict[str, str]) -> GrowthClient:
    """A client of that sandbox, made once in this process before any fork and never used in it.

    Each forked child gets a copy with an empty connection pool (an SSL context costs 45 ms to make).
    """
    key = settings["base_url"]
    if key not in _clients:
        _clients[key] = GrowthClient(
            settings["project_id"], settings["project_secret"], settings["base_url"], timeout=5.0
        )
    return _clients[key]


def log_id(fd: int, random_id: str | None) -> None:
    """Note an ID the moment ``track`` returned it (plain ``os.write``: not a file step of the package)."""
    if random_id is not None:
        os.write(fd, (random_id + "\n").encode())


# --- the spool ----------------------------------------------------------------------------------


def spool_setup(config: dict[str, Any], folder: Path, base: int) -> dict[str, Any]:
    """Orphans for the case, as processes that died would leave them: 2 events of project A (and a torn
    line), 1 of project B."""
    found: dict[str, Any] = {}
    for key, numbers in (("a", (base, base + 1)), ("b", (base + 50,))):
        settings = config[key]
        header = {"version": 2, "pid": 1, "host": "gone", "project": settings["project_id"]}
        header["base_url"] = settings["base_url"]
        data = _spool.encode_line(b"h", json.dumps(header).encode())
        found[key] = []
        for n in numbers:
            random_id = str(uuid.uuid4())
            data += _spool.encode_line(b"e", json.dumps({**event(n), "randomId": random_id}).encode())
            found[key].append(random_id)
        if key == "a":  # it died in the middle of a write: the adopter cuts the torn line off
            data += _spool.encode_line(b"e", b'{"cuid":1}')[:12]
        (folder / f"{base:016d}-{key}-0000000{SUFFIXES[key]}").write_bytes(data)
    return found


SUFFIXES = {"a": "1.spool", "b": "2.spool"}


def spool_workload(config: dict[str, Any], folder: Path, base: int, ids_path: Path) -> dict[str, Any]:
    """Adopt A's orphan and send it; track 3 events and send them; track one the server refuses; close."""
    fd = os.open(ids_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    errors: list[str] = []
    try:
        reporter = EventReporter(
            client(config["a"]),
            spool=folder,
            flush_interval=600,
            concurrency=1,
            fsync=True,
            scan_interval=3600,
        )
    except GrowthError as error:
        return {"errors": [repr(error)]}
    reporter.flush(timeout=10)
    for numbers in ((base + 10, base + 11, base + 12), (base + 20,)):
        for n in numbers:
            try:
                log_id(fd, reporter.track(event(n, "bad_event" if n == base + 20 else "open_app")))
            except SpoolError as error:
                errors.append(repr(error))
        reporter.flush(timeout=10)
    reporter.close(timeout=10)
    return {"errors": errors}


def spool_recover(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Project B's reporter first (it must take only B's events), then A's; then what is left on disk."""
    found: dict[str, Any] = {}
    for key in ("b", "a"):
        reporter = EventReporter(client(config[key]), spool=folder, flush_interval=600, concurrency=1)
        found[f"flushed_{key}"] = reporter.flush(timeout=10)
        reporter.close(timeout=10)
    held = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith((_spool.SEGMENT_SUFFIX, _spool.CORRUPT_SUFFIX)) and path.is_file():
            scan = _spool.scan_segment(path)
            acked = scan.acked or bytearray()
            for number, value in _spool._events(path, scan):
                held.append({"id": value.get("randomId"), "file": path.name, "settled": acked[number]})
    rejected = folder / _spool.REJECTED_NAME
    found["rejected"] = (
        [_parsed(line) for line in rejected.read_text().splitlines()] if rejected.exists() else []
    )
    found["held"] = held
    return found


def _parsed(line: str) -> dict[str, Any]:
    """One JSON line of an output file, or ``{"unreadable": line}`` (a torn or garbled line)."""
    try:
        value = json.loads(line)
    except ValueError:
        return {"unreadable": line}
    return value if isinstance(value, dict) else {"unreadable": line}


def spool_case(config: dict[str, Any], number: int, plan: Plan | None) -> dict[str, Any]:
    folder = Path(config["work"]) / f"spool-{number}"
    folder.mkdir(parents=True)
    ids_path = Path(config["work"]) / f"ids-{number}"
    base = number * 100
    setup = {**spool_setup(config, folder, base), "exit": 0}
    faulty = run_child(lambda: spool_workload(config, folder, base, ids_path), plan)
    recovered = run_child(lambda: spool_recover(config, folder), None)
    tracked = ids_path.read_text().split() if ids_path.exists() else []
    return {
        "case": number,
        "base": base,
        "setup": setup,
        "faulty": faulty,
        "recovered": recovered,
        "tracked": setup.get("a", []) + tracked,
        "foreign": setup.get("b", []),
    }


# --- a bulk run's journal -----------------------------------------------------------------------


def bulk_records(base: int) -> list[dict[str, Any]]:
    """Six events, the fifth of which the server refuses (with its batch-mate)."""
    return [event(base + n, "bad_event" if n == 4 else "open_app") for n in range(6)]


def bulk_run(config: dict[str, Any], folder: Path, base: int, *, resume: bool) -> dict[str, Any]:
    limits = bulk.Limits(batch_bytes=260)
    try:
        summary = bulk.report_events(
            client(config["a"]),
            bulk_records(base),
            out_dir=folder,
            resume=resume,
            concurrency=1,
            limits=limits,
        )
    except (GrowthError, OSError) as error:
        return {"error": repr(error)}
    return {"summary": summary.as_dict()}


def bulk_case(config: dict[str, Any], number: int, plan: Plan | None) -> dict[str, Any]:
    folder = Path(config["work"]) / f"run-{number}"
    base = number * 100
    faulty = run_child(lambda: bulk_run(config, folder, base, resume=False), plan)
    recovered = run_child(lambda: bulk_run(config, folder, base, resume=True), None)
    files = {}
    for name in ("rejected.jsonl", "unknown.jsonl", "failures.jsonl"):
        path = folder / name
        files[name] = [_parsed(line) for line in path.read_text().splitlines()] if path.exists() else []
    return {"case": number, "base": base, "faulty": faulty, "recovered": recovered, "files": files}


# --- the driver ---------------------------------------------------------------------------------


def warm_up(config: dict[str, Any]) -> None:
    """Load the spec and compile the schemas here, once, so each forked child starts warm.

    The threads these start have ended before the first fork.
    """
    a = config["a"]
    with GrowthClient(a["project_id"], a["project_secret"], a["base_url"]) as growth:
        reporter = EventReporter(growth, concurrency=1)
        reporter.track(event(99_999_999))
        reporter.close(timeout=10)
        bulk.report_events(growth, [event(99_999_998)], concurrency=1)


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    warm_up(config)
    client(config["a"]), client(config["b"])
    case = spool_case if config["mode"] == "spool" else bulk_case
    dry = case(config, 0, Plan())
    trace: list[str] = dry["faulty"].get("trace", [])
    results = [dry]
    plans = [(at, step, fault) for at, step in enumerate(trace) for fault in ERRORS[step]]
    for number, (at, step, fault) in enumerate(plans, start=1):
        result = case(config, number, Plan(at, fault))
        result["injected"] = {"at": at, "step": step, "fault": fault}
        results.append(result)
    Path(config["out"]).write_text(json.dumps({"trace": trace, "cases": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
