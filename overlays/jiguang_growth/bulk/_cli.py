"""The bulk subcommands of ``jiguang-growth``: report-events, get-cuids, set-attributes, set-channels.

Each reads one record per line from a file or standard input, runs the
matching job of :mod:`jiguang_growth.bulk`, shows progress, and ends with a
summary. Rejected and unknown records land in the output folder in the
input's format. Exit statuses (``_commands``; the table is in docs/bulk.md):
0 every record accepted, 1 some rejected, unknown or unsettled, 2 wrong
usage, 3 credentials refused, 4 no connection, 5 resume refused, 6 output
folder not writable, 7 output folder in use by another run, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO

from .._client import GrowthClient
from .._commands import (
    CANNOT_RESUME,
    CREDENTIALS_REFUSED,
    INTERRUPTED,
    NO_CONNECTION,
    OUTPUT_ERROR,
    PROG,
    RUN_LOCKED,
    SOME_FAILED,
    Command,
    CommandError,
)
from .._exceptions import ConfigurationError, RequestValidationError
from .._signals import stop_on_signals
from . import (
    DEFAULT_CONCURRENCY,
    BulkSummary,
    Job,
    JournalError,
    OutputError,
    RecordOutcome,
    RunLockedError,
    check_out_dir,
    read_lines,
    run_job,
)
from ._input import LINE_TOO_LONG, InputFormat, bounded_lines
from ._jobs import ATTRIBUTES, CHANNELS, CUIDS, EVENTS, BulkOperation
from ._progress import BarProgress, LineProgress

__all__ = ["BULK_COMMANDS"]

STOP_STATUS = {"credentials": CREDENTIALS_REFUSED, "connection": NO_CONNECTION, "no_answer": NO_CONNECTION}
"""Exit status of a run that stopped on its own, by ``BulkSummary.stopped``."""
CREDENTIAL_HINT = (
    "check --project-id and --project-secret (or JIGUANG_PROJECT_ID and JIGUANG_PROJECT_SECRET), "
    "or try the run against a local sandbox with --sandbox"
)
REPORTED_LINES = 20
"""Bad input lines printed one by one; the rest are counted (all are in failures.jsonl)."""


@dataclass(frozen=True)
class _BulkCommand:
    """One bulk subcommand: its name, help texts and the bulk operation it runs."""

    name: str
    help: str
    input_help: str
    operation: BulkOperation


_BULK_COMMANDS = (
    _BulkCommand(
        "report-events",
        "report behaviour events from a JSON-lines file, batched and paced to the API's limits",
        "JSON-lines file of events (an Event object per line), or - for standard input",
        EVENTS,
    ),
    _BulkCommand(
        "get-cuids",
        "look up the CUID of every identifier value in a file (one value per line)",
        "text file with one identifier value per line, or - for standard input",
        CUIDS,
    ),
    _BulkCommand(
        "set-attributes",
        'set user attributes from a JSON-lines file of {"cuid": ..., "data": {...}} records',
        'JSON-lines file, one {"cuid": N, "data": {name: value}} per line, or - for standard input',
        ATTRIBUTES,
    ),
    _BulkCommand(
        "set-channels",
        "set users' contact values from a JSON-lines file of UserChannels records",
        'JSON-lines file, one {"cuid": N, "channels": [...]} per line, or - for standard input',
        CHANNELS,
    ),
)


def _flag(name: str) -> str:
    """The option of a run-wide setting: ``identity_name`` -> ``--identity-name``."""
    return "--" + name.replace("_", "-")


def _add_arguments(command: _BulkCommand) -> Callable[[argparse.ArgumentParser], None]:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("input", metavar="FILE", help=command.input_help)
        for setting in command.operation.settings:
            parser.add_argument(_flag(setting.name), required=setting.required, help=setting.help)
        for flag in command.operation.flags:
            parser.add_argument(_flag(flag.name), action="store_true", help=flag.help)
        where = parser.add_argument_group("where to send (default: the JIGUANG_* environment variables)")
        where.add_argument("--project-id", help="project ID (or JIGUANG_PROJECT_ID)")
        where.add_argument(
            "--project-secret",
            help="project secret (or JIGUANG_PROJECT_SECRET, which keeps it out of the process list)",
        )
        where.add_argument("--base-url", help="API host (or JIGUANG_GROWTH_BASE_URL; default the real API)")
        where.add_argument(
            "--sandbox",
            action="store_true",
            help="start the local sandbox on a free 127.0.0.1 port and send there",
        )
        run = parser.add_argument_group("the run")
        run.add_argument(
            "--out",
            metavar="DIR",
            help="folder for rejected/unknown records, failures.jsonl, journal.jsonl and summary.json "
            "(default: FILE.out, or jiguang-growth-COMMAND.out for standard input)",
        )
        run.add_argument(
            "--resume",
            action="store_true",
            help="continue the run recorded in --out: records it settled are not sent again",
        )
        run.add_argument("--concurrency", type=int, default=None, help="most calls in flight (default 64)")
        run.add_argument(
            "--timeout",
            type=_seconds,
            default=None,
            metavar="SECONDS",
            help="seconds per attempt, and per read or write within it (default 30 and 10)",
        )
        run.add_argument(
            "--progress",
            choices=["auto", "bar", "lines", "off"],
            default="auto",
            help="a bar when standard output is a terminal, periodic lines otherwise (default auto)",
        )
        run.add_argument(
            "--progress-interval",
            type=_seconds,
            default=10.0,
            metavar="SECONDS",
            help="seconds between progress lines (default 10)",
        )

    return add


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse turns the ValueError into a usage error)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return value


_seconds.__name__ = "positive finite number of seconds"  # argparse names the type in its message


def _runner(command: _BulkCommand) -> Callable[[argparse.Namespace], int]:
    def run_command(args: argparse.Namespace) -> int:
        return _run(command, args)

    return run_command


BULK_COMMANDS = [Command(c.name, c.help, _add_arguments(c), _runner(c)) for c in _BULK_COMMANDS]


def _run(command: _BulkCommand, args: argparse.Namespace) -> int:
    job = _checked_job(command.operation, args)
    out = Path(args.out) if args.out else _default_out(command.name, args.input)
    _check_out(out, args)  # before the input is read or a sandbox is started
    reporter = _BadLineReporter(sys.stderr)
    try:
        summary = _send(command.operation, job, args, out, reporter)
    except JournalError as error:
        raise CommandError(str(error), CANNOT_RESUME) from None
    except RunLockedError as error:
        raise CommandError(str(error), RUN_LOCKED) from None
    except OutputError as error:
        raise CommandError(f"{error} (--out {out})", OUTPUT_ERROR) from None
    reporter.close()
    _print_summary(summary, out, command.operation.fmt, command.operation.result_line is not None, sys.stdout)
    return _status(summary, out)


def _status(summary: BulkSummary, out: Path) -> int:
    """The exit status of a finished run, with the advice that goes with it on standard error."""
    resume = f"run again with --resume --out {out} to send the rest"
    if summary.stopped is not None:
        hint = f"; {CREDENTIAL_HINT}" if summary.stopped == "credentials" else ""
        print(f"stopped: {summary.stop_message}{hint}; then {resume}", file=sys.stderr)
        return STOP_STATUS.get(summary.stopped, SOME_FAILED)
    if summary.interrupted:
        print(f"interrupted: {_reading(summary)}; {resume}", file=sys.stderr)
        return INTERRUPTED
    if summary.unsettled:
        print(f"{summary.unsettled:,} records were not settled: {resume}", file=sys.stderr)
    return 0 if summary.ok else SOME_FAILED


def _reading(summary: BulkSummary) -> str:
    """How far an interrupted run got through its input, in numbers."""
    unread = "the rest" if summary.lines_unread is None else f"{summary.lines_unread:,}"
    return (
        f"{summary.lines_read:,} input lines read, {summary.records - summary.resumed:,} records settled, "
        f"{summary.unsettled:,} read but not settled, {unread} never read"
    )


def _check_out(out: Path, args: argparse.Namespace) -> None:
    if args.resume and args.input == "-":
        raise CommandError(
            "--resume needs the input as a file: a run read from standard input cannot be checked to be "
            "the same run"
        )
    kind = _stream_kind(args.input)
    if args.resume and kind is not None:
        raise CommandError(
            f"--resume needs the input as a regular file: {args.input} is {kind}, which can be read only "
            "once, so it cannot be checked to be the same input; save it to a file, run from that file, "
            "and resume with that file"
        )
    try:
        check_out_dir(out, resume=args.resume)
    except RunLockedError as error:
        raise CommandError(str(error), RUN_LOCKED) from None
    except OutputError as error:
        raise CommandError(f"--out {out}: {error}", OUTPUT_ERROR) from None
    except FileExistsError as error:
        raise CommandError(f"{error}: pass --resume to continue it, or another --out") from None


def _checked_job(operation: BulkOperation, args: argparse.Namespace) -> Job:
    """The run's job, once the options that hold for the whole run are known to be good."""
    if args.concurrency is not None and args.concurrency < 1:
        raise CommandError("--concurrency must be at least 1")
    try:
        return operation.job(vars(args), argument=_flag)
    except RequestValidationError as error:
        raise CommandError(str(error)) from None


