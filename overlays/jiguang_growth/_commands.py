"""What a ``jiguang-growth`` subcommand is, and the error a user can fix."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["INTERRUPTED", "PROG", "USAGE_ERROR", "Command", "CommandError"]

PROG = "jiguang-growth"
USAGE_ERROR = 2
"""Exit status for wrong usage, as argparse uses: bad options, a busy port, a bad config file."""
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
