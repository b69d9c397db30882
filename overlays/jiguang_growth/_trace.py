"""Whether a request opened a new connection, told by httpcore's ``trace`` request extension.

A call that opens a connection pays its handshakes (TCP, then TLS: two round
trips far away) before the request goes out, so its answer time says little
about how much the path's delay varies. Both drivers attach a
:class:`ConnectionTrace` to each attempt's request; a transport that does not
trace (a user's own, a mock) leaves it saying "no new connection".
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConnectionTrace"]

_OPENING = ("connection.connect_tcp.", "connection.connect_unix_socket.")
"""Trace events httpcore emits only when it opens a connection for the request."""


class ConnectionTrace:
    """Records whether the traced request opened a connection (``opened``)."""

    __slots__ = ("opened",)

    def __init__(self) -> None:
        self.opened = False

    def __call__(self, name: str, info: dict[str, Any]) -> None:
        """The ``trace`` callback of a sync transport."""
        if name.startswith(_OPENING):
            self.opened = True

    async def in_async(self, name: str, info: dict[str, Any]) -> None:
        """The ``trace`` callback of an async transport (httpcore awaits it)."""
        self(name, info)
