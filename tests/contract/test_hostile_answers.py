"""Both clients against a hostile HTTP server on loopback: bombs, endless bodies, drips, echoes.

The server is a raw socket server in a thread of the test process, bound to
127.0.0.1 and closed by each test. What it sends is written byte by byte, so
nothing in an HTTP library on the server side smooths it over.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth import (
    APIResponseError,
    APITimeoutError,
    AsyncGrowthClient,
    ConfigurationError,
    GrowthClient,
    GrowthError,
    InternalServerError,
)

from ..overlays.reachable import reachable_text

PROJECT_ID = "100102"
SECRET = "hostile-S3cret-value-9"
MIB = 1 << 20

Behaviour = Callable[[socket.socket, bytes, threading.Event], None]


class HostileServer:
    """Accepts connections on 127.0.0.1; each request is answered by ``behave``."""

    def __init__(self, behave: Behaviour) -> None:
        self.behave = behave
        self.requests: list[bytes] = []
        self.got_request = threading.Event()
        self.closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while not self.closing.is_set():
                    request = _read_request(conn)
                    if request is None:
                        return
                    self.requests.append(request)
                    self.got_request.set()
                    self.behave(conn, request, self.closing)
            except OSError:  # the client hung up: the point of most of these answers
                return

    def close(self) -> None:
        self.closing.set()
        self._listener.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            return None
        body += piece
    return head + b"\r\n\r\n" + body


def _head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def bomb(mib: int, encoding: str) -> bytes:
    """About mib kB of ``encoding`` ("gzip" or raw "deflate") that inflates to ``mib`` MiB of zeros.

    Built from one fully flushed segment repeated, so making it costs no compression of a GiB.
    """
    zeros = bytes(MIB)
    gzip = encoding == "gzip"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31 if gzip else -15)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    last_block = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    body = first + segment * (mib - 1) + last_block
    if gzip:
        crc = 0
        for _ in range(mib):
            crc = zlib.crc32(zeros, crc)
        body += struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return body


def send_bomb(encoding: str, mib: int) -> Behaviour:
    body = bomb(mib, encoding)

    def behave(conn: socket.socket, request: bytes, closing: threading.Event) -> None:
        conn.sendall(
            _head(
                "200 OK",
                "Content-Type: application/json",
                f"Content-Encoding: {encoding}",
                f"Content-Length: {len(body)}",
            )
            + body
        )

    return behave


def endless(status: str) -> Behaviour:
    """A chunked body that never ends (until the client hangs up or the server closes)."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)

    def behave(conn: socket.socket, request: bytes, closing: threading.Event) -> None:
        conn.sendall(_head(status, "Content-Type: application/json", "Transfer-Encoding: chunked"))
        while not closing.is_set():
            conn.sendall(chunk)

    return behave


def drip(headers_too: bool, every: float = 0.2, until: float = 8.0) -> Behaviour:
    """A valid answer, sent a byte every ``every`` seconds, so no single read ever times out.

    It stops dripping after ``until`` seconds and sends the rest, so that a client without a
    deadline ends too (with success): a test of the deadline then fails instead of hanging.
    """

    def behave(conn: socket.socket, request: bytes, closing: threading.Event) -> None:
        body = b'{"code":0,"msg":"ok","data":{"accepted":1}}'
        head = _head("200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}")
        answer = head + body if headers_too else body
        if not headers_too:
            conn.sendall(head)
        started = time.monotonic()
        for i in range(len(answer)):
            if closing.is_set():
                return
            if time.monotonic() - started > until:
                conn.sendall(answer[i:])
                return
            conn.sendall(answer[i : i + 1])
            time.sleep(every)

    return behave


