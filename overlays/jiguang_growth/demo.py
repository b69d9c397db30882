"""Every operation through GrowthClient, against a local sandbox: ``python -m jiguang_growth.demo``.

This is the last step of ``make demo``. It starts a sandbox on a free
127.0.0.1 port, points the standard environment variables
(``JIGUANG_GROWTH_BASE_URL``, ``JIGUANG_PROJECT_ID``,
``JIGUANG_PROJECT_SECRET``) at it, and then uses the client exactly as
against the real API: ``GrowthClient()`` reads its settings from those
variables. It prints each call and its typed result, shows two typed errors
(one raised before sending, one answered by the server), checks what the
sandbox stored, and stops the sandbox. The exit status is 0 only when every
step gave the answer it should; anything else prints the reason and exits 1.

Needs the ``sandbox`` extra (``pip install 'jiguang-growth[sandbox]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from . import _spec
from ._client import GrowthClient
from ._config import ENV_PROJECT_SECRET
from ._exceptions import BadRequestError, GrowthError, RequestValidationError
from ._params import EventParam, UserChannelsParam

if TYPE_CHECKING:
    from .sandbox import SandboxServer

__all__ = ["DemoError", "main"]

T = TypeVar("T")

PHONES = ["18012345678", "18087654321"]
APP_KEY = "96441e4d73207a6517abfbbc"
ITIME = 1654076420772
ATTRIBUTES: dict[str, Any] = {"user_level": 3, "nickname": "小明", "total_spend": 12.5}
CHANNEL_ID = 210


class DemoError(Exception):
    """A step did not give the answer it should."""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoError(what)


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step = 0

    def line(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def field(self, label: str, text: str) -> None:
        self.line(f"   {label:<8} {text}")

    def operation(self, operation_id: str) -> None:
        self.step += 1
        op = _spec.operation(operation_id)
        self.line()
        self.line(f"{self.step}. {operation_id}  {op.method} {op.full_path}")


def _call(printer: _Printer, sent: str, action: Callable[[], T]) -> T:
    printer.field("sent", sent)
    try:
        return action()
    except GrowthError as error:
        raise DemoError(f"{type(error).__name__}: {error}") from error


def run(client: GrowthClient, printer: _Printer) -> dict[str, Any]:
    """Call every operation once and show two typed errors; return what should now be stored."""
    printer.operation("getCuids")
    cuids = _call(
        printer,
        f"client.get_cuids({_json('phone')}, {_json(PHONES)})",
        lambda: client.get_cuids("phone", PHONES),
    )
    for item in cuids:
        printer.field("result", f"{item!r}  ok={item.ok}")
    _expect([item.identity_value for item in cuids] == PHONES, "get_cuids: one result per value, in order")
    _expect(all(item.ok for item in cuids), "get_cuids: every value should get a CUID")
    cuid = cuids[0].cuid
    assert isinstance(cuid, int)  # item.ok says so

    printer.operation("reportEvents")
    events: list[EventParam] = [
        {"cuid": cuid, "eventName": "open_app", "itime": ITIME, "properties": {"screen": "home"}}
    ]
    reported = _call(
        printer,
        f"client.report_events({_json(events)}, app_key={_json(APP_KEY)})",
        lambda: client.report_events(events, app_key=APP_KEY),
    )
    printer.field("result", f"{type(reported).__name__} {_json(reported.to_dict())}")
    printer.field("note", "the client gave the event a randomId, so a retried call cannot count it twice")
    _expect(reported.to_dict().get("accepted") == 1, "report_events: the event should be accepted")

    printer.operation("setUserAttributes")
    attributes = _call(
        printer,
        f"client.set_user_attributes({cuid}, {_json(ATTRIBUTES)})",
        lambda: client.set_user_attributes(cuid, ATTRIBUTES),
    )
    printer.field(
        "result", f"{type(attributes).__name__} {_json(attributes.to_dict())} (the answer has no data)"
    )

    printer.operation("setUserChannels")
    channels: list[UserChannelsParam] = [
        {"cuid": cuid, "channels": [{"id": CHANNEL_ID, "channelValues": {"默认联系": PHONES[0]}}]}
    ]
    stored_channels = _call(
        printer, f"client.set_user_channels({_json(channels)})", lambda: client.set_user_channels(channels)
    )
    printer.field("result", f"{type(stored_channels).__name__} {_json(stored_channels.to_dict())}")

    printer.step += 1
    printer.line()
    printer.line(f"{printer.step}. typed errors")
    bad_event: EventParam = {"cuid": cuid, "eventName": "Open App", "itime": ITIME}
    printer.field("sent", f"client.report_events([{_json(bad_event)}])")
    try:
        client.report_events([bad_event])
    except RequestValidationError as error:
        printer.field("raised", f"RequestValidationError (before sending): {error}")
        printer.field("", f"field={error.field!r} rule={error.rule!r}")
        _expect(error.rule == "pattern", f"expected the pattern rule to fail, got {error.rule!r}")
    else:
        raise DemoError("an event name with a space and capitals should be refused before sending")

    unknown = {"favourite_colour": "blue"}
    printer.field("sent", f"client.set_user_attributes({cuid}, {_json(unknown)})")
    try:
        client.set_user_attributes(cuid, unknown)
    except BadRequestError as error:
        printer.field("raised", f"{type(error).__name__} (answered by the server): {error}")
        printer.field("", f"status_code={error.status_code} code={error.code} msg={error.msg!r}")
        printer.field("note", "the sandbox knows only the attributes of its settings, like the console")
        _expect(error.status_code == 400 and error.code not in (None, 0), "expected a 400 with a code")
    except GrowthError as error:
        raise DemoError(f"expected BadRequestError, got {type(error).__name__}: {error}") from error
    else:
        raise DemoError("an attribute the sandbox does not define should be refused")

    return {
        "cuid": cuid,
        "cuids": {item.identity_value: item.cuid for item in cuids},
        "events": events,
        "channels": {CHANNEL_ID: channels[0]["channels"][0]["channelValues"]},
    }


def _check_stored(sandbox: SandboxServer, expected: dict[str, Any], printer: _Printer) -> None:
    """What the sandbox's state view shows after the calls."""
    cuid = expected["cuid"]
    events = sandbox.state.events()
    attributes = sandbox.state.attributes(cuid)
    channels = sandbox.state.channels(cuid)
    printer.line()
    printer.line("stored in the sandbox (its state view)")
    printer.field("events", _json([{k: e[k] for k in ("cuid", "eventName", "randomId")} for e in events]))
    printer.field("attrs", f"{cuid}: {_json(attributes)}")
    printer.field("channels", f"{cuid}: {_json(channels)}")
    for value, expected_cuid in expected["cuids"].items():
        _expect(
            sandbox.state.cuid_for("phone", value) == expected_cuid, f"the sandbox lost the CUID of {value}"
        )
    _expect(len(events) == 1 and events[0]["randomId"], "the sandbox should hold one event with a randomId")
    _expect(attributes == ATTRIBUTES, f"the sandbox should hold {ATTRIBUTES}, not {attributes}")
    _expect(
        channels == expected["channels"], f"the sandbox should hold {expected['channels']}, not {channels}"
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jiguang_growth.demo",
        description="Run every Growth API operation through GrowthClient against a local sandbox.",
    )
    parser.add_argument("--port", type=int, default=0, help="sandbox port on 127.0.0.1 (default: a free one)")
    options = parser.parse_args(argv)
    printer = _Printer(out if out is not None else sys.stdout)
    try:
        from .sandbox import run_sandbox  # noqa: PLC0415 - needs the sandbox extra

        with run_sandbox(port=options.port) as sandbox:
            # The one sandbox-specific step: the standard variables, set as you would for the real API.
            os.environ.update(sandbox.env())
            shown = {k: ("***" if k == ENV_PROJECT_SECRET else v) for k, v in sandbox.env().items()}
            printer.line("jiguang-growth demo: every operation through GrowthClient, against a local sandbox")
            printer.field("sandbox", f"{sandbox.api_url} (started for this demo)")
            printer.field(
                "client", "GrowthClient(), settings from " + " ".join(f"{k}={v}" for k, v in shown.items())
            )
            with GrowthClient() as client:
                expected = run(client, printer)
            _check_stored(sandbox, expected, printer)
        printer.line()
        printer.line("sandbox stopped; demo OK")
    # RuntimeError includes the sandbox's start errors, e.g. PortInUseError for a busy --port.
    except (DemoError, GrowthError, ImportError, OSError, RuntimeError) as error:
        printer.line()
        printer.line(f"demo FAILED: {type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
