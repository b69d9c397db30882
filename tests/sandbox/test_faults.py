"""Fault injection: each kind over real HTTP, what it applies, and seeded reproducibility."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from jiguang_growth.sandbox import Fault, FaultConfig, FaultInjector, FaultKind, SandboxServer, run_sandbox

from .conftest import VALID_BODIES, assert_envelope, call, event, make_client


def register(client: httpx.Client, value: str) -> httpx.Response:
    return call(client, "getCuids", {"identityName": "phone", "identityValues": [value]})


def outcome(client: httpx.Client, value: str) -> str:
    """What a client sees for one call, as a short label."""
    try:
        response = register(client, value)
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError as error:
        return type(error).__name__
    return str(response.status_code)


# --- each kind ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_refusing_errors_carry_retry_after_and_are_not_applied(
    sandbox: SandboxServer, client: httpx.Client, status: int
) -> None:
    sandbox.faults.configure(retry_after_seconds=7)
    sandbox.faults.force(status)
    response = register(client, "a")

    payload = assert_envelope(response, status, status * 100 + 99)
    assert response.headers["retry-after"] == "7"
    assert "fault injection" in payload["msg"]
    assert sandbox.state.cuid_for("phone", "a") is None
    record = sandbox.state.requests()[-1]
    assert (record.status, record.fault, record.applied) == (status, str(status), False)


@pytest.mark.parametrize("status", [500, 502, 504, 520])
def test_other_server_errors_are_answered_after_the_write(
    sandbox: SandboxServer, client: httpx.Client, status: int
) -> None:
    sandbox.faults.force(status)
    response = register(client, "a")

    assert_envelope(response, status, status * 100 + 99)
    assert "retry-after" not in response.headers
    assert sandbox.state.cuid_for("phone", "a") is not None
    assert sandbox.state.requests()[-1].applied is True


def test_client_errors_can_be_injected_and_are_not_applied(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.faults.force(400)
    assert_envelope(register(client, "a"), 400, 40099)
    assert sandbox.state.cuid_for("phone", "a") is None


def test_drop_closes_the_connection_without_an_answer_and_applies_nothing(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.faults.force("drop")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        register(client, "a")

    assert sandbox.state.cuid_for("phone", "a") is None
    record = sandbox.state.requests()[-1]
    assert (record.status, record.code, record.fault, record.applied) == (None, None, "drop", False)
    assert register(client, "b").status_code == 200  # the client reconnects; the sandbox is fine


def test_html_is_a_502_page_after_the_write(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.force("html")
    response = register(client, "a")

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    assert sandbox.state.cuid_for("phone", "a") is not None


def test_truncated_is_the_real_answer_cut_in_half_after_the_write(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.faults.force("truncated")
    cut = register(client, "a")
    whole = register(client, "a")  # same value, same CUID: the same answer, whole

    assert cut.status_code == 200
    assert cut.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert whole.content.startswith(cut.content)
    assert len(cut.content) == len(whole.content) // 2
    assert sandbox.state.cuid_for("phone", "a") is not None


def test_timeout_after_receipt_applies_the_write_then_never_answers(
    sandbox: SandboxServer, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.force("timeout")  # hang_seconds is 30 by default
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            "/user/register",
            json={"identityName": "phone", "identityValues": ["a"]},
            timeout=httpx.Timeout(0.5),
        )

    assert time.monotonic() - started < 5
    assert sandbox.state.cuid_for("phone", "a") is not None
    record = sandbox.state.requests()[-1]
    assert (record.status, record.fault, record.applied) == (None, "timeout", True)
    time.sleep(0.3)  # the sandbox notices the client left and ends the call quietly
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_timeout_after_receipt_closes_the_connection_after_hang_seconds(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.faults.configure(hang_seconds=0.3)
    sandbox.faults.force("timeout")
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        register(client, "a")

    assert 0.3 <= time.monotonic() - started < 3
    assert sandbox.state.cuid_for("phone", "a") is not None


def test_stopping_the_sandbox_ends_a_hanging_call_at_once() -> None:
    with run_sandbox() as sandbox, make_client(sandbox, timeout=20) as client:
        sandbox.faults.force("timeout")
        seen: list[str] = []
        caller = threading.Thread(target=lambda: seen.append(outcome(client, "a")))
        caller.start()
        deadline = time.monotonic() + 5
        while sandbox.state.cuid_for("phone", "a") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        sandbox.stop()
        caller.join(10)

    assert time.monotonic() - started < 3
    assert seen == ["RemoteProtocolError"]


def test_latency_is_added_to_every_call(sandbox: SandboxServer, client: httpx.Client) -> None:
    register(client, "warm-up")
    sandbox.faults.configure(latency_ms=150)
    started = time.monotonic()
    for n in range(3):
        assert register(client, f"v{n}").status_code == 200
    assert time.monotonic() - started >= 0.45
    assert [r.fault for r in sandbox.state.requests()[-3:]] == [None, None, None]


def test_faults_never_touch_the_state_view(sandbox: SandboxServer) -> None:
    sandbox.faults.configure(error_rates={503: 1.0})
    view = httpx.get(sandbox.state_url, auth=sandbox.auth)
    assert view.status_code == 200


def test_faults_hit_only_the_listed_operations(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.configure(error_rates={503: 1.0}, operations=frozenset({"reportEvents"}))

    assert call(client, "reportEvents", {"data": [event(1)]}).status_code == 503
    assert call(client, "getCuids", VALID_BODIES["getCuids"]).status_code == 200


def test_forced_faults_come_first_in_order_then_the_configuration_resumes(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.faults.configure(error_rates={500: 1.0})
    sandbox.faults.force(None, "503", FaultKind.HTML, Fault.error(429))
    assert sandbox.faults.pending == 4

    assert [outcome(client, f"v{n}") for n in range(5)] == ["200", "503", "502", "429", "500"]
    assert sandbox.faults.pending == 0


def test_clear_stops_all_faults(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.configure(error_rates={503: 1.0})
    sandbox.faults.force("drop")
    sandbox.faults.clear()
    assert outcome(client, "a") == "200"


# --- reproducibility ----------------------------------------------------------------------------

MIXED = FaultConfig(
    seed=11,
    error_rates={429: 0.1, 503: 0.1, 500: 0.1},
    malformed_rate=0.2,
    drop_rate=0.1,
    timeout_after_receipt_rate=0.1,
    hang_seconds=0.0,
)


def run_calls(config: FaultConfig, count: int) -> tuple[list[str], list[str | None]]:
    """Outcomes seen by a client, and the faults the sandbox logged, for ``count`` calls."""
    with run_sandbox(faults=config) as sandbox, make_client(sandbox) as client:
        outcomes = [outcome(client, f"v{n}") for n in range(count)]
        faults = [r.fault for r in sandbox.state.requests()]
    return outcomes, faults


def test_the_same_seed_gives_the_same_faults_over_http() -> None:
    first = run_calls(MIXED, 40)
    second = run_calls(MIXED, 40)
    other = run_calls(replace(MIXED, seed=12), 40)

    assert first == second
    assert first[1] != other[1]
    labels = set(first[1])
    assert {"429", "503", "500", "drop", "timeout", None} <= labels
    assert labels & {"html", "truncated"}
    assert {"RemoteProtocolError", "200", "429", "503", "500", "502"} <= set(first[0])


def test_preview_predicts_the_draws_and_configure_restarts_the_sequence() -> None:
    injector = FaultInjector(MIXED)
    predicted = injector.preview(50)
    drawn = [injector.draw("getCuids").fault for _ in range(50)]
    assert drawn == predicted
    injector.configure(MIXED)
    assert [injector.draw("getCuids").fault for _ in range(50)] == predicted


def test_rates_are_honoured_over_many_draws() -> None:
    config = FaultConfig(seed=5, error_rates={503: 0.05, 429: 0.02}, drop_rate=0.03)
    faults = FaultInjector(config).preview(20_000)
    share = {
        label: sum(f is not None and f.label == label for f in faults) / 20_000 for label in ("503", "429")
    }
    share["drop"] = sum(f is not None and f.kind is FaultKind.DROP for f in faults) / 20_000

    assert share == pytest.approx({"503": 0.05, "429": 0.02, "drop": 0.03}, abs=0.006)
    assert sum(f is None for f in faults) / 20_000 == pytest.approx(0.90, abs=0.01)


def test_jitter_is_seeded_too() -> None:
    config = FaultConfig(seed=2, latency_ms=10, latency_jitter_ms=40)
    injector = FaultInjector(config)
    delays = [injector.draw("getCuids").latency_seconds for _ in range(200)]

    assert FaultInjector(config).draw("getCuids").latency_seconds == delays[0]
    assert all(0.010 <= d <= 0.050 for d in delays)
    assert max(delays) - min(delays) > 0.03


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"error_rates": {503: 1.5}}, "from 0 to 1"),
        ({"error_rates": {200: 0.1}}, "400..599"),
        ({"error_rates": {503: 0.6}, "drop_rate": 0.6}, "add up to 1.2"),
        ({"malformed_kinds": ("xml",)}, "xml"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"retry_after_seconds": 4000}, "0..3600"),
        ({"operations": frozenset({"deleteUser"})}, "unknown operations"),
    ],
)
def test_bad_fault_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultConfig(**changes)


def test_faults_parse_from_labels() -> None:
    assert Fault.parse("503") == Fault.error(503)
    assert Fault.parse(" Drop ") == Fault(FaultKind.DROP)
    assert [
        Fault.parse(k).applies_write for k in ("429", "503", "400", "500", "drop", "html", "timeout")
    ] == [
        False,
        False,
        False,
        True,
        False,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse("explode")
    with pytest.raises(ValueError):
        Fault(FaultKind.DROP, 503)
