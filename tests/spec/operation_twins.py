"""Run an operation and its copy through the same answers over real sockets; print what happened.

Used by test_adding_an_operation.py, run with the *copied* repository's packages first on
``sys.path``: ``python operation_twins.py ORIGINAL=COPY ...`` (operationIds). For each pair, each
client (sync, async) and each scenario, a small HTTP server on 127.0.0.1 (scripted_server.py)
plays the scenario's answers to the original method and then to the copy's; the output (JSON
on stdout) holds, per call, the requests the server saw and the outcome, with the copy's path
and operationId written as the original's so that the test can compare the two.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from scripted_server import Answer, ScriptedServer, json_answer, scripted_server

from jiguang_growth import AsyncGrowthClient, GrowthClient, GrowthError, _spec
from jiguang_growth_generated.operations import METHOD_NAMES

_json = json_answer

OK = _json(200, {"code": 0, "msg": "ok", "data": {"stored": 2}})
SCENARIOS: dict[str, list[Answer]] = {
    "success": [OK],
    "error envelope": [_json(200, {"code": 40002, "msg": "invalid request: cuid"})],
    "503 then 200": [_json(503, {"code": 503, "msg": "busy"}), OK],
    "429 with Retry-After then 200": [
        _json(429, {"code": 429, "msg": "slow down"}, **{"Retry-After": "0"}),
        OK,
    ],
    "closed without an answer": [None, OK],
    "invalid body": [(200, {"Content-Type": "application/json"}, b"{not json")],
}
"""Each scenario's answers, one per attempt (a call that stops early leaves the rest unused)."""

ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "setUserChannels": (
        [{"cuid": 10362819, "channels": [{"id": 210, "channelValues": {"默认联系": "150"}}]}],
    ),
    "setUserAttributes": (10362473, {"user_level": 3, "nickname": "小明"}),
}
"""Arguments per original operation (its copy gets the same)."""


def outcome(run: Callable[[], Any]) -> dict[str, Any]:
    try:
        result = run()
    except GrowthError as error:
        fields = ("status_code", "code", "request_sent")
        return {"error": type(error).__name__, "message": str(error)} | {
            name: getattr(error, name) for name in fields if hasattr(error, name)
        }
    return {"result": type(result).__name__, "value": result.to_dict()}


def play(server: ScriptedServer, answers: list[Answer], run: Callable[[], Any]) -> dict[str, Any]:
    server.script(answers)
    done = outcome(run)
    return {"outcome": done, "requests": server.requests()}


def call_sync(url: str, operation_id: str, arguments: tuple[Any, ...]) -> Callable[[], Any]:
    def run() -> Any:
        with GrowthClient("100102", "twin-secret-123", url, max_retries=2) as client:
            return getattr(client, METHOD_NAMES[operation_id])(*arguments)

    return run


def call_async(url: str, operation_id: str, arguments: tuple[Any, ...]) -> Callable[[], Any]:
    async def calling() -> Any:
        async with AsyncGrowthClient("100102", "twin-secret-123", url, max_retries=2) as client:
            return await getattr(client, METHOD_NAMES[operation_id])(*arguments)

    return lambda: asyncio.run(calling())


def as_original(text: str, original: str, copy: str) -> str:
    """The copy's operationId and path written as the original's."""
    before, after = _spec.operation(original), _spec.operation(copy)
    return text.replace(after.full_path, before.full_path).replace(copy, original)


def main(pairs: list[str]) -> None:
    report: dict[str, Any] = {}
    with scripted_server(OK) as server:
        for pair in pairs:
            original, copy = pair.split("=")
            for kind, caller in (("sync", call_sync), ("async", call_async)):
                for name, answers in SCENARIOS.items():
                    runs = {
                        role: play(server, answers, caller(server.url, operation_id, ARGUMENTS[original]))
                        for role, operation_id in (("original", original), ("copy", copy))
                    }
                    runs["copy"] = json.loads(as_original(json.dumps(runs["copy"]), original, copy))
                    report[f"{original}/{kind}/{name}"] = runs
    json.dump(report, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
