"""Give events a ``randomId`` so that a resent event can be recognised.

The report operation is replayed after an ambiguous failure only because
every event carries an ID chosen before the first attempt (its ``x-replay-safe``
and ``x-random-id-field`` in openapi.yaml). The bulk ingestion instead derives each missing ID from
its run and the record's input line (:func:`stable_random_id`), so a resumed
run, or a resend of its rejected and unknown files, carries the same IDs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["RANDOM_ID_FIELD", "new_random_ids", "stable_random_id", "with_random_ids"]

RANDOM_ID_FIELD = "randomId"
"""Wire name of the event property holding the ID: ``reportEvents``'s ``x-random-id-field`` in
openapi.yaml, which the client reads; the reporter and bulk runs use this name (a test checks
that the two agree)."""

_VARIANT = "89ab"


def new_random_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as strings.

    Same format and randomness source as ``str(uuid.uuid4())`` at about a
    fifth of the cost: one ``os.urandom`` call serves the whole batch.
    """
    digits = os.urandom(16 * count).hex()
    ids = []
    for start in range(0, 32 * count, 32):
        h = digits[start : start + 32]
        variant = _VARIANT[int(h[16], 16) & 3]
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return ids


def stable_random_id(run_id: uuid.UUID, key: str) -> str:
    """A ``randomId`` fixed by a bulk run and a record's place in its input (a version 5 UUID).

    A resumed run reuses its run ID, so a record that may have been sent
    before the interruption is sent again with the same ID.
    """
    return str(uuid.uuid5(run_id, key))


def with_random_ids(events: Iterable[Any], field: str = RANDOM_ID_FIELD) -> list[Any]:
    """The events as a new list, each mapping with a ``field`` (default ``randomId``).

    A mapping without the key becomes a new dict with a fresh UUID; a dict
    that has one is kept as it is (the same object), another mapping that has
    one becomes a plain dict. The input is never changed. Items that are not
    mappings pass through untouched, for validation to report.
    """
    out: list[Any] = []
    missing: list[int] = []
    for event in events:
        record = event if isinstance(event, dict) or not isinstance(event, Mapping) else dict(event)
        if isinstance(record, dict) and field not in record:
            missing.append(len(out))
        out.append(record)
    for i, random_id in zip(missing, new_random_ids(len(missing)), strict=True):
        out[i] = {**out[i], field: random_id}
    return out
