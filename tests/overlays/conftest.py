"""Shared inputs and a way to call either client the same way.

``Harness`` runs one operation through GrowthClient or AsyncGrowthClient
against respx, records every request and every backoff sleep, and returns
the result or the exception, so one test body checks both clients.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from jiguang_growth import AsyncGrowthClient, GrowthClient

PROJECT_ID = "100102"
SECRET = "s3cr3t-Z7Ls8-WdOvZp"
TOKEN = base64.b64encode(f"{PROJECT_ID}:{SECRET}".encode()).decode()
HOST = "https://growth.jiguang.cn"
API = HOST + "/smartop/api/v1"

EVENT = {
    "cuid": 10000091198,
    "eventName": "open_app",
    "itime": 1654076420772,
    "properties": {"property_a": "a", "property_b": 2},
}
CHANNELS = {"cuid": 10362819, "channels": [{"id": 210, "channelValues": {"默认联系": "15088888888"}}]}


@dataclass(frozen=True)
class Op:
    operation_id: str
    method_name: str
    http_method: str
    url: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    success_data: Any = None
    """A ``data`` value a successful answer may carry."""


OPS = {
    "reportEvents": Op(
        "reportEvents",
        "report_events",
        "POST",
        API + "/events/report",
        ([EVENT],),
        {"app_key": "96441e4d73207a6517abfbbc"},
        {"accepted": 1},
    ),
    "setUserAttributes": Op(
        "setUserAttributes",
        "set_user_attributes",
        "PUT",
        API + "/user/attribute",
        (10362473, {"user_number_once": 46.2}),
        success_data={"updated": True},
    ),
    "getCuids": Op(
        "getCuids",
        "get_cuids",
        "POST",
        API + "/user/register",
        ("phone_test", ["18012345678"]),
        success_data=[{"identityValues": "18012345678", "cuid": 10000091198, "errorCode": 0}],
    ),
    "setUserChannels": Op(
        "setUserChannels",
        "set_user_channels",
        "PUT",
        API + "/user/channel/batch",
        ([CHANNELS],),
        success_data={"count": 1},
    ),
}
REPLAY_SAFE = {"reportEvents": True, "setUserAttributes": False, "getCuids": True, "setUserChannels": True}
"""The policy the README promises, restated independently of jiguang_growth._retry."""

Answer = httpx.Response | Exception


@dataclass
class Outcome:
    result: Any = None
    error: Exception | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)


@dataclass
class Harness:
    mode: str

    def client(self, **options: Any) -> GrowthClient | AsyncGrowthClient:
        options.setdefault("project_id", PROJECT_ID)
        options.setdefault("project_secret", SECRET)
        cls = GrowthClient if self.mode == "sync" else AsyncGrowthClient
        return cls(**options)

    def run(
        self,
        op: Op,
        answers: list[Answer] | Callable[[httpx.Request], Answer],
        *,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> Outcome:
        """Call ``op`` once; the server gives ``answers`` in turn (the last one repeats)."""
        outcome = Outcome()
        queue = list(answers) if isinstance(answers, list) else None

        def respond(request: httpx.Request) -> httpx.Response:
            outcome.requests.append(request)
            answer = answers(request) if queue is None else (queue.pop(0) if len(queue) > 1 else queue[0])
            if isinstance(answer, Exception):
                raise type(answer)(*answer.args)  # fresh each time, like a real transport
            # A fresh copy each time: one canned answer may serve several attempts and tests.
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

        call_args = op.args if args is None else args
        call_kwargs = op.kwargs if kwargs is None else kwargs
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            router.route(method=op.http_method, url=op.url).mock(side_effect=respond)
            client = self.client(**options)
            if self.mode == "sync":
                assert isinstance(client, GrowthClient)
                client._sleep = outcome.sleeps.append  # type: ignore[method-assign]
                with client:
                    try:
                        outcome.result = getattr(client, op.method_name)(*call_args, **call_kwargs)
                    except Exception as error:
                        outcome.error = error
            else:
                assert isinstance(client, AsyncGrowthClient)

                async def fake_sleep(seconds: float) -> None:
                    outcome.sleeps.append(seconds)

                client._sleep = fake_sleep  # type: ignore[method-assign]

                async def main() -> None:
                    async with client:
                        try:
                            outcome.result = await getattr(client, op.method_name)(*call_args, **call_kwargs)
                        except Exception as error:
                            outcome.error = error

                asyncio.run(main())
        return outcome


@pytest.fixture(params=["sync", "async"])
def harness(request: pytest.FixtureRequest) -> Harness:
    """Each test that takes it runs once with GrowthClient and once with AsyncGrowthClient."""
    return Harness(request.param)


@pytest.fixture(autouse=True)
def _no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JIGUANG_PROJECT_ID", "JIGUANG_PROJECT_SECRET", "JIGUANG_GROWTH_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def envelope(code: Any = 0, msg: Any = "success", **extra: Any) -> dict[str, Any]:
    body = {"code": code, "msg": msg}
    body.update(extra)
    return body
