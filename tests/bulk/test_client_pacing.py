"""The clients' ``pace`` option and ``with_options``: the hook bulk ingestion relies on."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import httpx
import pytest

from jiguang_growth import (
    APIConnectionError,
    AsyncGrowthClient,
    ConfigurationError,
    GrowthClient,
    InternalServerError,
    RateLimitError,
    _pacing,
)

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


class FakeTime:
    """The shared pacers' clock, moved on by the clients' sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(_pacing, "_clock", fake)
    return fake


def paced_client(
    project: str, transport: httpx.BaseTransport, fake: FakeTime, *, pace: bool = True
) -> GrowthClient:
    client = GrowthClient(project, "secret-12345678", "https://example.test", transport=transport, pace=pace)
    client._sleep = fake.sleep  # type: ignore[method-assign]
    return client


def test_a_paced_client_spaces_its_calls_evenly_just_under_the_limit(fake_time: FakeTime) -> None:
    client = paced_client(fresh_project(), ok_transport(), fake_time)
    for _ in range(201):
        client.set_user_channels(CHANNELS)
    spacing = 0.01 / (1 - _pacing.MIN_MARGIN)  # answers take no time here: the smallest margin
    assert sum(fake_time.sleeps) == pytest.approx(200 * spacing, abs=spacing)
    assert max(fake_time.sleeps) <= spacing + 1e-9  # spread out, never a burst and a long wait


def test_an_unpaced_client_never_waits(fake_time: FakeTime) -> None:
    client = paced_client(fresh_project(), ok_transport(), fake_time, pace=False)
    for _ in range(150):
        client.set_user_channels(CHANNELS)
    assert fake_time.sleeps == []
    assert not client.paced


def test_pacing_is_per_operation(fake_time: FakeTime) -> None:
    client = paced_client(fresh_project(), ok_transport(), fake_time)
    for _ in range(100):
        client.set_user_channels(CHANNELS)
    waited = sum(fake_time.sleeps)
    client.report_events([{"cuid": 1, "eventName": "open_app", "itime": 1654076420772}])
    assert sum(fake_time.sleeps) == waited  # the other operation's slots are all free


def test_clients_of_one_project_and_server_share_the_pacer(fake_time: FakeTime) -> None:
    project = fresh_project()
    first = paced_client(project, ok_transport(), fake_time)
    second = paced_client(project, ok_transport(), fake_time)
    for _ in range(100):
        first.set_user_channels(CHANNELS)
    waited = sum(fake_time.sleeps)
    other = paced_client(fresh_project(), ok_transport(), fake_time)
    other.set_user_channels(CHANNELS)
    assert sum(fake_time.sleeps) == waited  # another project has its own limit
    second.set_user_channels(CHANNELS)
    assert 0 < sum(fake_time.sleeps) - waited <= 0.011  # the next slot of the same schedule


def refuse(request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 1, "msg": "slow"})


def test_a_stray_429_at_the_top_slows_the_pacer_and_its_call_takes_the_next_slot(fake_time: FakeTime) -> None:
    """The pacer's schedule keeps under the limit, so waiting the whole Retry-After (whole seconds)
    would only add to a run's end: the refused call goes again at its next slot."""
    project = fresh_project()
    refused = paced_client(project, httpx.MockTransport(refuse), fake_time).with_options(max_retries=1)
    bystander = paced_client(project, ok_transport(), fake_time)
    pacer = _pacing.shared_pacer("setUserChannels", project_id=project, base_url=refused.api_url)
    bystander.set_user_channels(CHANNELS)  # one answer timed: the pacer is at its full rate
    full_rate = pacer.rate
    with pytest.raises(RateLimitError):
        refused.set_user_channels(CHANNELS)
    assert 2.0 not in fake_time.sleeps and sum(fake_time.sleeps) < 0.5  # not the Retry-After
    assert pacer.rate_limited == 2 and pacer.pauses == 0
    assert pacer.rate < full_rate
    before = sum(fake_time.sleeps)
    bystander.set_user_channels(CHANNELS)
    assert sum(fake_time.sleeps) - before < 0.5  # one spacing at the lower rate, not the Retry-After


def test_after_many_429s_a_refused_call_waits_for_its_retry_after(fake_time: FakeTime) -> None:
    project = fresh_project()
    refused = paced_client(project, httpx.MockTransport(refuse), fake_time).with_options(max_retries=0)
    bystander = paced_client(project, ok_transport(), fake_time)
    pacer = _pacing.shared_pacer("setUserChannels", project_id=project, base_url=refused.api_url)
    for _ in range(30):
        bystander.set_user_channels(CHANNELS)
    for _ in range(6):  # many refused within a second: someone else sends too; the rate is cut
        with pytest.raises(RateLimitError):
            refused.set_user_channels(CHANNELS)
    assert pacer.pauses == 0 and pacer.rate < 0.9 * pacer.limit
    before = list(fake_time.sleeps)
    with pytest.raises(RateLimitError):
        refused.with_options(max_retries=1).set_user_channels(CHANNELS)
    assert 2.0 in fake_time.sleeps[len(before) :]  # its own retry waited for Retry-After


