"""``jiguang-growth spool status DIR`` and ``jiguang-growth spool drain DIR``.

``status`` lists a spool folder's segments: who holds each (a live process,
or no one), the project its events belong to, how many events it holds and
how many are still to send (in all and per project).
``drain`` adopts every orphaned segment of the project it is given (other
projects' segments are left alone), sends what it holds like a starting
reporter does, and waits until it is settled (e.g. from a cron job after an
outage). Exit status of ``drain``: 0 when everything was accepted, 1 when any
event was rejected, is unknown or stayed unsent, 2 for wrong usage, 3 when the
server refused the credentials (the events stay in the spool, held for a run
with correct ones).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._commands import CREDENTIALS_REFUSED, Command, CommandError

__all__ = ["SPOOL_COMMAND"]

FAILED = 1


def _arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="spool_command", metavar="ACTION", required=True)
    status = sub.add_parser("status", help="list the segments of a spool folder and what they hold")
    status.add_argument("folder", metavar="DIR", help="the spool folder (EventReporter's spool=)")
    drain = sub.add_parser("drain", help="send what orphaned segments hold, and wait until it is settled")
    drain.add_argument("folder", metavar="DIR", help="the spool folder (EventReporter's spool=)")
    drain.add_argument("--project-id", help="project ID (or JIGUANG_PROJECT_ID)")
    drain.add_argument(
        "--project-secret",
        help="project secret (or JIGUANG_PROJECT_SECRET, which keeps it out of the process list)",
    )
    drain.add_argument("--base-url", help="API host (or JIGUANG_GROWTH_BASE_URL; default the real API)")
    drain.add_argument("--app-key", help="appKey of the project's HTTP API data source")
    drain.add_argument(
        "--wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="longest wait for the sending (default 300)",
    )


def _folder(text: str) -> Path:
    folder = Path(text)
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder")
    return folder


def _status(args: argparse.Namespace) -> int:
    from ._spool import REJECTED_NAME, folder_status  # noqa: PLC0415

    folder = _folder(args.folder)
    segments = folder_status(folder)
    out = sys.stdout
    out.write(f"{'segment':<52} {'state':<8} {'events':>8} {'to send':>8} {'bytes':>10}  pid  project\n")
    totals: dict[str, int] = {}
    by_project: dict[str, int] = {}
    for segment in segments:
        project = segment.owner.describe() if segment.owner is not None else "not named (before version 2)"
        out.write(
            f"{segment.name:<52} {segment.state:<8} {segment.events:>8} {segment.pending:>8} "
            f"{segment.size:>10}  {segment.pid if segment.pid is not None else '-'}  {project}\n"
        )
        if segment.state == "skipped":
            sys.stderr.write(f"warning: skipped {segment.name}: not a readable regular file\n")
        totals[segment.state] = totals.get(segment.state, 0) + segment.pending
        if segment.state in ("orphan", "owned"):
            by_project[project] = by_project.get(project, 0) + segment.pending
    for project, count in sorted(by_project.items()):
        out.write(f"events to send for {project}: {count}\n")
    rejected = folder / REJECTED_NAME
    refused = 0
    if rejected.exists():
        with rejected.open("rb") as handle:
            refused = sum(1 for _ in handle)
    out.write(
        f"{len(segments)} segment(s); events to send: {totals.get('orphan', 0)} in orphaned segments "
        f"(spool drain sends them), {totals.get('owned', 0)} held by live processes, "
        f"{totals.get('corrupt', 0)} in corrupt files set aside; "
        f"{refused} rejected event(s) in {REJECTED_NAME}\n"
    )
    return 0


def _drain(args: argparse.Namespace) -> int:
    from .._client import GrowthClient  # noqa: PLC0415
    from .._exceptions import ConfigurationError, RequestValidationError  # noqa: PLC0415
    from ._sender import EventReporter  # noqa: PLC0415
    from ._spool import SpoolOwner, folder_status  # noqa: PLC0415

    folder = _folder(args.folder)
    try:
        client = GrowthClient(args.project_id, args.project_secret, args.base_url)
    except ConfigurationError as error:
        raise CommandError(str(error)) from None
    with client:
        try:
            reporter = EventReporter(client, spool=folder, app_key=args.app_key, close_timeout=args.wait)
        except (ConfigurationError, RequestValidationError) as error:
            raise CommandError(str(error)) from None
        reporter.flush(timeout=args.wait)
        reporter.close(timeout=0.0)
    stats = reporter.stats
    owner = SpoolOwner(client.project_id, client.base_url)
    others = sum(s.pending for s in folder_status(folder) if s.owner != owner and s.state == "orphan")
    print(
        f"spool drain {folder}: {stats.adopted} event(s) found, {stats.accepted} accepted, "
        f"{stats.rejected} rejected, {stats.unknown} unknown, {stats.unsent} unsent, {stats.held} held"
        + (f"; {others} event(s) of other projects left alone (see spool status)" if others else ""),
        flush=True,
    )
    if stats.held:
        print(
            f"spool drain: the server refused the credentials; {stats.held} event(s) stay in {folder}, "
            "held for a drain with correct ones (check JIGUANG_PROJECT_ID and JIGUANG_PROJECT_SECRET)",
            file=sys.stderr,
            flush=True,
        )
        return CREDENTIALS_REFUSED
    return 0 if stats.delivered else FAILED


def _run(args: argparse.Namespace) -> int:
    return _status(args) if args.spool_command == "status" else _drain(args)


SPOOL_COMMAND = Command(
    "spool",
    "inspect (status) or send (drain) what an EventReporter spool folder holds",
    _arguments,
    _run,
)
