"""The WSGI and ASGI examples of docs/reporter.md run, and their events reach the sandbox."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth.sandbox import SandboxServer

from .conftest import event, stored_ids

DOC = Path(__file__).resolve().parents[2] / "docs" / "reporter.md"


def example(marker: str, spool: Path) -> dict[str, Any]:
    """Run the page's Python block that contains ``marker``, with its spool folder moved to ``spool``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    (code,) = [block for block in blocks if marker in block]
    code = re.sub(r'spool="[^"]+"', f"spool={str(spool)!r}", code)  # the ASGI example's folder
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def test_the_wsgi_example_reports_an_event(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JIGUANG_GROWTH_SPOOL", str(tmp_path))
    app = example("def application(environ, start_response)", tmp_path)
    answers: list[str] = []
    body = json.dumps(event(1)).encode()
    environ = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    (reply,) = app["application"](environ, lambda status, headers: answers.append(status))
    bad = b'{"cuid": 1}'
    app["application"](
        {"wsgi.input": io.BytesIO(bad), "CONTENT_LENGTH": "11"}, lambda s, h: answers.append(s)
    )
    assert answers == ["202 Accepted", "400 Bad Request"]
    assert not list(tmp_path.glob("*.spool")) or app["reporter"].spool == tmp_path
    assert app["reporter"].close(timeout=10)
    assert list(stored_ids(sandbox)) == [json.loads(reply)["randomId"]]


def test_the_asgi_example_reports_an_event_and_closes_with_the_lifespan(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JIGUANG_GROWTH_SPOOL", str(tmp_path))
    app = example("async def application(scope, receive, send)", tmp_path)["application"]

    async def run() -> list[dict[str, Any]]:
        lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: list[dict[str, Any]] = []

        async def record(message: dict[str, Any]) -> None:
            sent.append(message)

        task = asyncio.create_task(app({"type": "lifespan"}, lifespan.get, record))
        await lifespan.put({"type": "lifespan.startup"})
        while not sent:
            await asyncio.sleep(0.01)
        request = [{"type": "http.request", "body": json.dumps(event(2)).encode(), "more_body": False}]

        async def receive() -> dict[str, Any]:
            return request.pop(0)

        await app({"type": "http"}, receive, record)
        await lifespan.put({"type": "lifespan.shutdown"})
        await task
        return sent

    sent = asyncio.run(run())
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "http.response.start",
        "http.response.body",
        "lifespan.shutdown.complete",
    ]
    assert list(stored_ids(sandbox)) == [json.loads(sent[2]["body"])["randomId"]]
    assert not list(tmp_path.glob("*.spool"))


def test_the_wsgi_example_is_the_readmes() -> None:
    def block(path: Path) -> str:
        blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
        (code,) = [b for b in blocks if "def application(environ, start_response)" in b]
        return str(code)

    assert block(DOC) == block(DOC.parents[1] / "README.md")
