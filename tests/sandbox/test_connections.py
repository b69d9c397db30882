"""Silent, slow and surplus connections cannot starve the sandbox.

A request head must arrive complete within ``head_timeout`` (bytes trickling in
do not extend it), and at most ``max_connections`` stay open: the one idle
longest makes room. The last test runs the sandbox command under a 256
file-descriptor limit and opens 300 silent connections, as the issue did with
1,100 under 1,024.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from jiguang_growth.sandbox import SandboxServer

from .conftest import OPS, VALID_BODIES, call, event, make_client


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closes ``sock`` within ``wait`` seconds (EOF or reset)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def report_one(sandbox: SandboxServer, n: int) -> httpx.Response:
    with make_client(sandbox, timeout=10) as client:
        return call(client, "reportEvents", {"data": [event(n)]})


@contextlib.contextmanager
def silent_sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_that_never_sends_a_request_is_closed() -> None:
    with SandboxServer(head_timeout=0.3) as sandbox, silent_sockets(sandbox.port, 1) as (sock,):
        assert closed_by_server(sock, 5)


def test_a_head_sent_a_byte_at_a_time_is_cut_off_at_the_deadline() -> None:
    head = f"POST {OPS['getCuids'].full_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "X-Slow: " + "a" * 200
    with (
        SandboxServer(head_timeout=0.5) as sandbox,
        silent_sockets(sandbox.port, 1) as (sock,),
        pytest.raises(OSError),  # the server hangs up while bytes are still arriving
    ):
        for byte in head.encode():
            sock.sendall(bytes([byte]))
            time.sleep(0.02)  # 200+ bytes: about 4 s in all, eight times the deadline
        pytest.fail("the whole head trickled in without the server hanging up")


def test_the_deadline_restarts_for_each_request_of_a_kept_alive_connection() -> None:
    with SandboxServer(head_timeout=0.5) as sandbox, make_client(sandbox) as client:
        for _ in range(3):
            time.sleep(0.3)  # within the deadline each time, longer than it in all
            assert call(client, "getCuids", VALID_BODIES["getCuids"]).json()["code"] == 0
        assert len({record.seq for record in sandbox.state.requests()}) == 3


def test_over_the_cap_the_longest_idle_connections_make_room() -> None:
    with (
        SandboxServer(max_connections=20, head_timeout=60) as sandbox,
        silent_sockets(sandbox.port, 60) as sockets,
    ):
        with make_client(sandbox, timeout=5) as client:  # a real client still gets in
            assert call(client, "getCuids", VALID_BODIES["getCuids"]).json()["code"] == 0
        closed = [closed_by_server(sock, 0.05) for sock in sockets]

    assert sum(closed) >= 60 + 1 - 20
    assert not any(closed[-15:])  # the newest stayed open: the oldest idle ones were closed


def test_when_every_connection_is_busy_a_new_one_is_closed_at_once() -> None:
    with SandboxServer(max_connections=2) as sandbox, ThreadPoolExecutor(2) as pool:
        sandbox.faults.force("timeout", "timeout")  # two calls applied, then held without an answer
        held = [pool.submit(report_one, sandbox, n) for n in range(2)]
        deadline = time.monotonic() + 5
        while len(sandbox.state.events()) < 2 and time.monotonic() < deadline:  # both written, now held
            time.sleep(0.01)
        with silent_sockets(sandbox.port, 1) as (sock,):
            assert closed_by_server(sock, 5)
        sandbox.stop()  # ends the held calls
        for future in held:
            with contextlib.suppress(httpx.HTTPError):
                future.result()


def test_the_default_cap_keeps_a_sandbox_under_a_small_descriptor_limit_serving() -> None:
    limit = 256
    # The command itself (as `python -m jiguang_growth.cli sandbox --port 0`), under a lower limit.
    script = (
        f"import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit})); "
        "sys.argv = ['jiguang-growth', 'sandbox', '--port', '0']; "
        "runpy.run_module('jiguang_growth.cli', run_name='__main__')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        port = int(url.rsplit(":", 1)[-1])
        with silent_sockets(port, limit + 44):
            answer = httpx.post(
                url + OPS["getCuids"].full_path,
                json=VALID_BODIES["getCuids"],
                auth=("100102", "sandbox-secret"),
                timeout=5,
            )
        assert answer.json()["code"] == 0
    finally:
        os.kill(process.pid, 15)
        process.wait(10)


def test_a_request_head_still_incomplete_after_16_kib_gets_400_and_a_closed_connection(
    sandbox: SandboxServer,
) -> None:
    head = (  # no blank line: the head never ends
        f"POST {OPS['getCuids'].full_path} HTTP/1.1\r\nHost: 127.0.0.1:{sandbox.port}\r\n"
        f"X-Big: {'a' * 17 * 1024}\r\n"
    ).encode()
    answer = b""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as sock:
        sock.sendall(head)
        while piece := sock.recv(65536):  # returns once the sandbox has closed the connection
            answer += piece

    assert answer.startswith(b"HTTP/1.1 400 ")
