"""Attribute writes the sandbox can always store, serve and answer for, whatever their size.

A NUMBER total must stay a finite 64-bit float (the inspection view must never turn into a 500),
an append de-duplicates in linear time, and a long write or a big state view never stops the
event loop from serving other connections.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from jiguang_growth.sandbox import SandboxServer, SandboxState

from .conftest import VALID_BODIES, assert_envelope, call, make_client

CUID = 10362473
TYPE_CODE = 40004
"""ATTRIBUTE_TYPE_MISMATCH, the code of a value that does not fit its attribute's type."""


def set_attributes(client: httpx.Client, **values: Any) -> httpx.Response:
    return call(client, "setUserAttributes", {"cuid": CUID, "data": values})


def state_view(sandbox: SandboxServer) -> httpx.Response:
    return httpx.get(sandbox.state_url, auth=sandbox.auth, timeout=10)


# --- item 14: totals outside the NUMBER range ------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (1e308, 1e308),  # float overflow: inf
        (-1e308, -1e308),  # -inf
        (1.7e308, 1.7e308),
        (10**308, 10**308),  # exact integers, larger than any 64-bit float
        (10**308, 1e308),  # int + float: inf
    ],
    ids=["float", "negative", "near-max", "int", "int-plus-float"],
)
def test_an_accumulated_total_outside_the_number_range_is_refused_and_the_view_still_works(
    sandbox: SandboxServer, client: httpx.Client, first: float, second: float
) -> None:
    assert set_attributes(client, total_spend=first).json()["code"] == 0

    refused = set_attributes(client, total_spend=second, nickname="kept-out")

    payload = assert_envelope(refused, 400, TYPE_CODE)
    assert payload["msg"].startswith("body.data.total_spend: ")
    assert "64-bit" in payload["msg"]
    assert sandbox.state.attributes(CUID) == {"total_spend": first}  # all or nothing
    view = state_view(sandbox)
    assert view.status_code == 200, view.text
    assert view.json()["data"]["attributes"] == {str(CUID): {"total_spend": first}}


@pytest.mark.parametrize("name", ["total_spend", "user_level"])  # accumulate and overwrite
@pytest.mark.parametrize("value", [10**400, -(10**309)], ids=["1e400", "-1e309"])
def test_a_number_no_64_bit_float_can_hold_is_refused_by_every_rule(
    sandbox: SandboxServer, client: httpx.Client, name: str, value: int
) -> None:
    assert_envelope(set_attributes(client, **{name: value}), 400, TYPE_CODE)

    assert sandbox.state.attributes(CUID) == {}
    assert state_view(sandbox).status_code == 200


def test_totals_inside_the_range_still_add_up_exactly(sandbox: SandboxServer, client: httpx.Client) -> None:
    for cuid, values in ((CUID, (1e308, -1e308)), (CUID + 1, (2**60, 1))):
        for value in values:
            assert call(
                client, "setUserAttributes", {"cuid": cuid, "data": {"total_spend": value}}
            ).json() == {
                "code": 0,
                "msg": "ok",
            }

    assert state_view(sandbox).json()["data"]["attributes"] == {
        str(CUID): {"total_spend": 0.0},
        str(CUID + 1): {"total_spend": 2**60 + 1},  # integers stay exact
    }


# --- item 15: append de-duplicates in linear time, off the event loop ------------------------------


class CountingStr(str):
    """A string that counts how often it is compared for equality."""

    __slots__ = ()
    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingStr.comparisons += 1
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        return str.__hash__(self)


