"""GrowthClient and AsyncGrowthClient against a real sandbox on loopback, with every fault forced.

tests/overlays/test_fault_matrix.py pins each answer's outcome over mocked
transports; here the same promises meet real sockets: a connection the server
closes, a body cut in half, an answer that never comes. For each injectable
fault and each operation the sandbox is told to fail the next call (or every
attempt of it), and the test checks what the README's retry policy promises:
the exception class and its status/code, how many attempts reached the
sandbox (its request log), and whether the write landed (its state), so a
replay never counts twice.

Retries do not really wait: the clients' ``_sleep`` only records the delays.
Only the tests of the ``timeout`` fault use a short read timeout.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from jiguang_growth import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    AsyncGrowthClient,
    AuthenticationError,
    BadRequestError,
    CuidResult,
    GrowthClient,
    GrowthError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from jiguang_growth.sandbox import SandboxServer, run_sandbox

MAX_RETRIES = 2
READ_TIMEOUT = 0.5
"""Read timeout of the clients in the ``timeout`` fault tests (the sandbox holds for 30 s)."""
RETRY_AFTER = 1
"""The sandbox's ``Retry-After`` on injected 429 and 503 (its default)."""

TLS = ssl.create_default_context()
"""One TLS context for every client: building one per client costs about 50 ms (unused over http)."""

REPLAY_SAFE = {"reportEvents": True, "setUserAttributes": False, "getCuids": True, "setUserChannels": True}
"""The README's table, restated here rather than read from jiguang_growth._retry."""


@dataclass(frozen=True)
class Expect:
    """What one fault must end in, restated from the README's retry policy and fault table."""

    error: type[GrowthError]
    status: int | None
    """HTTP status of the error (None for connection errors)."""
    code: int | None
    """Envelope code of an APIError (None when the answer had no envelope)."""
    retried: str
    """"never", "always" (a refusal: nothing was applied) or "replay-safe" (ambiguous)."""
    applied: bool
    """Whether the sandbox applies the write before failing."""
    retry_after: float | None = None


FAULTS: dict[str, Expect] = {
    "400": Expect(BadRequestError, 400, 40099, "never", applied=False),
    "401": Expect(AuthenticationError, 401, 40199, "never", applied=False),
    "403": Expect(PermissionDeniedError, 403, 40399, "never", applied=False),
    "404": Expect(NotFoundError, 404, 40499, "never", applied=False),
    "409": Expect(APIError, 409, 40999, "never", applied=False),
    "429": Expect(RateLimitError, 429, 42999, "always", applied=False, retry_after=RETRY_AFTER),
    "500": Expect(InternalServerError, 500, 50099, "never", applied=True),
    "502": Expect(InternalServerError, 502, 50299, "replay-safe", applied=True),
    "503": Expect(InternalServerError, 503, 50399, "always", applied=False, retry_after=RETRY_AFTER),
    "504": Expect(InternalServerError, 504, 50499, "replay-safe", applied=True),
    "520": Expect(InternalServerError, 520, 52099, "never", applied=True),
    "html": Expect(InternalServerError, 502, None, "replay-safe", applied=True),
    "truncated": Expect(APIResponseError, 200, None, "never", applied=True),
    "drop": Expect(APIConnectionError, None, None, "replay-safe", applied=False),
    "timeout": Expect(APITimeoutError, None, None, "replay-safe", applied=True),
}

OPERATIONS = list(REPLAY_SAFE)

CUID = 10362473
PHONE = "18012345678"
CHANNEL_CUID = 10362819
CHANNELS = [{"cuid": CHANNEL_CUID, "channels": [{"id": 210, "channelValues": {"默认联系": "15088888888"}}]}]
SPEND = 12.5
"""Written to ``total_spend``, an accumulate attribute: a replayed write would double it."""


def retried(fault: str, operation_id: str) -> bool:
    rule = FAULTS[fault].retried
    return rule == "always" or (rule == "replay-safe" and REPLAY_SAFE[operation_id])


# --- the sandbox and the clients ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(qps_limit=1_000_000) as server:
        yield server


@pytest.fixture
def sandbox(shared_sandbox: SandboxServer) -> SandboxServer:
    shared_sandbox.state.reset()
    shared_sandbox.faults.clear()
    return shared_sandbox


