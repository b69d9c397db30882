"""The clients' ``pace`` option and ``with_options``: the hook bulk ingestion relies on."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import httpx
import pytest

from jiguang_growth import AsyncGrowthClient, ConfigurationError, GrowthClient, InternalServerError

CHANNELS = [{"cuid": 10362819, "channels": [{"id": 210, "channelValues": {"email": "a@example.com"}}]}]
OK = {"code": 0, "msg": "success"}


def fresh_project() -> str:
    """A project ID no other test used, so the process-wide pacers start empty."""
    return f"p{uuid.uuid4().hex[:12]}"


def ok_transport(counter: itertools.count[int] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if counter is not None:
            next(counter)
        return httpx.Response(200, json=OK)

    return httpx.MockTransport(handler)


def recording_client(
    project: str, transport: httpx.BaseTransport, *, pace: bool
) -> tuple[GrowthClient, list[float]]:
    client = GrowthClient(project, "secret-12345678", "https://example.test", transport=transport, pace=pace)
    sleeps: list[float] = []
    client._sleep = sleeps.append  # type: ignore[method-assign]
    return client, sleeps


def test_a_paced_client_waits_once_the_operation_used_its_limit() -> None:
    client, sleeps = recording_client(fresh_project(), ok_transport(), pace=True)
    for _ in range(100):
        client.set_user_channels(CHANNELS)
    assert sleeps == []  # the first 100 calls of a second go at once
    client.set_user_channels(CHANNELS)
    assert len(sleeps) == 1
    assert 0.5 < sleeps[0] <= 1.03  # the 101st waits for the first slot to leave the window


def test_an_unpaced_client_never_waits() -> None:
    client, sleeps = recording_client(fresh_project(), ok_transport(), pace=False)
    for _ in range(150):
        client.set_user_channels(CHANNELS)
    assert sleeps == []
    assert not client.paced


def test_pacing_is_per_operation() -> None:
    client, sleeps = recording_client(fresh_project(), ok_transport(), pace=True)
    for _ in range(100):
        client.set_user_channels(CHANNELS)
    client.report_events([{"cuid": 1, "eventName": "open_app", "itime": 1654076420772}])
    assert sleeps == []


def test_clients_of_one_project_and_server_share_the_pacer() -> None:
    project = fresh_project()
    first, first_sleeps = recording_client(project, ok_transport(), pace=True)
    second, second_sleeps = recording_client(project, ok_transport(), pace=True)
    for _ in range(100):
        first.set_user_channels(CHANNELS)
    second.set_user_channels(CHANNELS)
    assert first_sleeps == []
    assert len(second_sleeps) == 1 and second_sleeps[0] > 0.5
    other, other_sleeps = recording_client(fresh_project(), ok_transport(), pace=True)
    other.set_user_channels(CHANNELS)
    assert other_sleeps == []  # another project has its own limit


def test_a_429_pauses_the_pacer_for_everyone_for_its_retry_after() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 1, "msg": "slow"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=OK))

    project = fresh_project()
    client, sleeps = recording_client(project, httpx.MockTransport(handler), pace=True)
    bystander, bystander_sleeps = recording_client(project, ok_transport(), pace=True)
    client.set_user_channels(CHANNELS)  # 429, waits Retry-After, then succeeds
    assert sleeps[0] == 2.0  # the retry's own wait (the core's Sleep step)
    bystander.set_user_channels(CHANNELS)
    assert len(bystander_sleeps) == 1 and 1.0 < bystander_sleeps[0] <= 2.0


def test_with_options_shares_the_pool_and_never_closes_it() -> None:
    calls = itertools.count()
    client = GrowthClient(
        fresh_project(), "secret-12345678", "https://example.test", transport=ok_transport(calls)
    )
    paced = client.with_options(pace=True, max_retries=5)
    assert paced.paced and not client.paced
    assert paced.max_retries == 5 and client.max_retries == 2
    assert paced.project_id == client.project_id and paced.api_url == client.api_url
    paced.close()
    client.set_user_channels(CHANNELS)  # the pool still works: the copy did not own it
    paced.set_user_channels(CHANNELS)
    assert next(calls) == 2
    assert client.with_options(pace=False).paced is False


def test_with_options_max_retries_changes_the_attempts() -> None:
    attempts = itertools.count()

    def handler(request: httpx.Request) -> httpx.Response:
        next(attempts)
        return httpx.Response(503, json={"code": 1, "msg": "busy"})

    client = GrowthClient(
        fresh_project(), "secret-12345678", "https://example.test", transport=httpx.MockTransport(handler)
    )
    patient = client.with_options(max_retries=4)
    patient._sleep = lambda seconds: None  # type: ignore[method-assign]
    with pytest.raises(InternalServerError):
        patient.set_user_channels(CHANNELS)
    assert next(attempts) == 5  # the first attempt and 4 retries


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_with_options_checks_max_retries(bad: object) -> None:
    client = GrowthClient(
        fresh_project(), "secret-12345678", "https://example.test", transport=ok_transport()
    )
    with pytest.raises(ConfigurationError, match="max_retries"):
        client.with_options(max_retries=bad)  # type: ignore[arg-type]


def test_the_async_client_paces_through_the_same_pacer() -> None:
    project = fresh_project()
    sync, _ = recording_client(project, ok_transport(), pace=True)
    for _ in range(100):
        sync.set_user_channels(CHANNELS)
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> None:
        async with AsyncGrowthClient(
            project,
            "secret-12345678",
            "https://example.test",
            transport=httpx.MockTransport(lambda request: httpx.Response(200, json=OK)),
            pace=True,
        ) as client:
            client._sleep = record  # type: ignore[method-assign]
            await client.set_user_channels(CHANNELS)

    asyncio.run(main())
    assert len(sleeps) == 1 and sleeps[0] > 0.5
