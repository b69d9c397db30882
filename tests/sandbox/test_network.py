"""The sandbox's network model: a delay on the way in (before the limiter counts the call), one
on the way out, each with seeded jitter; set from the configuration and the command line."""

from __future__ import annotations

import argparse
import threading
import time

import httpx
import pytest

from jiguang_growth.sandbox import NetworkConfig, SandboxConfig, run_sandbox
from jiguang_growth.sandbox import _cli as sandbox_cli
from jiguang_growth.sandbox._network import NetworkModel

from .conftest import VALID_BODIES, call, make_client


def test_with_a_request_path_delay_the_limiter_counts_the_arrival_late() -> None:
    """A call on its way in has not been counted yet: a call arriving meanwhile takes the slot."""
    network = NetworkConfig(request_delay_ms=600)
    with run_sandbox(qps_limit=1, network=network) as sandbox, make_client(sandbox) as client:
        answers: list[httpx.Response] = []
        sent = threading.Thread(
            target=lambda: answers.append(call(client, "getCuids", VALID_BODIES["getCuids"]))
        )
        sent.start()
        time.sleep(0.2)  # the call is still on its way: the limiter has not seen it
        assert sandbox.app.limiter.acquire("getCuids") is None  # another arrival takes the only slot
        sent.join()
    assert answers[0].status_code == 429  # the delayed call arrived second and was refused


def test_processing_latency_comes_after_the_limiter_as_before() -> None:
    """``latency_ms`` (kept as it was) is counted at once: the other arrival is the one refused."""
    with run_sandbox(qps_limit=1, faults={"latency_ms": 600}) as sandbox, make_client(sandbox) as client:
        answers: list[httpx.Response] = []
        sent = threading.Thread(
            target=lambda: answers.append(call(client, "getCuids", VALID_BODIES["getCuids"]))
        )
        sent.start()
        time.sleep(0.2)
        assert sandbox.app.limiter.acquire("getCuids") is not None
        sent.join()
    assert answers[0].status_code == 200


def test_the_answer_takes_both_delays_and_429s_travel_too() -> None:
    network = NetworkConfig(request_delay_ms=150, response_delay_ms=250)
    with run_sandbox(qps_limit=1, network=network) as sandbox, make_client(sandbox) as client:
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            status = call(client, "getCuids", VALID_BODIES["getCuids"]).status_code
            timings.append((status, time.perf_counter() - started))
    assert [status for status, _ in timings] == [200, 429]
    assert all(seconds >= 0.4 for _, seconds in timings)


def test_jitter_is_seeded_independent_per_direction_within_bounds_and_never_negative() -> None:
    config = NetworkConfig(request_delay_ms=100, request_jitter_ms=25, response_delay_ms=10,
                           response_jitter_ms=40, seed=7)  # fmt: skip
    first, again = NetworkModel(config), NetworkModel(config)
    ins = [first.request_delay() for _ in range(2000)]
    outs = [first.response_delay() for _ in range(2000)]
    assert ins == [again.request_delay() for _ in range(2000)]
    assert 0.075 <= min(ins) < 0.077 and 0.123 < max(ins) <= 0.125
    assert min(outs) == 0.0 and 0.049 < max(outs) <= 0.05  # 10 ± 40 ms, cut at 0
    other = NetworkModel(NetworkConfig(request_delay_ms=100, request_jitter_ms=25, seed=8))
    assert [other.request_delay() for _ in range(20)] != ins[:20]
    assert NetworkModel().request_delay() == 0.0


def test_round_trip_shorthand_splits_half_each_way() -> None:
    assert NetworkConfig.round_trip(200, 50, seed=3) == NetworkConfig(100, 25, 100, 25, 3)


@pytest.mark.parametrize(
    "settings",
    [{"request_delay_ms": -1}, {"response_jitter_ms": "5"}, {"request_delay_ms": True}, {"seed": 1.5}],
)
def test_bad_network_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NetworkConfig.from_dict(settings)


def test_the_configuration_file_section_and_unknown_keys() -> None:
    config = SandboxConfig.from_dict({"network": {"request_delay_ms": 40, "response_jitter_ms": 5}})
    assert config.network == NetworkConfig(request_delay_ms=40, response_jitter_ms=5)
    with pytest.raises(ValueError, match="unknown network settings"):
        SandboxConfig.from_dict({"network": {"rtt": 40}})