def client_options(sandbox: SandboxServer, fault: str | None) -> dict[str, Any]:
    read = READ_TIMEOUT if fault == "timeout" else 10.0
    return {
        "project_id": sandbox.project_id,
        "project_secret": sandbox.project_secret,
        "base_url": sandbox.base_url,
        "timeout": httpx.Timeout(10.0, read=read),
        "max_retries": MAX_RETRIES,
        "verify": TLS,
    }


@dataclass
class Outcome:
    result: Any = None
    error: GrowthError | None = None
    sleeps: list[float] | None = None


def call_sync(client: GrowthClient, operation_id: str) -> Any:
    if operation_id == "reportEvents":
        # No randomId: the client adds one before the first attempt and replays keep it.
        return client.report_events([{"cuid": CUID, "eventName": "open_app", "itime": 1654076420772}])
    if operation_id == "setUserAttributes":
        return client.set_user_attributes(CUID, {"total_spend": SPEND})
    if operation_id == "getCuids":
        return client.get_cuids("phone", [PHONE])
    return client.set_user_channels(CHANNELS)


async def call_async(client: AsyncGrowthClient, operation_id: str) -> Any:
    if operation_id == "reportEvents":
        return await client.report_events([{"cuid": CUID, "eventName": "open_app", "itime": 1654076420772}])
    if operation_id == "setUserAttributes":
        return await client.set_user_attributes(CUID, {"total_spend": SPEND})
    if operation_id == "getCuids":
        return await client.get_cuids("phone", [PHONE])
    return await client.set_user_channels(CHANNELS)


def run_sync(sandbox: SandboxServer, operation_id: str, fault: str | None) -> Outcome:
    outcome = Outcome(sleeps=[])
    with GrowthClient(**client_options(sandbox, fault)) as client:
        client._sleep = outcome.sleeps.append  # type: ignore[assignment,method-assign,union-attr]
        try:
            outcome.result = call_sync(client, operation_id)
        except GrowthError as error:
            outcome.error = error
    return outcome


def run_async(sandbox: SandboxServer, operation_id: str, fault: str | None) -> Outcome:
    outcome = Outcome(sleeps=[])
    sleeps = outcome.sleeps
    assert sleeps is not None

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> None:
        async with AsyncGrowthClient(**client_options(sandbox, fault)) as client:
            client._sleep = record  # type: ignore[assignment,method-assign]
            try:
                outcome.result = await call_async(client, operation_id)
            except GrowthError as error:
                outcome.error = error

    asyncio.run(main())
    return outcome


RUNNERS = {"sync": run_sync, "async": run_async}


# --- what the sandbox saw ----------------------------------------------------------------------


def attempts(sandbox: SandboxServer, operation_id: str) -> list[tuple[str | None, bool]]:
    """(injected fault, applied) of each call of the operation that reached the sandbox."""
    return [(r.fault, r.applied) for r in sandbox.state.requests() if r.operation == operation_id]


def writes(sandbox: SandboxServer, operation_id: str) -> int:
    """How many times the call's write shows in the state (a replay-safe write shows once)."""
    snapshot = sandbox.state.snapshot()
    if operation_id == "reportEvents":
        return len(snapshot.events)
    if operation_id == "setUserAttributes":
        spend = snapshot.attributes.get(CUID, {}).get("total_spend", 0)
        return round(spend / SPEND)  # accumulate: every application adds SPEND
    if operation_id == "getCuids":
        return len(snapshot.identities.get("phone", {}))
    return 1 if snapshot.channels.get(CHANNEL_CUID) == {210: {"默认联系": "15088888888"}} else 0


def check_success(sandbox: SandboxServer, operation_id: str, result: Any, *, replayed: bool = False) -> None:
    if operation_id == "getCuids":
        assert result == [CuidResult(PHONE, sandbox.state.cuid_for("phone", PHONE), 0)]
    elif operation_id == "reportEvents":
        # After a replay of a write that had landed, the answer counts the event as a duplicate.
        counts = {"accepted": 0, "duplicates": 1} if replayed else {"accepted": 1, "duplicates": 0}
        assert result.to_dict() == counts
        assert sandbox.state.events()[0]["randomId"]  # filled in by the client
    assert writes(sandbox, operation_id) == 1