def test_429s_that_keep_coming_hold_every_call_for_the_retry_after(fake_time: FakeTime) -> None:
    project = fresh_project()
    refused = paced_client(project, httpx.MockTransport(refuse), fake_time).with_options(max_retries=0)
    bystander = paced_client(project, ok_transport(), fake_time)
    pacer = _pacing.shared_pacer("setUserChannels", project_id=project, base_url=refused.api_url)
    while not pacer.pauses:  # calls one after another, every one refused
        with pytest.raises(RateLimitError):
            refused.set_user_channels(CHANNELS)
    assert pacer.rate_limited == 3  # a quarter of at least ten answers
    before = sum(fake_time.sleeps)
    bystander.set_user_channels(CHANNELS)
    assert sum(fake_time.sleeps) - before == pytest.approx(2.0)  # the Retry-After


def test_a_failed_call_still_frees_its_slot(fake_time: FakeTime) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    project = fresh_project()
    failing = paced_client(project, httpx.MockTransport(fail), fake_time).with_options(max_retries=0)
    for _ in range(100):
        with pytest.raises(APIConnectionError):
            failing.set_user_channels(CHANNELS)
    pacer = _pacing.shared_pacer("setUserChannels", project_id=project, base_url=failing.api_url)
    assert pacer.in_flight == 0
    fake_time.now += 1.0
    waited = sum(fake_time.sleeps)
    paced_client(project, ok_transport(), fake_time).set_user_channels(CHANNELS)
    assert sum(fake_time.sleeps) == waited


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


def test_the_async_client_paces_through_the_same_pacer(fake_time: FakeTime) -> None:
    project = fresh_project()
    sync = paced_client(project, ok_transport(), fake_time)
    for _ in range(100):
        sync.set_user_channels(CHANNELS)

    async def record(seconds: float) -> None:
        fake_time.sleep(seconds)

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

    waited = sum(fake_time.sleeps)
    asyncio.run(main())
    assert 0 < sum(fake_time.sleeps) - waited <= 0.011  # the next slot of the sync client's schedule


def test_a_send_cut_short_by_an_exception_still_frees_its_slot(fake_time: FakeTime) -> None:
    def interrupt(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    project = fresh_project()
    client = paced_client(project, httpx.MockTransport(interrupt), fake_time)
    with pytest.raises(KeyboardInterrupt):
        client.set_user_channels(CHANNELS)
    pacer = _pacing.shared_pacer("setUserChannels", project_id=project, base_url=client.api_url)
    assert pacer.in_flight == 0


def test_429s_with_an_hour_long_retry_after_end_every_waiting_call_instead_of_holding_it() -> None:
    """Twenty-four threads, one call each, a server that answers 429 with ``Retry-After: 3600``: every
    call ends with a RateLimitError (the ones still waiting for a slot when the 429s pile up are not
    sent at all), and none waits out the pacer's hold."""
    import threading
    import time

    from jiguang_growth.sandbox import run_sandbox

    faults = {"error_rates": {429: 1.0}, "retry_after_seconds": 3600}
    with run_sandbox(project_id=fresh_project(), faults=faults) as sandbox:
        client = GrowthClient(
            sandbox.project_id, sandbox.project_secret, sandbox.base_url, pace=True, timeout=5
        )
        errors: list[BaseException] = []

        def one_call() -> None:
            try:
                client.set_user_channels(CHANNELS)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=one_call, daemon=True) for _ in range(24)]
        for thread in threads:
            thread.start()
        guard = time.monotonic() + 40  # a guard against hanging, far under the 60 s hold
        for thread in threads:
            thread.join(timeout=max(0.0, guard - time.monotonic()))
        blocked = sum(thread.is_alive() for thread in threads)
        sent = len(sandbox.state.requests())
        client.close()
    assert blocked == 0
    assert len(errors) == 24 and all(isinstance(e, RateLimitError) for e in errors)
    assert all(e.retry_after is not None and e.retry_after > 3000 for e in errors)  # type: ignore[attr-defined]
    assert any("not sent" in str(e) for e in errors)
    assert 3 <= sent < 24  # the storm of 429s that set the hold, not every call


def test_a_call_waiting_to_retry_is_counted_outside_the_pipe_so_bulk_keeps_the_flow_full(
    fake_time: FakeTime,
) -> None:
    """A 503's Retry-After (or a timeout's backoff) parks a call for seconds: the calls bulk keeps in
    flight grow by the calls parked, or a burst of 503s would leave slots unused."""
    project = fresh_project()
    answers = iter([httpx.Response(503, headers={"Retry-After": "1"}, json={"code": 1, "msg": "busy"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=OK))

    client = paced_client(project, httpx.MockTransport(handler), fake_time)
    pacer = _pacing.shared_pacer("setUserChannels", project_id=project, base_url=client.api_url)
    seen: list[tuple[int, int]] = []
    sleep = fake_time.sleep

    def noting(seconds: float) -> None:
        seen.append((pacer.parked, pacer.in_flight_target()))
        sleep(seconds)

    client._sleep = noting  # type: ignore[method-assign]
    client.set_user_channels(CHANNELS)
    parked = [target for count, target in seen if count == 1]
    assert parked, seen  # the Retry-After was waited parked
    assert pacer.parked == 0
    assert pacer.in_flight_target() == parked[-1] - 1
    with pytest.raises(RuntimeError):
        pacer.park(-1)
