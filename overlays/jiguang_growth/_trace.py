"""When a request goes out, and whether it opened a connection, from httpcore's ``trace`` extension.

A call that opens a connection pays its handshakes (TCP, then TLS: two round
trips far away) before the request goes out: it reaches the server that much
later than its slot, and its answer time says little about how much the path's
delay varies. Both drivers attach a :class:`ConnectionTrace` to each paced
attempt's request (only the pacer uses what it tells); a transport that does
not trace (a user's own, a mock) leaves it saying "no new connection" and never
calls ``on_wire``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ._body import Answer

__all__ = ["ConnectionTrace", "traced"]

_OPENING = ("connection.connect_tcp.", "connection.connect_unix_socket.")
"""Trace events httpcore emits only when it opens a connection for the request."""
_WRITING = ("http11.send_request_headers.started", "http2.send_request_headers.started")
"""Trace events that say the request's first bytes are being written."""


class ConnectionTrace:
    """Records whether the traced request opened a connection (``opened``), and calls ``on_wire``
    once as its headers start going out."""

    __slots__ = ("on_wire", "opened")

    def __init__(self, on_wire: Callable[[], None] | None = None) -> None:
        self.opened = False
        self.on_wire = on_wire

    def __call__(self, name: str, info: dict[str, Any]) -> None:
        """The ``trace`` callback of a sync transport."""
        if name.startswith(_OPENING):
            self.opened = True
        elif name in _WRITING and self.on_wire is not None:
            on_wire, self.on_wire = self.on_wire, None
            on_wire()

    async def in_async(self, name: str, info: dict[str, Any]) -> None:
        """The ``trace`` callback of an async transport (httpcore awaits it)."""
        self(name, info)


def traced(answer: Answer, trace: ConnectionTrace | None) -> Answer:
    """``answer``, saying whether its request opened a connection when it was traced."""
    return answer if trace is None else replace(answer, new_connection=trace.opened)