def check_error(error: GrowthError | None, expect: Expect) -> None:
    assert type(error) is expect.error, error
    if isinstance(error, APIError):
        assert (error.status_code, error.code) == (expect.status, expect.code)
        assert error.retry_after == expect.retry_after
    elif isinstance(error, APIResponseError):
        assert error.status_code == expect.status
    else:
        assert isinstance(error, APIConnectionError)
        assert error.request_sent is True  # the bytes left; the client cannot know more
    assert "sandbox-secret" not in str(error)


def check_sleeps(sleeps: list[float], expect: Expect, count: int) -> None:
    assert len(sleeps) == count
    if expect.retry_after is not None:
        assert sleeps == [float(expect.retry_after)] * count
    else:  # 0.5 s x 2^n, a pick from the upper half
        for n, seconds in enumerate(sleeps):
            assert 0.25 * 2**n <= seconds <= 0.5 * 2**n


# --- the matrix --------------------------------------------------------------------------------


def matrix(*, every_attempt: bool) -> list[Any]:
    cases = []
    for fault in FAULTS:
        for operation_id in OPERATIONS:
            if every_attempt and fault == "timeout" and operation_id in {"reportEvents", "setUserChannels"}:
                continue  # 3 x READ_TIMEOUT each; getCuids stands for the replay-safe operations
            cases.append(pytest.param(fault, operation_id, id=f"{fault}-{operation_id}"))
    return cases


@pytest.mark.parametrize(("fault", "operation_id"), matrix(every_attempt=False))
def test_one_fault_then_the_call_recovers_only_where_the_policy_retries(
    sandbox: SandboxServer, fault: str, operation_id: str
) -> None:
    expect = FAULTS[fault]
    sandbox.faults.force(fault)

    outcome = run_sync(sandbox, operation_id, fault)

    if retried(fault, operation_id):
        assert outcome.error is None, outcome.error
        assert attempts(sandbox, operation_id) == [(fault, expect.applied), (None, True)]
        # Applied once, even when replayed after a write that had landed.
        check_success(sandbox, operation_id, outcome.result, replayed=expect.applied)
        if operation_id == "reportEvents":
            assert sandbox.state.snapshot().duplicate_events == (1 if expect.applied else 0)
        assert outcome.sleeps is not None
        check_sleeps(outcome.sleeps, expect, 1)
    else:
        check_error(outcome.error, expect)
        assert attempts(sandbox, operation_id) == [(fault, expect.applied)]
        assert writes(sandbox, operation_id) == (1 if expect.applied else 0)
        assert outcome.sleeps == []


@pytest.mark.parametrize(("fault", "operation_id"), matrix(every_attempt=True))
def test_a_fault_on_every_attempt_ends_in_its_typed_error_after_the_promised_attempts(
    sandbox: SandboxServer, fault: str, operation_id: str
) -> None:
    expect = FAULTS[fault]
    sandbox.faults.force(*[fault] * (MAX_RETRIES + 1))

    outcome = run_sync(sandbox, operation_id, fault)

    count = MAX_RETRIES + 1 if retried(fault, operation_id) else 1
    check_error(outcome.error, expect)
    assert attempts(sandbox, operation_id) == [(fault, expect.applied)] * count
    assert sandbox.faults.pending == MAX_RETRIES + 1 - count
    assert outcome.sleeps is not None
    check_sleeps(outcome.sleeps, expect, count - 1)
    # Applied faults apply the write on each attempt, yet it shows once: every replay is safe.
    assert writes(sandbox, operation_id) == (1 if expect.applied else 0)


ASYNC_CASES = [
    ("503", "setUserAttributes"),  # a refusal: retried even for the unsafe write
    ("502", "setUserAttributes"),  # possibly applied: not retried
    ("502", "reportEvents"),  # replayed with the same randomId, stored once
    ("drop", "getCuids"),
    ("timeout", "setUserChannels"),
    ("truncated", "getCuids"),
    ("429", "setUserChannels"),
    ("520", "reportEvents"),
]


def async_matrix() -> list[Any]:
    return [
        pytest.param(fault, operation_id, every, id=f"{fault}-{operation_id}-{'every' if every else 'once'}")
        for fault, operation_id in ASYNC_CASES
        for every in (False, True)
        if not (every and fault == "timeout")  # 3 x READ_TIMEOUT; the sync matrix has it
    ]