def test_append_compares_each_element_a_bounded_number_of_times() -> None:
    state = SandboxState()
    count = 2_000
    first = [CountingStr(f"t{i}") for i in range(count)]
    second = [CountingStr(f"t{i}") for i in range(count // 2, count + count // 2)]  # half already held

    CountingStr.comparisons = 0
    state.apply("setUserAttributes", {"cuid": CUID, "data": {"tags": first}})
    state.apply("setUserAttributes", {"cuid": CUID, "data": {"tags": second}})
    comparisons = CountingStr.comparisons

    # A list scan per element makes count**2 / 2 comparisons (2,000,000 here); a hash lookup about one.
    assert comparisons <= 4 * count
    assert state.attributes(CUID)["tags"] == [f"t{i}" for i in range(count + count // 2)]


def test_an_append_of_100_000_elements_keeps_the_first_of_each_in_order(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    first = [f"{i:x}" for i in range(100_000)]
    second = [f"{i:x}" for i in range(99_990, 100_010)] + ["186a0", "0"]

    assert set_attributes(client, tags=first).json()["code"] == 0
    assert set_attributes(client, tags=second).json()["code"] == 0

    assert sandbox.state.attributes(CUID)["tags"] == [f"{i:x}" for i in range(100_010)]


class HeldUp(dict[str, Any]):
    """Attribute values whose reading waits for ``release``: a write that holds the state for long."""

    def __init__(self, values: dict[str, Any], entered: threading.Event, release: threading.Event) -> None:
        super().__init__(values)
        self.entered, self.release = entered, release

    def items(self) -> Any:
        if not self.entered.is_set():  # the state's checks read them first, inside its lock
            self.entered.set()
            self.release.wait(10)
        return super().items()


def test_a_long_write_holding_the_state_leaves_other_connections_served(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    original = sandbox.state.apply

    def apply(operation_id: str, body: Any) -> Any:
        if operation_id == "setUserAttributes":
            body = {**body, "data": HeldUp(body["data"], entered, release)}
        return original(operation_id, body)

    def slow_write() -> httpx.Response:
        with make_client(sandbox) as own:
            return set_attributes(own, tags=tags)

    monkeypatch.setattr(sandbox.state, "apply", apply)
    tags = [f"tag-{i:06d}" for i in range(10_000)]  # about 120 KB: a body big enough to leave the loop
    with ThreadPoolExecutor(2) as pool, make_client(sandbox, timeout=5) as other:
        slow = pool.submit(slow_write)
        try:
            assert entered.wait(5)
            # While the write holds the state, the loop still answers what needs no state ...
            invalid = call(other, "getCuids", {"identityName": "phone"})
            unauthorized = httpx.post(sandbox.api_url + "/user/register", json={}, timeout=5)
            # ... and a write that has to wait for the state waits in a worker thread, not on the loop.
            waiting = pool.submit(call, other, "getCuids", VALID_BODIES["getCuids"])
        finally:
            release.set()
        assert_envelope(invalid, 400, 40002)
        assert_envelope(unauthorized, 401, 40100)
        assert waiting.result().json()["code"] == 0
        assert slow.result().json()["code"] == 0
    assert sandbox.state.attributes(CUID) == {"tags": tags}


class SlowToCopy:
    """Stored event properties whose copying for the state view waits for ``release``."""

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        self.entered, self.release = entered, release
        self.copies = 0

    def __deepcopy__(self, memo: Any) -> Any:
        self.copies += 1
        if self.copies == 1:
            return self  # the write's own copy: the state holds this object
        self.entered.set()
        self.release.wait(10)
        return {}


def test_a_long_state_view_leaves_other_connections_and_the_request_log_alone(sandbox: SandboxServer) -> None:
    entered, release = threading.Event(), threading.Event()
    slow = SlowToCopy(entered, release)
    event = {"cuid": CUID, "eventName": "open_app", "itime": 1654076420772, "properties": slow}
    sandbox.state.apply("reportEvents", {"data": [event]})  # straight in: no JSON could hold it
    with ThreadPoolExecutor(1) as pool, make_client(sandbox, timeout=5) as other:
        view = pool.submit(state_view, sandbox)
        try:
            assert entered.wait(5)
            # Answered and logged while the view copies the state (a frozen loop makes these time out).
            invalid = call(other, "getCuids", {"identityName": "phone"})
            unauthorized = httpx.post(sandbox.api_url + "/user/register", json={}, timeout=5)
        finally:
            release.set()
        assert_envelope(invalid, 400, 40002)
        assert_envelope(unauthorized, 401, 40100)
        assert view.result().json()["data"]["events"][0]["properties"] == {}
    assert [record.status for record in sandbox.state.requests()][-2:] == [400, 401]
