"""Reading an answer's body as it streams in, decoded here and cut at a size limit.

Both drivers hand every raw chunk to a :class:`BodyReader` and give the core
the :class:`Answer` it builds. The reader does the content decoding itself,
with a bound on every step's output, so a small compressed body that inflates
to gigabytes (a "zip bomb"), or a body that never ends, costs at most the limit
in memory: reading stops once the decoded body passes it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import httpx

__all__ = ["ACCEPT_ENCODING", "DEFAULT_MAX_RESPONSE_BYTES", "Answer", "BodyReader"]

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""Largest decoded body read (4 MiB). The API's answers are envelopes of at most a hundred
small items, a few kilobytes; anything near this limit is not an answer of this API."""
ACCEPT_ENCODING = "gzip, deflate"
"""The encodings the reader decodes, sent as ``Accept-Encoding`` with every request."""
_RAW_SLACK = 64 * 1024
"""Raw bytes allowed beyond the limit: a compressed body may be a little larger than its content,
never by more than this. Past it, a stream that decodes to nothing still ends."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer as a driver read it: status, headers and the decoded body.

    ``problem`` says why ``content`` is not the whole body (too large, an
    encoding that cannot be decoded); ``None`` when it is whole.
    """

    status_code: int
    headers: httpx.Headers
    content: bytes
    problem: str | None = None
    response: httpx.Response | None = field(default=None, repr=False, compare=False)
    """The streamed ``httpx.Response`` it was read from (closed: status and headers only)."""
    new_connection: bool = field(default=False, compare=False)
    """The request went on a connection opened for it: its answer time includes the handshakes."""


class _Identity:
    """The body as sent."""

    def decode(self, data: bytes, limit: int) -> bytes:
        return data[:limit]

    def flush(self) -> bytes:
        return b""


class _Zlib:
    """gzip, or deflate with or without its zlib wrapper, each step's output bounded."""

    def __init__(self, encoding: str) -> None:
        self._inflate: zlib._Decompress | None = None
        self._first = b""
        if encoding != "deflate":  # gzip (x-gzip): the wrapper is known now
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes, limit: int) -> bytes:
        """Inflate ``data``; at most ``limit`` bytes come out (more input stays pending)."""
        if self._inflate is None:  # deflate: zlib-wrapped (RFC 9110) or raw, as some servers send
            data = self._first + data
            if len(data) < 2:
                self._first = data  # the two header bytes tell which; wait for them
                return b""
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._inflate.eof:  # anything after the end of the stream is ignored, as httpx does
            return b""
        return self._inflate.decompress(self._inflate.unconsumed_tail + data, limit)

    def pending(self) -> bool:
        return self._inflate is not None and bool(self._inflate.unconsumed_tail) and not self._inflate.eof

    def flush(self) -> bytes:
        return b"" if self._inflate is None else self._inflate.flush()


class BodyReader:
    """Collects the decoded body of ``response``, up to ``limit`` bytes.

    Call :meth:`feed` with each raw chunk while it returns True, then
    :meth:`answer`. ``done`` is True from the start when the transport has
    read and decoded the body itself (``httpx.MockTransport``, a response
    built in memory): its decoded content is taken as it is, up to the limit.
    """

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._response = response
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._raw = 0
        self._problem: str | None = None
        encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
        encodings = [e for e in encodings if e and e != "identity"]
        self._decoder: _Identity | _Zlib = _Identity()
        if len(encodings) > 1 or (encodings and encodings[0] not in {"gzip", "x-gzip", "deflate"}):
            self._problem = (
                f"body has Content-Encoding {', '.join(encodings)}, which the client does not decode"
            )
        elif encodings:
            self._decoder = _Zlib(encodings[0])
        self.done = response.is_stream_consumed
        if self.done:
            self._decoder = _Identity()
            self._problem = None
            self.feed(response.content)

    def feed(self, raw: bytes) -> bool:
        """Take one raw chunk; False once reading should stop (the limit passed, or undecodable)."""
        if self._problem is not None:
            return False
        self._raw += len(raw)
        try:
            self._take(self._decoder.decode(raw, self._room()))
            while isinstance(self._decoder, _Zlib) and self._decoder.pending() and self._room() > 0:
                self._take(self._decoder.decode(b"", self._room()))
        except zlib.error as error:
            self._problem = f"body could not be decoded ({self._content_encoding()}: {error})"
            return False
        if self._size > self._limit or self._raw > self._limit + _RAW_SLACK:
            self._problem = f"body is larger than max_response_bytes ({self._limit:,} bytes); reading stopped"
            return False
        return True

    def answer(self) -> Answer:
        """The answer read so far, with the body cut at the limit."""
        if self._problem is None:
            try:
                self._take(self._decoder.flush()[: self._room()])
            except zlib.error as error:
                self._problem = f"body could not be decoded ({self._content_encoding()}: {error})"
        content = b"".join(self._parts)[: self._limit]
        response = self._response
        return Answer(response.status_code, response.headers, content, self._problem, response)

    def _room(self) -> int:
        """Output still allowed: one byte past the limit, to tell "at the limit" from "over it"."""
        return max(0, self._limit + 1 - self._size)

    def _take(self, data: bytes) -> None:
        if data:
            self._parts.append(data)
            self._size += len(data)

    def _content_encoding(self) -> str:
        return str(self._response.headers.get("content-encoding", ""))
