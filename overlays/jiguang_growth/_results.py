"""Results the clients return that the generated models do not cover."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CuidResult"]


@dataclass(frozen=True, slots=True)
class CuidResult:
    """The answer for one requested identifier value of ``get_cuids``.

    ``cuid`` is ``None`` when the server gave none; ``error_code`` is the
    item's ``errorCode`` (``None`` when absent). Which non-zero item codes
    exist is not documented.
    """

    identity_value: str
    cuid: int | None
    error_code: int | None

    @property
    def ok(self) -> bool:
        """The item has a CUID and no non-zero error code."""
        return self.cuid is not None and not self.error_code