def _send(
    operation: BulkOperation, job: Job, args: argparse.Namespace, out: Path, reporter: _BadLineReporter
) -> BulkSummary:
    """Run the job over the input; SIGTERM ends it the way Ctrl-C does (in flight is finished)."""
    stop = threading.Event()
    with _input(args.input) as lines:
        kind = _stream_kind(args.input)
        if kind is None:
            total, identity = _measure(args.input)
        elif args.input == "-":
            total, identity = None, None
        else:  # read once, by the run: measuring it first would leave the run nothing to read
            total, identity = None, {"path": os.path.abspath(args.input), "kind": kind}
        with _client(args) as client, stop_on_signals(stop, [signal.SIGTERM]), _ctrl_c_stops(stop):
            progress = _progress(args, total)
            try:
                summary = run_job(
                    job,
                    client,
                    read_lines(bounded_lines(lines), operation.fmt),
                    operation.fmt,
                    result_line=operation.result_line,
                    input_identity=identity,
                    input_lines=total,
                    concurrency=args.concurrency or DEFAULT_CONCURRENCY,
                    out_dir=out,
                    resume=args.resume,
                    on_outcome=reporter,
                    on_progress=progress,
                    on_stopping=_announce_stop,
                    stop=stop,
                )
            except FileExistsError as error:
                raise CommandError(f"{error}: pass --resume to continue it, or another --out") from None
            except (ConfigurationError, ValueError) as error:
                raise CommandError(str(error)) from None
        if progress is not None:
            progress.finish(summary)
    return summary


