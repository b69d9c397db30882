"""One schedule of grants kept in Redis, shared by every process and host of a project.

The schedule is GCRA (the generic cell rate algorithm): Redis keeps one
number per (server, project, operation), the *theoretical arrival time* of
the next free slot in microseconds of Redis's own clock (``TIME``), so hosts
whose clocks disagree still share one timeline. Each call of the script takes
the next free slot for its caller and moves the schedule on by the caller's
interval: a slot due within ``tolerance`` is granted at once, a later one is
*reserved*, and the caller learns how long until it is due. The caller then
takes that slot when it comes without asking again, so a slot is never lost
to a process that wakes up late, and nobody polls. The check and the update
are one Lua script run with redis-py's scripting (``EVALSHA``), so they are
atomic across all clients of that Redis.

When Redis cannot be reached mid-run, :meth:`RedisQuota.acquire` answers
``None`` and the pacer goes on with its local rate; a warning is logged once,
and the quota is asked again after ``RECONNECT_SECONDS``. At start an
unreachable Redis is a :class:`ConfigurationError` naming the URL, with any
password replaced by ``[redacted]``. redis-py is imported only here, and
only when a quota URL is given.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._exceptions import ConfigurationError

__all__ = ["QUOTA_SCHEMES", "RECONNECT_SECONDS", "RedisQuota", "check_quota_url", "redact_url"]

logger = logging.getLogger("jiguang_growth")

QUOTA_SCHEMES = ("redis", "rediss", "unix")
"""URL schemes redis-py connects with."""
RECONNECT_SECONDS = 5.0
"""After Redis failed, pace locally this long before asking it again."""
SOCKET_TIMEOUT = 0.5
"""Seconds a connection or a command to Redis may take before the pacer goes on locally."""
TOLERANCE = 0.5
"""A slot due within this share of an interval is granted at once rather than reserved."""
KEY_PREFIX = "jiguang-growth:quota:"
TLS_PREFIX = "ssl_"
"""Query options of a Redis URL that set up TLS: redis-py passes them to its TLS connection, which only
``rediss://`` uses."""
_REDACTED = "[redacted]"

_GCRA = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local count = tonumber(ARGV[4])
local repaired = 0
local stored = redis.pcall('GET', KEYS[1])
if type(stored) == 'table' then
  stored = false
  repaired = -1
end
local tat = tonumber(stored or '0')
if tat == nil or tat ~= tat then
  tat = now
  repaired = -1
elseif tat > now + tonumber(ARGV[5]) then
  repaired = tat - now
  tat = now
elseif tat < now then
  tat = now
end
if repaired ~= 0 then redis.call('DEL', KEYS[1]) end
local lifetime = math.floor((tat + count * interval - now) / 1000) + tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('%d', tat + count * interval), 'PX', lifetime)
local wait = tat - now
if wait <= tonumber(ARGV[2]) then wait = 0 end
return {wait, repaired}
"""
"""KEYS[1]: the schedule; ARGV: interval and tolerance in microseconds, how long the key outlives
its last slot in ms, how many slots to take, and the furthest ahead of Redis's clock the schedule
can rightly be (microseconds). Takes the next ``count`` free slots and returns the microseconds until
the first (0: due now), and whether the stored schedule was replaced: 0 no, -1 unreadable (not a
number, or not a string), else how many microseconds ahead of Redis's clock it stood."""
KEY_SLACK_MS = 1000
"""The schedule's key is dropped this long after its last slot (an idle project leaves nothing)."""


