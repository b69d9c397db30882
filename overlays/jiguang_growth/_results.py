"""Results the clients return that the generated models do not cover."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CuidResult"]


class CuidResult(NamedTuple):
    """The answer for one requested identifier value of ``get_cuids``.

    ``cuid`` is ``None`` when the server gave none; ``error_code`` is the
    item's ``errorCode`` (``None`` when absent). Which non-zero item codes
    exist is not documented. A named tuple: immutable, picklable, and cheap
    to build a hundred times per call.
    """

    identity_value: str
    cuid: int | None
    error_code: int | None

    @property
    def ok(self) -> bool:
        """The item has a CUID and no non-zero error code."""
        return self.cuid is not None and not self.error_code
