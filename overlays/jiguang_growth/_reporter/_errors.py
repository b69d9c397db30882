"""The reporter's own errors."""

from __future__ import annotations

from .._exceptions import GrowthError

__all__ = ["ReporterClosedError", "SpoolError"]


class SpoolError(GrowthError):
    """An event could not be written to the spool (a full disk, a lost folder ...).

    Raised by ``track``, so the event is neither queued nor silently dropped.
    ``path`` is the file and ``errno`` the operating system's error number, when known.
    """

    path: str
    errno: int | None

    def __init__(self, message: str, *, path: str, errno: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class ReporterClosedError(GrowthError):
    """``track`` was called on a reporter that was closed (or inherited across ``fork``)."""
