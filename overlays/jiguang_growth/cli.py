"""The ``jiguang-growth`` command: builds the parser and runs the chosen subcommand.

Each subcommand is one :class:`Command` in :data:`COMMANDS`: a function that
adds its options to an argparse sub-parser, and a function that runs it and
returns the exit status. Each feature keeps its own next to its code
(``bulk/_cli.py``, ``sandbox/_cli.py``); to add one, write the two functions
there and list its ``Command`` here. Errors a user can fix raise
:class:`CommandError` (message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ._commands import INTERRUPTED, PROG, USAGE_ERROR, Command, CommandError
from ._reporter._cli import SPOOL_COMMAND
from .bulk._cli import BULK_COMMANDS
from .sandbox._cli import SANDBOX_COMMAND

__all__ = ["COMMANDS", "PROG", "USAGE_ERROR", "Command", "CommandError", "main"]

COMMANDS: list[Command] = [SANDBOX_COMMAND, *BULK_COMMANDS, SPOOL_COMMAND]
"""Every subcommand, in the order ``--help`` lists them."""


class _VersionAction(argparse.Action):
    """``--version``: the installed package's version, read from its metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib import metadata  # noqa: PLC0415 - only for --version

        try:
            version = metadata.version(PROG)
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        print(f"{PROG} {version}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools for the Jiguang Operation Growth REST API (jiguang_growth)."
    )
    parser.add_argument("--version", action=_VersionAction, help="print the package version and exit")
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
