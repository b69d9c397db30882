"""Background event reporting: ``track`` returns at once; batches go out behind it, durably if asked.

Re-exported from :mod:`jiguang_growth`; see docs/reporter.md.
"""

from ._async_sender import AsyncEventReporter
from ._errors import ReporterClosedError, SpoolError
from ._outcomes import EventOutcome, ReporterStats
from ._sender import EventReporter, QueueFullPolicy

__all__ = [
    "AsyncEventReporter",
    "EventOutcome",
    "EventReporter",
    "QueueFullPolicy",
    "ReporterClosedError",
    "ReporterStats",
    "SpoolError",
]