@pytest.mark.parametrize(("fault", "operation_id", "every_attempt"), async_matrix())
def test_the_async_client_meets_the_same_faults_with_the_same_outcome(
    sandbox: SandboxServer, fault: str, operation_id: str, every_attempt: bool
) -> None:
    expect = FAULTS[fault]
    times = MAX_RETRIES + 1 if every_attempt else 1
    sandbox.faults.force(*[fault] * times)

    outcome = run_async(sandbox, operation_id, fault)

    if retried(fault, operation_id) and not every_attempt:
        assert outcome.error is None, outcome.error
        assert attempts(sandbox, operation_id) == [(fault, expect.applied), (None, True)]
        check_success(sandbox, operation_id, outcome.result, replayed=expect.applied)
    else:
        count = MAX_RETRIES + 1 if retried(fault, operation_id) else 1
        check_error(outcome.error, expect)
        assert attempts(sandbox, operation_id) == [(fault, expect.applied)] * count
        assert writes(sandbox, operation_id) == (1 if expect.applied else 0)


# --- Retry-After, latency, and the sync/async agreement ----------------------------------------


@pytest.mark.parametrize("mode", list(RUNNERS))
def test_a_retry_after_beyond_a_minute_ends_the_call_at_once(sandbox: SandboxServer, mode: str) -> None:
    sandbox.faults.configure(retry_after_seconds=120)
    sandbox.faults.force(429, 429, 429)

    outcome = RUNNERS[mode](sandbox, "getCuids", "429")

    assert type(outcome.error) is RateLimitError
    assert outcome.error.retry_after == 120.0
    assert len(attempts(sandbox, "getCuids")) == 1
    assert outcome.sleeps == []


@pytest.mark.parametrize("mode", list(RUNNERS))
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_latency_below_the_timeout_only_slows_the_call(
    sandbox: SandboxServer, mode: str, operation_id: str
) -> None:
    sandbox.faults.configure(latency_ms=30, latency_jitter_ms=20, seed=3)

    outcome = RUNNERS[mode](sandbox, operation_id, None)

    assert outcome.error is None, outcome.error
    assert attempts(sandbox, operation_id) == [(None, True)]
    check_success(sandbox, operation_id, outcome.result)


def test_latency_beyond_the_timeout_is_a_timeout_and_the_unsafe_write_is_not_sent_again(
    sandbox: SandboxServer,
) -> None:
    sandbox.faults.configure(latency_ms=READ_TIMEOUT * 1000 + 300)

    outcome = run_sync(sandbox, "setUserAttributes", "timeout")

    check_error(outcome.error, FAULTS["timeout"])
    assert outcome.sleeps == []
    deadline = time.monotonic() + 10
    while not attempts(sandbox, "setUserAttributes") and time.monotonic() < deadline:
        time.sleep(0.02)  # the sandbox logs the call once its latency is over
    [(fault, applied)] = attempts(sandbox, "setUserAttributes")  # one attempt, never a second
    assert fault is None
    assert writes(sandbox, "setUserAttributes") == (1 if applied else 0)


def test_random_faults_from_a_seed_end_in_a_result_or_a_typed_error_and_writes_land_once(
    sandbox: SandboxServer,
) -> None:
    # Seeded random faults of every kind across many getCuids calls: each call ends in a result or a
    # GrowthError, and however often a value was replayed it keeps a single CUID.
    sandbox.faults.configure(
        seed=11,
        error_rates={429: 0.1, 500: 0.05, 502: 0.1, 503: 0.1},
        malformed_rate=0.1,
        drop_rate=0.1,
    )
    values = [f"1801234{n:04d}" for n in range(40)]
    outcomes: dict[str, Outcome] = {}
    with GrowthClient(**client_options(sandbox, None)) as client:
        client._sleep = lambda seconds: None  # type: ignore[assignment,method-assign]
        for value in values:
            try:
                outcomes[value] = Outcome(result=client.get_cuids("phone", [value]))
            except GrowthError as error:
                outcomes[value] = Outcome(error=error)

    identities = sandbox.state.snapshot().identities["phone"]
    failed = [value for value, outcome in outcomes.items() if outcome.error is not None]
    assert failed, "the seed should make some calls fail for good"
    assert len(failed) < len(values)
    for value, outcome in outcomes.items():
        if outcome.error is None:
            assert outcome.result == [CuidResult(value, identities[value], 0)]
        else:
            assert isinstance(outcome.error, APIError | APIResponseError | APIConnectionError)
    assert len(set(identities.values())) == len(identities)  # one CUID per value, never two
