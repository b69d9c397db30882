"""Which ``Host`` headers a loopback server answers to: the guard against DNS rebinding.

A web page can point a host name of its own at 127.0.0.1 (DNS rebinding). The
browser then treats the local server as that site's own, so CORS does not
apply and the page can read the answers. Such a request still names the page's
host in ``Host``, so the sandbox and the docs server (whose ``config.js``
holds the sandbox's credentials) answer only to loopback names with their own
port. Standard library only: ``tools/docs.py`` uses it too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

__all__ = ["LOOPBACK_NAMES", "host_allowed", "is_loopback"]

LOOPBACK_NAMES = "127.0.0.1, localhost or [::1]"
"""How messages name what is accepted."""

DEFAULT_HTTP_PORT = 80


def is_loopback(name: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1), without brackets or port."""
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` value (IPv6 in brackets, port optional), or ``None`` if malformed."""
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or ":" not in name:
            return None
    else:
        name, colon, rest = value.partition(":")
        rest = colon + rest
    if rest and not rest.startswith(":"):
        return None
    digits = rest[1:]
    if digits and not (digits.isascii() and digits.isdigit() and len(digits) <= 5):
        return None
    return name, int(digits) if digits else None


def host_allowed(
    value: str | None, port: int | None, *, any_ip: bool = False, names: Collection[str] = ()
) -> bool:
    """Whether a request's ``Host`` names this server.

    Accepted: a loopback name (:func:`is_loopback`), or one of ``names`` (the
    operator's own, compared without case), with ``port``, the server's port
    (no port means 80). With ``any_ip`` (a server deliberately listening beyond
    loopback) any IP address is accepted too, and any port, since port
    forwarding changes it; another host *name* never is. ``port=None``
    (unknown) skips the port check.
    """
    parts = _split(value.strip()) if value else None
    if parts is None:
        return False
    name, given = parts
    known = is_loopback(name) or name.lower() in {extra.lower() for extra in names}
    if any_ip:
        return known or _is_ip(name)
    return known and (port is None or (given or DEFAULT_HTTP_PORT) == port)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
