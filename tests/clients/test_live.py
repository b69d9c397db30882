"""Each generated client calls all four operations on the sandbox over loopback.

The stripe-mock pattern: one local mock, every language's client against it. Each client sends
the spec's documented request examples with HTTP Basic auth and reads ``code`` 0, then reads a
400 validation envelope with its ``data`` and a 401 with its ``WWW-Authenticate`` challenge (where
the generated client exposes headers at all: not Rust's), each into the generated models (the
error envelope into the generated ``Envelope``).

The tolerant reader: the same calls through a proxy that adds fields the spec does not name to
every answer (a vendor adding a request ID) must decode to the same ``code``, ``msg`` and error
``data``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import SandboxServer

from .conftest import RUNNABLE, VENDOR_FIELDS, clients, run_check

OPERATIONS = sorted(_spec.operations())
CALLS = (*OPERATIONS, "failure", "unauthorized")


def _live(language: str, api_url: str, sandbox: SandboxServer, examples_file: Any) -> dict[str, Any]:
    user, password = sandbox.auth
    # OpenAPI Generator's Go uses the spec's own sandbox server entry and fills in its port variable.
    target = str(urlsplit(api_url).port) if language == "go" else api_url
    result: dict[str, Any] = run_check(language, "live", str(examples_file), target, user, password)
    return result


def _check(language: str, result: dict[str, Any], sandbox: SandboxServer, *, added: bool) -> None:
    """The same outcome with or without added fields; ``added``: the models kept the added ones."""
    for operation in OPERATIONS:
        answer = result[operation]
        assert answer.get("error") is None, f"{language} {operation}: {answer}"
        assert (answer["status"], answer["code"]) == (200, 0), f"{language} {operation}: {answer}"
        assert isinstance(answer["msg"], str) and answer["msg"], f"{language} {operation}: no msg: {answer}"
    assert isinstance(result["getCuids"]["cuid"], int), (
        f"{language} getCuids read no CUID: {result['getCuids']}"
    )
    failure = result["failure"]
    assert failure.get("error") is None, f"{language} failure: {failure}"
    assert failure["status"] == 400 and failure["code"] not in (0, None), f"{language} failure: {failure}"
    assert "Bad-Name" in failure["msg"] or "eventName" in failure["msg"], f"{language} failure: {failure}"
    data = {
        "field": "body.data[0].eventName",
        "rule": "pattern",
        **({"vendorNote": "added"} if added else {}),
    }
    assert failure["data"] == data, f"{language}: {failure}"
    denied = result["unauthorized"]
    assert denied.get("error") is None, f"{language} 401: {denied}"
    assert denied["status"] == 401 and denied["code"] not in (0, None), f"{language} 401: {denied}"
    if language in clients.HIDES_RESPONSE_HEADERS:  # the matrix says so; this fails when it changes
        assert "www_authenticate" not in denied, f"{language} now exposes headers: {denied}"
    else:
        assert denied["www_authenticate"].startswith("Basic "), f"{language} 401: {denied}"
    assert len(sandbox.state.events()) == 2, (
        f"{language}: the sandbox stored {len(sandbox.state.events())} events"
    )
    kept = language in clients.KEEPS_UNNAMED_FIELDS
    for call in CALLS:
        expected = (
            {*(["data"] if "data" in result[call] else []), *(VENDOR_FIELDS if added else [])}
            if kept
            else set()
        )
        assert result[call]["extra"] == sorted(expected), f"{language} {call}: fields kept: {result[call]}"


@pytest.mark.parametrize("language", RUNNABLE)
def test_every_operation_and_two_failures_against_the_sandbox(
    language: str, growth_sandbox: SandboxServer, examples_file: Any
) -> None:
    result = _live(language, growth_sandbox.api_url, growth_sandbox, examples_file)
    _check(language, result, growth_sandbox, added=False)


@pytest.mark.parametrize("language", RUNNABLE)
def test_answers_with_fields_the_spec_does_not_name_still_decode(
    language: str, growth_sandbox: SandboxServer, vendor_extended: str, examples_file: Any
) -> None:
    result = _live(language, vendor_extended, growth_sandbox, examples_file)
    _check(language, result, growth_sandbox, added=True)
