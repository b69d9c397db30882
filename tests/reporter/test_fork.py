"""A reporter made before fork() works in every child, and never touches what the parent owns.

Real forks: ``os.fork``, ``multiprocessing`` (fork start method) and gunicorn
``--preload -w 2`` serving the README's WSGI service over HTTP, all sending to
a real sandbox, every tracked event checked to arrive exactly once.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiguang_growth import EventReporter, GrowthClient, ReporterClosedError
from jiguang_growth.sandbox import SandboxServer

from .conftest import HERE, event, stored_ids, stored_keys
from .test_spool import segments

README = HERE.parents[1] / "README.md"


def test_a_child_forked_from_a_busy_reporter_re_arms_and_sends_its_own_events_once(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    """Forks while a thread keeps the queue's lock busy: no child hangs, none reuses the parent's IDs."""
    forks = 30
    with EventReporter(client, spool=tmp_path, flush_interval=0.01, close_timeout=600) as reporter:
        parent_ids = [reporter.track(event(n)) for n in range(3)]  # the pool of random IDs is filled now
        stop = threading.Event()

        def busy() -> None:
            n = 100
            while not stop.is_set():
                parent_ids.append(reporter.track(event(n)))
                n += 1

        worker = threading.Thread(target=busy)
        worker.start()
        read, write = os.pipe()
        children = []
        try:
            for c in range(forks):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    os.close(read)
                    code = 1
                    try:
                        ids = [reporter.track(event(5_000_000 + 10 * c + k)) for k in range(3)]
                        delivered = reporter.close(timeout=30)
                        os.write(write, (json.dumps({"ids": ids, "delivered": delivered}) + "\n").encode())
                        code = 0
                    finally:
                        os._exit(code)
                children.append(pid)
                time.sleep(0.01)
        finally:
            stop.set()
            worker.join()
        os.close(write)
        deadline = time.monotonic() + 120
        for pid in children:  # a child stuck on a lock held by a parent thread at fork would never end
            while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
                assert time.monotonic() < deadline, "a forked child hung"
                time.sleep(0.05)
            assert os.waitstatus_to_exitcode(done[1]) == 0
        with os.fdopen(read) as pipe:
            reports = [json.loads(line) for line in pipe]
        assert reporter.flush(60)
    child_ids = [i for r in reports for i in r["ids"]]
    assert all(r["delivered"] for r in reports) and len(child_ids) == 3 * forks
    assert set(child_ids).isdisjoint(parent_ids)  # a child never reuses the parent's pre-drawn randomIds
    stored = stored_ids(sandbox)
    assert set(stored) == set(child_ids) | set(parent_ids)
    assert max(stored.values()) == 1 and max(stored_keys(sandbox).values()) == 1
    assert segments(tmp_path) == []


@pytest.mark.timeout(180)
@pytest.mark.parametrize("idle", [False, True], ids=["children-track", "children-idle"])
def test_children_leaving_through_atexit_never_touch_the_parents_segment_and_kill_9_loses_nothing(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, idle: bool
) -> None:
    """The parent's segment survives its children's exit hooks; its later events survive its kill -9."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "forker.py"),
            str(tmp_path),
            "--children",
            "3",
            *(["--idle"] if idle else []),
        ],
        env={**os.environ, **sandbox.env()},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ids: list[str] = []
    started = time.monotonic()
    for line in process.stdout:
        if line.strip() == "children done":
            children_took = time.monotonic() - started
            sandbox.faults.configure(latency_ms=5000)  # what the parent tracks now stays in its segment
            continue
        if line.strip() == "tracked":
            break
        ids.append(line.strip())
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert children_took < 300  # close_timeout is 600 s: no child waited for it
    sandbox.faults.configure(latency_ms=0)
    with EventReporter(client, spool=tmp_path) as reporter:
        assert reporter.flush(60)
        assert reporter.stats.adopted == 10  # the parent's 10 events after the fork, from its segment
    stored = stored_ids(sandbox)
    assert len(ids) == 5 + (0 if idle else 3) + 10
    assert set(stored) == set(ids) and max(stored.values()) == 1
    assert segments(tmp_path) == []


def _pool_child(reporter: EventReporter, first: int, out: Any) -> None:
    out.put([reporter.track(event(first + k)) for k in range(20)])  # no flush, no close: exit does it