def echo(conn: socket.socket, request: bytes, closing: threading.Event) -> None:
    """A proxy that answers 200 with the request it got, headers included, as plain text."""
    conn.sendall(
        _head("200 OK", "Content-Type: text/plain", f"Content-Length: {len(request)}", "Connection: close")
        + request
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], HostileServer]]:
    servers: list[HostileServer] = []

    def start(behave: Behaviour) -> HostileServer:
        server = HostileServer(behave)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def call_both(url: str, **options: Any) -> dict[str, BaseException | None]:
    """report_events once with each client; the error each raised (None: it succeeded)."""
    options = {"max_retries": 0, **options}
    event = {"cuid": 1, "eventName": "e", "itime": 1654076420772}
    errors: dict[str, BaseException | None] = {}
    with GrowthClient(PROJECT_ID, SECRET, url, **options) as client:
        try:
            client.report_events([event])
            errors["sync"] = None
        except GrowthError as error:
            errors["sync"] = error

    async def run_async() -> None:
        async with AsyncGrowthClient(PROJECT_ID, SECRET, url, **options) as client:
            try:
                await client.report_events([event])
                errors["async"] = None
            except GrowthError as error:
                errors["async"] = error

    asyncio.run(run_async())
    return errors


# --- item 10: the size of an answer ---------------------------------------------------------------

