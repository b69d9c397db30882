"""A scripted Growth API on httpx.MockTransport, and clients that never really sleep."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from jiguang_growth import GrowthClient, _pacing

OK = {"code": 0, "msg": "success"}

Script = Callable[[str, Any, int], httpx.Response | Exception | None]
"""``(path, body, attempt number) -> answer``; ``None`` means a plain success."""


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n, **extra}


@dataclass
class FakeApi:
    """Records every request body; answers by ``script`` (default: success with ``data``)."""

    script: Script | None = None
    bodies: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        path = request.url.path.rsplit("/smartop/api/v1", 1)[1]
        with self.lock:
            self.bodies.append((path, body))
            attempt = len(self.bodies)
        answer = self.script(path, body, attempt) if self.script else None
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            return answer
        if path == "/user/register":
            items = [
                {"identityValues": v, "cuid": 10000000001 + i, "errorCode": 0}
                for i, v in enumerate(body["identityValues"])
            ]
            return httpx.Response(200, json={**OK, "data": items})
        return httpx.Response(200, json=OK)

    def sent_events(self) -> list[dict[str, Any]]:
        return [e for path, body in self.bodies if path == "/events/report" for e in body["data"]]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


class FakeTime:
    """A clock for the shared pacers that only the clients' sleeps move on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.fixture
def client(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[GrowthClient]:
    """A client on the fake API whose backoff and pacing waits take no real time.

    Each test gets its own project ID, so the process-wide pacers start empty.
    """
    fake = FakeTime()
    monkeypatch.setattr(_pacing, "_clock", fake)
    monkeypatch.setattr(GrowthClient, "_sleep", staticmethod(fake.sleep))
    with GrowthClient(
        f"p{uuid.uuid4().hex[:10]}",
        "secret-12345678",
        "https://growth.example.test",
        transport=httpx.MockTransport(api.handler),
    ) as growth:
        yield growth
