"""``client.with_raw_response.<operation>(...)``: the typed result with status, headers, elapsed, attempts."""

from __future__ import annotations

import asyncio
import http.server
import json
import pickle
import threading
from typing import Any

import httpx
import pytest

from jiguang_growth import AsyncGrowthClient, Attempt, GrowthClient, RateLimitError, RawResponse

from .conftest import OPS, PROJECT_ID, SECRET, TOKEN, Op, envelope

HEADERS = {"X-Request-Id": "req-1", "Set-Cookie": "a=1"}


class Server:
    """Answers with ``answers`` in turn (the last one repeats) and counts the requests."""

    def __init__(self, answers: list[httpx.Response]) -> None:
        self.answers = answers
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = self.answers[min(self.requests, len(self.answers) - 1)]
        self.requests += 1
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def run(mode: str, op: Op, server: Server, raw: bool, **options: Any) -> Any:
    """``op`` through the plain or the raw method of a fresh client; backoff sleeps are skipped."""
    transport: Any = httpx.MockTransport(server)
    if mode == "sync":
        client = GrowthClient(PROJECT_ID, SECRET, transport=transport, **options)
        client._sleep = lambda seconds: None  # type: ignore[method-assign]
        with client:
            target = client.with_raw_response if raw else client
            return getattr(target, op.method_name)(*op.args, **op.kwargs)

    async def main() -> Any:
        async_client = AsyncGrowthClient(PROJECT_ID, SECRET, transport=transport, **options)

        async def no_sleep(seconds: float) -> None:
            pass

        async_client._sleep = no_sleep  # type: ignore[method-assign]
        async with async_client:
            target = async_client.with_raw_response if raw else async_client
            return await getattr(target, op.method_name)(*op.args, **op.kwargs)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("operation_id", list(OPS))
def test_the_raw_method_returns_the_plain_result_with_the_answers_metadata(
    mode: str, operation_id: str
) -> None:
    op = OPS[operation_id]
    answer = httpx.Response(200, json=envelope(data=op.success_data), headers=HEADERS)
    raw = run(mode, op, Server([answer]), raw=True)
    plain = run(mode, op, Server([answer]), raw=False)
    assert isinstance(raw, RawResponse)
    assert type(raw.parsed) is type(plain)
    if operation_id == "getCuids":
        assert raw.parsed == plain
    else:
        assert raw.parsed.to_dict() == plain.to_dict()
    assert raw.status_code == 200 and raw.attempts == 1 and raw.elapsed >= 0
    assert type(raw.headers) is dict
    assert raw.headers["x-request-id"] == "req-1" and raw.headers["content-type"] == "application/json"


def test_attempts_and_elapsed_cover_the_retries(mode: str) -> None:
    op = OPS["getCuids"]
    busy = httpx.Response(503, text="busy", headers={"Retry-After": "0"})
    good = httpx.Response(200, json=envelope(data=op.success_data), headers={"X-Request-Id": "last"})
    server = Server([busy, busy, good])
    raw = run(mode, op, server, raw=True)
    assert (raw.attempts, raw.status_code, raw.headers["x-request-id"], server.requests) == (
        3,
        200,
        "last",
        3,
    )


def test_a_failed_raw_call_raises_the_same_error_with_headers_and_attempts(mode: str) -> None:
    op = OPS["reportEvents"]
    slow = httpx.Response(429, json=envelope(code=4, msg="slow"), headers={"Retry-After": "0", **HEADERS})
    with pytest.raises(RateLimitError) as raised:
        run(mode, op, Server([slow]), raw=True, max_retries=1)
    assert (raised.value.attempts, raised.value.headers["x-request-id"]) == (2, "req-1")


def test_raw_calls_still_reach_the_hooks_and_per_call_options(mode: str) -> None:
    op = OPS["getCuids"]
    records: list[Attempt] = []
    busy = httpx.Response(503, text="busy")
    raw_op = Op(op.operation_id, op.method_name, op.http_method, op.url, op.args, {"max_retries": 0})
    with pytest.raises(Exception, match="HTTP 503"):
        run(mode, raw_op, Server([busy]), raw=True, on_attempt=records.append)
    assert [r.attempt for r in records] == [1]


def test_the_raw_view_does_not_change_the_client() -> None:
    server = Server([httpx.Response(200, json=envelope(data=OPS["getCuids"].success_data))])
    with GrowthClient(PROJECT_ID, SECRET, transport=httpx.MockTransport(server), telemetry=False) as client:
        routes = dict(client._routes)
        raw = client.with_raw_response.get_cuids("phone_test", ["18012345678"])
        assert client._routes == routes and all(r.observer is None for r in client._routes.values())
        assert client.get_cuids("phone_test", ["18012345678"]) == raw.parsed
    assert client.with_raw_response.get_cuids.__name__ == "get_cuids"
    assert pickle.loads(pickle.dumps(raw)) == raw


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every POST with success, echoing the credentials in headers, as some proxies do."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        authorization = self.headers["Authorization"]
        token = authorization.partition(" ")[2]
        body = json.dumps(envelope(data=OPS["getCuids"].success_data)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Echo-Authorization", authorization)
        self.send_header("X-Echo-Token", f"token={token}; seen")
        self.send_header("X-Echo-Secret", f"secret is {SECRET}!")
        self.send_header("X-Request-Id", "req-9")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_successful_raw_answer_redacts_echoed_credentials_in_headers_repr_and_pickle(mode: str) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        if mode == "sync":
            with GrowthClient(PROJECT_ID, SECRET, base_url, telemetry=False) as client:
                raw = client.with_raw_response.get_cuids("phone_test", ["18012345678"])
        else:

            async def main() -> RawResponse[Any]:
                async with AsyncGrowthClient(PROJECT_ID, SECRET, base_url, telemetry=False) as client:
                    return await client.with_raw_response.get_cuids("phone_test", ["18012345678"])

            raw = asyncio.run(main())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert raw.headers["x-echo-authorization"] == "[redacted]"
    assert raw.headers["x-echo-token"] == "token=[redacted]; seen"
    assert raw.headers["x-echo-secret"] == "secret is [redacted]!"
    assert raw.headers["x-request-id"] == "req-9"  # the rest is kept as it came
    for text in (repr(raw), str(raw.headers), pickle.dumps(raw).decode("latin-1")):
        assert SECRET not in text and TOKEN not in text