BOMB_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a regression fails, not the machine
    from jiguang_growth import AsyncGrowthClient, GrowthClient, GrowthError
    url, event = sys.argv[1], {"cuid": 1, "eventName": "e", "itime": 1654076420772}
    seen = []
    try:
        with GrowthClient("100102", "secret-value", url, max_retries=0) as client:
            client.report_events([event])
        seen.append("sync: no error")
    except (GrowthError, MemoryError) as error:
        seen.append(f"sync: {type(error).__name__}: {error}")
    async def main():
        async with AsyncGrowthClient("100102", "secret-value", url, max_retries=0) as client:
            await client.report_events([event])
    try:
        asyncio.run(main())
        seen.append("async: no error")
    except (GrowthError, MemoryError) as error:
        seen.append(f"async: {type(error).__name__}: {error}")
    # VmHWM, not ru_maxrss: Linux keeps the parent's ru_maxrss across exec (pytest's, hundreds of MiB)
    with open("/proc/self/status") as status:
        peak_mib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"seen": seen, "peak_mib": peak_mib}))
    """
)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_ends_at_the_cap_with_bounded_memory(
    serve: Callable[[Behaviour], HostileServer], encoding: str
) -> None:
    """1 MB on the wire that inflates to 1 GiB: both clients stop at 4 MiB, the process stays small."""
    server = serve(send_bomb(encoding, 1024))
    done = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT, server.url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for line in report["seen"]:
        assert "APIResponseError" in line, report
        assert "larger than max_response_bytes (4,194,304 bytes)" in line
    assert report["peak_mib"] < 200, report


@pytest.mark.parametrize(
    ("status", "error_class"), [("200 OK", APIResponseError), ("503 Busy", InternalServerError)]
)
def test_an_endless_chunked_body_ends_at_the_cap(
    serve: Callable[[Behaviour], HostileServer], status: str, error_class: type[GrowthError]
) -> None:
    server = serve(endless(status))
    errors = call_both(server.url, max_response_bytes=MIB)
    for error in errors.values():
        assert type(error) is error_class
        assert "larger than max_response_bytes (1,048,576 bytes); reading stopped" in str(error)
        assert len(error.body) < 1000  # type: ignore[attr-defined]  # a preview of what was read


def test_the_cap_counts_decoded_bytes_and_an_answer_at_the_cap_is_read(
    serve: Callable[[Behaviour], HostileServer],
) -> None:
    envelope = b'{"code":0,"msg":"ok","data":{"accepted":1}}'
    padded = envelope[:-1] + b" " * 1000 + b"}"
    compressed = zlib.compress(padded)

    def behave(conn: socket.socket, request: bytes, closing: threading.Event) -> None:
        conn.sendall(
            _head(
                "200 OK",
                "Content-Type: application/json",
                "Content-Encoding: deflate",
                f"Content-Length: {len(compressed)}",
            )
            + compressed
        )

    server = serve(behave)
    assert call_both(server.url, max_response_bytes=len(padded)) == {"sync": None, "async": None}
    errors = call_both(server.url, max_response_bytes=len(padded) - 1)
    assert all(type(error) is APIResponseError for error in errors.values()), errors


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        ("gzip", b"\x1f\x8b not gzip", "body could not be decoded (gzip: "),
        ("deflate", b"\x78\x9c broken", "body could not be decoded (deflate: "),
        ("br", b"whatever", "body has Content-Encoding br, which the client does not decode"),
        ("gzip, gzip", b"nested", "body has Content-Encoding gzip, gzip, which the client does not decode"),
    ],
)
def test_a_body_that_cannot_be_decoded_is_a_response_error(
    serve: Callable[[Behaviour], HostileServer], encoding: str, body: bytes, reason: str
) -> None:
    def behave(conn: socket.socket, request: bytes, closing: threading.Event) -> None:
        head = _head("200 OK", f"Content-Encoding: {encoding}", f"Content-Length: {len(body)}")
        conn.sendall(head + body)

    server = serve(behave)
    for error in call_both(server.url).values():
        assert type(error) is APIResponseError
        assert reason in str(error)


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "4096", None])
def test_max_response_bytes_is_checked(value: object) -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes must be a whole number of at least 1"):
        GrowthClient(PROJECT_ID, SECRET, max_response_bytes=value)  # type: ignore[arg-type]


# --- item 11: a wall-clock deadline per attempt ---------------------------------------------------


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_dripping_server_ends_the_attempt_at_its_deadline(
    serve: Callable[[Behaviour], HostileServer], headers_too: bool
) -> None:
    """A byte every 0.2 s never trips a 10 s read timeout; attempt_timeout=1 ends each attempt."""
    server = serve(drip(headers_too))
    started = time.monotonic()
    errors = call_both(server.url, timeout=10, attempt_timeout=1)
    elapsed = time.monotonic() - started
    for error in errors.values():
        assert type(error) is APITimeoutError, errors
        assert error.request_sent is True
        assert "no complete answer within attempt_timeout (1 s)" in str(error)
    assert elapsed < 6  # two attempts of 1 s each; without the deadline, 16 s of dripping


@pytest.mark.parametrize("value", [0, -2, float("nan"), float("inf"), True, "3"])
def test_attempt_timeout_is_checked(value: object) -> None:
    with pytest.raises(ConfigurationError, match="attempt_timeout must be"):
        GrowthClient(PROJECT_ID, SECRET, attempt_timeout=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_ends_a_bulk_run_against_a_dripping_server(
    serve: Callable[[Behaviour], HostileServer], tmp_path: Path, signum: signal.Signals
) -> None:
    """Every call hangs on a drip far inside its 30 s deadline; the signal still ends the run at once."""
    server = serve(drip(headers_too=True, every=0.5, until=60))
    events = tmp_path / "events.jsonl"
    lines = [json.dumps({"cuid": i + 1, "eventName": "e", "itime": 1654076420772}) for i in range(300)]
    events.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    env = {**os.environ, "JIGUANG_PROJECT_ID": PROJECT_ID, "JIGUANG_PROJECT_SECRET": SECRET}
    command = [Path(sys.executable).parent / "jiguang-growth", "report-events", str(events)]
    options = ["--base-url", server.url, "--out", str(out), "--timeout", "30", "--progress", "off"]
    process = subprocess.Popen(
        [*command, *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.got_request.wait(30), "the run never called the server"
        time.sleep(0.5)  # every call is in flight now, waiting on the drip
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    # The careful start: the first call goes alone until one is answered, and none ever is.
    assert len(server.requests) == 1
    unknown = (out / "unknown.jsonl").read_text().splitlines()
    # In flight at the signal: unknown, written out as sent (randomId filled in), not lost.
    assert sorted(json.loads(line)["cuid"] for line in unknown) == list(range(1, 101))
    summary = json.loads((out / "summary.json").read_text())
    read, unread = summary["lines_read"], summary["lines_unread"]
    assert summary["unknown"] == 100 and summary["unsettled"] == read - 100 and read + unread == 300, summary
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert {f["reason"] for f in failures} == {"cancelled"}
    assert all(f["outcome"] == "unknown" for f in failures)


# --- item 13: nothing reachable from an error holds the secret ------------------------------------


def test_an_echoing_proxy_leaves_no_secret_reachable_from_the_error(
    serve: Callable[[Behaviour], HostileServer],
) -> None:
    import base64

    token = base64.b64encode(f"{PROJECT_ID}:{SECRET}".encode()).decode()
    server = serve(echo)
    errors = call_both(server.url)
    assert token.encode() in server.requests[0]  # the proxy did see, and echo, the credentials
    for error in errors.values():
        assert type(error) is APIResponseError
        assert "[redacted]" in error.body
        for text in reachable_text(error):
            assert SECRET not in text
            assert token not in text
