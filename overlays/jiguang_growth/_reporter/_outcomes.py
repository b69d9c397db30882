"""What the reporter tells its user: one outcome per event, and running counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .._delivery import Failure, Outcome

__all__ = ["EventOutcome", "ReporterStats"]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What became of one event: ``accepted``, ``rejected`` (not applied) or ``unknown``.

    ``failure`` says why, for rejected and unknown events (the same
    :class:`~jiguang_growth.bulk.Failure` as in bulk runs). ``event`` is the
    event as sent, with its ``randomId``. A kept event may later be reported
    again, by whichever reporter sends it next.
    """

    event: dict[str, Any]
    outcome: Outcome
    failure: Failure | None = None
    kept: bool = False
    """The event stays in the spool and will be sent again (the API was down, busy or slow)."""

    @property
    def random_id(self) -> str:
        return str(self.event.get("randomId"))


@dataclass(frozen=True, slots=True)
class ReporterStats:
    """Counts since the reporter started (in a forked child: since the fork).

    ``tracked`` events returned from ``track``; ``adopted`` events came from
    spool segments that other processes (or earlier runs) left. Every one of
    them is in exactly one of the other counts, so
    ``tracked + adopted == accepted + rejected + unknown + kept + held + queued + unsent``:

    * ``queued``: waiting or in flight;
    * ``accepted``; ``rejected`` (refused for good: not applied);
    * ``unknown``: the call failed after it may have been applied, and there
      is no spool to keep the event in;
    * ``kept``: left in the spool after a transient or ambiguous failure, to
      be sent again (by this reporter after ``scan_interval``, which moves it
      back to ``queued``, or by the next one);
    * ``held``: not sent because the server refused the credentials (401/403);
      in the spool for a run with correct credentials, or (without a spool)
      in memory until close;
    * ``unsent``: left at close (in the spool, if there is one); close moves
      ``queued`` and ``kept`` here.

    ``sent`` counts events handed to a call (resends included); ``dropped``
    counts ``track`` calls refused because the queue was full; they are not in
    ``tracked``.
    """

    tracked: int = 0
    adopted: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    dropped: int = 0
    queued: int = 0
    unsent: int = 0
    kept: int = 0  # after the 0.1.0 fields, so positional construction keeps its meaning
    held: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def delivered(self) -> bool:
        """Whether every tracked and adopted event was accepted (what ``close`` returns)."""
        return self.accepted == self.tracked + self.adopted