@pytest.mark.timeout(180)
def test_multiprocessing_children_with_the_fork_start_method_deliver_everything_once(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    context = multiprocessing.get_context("fork")
    with EventReporter(client, spool=tmp_path, flush_interval=5) as reporter:
        parent = [reporter.track(event(n)) for n in range(5)]
        out = context.Queue()
        processes = [
            context.Process(target=_pool_child, args=(reporter, 1000 * (c + 1), out)) for c in range(3)
        ]
        for process in processes:
            process.start()
        child_ids = [i for _ in processes for i in out.get(timeout=60)]
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
        assert reporter.flush(30)
    stored = stored_ids(sandbox)
    assert set(stored) == set(parent) | set(child_ids) and len(stored) == 65
    assert max(stored.values()) == 1
    # each child flushed at its exit (multiprocessing ends it with os._exit, past atexit)
    assert segments(tmp_path) == []


def readme_service() -> str:
    """The README's WSGI service, as the README shows it."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    (code,) = [block for block in blocks if "def application(environ, start_response)" in block]
    return str(code)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ASGI_SERVICE = """
import json

from jiguang_growth import AsyncEventReporter, AsyncGrowthClient

reporter = AsyncEventReporter(AsyncGrowthClient(), spool="spool")  # at import, outside any loop


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await reporter.close(timeout=30)
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        event_id = reporter.track(json.loads(body))
        status, answer = 202, {"randomId": event_id}
    except ValueError as error:
        status, answer = 400, {"error": str(error)}
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(answer).encode()})
"""


def serve_and_post(
    app: Path, service: str, env: dict[str, str], *options: str, events: int
) -> tuple[list[str], list[int]]:
    """Serve ``service`` (``app/service.py``) with gunicorn --preload -w 2; post events and two bad bodies.

    Returns the randomIds and the bad bodies' statuses once gunicorn has stopped (SIGTERM: every
    worker closes its reporter on the way out).
    """
    app.mkdir()
    (app / "service.py").write_text(service, encoding="utf-8")
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "--preload",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        *options,
        "service:application",
    ]
    server = subprocess.Popen(
        command, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ids: list[str] = []
    bad: list[int] = []
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(url, content=b"{not json", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.1)
        with httpx.Client(timeout=10) as http:
            for n in range(events):
                answer = http.post(url, content=json.dumps(event(n)))
                assert answer.status_code == 202, answer.text
                ids.append(answer.json()["randomId"])
            for body in (b"{not json", json.dumps({"cuid": 1}).encode()):
                answer = http.post(url, content=body)
                assert answer.headers["content-type"] == "application/json"
                bad.append(answer.status_code)
                if answer.status_code == 400:
                    assert answer.json()["error"]
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=120)
    assert server.returncode == 0, err
    assert "Traceback" not in err, err
    return ids, bad


@pytest.mark.timeout(240)
def test_the_readme_wsgi_service_under_gunicorn_preload_delivers_every_event_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    state = tmp_path / "state"  # the example's default spool folder, under $XDG_STATE_HOME
    env = {**os.environ, **sandbox.env(), "XDG_STATE_HOME": str(state)}
    env.pop("JIGUANG_GROWTH_SPOOL", None)
    ids, bad = serve_and_post(tmp_path / "app", readme_service(), env, events=200)
    assert bad == [400, 400]  # not JSON; an invalid event (RequestValidationError)
    stored = stored_ids(sandbox)
    assert set(stored) == set(ids) and len(ids) == 200 and max(stored.values()) == 1
    assert segments(state / "myapp" / "growth-spool") == []


@pytest.mark.timeout(240)
def test_an_async_reporter_made_at_import_works_in_gunicorn_preload_uvicorn_workers(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    env = {**os.environ, **sandbox.env()}
    ids, bad = serve_and_post(app, ASGI_SERVICE, env, "-k", "uvicorn.workers.UvicornWorker", events=100)
    assert bad == [400, 400] and len(ids) == 100
    stored = stored_ids(sandbox)
    assert set(stored) == set(ids) and max(stored.values()) == 1 and segments(app / "spool") == []


def test_an_async_reporter_made_before_fork_sends_from_the_childs_own_loop(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    from jiguang_growth import AsyncEventReporter, AsyncGrowthClient

    client = AsyncGrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url)
    reporter = AsyncEventReporter(client, spool=tmp_path)  # no loop yet: made at import, as in an ASGI app

    async def send(first: int) -> tuple[list[str | None], bool]:
        ids = [reporter.track(event(first + k)) for k in range(10)]
        return ids, await reporter.close(timeout=30)

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            ids, delivered = asyncio.run(send(100))
            os.write(write, json.dumps({"ids": ids, "delivered": delivered}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with os.fdopen(read) as pipe:
        child = json.loads(pipe.read())
    parent_ids, delivered = asyncio.run(send(0))
    assert child["delivered"] and delivered
    stored = stored_ids(sandbox)
    assert set(stored) == set(child["ids"]) | set(parent_ids) and len(stored) == 20
    assert max(stored.values()) == 1 and segments(tmp_path) == []


def test_a_reporter_on_your_own_http_client_refuses_clearly_in_a_forked_child(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with (
        httpx.Client() as http,
        GrowthClient(
            sandbox.project_id, sandbox.project_secret, sandbox.base_url, http_client=http
        ) as client,
        EventReporter(client, spool=tmp_path) as reporter,
    ):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                reporter.track(event(1))
            except ReporterClosedError as error:
                os.write(write, str(error).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(read) as pipe:
            message = pipe.read()
        assert os.waitstatus_to_exitcode(status) == 0
        assert "before fork()" in message and "http_client" in message
        assert reporter.track(event(2)) is not None and reporter.flush(10)  # the parent goes on
    assert len(stored_ids(sandbox)) == 1 and segments(tmp_path) == []
