"""One method per spec operation, the same on both clients, from one implementation."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import httpx
import pytest

from jiguang_growth import AsyncGrowthClient, GrowthClient, _call

from .conftest import OPS, Harness, envelope

GENERATED = "jiguang_growth_generated.operations"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def spec_operation_ids(spec: dict[str, Any]) -> list[str]:
    return [
        op["operationId"] for item in spec["paths"].values() for op in item.values() if "operationId" in op
    ]


def public_methods(cls: type) -> set[str]:
    """Public functions of the client class itself and of the generated methods it inherits."""
    own = [cls, *(klass for klass in cls.__mro__ if klass.__module__ == GENERATED)]
    return {
        name
        for klass in own
        for name, value in vars(klass).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def test_each_operation_has_a_snake_case_method_on_both_clients(spec: dict[str, Any]) -> None:
    ids = spec_operation_ids(spec)
    assert len(ids) == 4
    for operation_id in ids:
        name = snake(operation_id)
        assert inspect.isfunction(getattr(GrowthClient, name, None)), name
        assert inspect.iscoroutinefunction(getattr(AsyncGrowthClient, name, None)), name


def test_both_clients_have_the_same_public_methods_and_signatures(spec: dict[str, Any]) -> None:
    operations = {snake(op_id) for op_id in spec_operation_ids(spec)}
    sync_methods = public_methods(GrowthClient) - {"close"}
    async_methods = public_methods(AsyncGrowthClient) - {"aclose"}
    assert sync_methods == async_methods == operations
    for name in operations:
        sync_sig = inspect.signature(getattr(GrowthClient, name))
        async_sig = inspect.signature(getattr(AsyncGrowthClient, name))
        assert sync_sig == async_sig, name
    assert inspect.signature(GrowthClient.__init__).parameters.keys() == (
        inspect.signature(AsyncGrowthClient.__init__).parameters.keys()
    )


ANSWERS = [
    httpx.Response(200, json=envelope(code=7, msg="no")),
    httpx.Response(502, text="<html/>"),
    httpx.Response(429, text="", headers={"Retry-After": "2"}),
    httpx.Response(200, text="{"),
    httpx.ReadTimeout("slow"),
]


@pytest.mark.parametrize("operation_id", list(OPS))
def test_sync_and_async_give_the_same_outcomes(operation_id: str) -> None:
    op = OPS[operation_id]
    for answer in [httpx.Response(200, json=envelope(data=op.success_data)), *ANSWERS]:
        sync = Harness("sync").run(op, [answer], max_retries=1)
        async_ = Harness("async").run(op, [answer], max_retries=1)
        assert type(sync.error) is type(async_.error)
        assert str(sync.error) == str(async_.error)
        assert vars(sync.error) == vars(async_.error) if sync.error else sync.result == async_.result
        assert len(sync.requests) == len(async_.requests)
        assert [r.content for r in sync.requests if b"randomId" not in r.content] == [
            r.content for r in async_.requests if b"randomId" not in r.content
        ]


def test_both_drivers_run_the_same_core_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients hold no call logic: replacing core.call changes both."""
    calls: list[str] = []
    original = _call.call

    def spy(route: _call.CallSetup, content: bytes, parse: Any) -> Any:
        calls.append(route.operation_id)
        return original(route, content, parse)

    monkeypatch.setattr("jiguang_growth._operations.call", spy)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope()))
    with GrowthClient("1", "s", transport=transport) as client:
        client.set_user_attributes(1, {"user_a": 1})

    async def main() -> None:
        async with AsyncGrowthClient("1", "s", transport=transport) as client:
            await client.set_user_attributes(1, {"user_a": 1})

    asyncio.run(main())
    assert calls == ["setUserAttributes", "setUserAttributes"]