def redact_url(url: str) -> str:
    """``url`` with its password (or a lone user-info part, and any ``password=``) redacted."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{_REDACTED}@{host}" if colon else f"{_REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = [(k, _REDACTED if k.lower() == "password" else v) for k, v in parse_qsl(query, True)]
        query = urlencode(pairs, safe="[]")
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_quota_url(pace: object) -> str | None:
    """The quota URL of a ``pace`` option (``None`` for ``True``/``False``), or a ConfigurationError."""
    if isinstance(pace, bool):
        return None
    if isinstance(pace, str) and urlsplit(pace).scheme in QUOTA_SCHEMES:
        scheme = urlsplit(pace).scheme
        tls = sorted({k for k, _ in parse_qsl(urlsplit(pace).query, True) if k.startswith(TLS_PREFIX)})
        if tls and scheme != "rediss":
            what = "is a TLS option" if len(tls) == 1 else "are TLS options"
            raise ConfigurationError(
                f"pace={redact_url(pace)!r}: {', '.join(tls)} {what}, which only a rediss:// URL uses"
                f" (a {scheme}:// connection is not encrypted)"
            )
        return pace
    shown = redact_url(pace) if isinstance(pace, str) else type(pace).__name__
    raise ConfigurationError(f"pace must be True, False or a redis://, rediss:// or unix:// URL, got {shown}")


class RedisQuota:
    """The shared schedule of one (server, project, operation) in one Redis server."""

    def __init__(self, client: Any, key: str, shown_url: str, period: float = 1.0) -> None:
        self._client = client
        self.period = period
        """The limit's period: the schedule never rightly stands further ahead of Redis's clock."""
        self._script = client.register_script(_GCRA)
        self.key = key
        self.url = shown_url
        """The server's URL with any password redacted."""
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._warned = False

    @classmethod
    def connect(cls, url: str, *, base_url: str, project_id: str, name: str) -> RedisQuota:
        """Connect and check the server answers; a :class:`ConfigurationError` if it does not."""
        check_quota_url(url)
        shown = redact_url(url)
        try:
            import redis  # noqa: PLC0415 - optional dependency
        except ImportError:
            raise ConfigurationError(
                f"pace={shown!r} needs redis-py: pip install 'jiguang-growth[redis]'"
            ) from None
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
            )
            client.ping()
        except (redis.RedisError, ValueError, OSError) as error:
            reason = redact_text(str(error), url) or type(error).__name__
            raise ConfigurationError(f"cannot use the Redis server at {shown} for pacing: {reason}") from None
        except TypeError as error:  # a query option the connection does not take
            option = str(error).rpartition("argument ")[2].strip("'") or str(error)
            reason = f"the URL's option {redact_text(option, url)!r} is not one redis-py's connection takes"
            raise ConfigurationError(f"cannot use the Redis server at {shown} for pacing: {reason}") from None
        digest = hashlib.sha256(f"{base_url}\n{project_id}".encode()).hexdigest()[:16]
        return cls(client, f"{KEY_PREFIX}{digest}:{name}", shown)

    def reserve(self, interval: float, count: int = 1) -> float | None:
        """Reserve the next ``count`` free slots, ``interval`` seconds apart: ``0.0``, the first is
        due now; a float, it is due that many seconds from now (take them then, without asking
        again); ``None``: Redis is away, pace locally.

        The schedule can rightly stand at most ``period`` (the limit's period) ahead of Redis's
        clock; one further ahead (the clock of the Redis host stepped back) or unreadable is replaced,
        with a warning, rather than waited for.
        """
        now = time.monotonic()
        if now < self._down_until:
            return None
        micros = max(1, round(interval * 1e6))
        ahead = round(self.period * 1e6)
        try:
            wait, repaired = self._script(
                keys=[self.key], args=[micros, round(TOLERANCE * micros), KEY_SLACK_MS, count, ahead]
            )
        except Exception as error:  # any failure of Redis must leave the calls going
            self._went_away(now, error)
            return None
        if self._warned:
            with self._lock:
                self._warned = False
            logger.warning("the shared pacing quota at %s is back", self.url)
        if repaired:
            self._repaired(int(repaired))
        return min(int(wait) / 1e6, self.period)

    def _repaired(self, ahead: int) -> None:
        if ahead < 0:
            why = "held a value that is not a schedule"
        else:
            why = (
                f"stood {ahead / 1e6:.1f} s ahead of the Redis server's clock (was its clock stepped back?), "
                f"more than the {self.period:g} s the limit allows"
            )
        logger.warning("the shared pacing quota %s at %s %s; started it afresh", self.key, self.url, why)

    def _went_away(self, now: float, error: BaseException) -> None:
        with self._lock:
            self._down_until = now + RECONNECT_SECONDS
            first = not self._warned
            self._warned = True
        if first:
            logger.warning(
                "the shared pacing quota at %s failed (%s); pacing locally, asking again every %g s",
                self.url,
                type(error).__name__,
                RECONNECT_SECONDS,
            )

    def close(self) -> None:
        """Close the connections to Redis."""
        self._client.close()


def redact_text(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (error messages may quote the URL)."""
    password = urlsplit(url).password
    text = text.replace(url, redact_url(url))
    return text.replace(password, _REDACTED) if password else text