@contextlib.contextmanager
def _ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C sets ``stop`` (calls in flight are finished); a second one gives up at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_out(command: str, source: str) -> Path:
    if source == "-":
        return Path(f"{PROG}-{command}.out")
    return Path(source + ".out")


@contextlib.contextmanager
def _input(source: str) -> Iterator[IO[bytes]]:
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise CommandError(f"cannot read {source}: {error.strerror}") from None
    with handle:
        yield handle


def _stream_kind(source: str) -> str | None:
    """What a non-regular input is (a FIFO, a pipe such as ``<(...)`` or ``/dev/stdin``, a device);
    ``None`` for a regular file, or a path that cannot be looked at (opening it says why)."""
    if source == "-":
        return "standard input"
    try:
        mode = os.stat(source).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):  # a folder: opening it says why it cannot be read
        return None
    if stat.S_ISFIFO(mode):
        return "a pipe or FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device or other special file"


def _measure(source: str) -> tuple[int | None, dict[str, Any] | None]:
    """Lines in a regular file (for the ETA) and what identifies it (path, size, SHA-256), in one pass."""
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as handle:
            count, last, size = 0, b"\n", 0
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                count += chunk.count(b"\n")
                size += len(chunk)
                last = chunk[-1:]
    except OSError as error:
        raise CommandError(f"cannot read {source}: {error.strerror}") from None
    identity = {"path": os.path.abspath(source), "size": size, "sha256": digest.hexdigest()}
    return count + (last != b"\n"), identity


