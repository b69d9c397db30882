"""``pace="redis://…"``: one schedule of grants shared through a real ``redis-server`` (Debian's,
installed by ``make redis``), started on 127.0.0.1 on a free port and stopped by its PID."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from jiguang_growth import ConfigurationError, GrowthClient, _pacing, bulk
from jiguang_growth._shared_quota import RedisQuota, redact_url
from jiguang_growth.bulk import RecordOutcome
from jiguang_growth.sandbox import run_sandbox

REDIS_SERVER = "redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisProcess:
    """``redis-server`` on 127.0.0.1, without persistence, stopped by its PID."""

    def __init__(self) -> None:
        binary = shutil.which(REDIS_SERVER) or shutil.which(REDIS_SERVER, path="/usr/bin:/usr/sbin")
        if binary is None:
            pytest.fail("redis-server is missing: run `make redis` (make test installs it)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)
        probe.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    server = RedisProcess()
    try:
        yield server
    finally:
        server.stop()


def quota(url: str, project: str) -> RedisQuota:
    return RedisQuota.connect(url, base_url="http://x", project_id=project, name="reportEvents")


def test_pacers_of_several_processes_share_one_schedule(redis_server: RedisProcess) -> None:
    """Four pacers, each with its own connection (as four processes have), grant 100 a second in all."""
    project = f"p{uuid.uuid4().hex[:8]}"
    pacers = [_pacing.Pacer(100, quota=quota(redis_server.url, project)) for _ in range(4)]
    granted: list[list[float]] = [[] for _ in pacers]
    started = time.monotonic()

    def work(index: int) -> None:
        pacer = pacers[index]
        while time.monotonic() - started < 1.5:
            wait = pacer.acquire()
            if wait:
                time.sleep(wait)
                continue
            granted[index].append(time.monotonic())
            pacer.release(0.001)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = sorted(at for grants in granted for at in grants)
    late = [at for at in every if at >= started + 0.5]  # one full second after the start
    alone = 1.0 * pacers[0].rate  # what one pacer alone would grant in that second
    assert len(late) <= alone + 2  # not four times as many
    assert len(late) >= 0.5 * alone
    assert all(len(grants) > 0.1 * len(every) for grants in granted)  # everyone got a share


def test_an_unreachable_redis_at_start_is_a_configuration_error_without_the_password() -> None:
    url = f"redis://pacer:hunter2-secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigurationError) as caught:
        GrowthClient("p1", "secret-12345678", "https://example.test", pace=url)
    message = str(caught.value)
    assert f"redis://pacer:[redacted]@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "hunter2" not in message and "hunter2" not in repr(caught.value)


@pytest.mark.parametrize("pace", ["http://127.0.0.1:6379", "redis-cluster", 3])
def test_pace_is_true_false_or_a_redis_url(pace: Any) -> None:
    with pytest.raises(ConfigurationError, match="pace must be"):
        GrowthClient("p1", "secret-12345678", "https://example.test", pace=pace)


def test_urls_are_shown_with_the_password_redacted() -> None:
    assert redact_url("redis://:pw@h:1/0") == "redis://:[redacted]@h:1/0"
    assert (
        redact_url("rediss://u:pw@h/0?password=pw&db=1")
        == "rediss://u:[redacted]@h/0?password=[redacted]&db=1"
    )
    assert redact_url("redis://token@h") == "redis://[redacted]@h"
    assert redact_url("unix:///run/redis.sock") == "unix:///run/redis.sock"


def test_a_client_with_a_quota_url_paces_through_redis(redis_server: RedisProcess) -> None:
    project = f"p{uuid.uuid4().hex[:8]}"
    client = GrowthClient(project, "secret-12345678", "https://example.test", pace=redis_server.url)
    assert client.paced and client.pace == redis_server.url
    assert client.with_options(max_retries=1).pace == redis_server.url
    assert redis_server.url not in repr(client)


def event(n: int) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n}


def test_a_redis_that_goes_away_mid_run_falls_back_to_local_pacing_logs_once_and_loses_nothing(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[RecordOutcome] = []

    def note(outcome: RecordOutcome) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 500:
            redis_server.stop()  # Redis dies in the middle of the run

    caplog.set_level(logging.WARNING, logger="jiguang_growth")
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as sandbox:
        with GrowthClient(
            sandbox.project_id, sandbox.project_secret, sandbox.base_url, pace=redis_server.url
        ) as client:
            summary = bulk.report_events(client, (event(n) for n in range(3000)), on_outcome=note)
        stored = sandbox.state.events()
    assert redis_server.process.poll() is not None
    assert summary.records == summary.accepted == 3000
    assert len({e["randomId"] for e in stored}) == len(stored) == 3000
    warnings = [r.getMessage() for r in caplog.records if "shared pacing quota" in r.getMessage()]
    assert len(warnings) == 1
    assert redis_server.url.split("//")[1].split("/")[0] in warnings[0]  # it names the server


def test_each_ask_takes_the_next_free_slot_so_none_is_lost_to_a_late_waker(
    redis_server: RedisProcess,
) -> None:
    """The schedule reserves: asking three times at once gives now, one interval and two intervals
    from now, rather than three polls for the same slot that whoever wakes first would win."""
    shared = quota(redis_server.url, f"p{uuid.uuid4().hex[:8]}")
    waits = [shared.reserve(0.2) for _ in range(3)]
    assert waits[0] == 0.0
    assert waits[1] == pytest.approx(0.2, abs=0.05)
    assert waits[2] == pytest.approx(0.4, abs=0.05)


class ScriptedQuota:
    """A quota that reserves one slot ``ahead`` seconds away at each ask, and counts the asks."""

    def __init__(self, ahead: float) -> None:
        self.ahead = ahead
        self.asks = 0

    def reserve(self, interval: float, count: int) -> float | None:
        self.asks += 1
        return self.ahead


def test_a_pacer_takes_its_reserved_slot_when_due_without_asking_again() -> None:
    now = [0.0]
    shared = ScriptedQuota(ahead=0.1)
    pacer = _pacing.Pacer(100, clock=lambda: now[0], quota=shared)
    assert pacer.acquire() == pytest.approx(0.1)
    now[0] = 0.05
    assert pacer.acquire() == pytest.approx(0.05)  # another thread: same slot, no second ask
    assert shared.asks == 1
    now[0] = 0.13  # woken late: the slot is still this process's
    assert pacer.acquire() == 0.0
    assert shared.asks == 1
    assert pacer.in_flight == 1


# --- a schedule that cannot be right is replaced, with a warning ------------------------------


def redis_now_micros(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1_000_000 + int(micros)


def test_a_schedule_an_hour_ahead_of_redis_clock_is_replaced_not_waited_for(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """The Redis host's clock stepped back an hour: the stored slot is an hour ahead of ``TIME``."""
    shared = quota(redis_server.url, f"p{uuid.uuid4().hex[:8]}")
    direct = redis.Redis(host="127.0.0.1", port=redis_server.port)
    direct.set(shared.key, redis_now_micros(direct) + 3600 * 1_000_000)
    caplog.set_level(logging.WARNING, logger="jiguang_growth")
    pacer = _pacing.Pacer(100, quota=shared)
    assert pacer.acquire() == 0.0  # granted now, not in an hour
    stored = int(direct.get(shared.key) or 0)
    assert stored - redis_now_micros(direct) < 1_000_000  # the schedule goes on from Redis's clock
    [warning] = [r.getMessage() for r in caplog.records if "started it afresh" in r.getMessage()]
    assert "3600" in warning and "ahead" in warning and shared.key in warning
    assert shared.reserve(0.01) == pytest.approx(0.01, abs=0.005)  # and is shared again at once
    direct.close()


