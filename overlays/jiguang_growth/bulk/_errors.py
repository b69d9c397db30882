"""Why a bulk run could not go on: a journal that cannot be trusted, or an output folder it cannot write."""

from __future__ import annotations

from .._exceptions import GrowthError

__all__ = ["JournalError", "OutputError"]


class JournalError(GrowthError):
    """The run in ``out_dir`` cannot be resumed safely: its journal is damaged or belongs to another run.

    Nothing was sent. Resuming anyway could send settled records a second time,
    so the run is refused instead of guessed at.
    """


class OutputError(GrowthError):
    """The output folder cannot be written (not a folder, read-only, full); the run stopped."""