def _announce_stop(summary: BulkSummary, in_flight: int) -> None:
    """Say at once that the run is stopping: what it has read and settled, and what it waits for."""
    why = f" ({summary.stop_message})" if summary.stop_message else ""
    calls = "1 call" if in_flight == 1 else f"{in_flight:,} calls"
    settled = f"{summary.records - summary.resumed:,} records settled"
    if summary.input_read_to_end:
        read = f"every input line was read ({summary.lines_read:,}), {settled}"
        rest = f"waiting for the {calls} in flight" if in_flight else "nothing is left to send"
    else:
        read = f"{summary.lines_read:,} input lines read, {settled}"
        rest = f"{calls} in flight; no more lines are read or sent"
    print(f"\nstopping{why}: {read}; {rest}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[GrowthClient]:
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
        options["attempt_timeout"] = args.timeout  # "seconds per attempt": the whole attempt
    if not args.sandbox:
        try:
            client = GrowthClient(args.project_id, args.project_secret, args.base_url, **options)
        except ConfigurationError as error:
            raise CommandError(f"{error}; {CREDENTIAL_HINT}") from None
        with client:
            yield client
        return
    if args.project_id or args.project_secret or args.base_url:
        raise CommandError("--sandbox brings its own address and credentials; drop the other options")
    try:
        from ..sandbox import run_sandbox  # noqa: PLC0415
    except ImportError as error:
        raise CommandError(str(error)) from None
    with run_sandbox() as sandbox:
        print(f"sandbox: {sandbox.api_url} (project {sandbox.project_id})", file=sys.stderr)
        with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, **options) as client:
            yield client


def _progress(args: argparse.Namespace, total: int | None) -> BarProgress | LineProgress | None:
    mode = args.progress
    if mode == "auto":
        mode = "bar" if sys.stdout.isatty() else "lines"
    if mode == "bar":
        return BarProgress(sys.stdout, total)
    if mode == "lines":
        return LineProgress(sys.stdout, total, max(0.1, args.progress_interval))
    return None


class _BadLineReporter:
    """Prints each unreadable or invalid input line with its number and reason (up to a limit)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def __call__(self, outcome: RecordOutcome) -> None:
        failure = outcome.failure
        if failure is None or failure.reason not in {"unreadable", "invalid", LINE_TOO_LONG}:
            return
        self.count += 1
        if self.count <= REPORTED_LINES:
            self.stream.write(f"line {outcome.line}: rejected ({failure.reason}): {failure.msg}\n")

    def close(self) -> None:
        if self.count > REPORTED_LINES:
            self.stream.write(
                f"... and {self.count - REPORTED_LINES:,} more bad lines (see failures.jsonl)\n"
            )
        self.stream.flush()


def _print_summary(summary: BulkSummary, out: Path, fmt: InputFormat, results: bool, stream: TextIO) -> None:
    ext = "jsonl" if fmt == "jsonl" else "txt"
    sent = summary.records - summary.resumed
    rate = f" ({sent / summary.elapsed:,.0f} records/s)" if summary.elapsed > 0 else ""
    lines = [f"{summary.operation}: {sent:,} records in {summary.elapsed:.2f} s{rate}"]
    if summary.resumed:
        lines[0] += f"; {summary.records:,} in the whole run"
        lines.append(f"  resumed    {summary.resumed:>10,}  (settled by earlier runs, not sent again)")
    if summary.skipped:
        lines.append(f"  skipped    {summary.skipped:>10,}  (blank lines)")
    lines.append(f"  accepted   {summary.accepted:>10,}")
    rejected_to = f"  -> {out / f'rejected.{ext}'}" if summary.rejected else ""
    unknown_to = f"  -> {out / f'unknown.{ext}'}" if summary.unknown else ""
    lines.append(f"  rejected   {summary.rejected:>10,}{rejected_to}")
    lines.append(f"  unknown    {summary.unknown:>10,}{unknown_to}")
    if summary.unsettled:
        lines.append(f"  unsettled  {summary.unsettled:>10,}  (not sent; --resume sends them)")
    if summary.lines_unread:
        lines.append(f"  never read {summary.lines_unread:>10,}  (input lines; --resume reads them)")
    elif summary.lines_unread is None and summary.interrupted:
        lines.append("  never read          ?  (the rest of the input; --resume cannot read it again)")
    if summary.resumed and not sent and summary.lines_unread == 0 and not summary.unsettled:
        lines.append("  nothing to send: earlier runs settled every line of the input")
    if summary.by_reason:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(summary.by_reason.items()))
        lines.append(f"  reasons    {reasons}  (per record: {out / 'failures.jsonl'})")
    lines.append(f"  calls      {summary.batches:>10,}  429s waited out: {summary.rate_limited:,}")
    if results and summary.accepted:
        lines.append(f"  results    {out / 'results.jsonl'}")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
