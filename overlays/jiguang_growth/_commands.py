"""What a ``jiguang-growth`` subcommand is, and the error a user can fix."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "CANNOT_RESUME",
    "CREDENTIALS_REFUSED",
    "INTERRUPTED",
    "NO_CONNECTION",
    "OUTPUT_ERROR",
    "PROG",
    "RUN_LOCKED",
    "SOME_FAILED",
    "USAGE_ERROR",
    "Command",
    "CommandError",
]

PROG = "jiguang-growth"
SOME_FAILED = 1
"""Exit status of a bulk run in which some record was rejected, is unknown, or was left unsettled."""
USAGE_ERROR = 2
"""Exit status for wrong usage, as argparse uses: bad options, a busy port, a bad config file."""
CREDENTIALS_REFUSED = 3
"""Exit status when the server refused the credentials (401 or 403): the bulk run stopped at once."""
NO_CONNECTION = 4
"""Exit status when a bulk run stopped because calls kept getting no answer (see docs/bulk.md)."""
CANNOT_RESUME = 5
"""Exit status when ``--resume`` was refused: the journal is damaged or belongs to another run."""
OUTPUT_ERROR = 6
"""Exit status when the output folder cannot be written: not a folder, read-only, or full."""
RUN_LOCKED = 7
"""Exit status when another run (a live process) holds the output folder; nothing was sent."""
INTERRUPTED = 130
"""Exit status after Ctrl-C, as shells report SIGINT."""


class CommandError(Exception):
    """A failure the user can fix; printed without a traceback."""

    def __init__(self, message: str, status: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
