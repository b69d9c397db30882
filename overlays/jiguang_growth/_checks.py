"""Argument checks shared by the client, the pacer and the sandbox's settings."""

from __future__ import annotations

__all__ = ["whole_number"]


def whole_number(
    name: str, value: object, minimum: int | None = None, error: type[ValueError] = ValueError
) -> int:
    """``value`` if it is an ``int`` (never a ``bool``) of at least ``minimum``; otherwise raise ``error``.

    The message names ``name`` and the rule, e.g. ``limit must be a whole number of at least 1, got 0``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        rule = "an integer" if minimum is None else f"a whole number of at least {minimum}"
        raise error(f"{name} must be {rule}, got {value!r}")
    if minimum is not None and value < minimum:
        raise error(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return value
