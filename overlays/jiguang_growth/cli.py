"""The ``jiguang-growth`` command.

Each subcommand is one :class:`Command` in :data:`COMMANDS`: a function that
adds its options to an argparse sub-parser, and a function that runs it and
returns the exit status. To add one, write the two functions and append a
``Command``. Errors a user can fix raise :class:`CommandError` (message on
stderr, no traceback).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from ._bulk_commands import BULK_COMMANDS
from ._commands import INTERRUPTED, PROG, USAGE_ERROR, Command, CommandError
from ._reporter._cli import SPOOL_COMMANDS

if TYPE_CHECKING:
    from .sandbox import SandboxConfig, SandboxServer

__all__ = ["COMMANDS", "PROG", "USAGE_ERROR", "Command", "CommandError", "main"]

# --- sandbox ---------------------------------------------------------------------------------


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("where it listens")
    where.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    where.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    where.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a --host other than loopback (the credentials are fixed: think twice)",
    )
    behaviour = parser.add_argument_group("behaviour (override the --config file)")
    behaviour.add_argument("--config", metavar="FILE", help="settings file, JSON or YAML (see README)")
    behaviour.add_argument("--project-id", help="HTTP Basic user name (default 100102)")
    behaviour.add_argument("--project-secret", help="HTTP Basic password (default sandbox-secret)")
    behaviour.add_argument(
        "--qps",
        type=int,
        metavar="N",
        help="calls per second for every operation (default: x-qps-limit, 100)",
    )
    behaviour.add_argument(
        "--strict-attributes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reject user attributes the configuration does not define (default: on)",
    )
    faults = parser.add_argument_group("fault injection (seeded, reproducible)")
    faults.add_argument("--seed", type=int, help="random seed of the fault sequence (default 0)")
    faults.add_argument("--latency-ms", type=float, help="milliseconds added to every call")
    faults.add_argument("--latency-jitter-ms", type=float, help="up to this many more, at random")
    faults.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="STATUS=RATE",
        help="answer this share of calls with STATUS, e.g. 503=0.05 (repeatable)",
    )
    faults.add_argument("--malformed-rate", type=float, help="share of calls answered with a malformed body")
    faults.add_argument(
        "--malformed-kinds", metavar="KINDS", help="comma-separated: html, truncated (default both)"
    )
    faults.add_argument("--drop-rate", type=float, help="share of calls closed without any answer")
    faults.add_argument(
        "--timeout-after-receipt-rate",
        type=float,
        help="share of calls applied, then left unanswered for --hang-seconds",
    )
    faults.add_argument("--hang-seconds", type=float, help="how long such a call hangs (default 30)")
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level on stderr (default warning)",
    )
    logs.add_argument("--access-log", action="store_true", help="log every request on stderr")


def _sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    from .sandbox import SandboxConfig, load_config  # noqa: PLC0415
    from .sandbox.faults import parse_error_rates  # noqa: PLC0415

    config = load_config(args.config) if args.config else SandboxConfig()
    changes: dict[str, Any] = {}
    for option, field in (
        ("project_id", "project_id"),
        ("project_secret", "project_secret"),
        ("qps", "qps_limit"),
        ("strict_attributes", "strict_attributes"),
    ):
        if getattr(args, option) is not None:
            changes[field] = getattr(args, option)
    fault_changes: dict[str, Any] = {}
    for option in (
        "seed",
        "latency_ms",
        "latency_jitter_ms",
        "malformed_rate",
        "drop_rate",
        "timeout_after_receipt_rate",
        "hang_seconds",
    ):
        if getattr(args, option) is not None:
            fault_changes[option] = getattr(args, option)
    if args.error_rate:
        fault_changes["error_rates"] = {**config.faults.error_rates, **parse_error_rates(args.error_rate)}
    if args.malformed_kinds:
        fault_changes["malformed_kinds"] = tuple(
            k.strip() for k in args.malformed_kinds.split(",") if k.strip()
        )
    if fault_changes:
        changes["faults"] = replace(config.faults, **fault_changes)
    return replace(config, **changes) if changes else config


def _banner(server: SandboxServer, out: TextIO) -> None:
    env = " ".join(f"{name}={value}" for name, value in server.env().items())
    out.write(
        f"jiguang-growth sandbox listening on {server.base_url}\n"
        f"  API base URL    {server.api_url}\n"
        f"  project id      {server.project_id}\n"
        f"  project secret  {server.project_secret}\n"
        f"  state view      {server.state_url} (same credentials)\n"
        f"  client env      {env}\n"
        f"Press Ctrl-C to stop.\n"
    )
    out.flush()


def _run_sandbox(args: argparse.Namespace) -> int:
    try:
        from .sandbox import SandboxServer, SandboxStartError  # noqa: PLC0415
    except ImportError as error:
        raise CommandError(str(error)) from None
    try:
        config = _sandbox_config(args)
    except (OSError, TypeError, ValueError) as error:
        raise CommandError(f"bad sandbox settings: {error}") from None
    try:
        server = SandboxServer(
            config,
            host=args.host,
            port=args.port,
            allow_non_loopback=args.allow_non_loopback,
            log_level=args.log_level,
            access_log=args.access_log,
            uvicorn_logging=True,
        ).start()
    except SandboxStartError as error:
        raise CommandError(str(error)) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _banner(server, sys.stdout)
        while not stop.wait(0.2):
            if not server.running:
                raise CommandError("the sandbox server stopped unexpectedly; see the log above", status=1)
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("jiguang-growth sandbox stopped.", flush=True)
    return 0


COMMANDS: list[Command] = [
    Command(
        "sandbox",
        "run the local Growth API sandbox on 127.0.0.1 until Ctrl-C",
        _sandbox_arguments,
        _run_sandbox,
    ),
    *BULK_COMMANDS,
    *SPOOL_COMMANDS,
]
"""Every subcommand, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools for the Jiguang Operation Growth REST API (jiguang_growth)."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(child)
        child.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed by argparse
        return exit_.code if isinstance(exit_.code, int) else USAGE_ERROR
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        return run(args)
    except CommandError as error:
        print(f"{PROG} {args.command}: error: {error.message}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