def parse(*argv: str) -> SandboxConfig:
    parser = argparse.ArgumentParser()
    sandbox_cli.SANDBOX_COMMAND.add_arguments(parser)
    return sandbox_cli.sandbox_config(parser.parse_args(list(argv)))


def test_command_line_options_set_the_network_and_the_limiter() -> None:
    config = parse("--rtt-ms", "200", "--rtt-jitter-ms", "50", "--seed", "4", "--limiter", "fixed")
    assert config.network == NetworkConfig(100, 25, 100, 25, seed=4)
    assert config.faults.seed == 4
    assert config.limiter == "fixed"
    one_way = parse("--rtt-ms", "200", "--response-delay-ms", "0", "--request-jitter-ms", "10")
    assert one_way.network == NetworkConfig(100, 10, 0, 0)  # per-direction options win over --rtt-ms
    assert parse().network == NetworkConfig()


# --- the cost of a new connection ----------------------------------------------------------------


def test_a_new_connection_costs_its_round_trips_drawn_like_the_others() -> None:
    config = NetworkConfig(request_delay_ms=100, request_jitter_ms=25, response_delay_ms=90,
                           response_jitter_ms=20, seed=5, connect_round_trips=2)  # fmt: skip
    model, twin = NetworkModel(config), NetworkModel(config)
    expected = sum(twin.request_delay() + twin.response_delay() for _ in range(2))
    assert model.connect_delay() == pytest.approx(expected)
    assert 2 * (0.075 + 0.070) <= expected <= 2 * (0.125 + 0.110)
    assert NetworkModel(NetworkConfig(request_delay_ms=100)).connect_delay() == 0.0  # none by default


def test_only_the_first_call_of_a_connection_pays_for_it_and_the_state_view_counts_connections() -> None:
    network = NetworkConfig(request_delay_ms=1, response_delay_ms=1, connect_round_trips=2)
    with run_sandbox(qps_limit=1000, network=network) as sandbox:
        connections = sandbox.app.connections
        with make_client(sandbox) as kept_alive:
            for _ in range(5):
                assert call(kept_alive, "getCuids", VALID_BODIES["getCuids"]).status_code == 200
        assert (connections.opened, connections.handshakes) == (1, 1)  # four kept-alive calls paid none
        for _ in range(3):  # a new connection each: each first call pays
            with make_client(sandbox) as fresh:
                assert call(fresh, "getCuids", VALID_BODIES["getCuids"]).status_code == 200
        assert (connections.opened, connections.handshakes) == (4, 4)
        with make_client(sandbox, headers={"Connection": "close"}) as closing:
            for _ in range(2):
                assert call(closing, "getCuids", VALID_BODIES["getCuids"]).status_code == 200
        view = httpx.get(sandbox.state_url, auth=sandbox.auth, timeout=10).json()["data"]["connections"]
    assert view["opened"] == 7 and view["handshakes"] == 6  # and the view's own connection (no call)
    assert view["open"] == 1  # the view's own, while it is answered


def test_the_handshakes_come_before_the_limiter_counts_the_call() -> None:
    """A fresh connection's first call is still on its way (handshaking) when another arrives."""
    network = NetworkConfig(request_delay_ms=150, response_delay_ms=150, connect_round_trips=2)
    with run_sandbox(qps_limit=1, network=network) as sandbox, make_client(sandbox) as client:
        answers: list[httpx.Response] = []
        sent = threading.Thread(
            target=lambda: answers.append(call(client, "getCuids", VALID_BODIES["getCuids"]))
        )
        sent.start()
        while not sandbox.app.connections.handshakes:  # the call reached the app and is handshaking
            time.sleep(0.01)
        assert sandbox.app.limiter.acquire("getCuids") is None  # not counted yet: the slot is free
        sent.join()
    assert answers[0].status_code == 429


def test_connect_round_trips_from_the_command_line_and_the_file_and_bad_values() -> None:
    config = parse("--rtt-ms", "200", "--connect-rtts", "2")
    assert config.network == NetworkConfig(100, 0, 100, 0, connect_round_trips=2)
    from_file = SandboxConfig.from_dict({"network": {"connect_round_trips": 3}})
    assert from_file.network.connect_round_trips == 3
    for bad in (-1, 1.5, True, 11):
        with pytest.raises(ValueError, match="connect_round_trips"):
            NetworkConfig(connect_round_trips=bad)  # type: ignore[arg-type]