@pytest.mark.parametrize("bad", ["garbage", "nan", "-"])
def test_an_unreadable_schedule_is_replaced_and_sharing_goes_on(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    shared = quota(redis_server.url, f"p{uuid.uuid4().hex[:8]}")
    direct = redis.Redis(host="127.0.0.1", port=redis_server.port)
    direct.set(shared.key, bad)
    caplog.set_level(logging.WARNING, logger="jiguang_growth")
    pacer = _pacing.Pacer(100, quota=shared)
    assert pacer.acquire() == 0.0
    assert (direct.get(shared.key) or b"").isdigit()  # replaced: sharing is on again
    assert any("not a schedule" in r.getMessage() for r in caplog.records)
    assert not any("failed" in r.getMessage() for r in caplog.records)
    direct.close()


def test_a_schedule_key_of_the_wrong_type_is_replaced(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    shared = quota(redis_server.url, f"p{uuid.uuid4().hex[:8]}")
    direct = redis.Redis(host="127.0.0.1", port=redis_server.port)
    direct.rpush(shared.key, "x")
    caplog.set_level(logging.WARNING, logger="jiguang_growth")
    assert _pacing.Pacer(100, quota=shared).acquire() == 0.0
    assert direct.type(shared.key) == b"string"
    assert any("not a schedule" in r.getMessage() for r in caplog.records)
    direct.close()


def test_no_wait_the_schedule_asks_for_is_longer_than_a_period(redis_server: RedisProcess) -> None:
    """Reservations stand at most a period ahead: a burst of asks never books an hour of slots."""
    shared = quota(redis_server.url, f"p{uuid.uuid4().hex[:8]}")
    waits = [shared.reserve(0.2, 2) for _ in range(6)]
    assert all(w is not None and w <= shared.period for w in waits)


# --- a Redis far away: slots reserved in batches, asked for outside the pacer's lock ------------


class DelayingProxy:
    """A TCP proxy on 127.0.0.1 that holds every chunk ``delay`` seconds each way, in this process."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.delay = delay
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                time.sleep(self.delay)
                sink.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        for sock in self.sockets:
            sock.close()


def script_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval"))


def test_a_redis_20_ms_away_is_asked_once_per_batch_of_grants_not_once_per_grant(
    redis_server: RedisProcess,
) -> None:
    """Redis behind a proxy that adds 10 ms each way. One ask per grant would cap the process at
    one grant per round trip; the pacer reserves a batch of slots per ask (counted by Redis itself)."""
    proxy = DelayingProxy(redis_server.port, 0.01)
    direct = redis.Redis(host="127.0.0.1", port=redis_server.port)
    try:
        shared = quota(f"redis://127.0.0.1:{proxy.port}/0", f"p{uuid.uuid4().hex[:8]}")
        pacer = _pacing.Pacer(100, quota=shared)
        before = script_calls(direct)
        grants = [0]
        lock = threading.Lock()

        def work() -> None:
            while True:
                while (wait := pacer.acquire()) > 0:
                    time.sleep(wait)
                with lock:
                    grants[0] += 1
                    if grants[0] > 120:
                        pacer.release(0.001)
                        return
                pacer.release(0.001)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        asks = script_calls(direct) - before  # the first is refused once (NOSCRIPT) and sent again
        assert asks <= grants[0] / 3  # not one per grant
        assert pacer.quota_asks <= asks <= pacer.quota_asks + 1
    finally:
        proxy.close()
        direct.close()


# --- TLS options of a Redis URL --------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["redis", "unix"])
def test_tls_options_on_a_url_without_tls_are_a_configuration_error(scheme: str) -> None:
    host = "/run/redis.sock" if scheme == "unix" else "127.0.0.1:6379/0"
    url = f"{scheme}://:pw-secret@{host}?ssl_cert_reqs=none&ssl_ca_certs=/etc/ca.pem"
    with pytest.raises(ConfigurationError) as caught:
        GrowthClient("p1", "secret-12345678", "https://example.test", pace=url)
    message = str(caught.value)
    assert "ssl_ca_certs, ssl_cert_reqs are TLS options" in message and "rediss://" in message
    assert "pw-secret" not in message


def test_tls_options_on_a_rediss_url_reach_the_tls_connection() -> None:
    """``rediss://`` takes them: what fails is the connection (nothing listens), not the option."""
    url = f"rediss://127.0.0.1:{free_port()}/0?ssl_cert_reqs=none&ssl_check_hostname=false"
    with pytest.raises(ConfigurationError, match="cannot use the Redis server") as caught:
        GrowthClient(f"p{uuid.uuid4().hex[:8]}", "secret-12345678", "https://example.test", pace=url)
    assert "option" not in str(caught.value)


def test_an_option_redis_py_does_not_know_is_a_configuration_error_naming_it() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0?frobnicate=1"
    with pytest.raises(ConfigurationError, match="'frobnicate' is not one"):
        GrowthClient(f"p{uuid.uuid4().hex[:8]}", "secret-12345678", "https://example.test", pace=url)
