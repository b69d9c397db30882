"""The four operations' answers and what they do to the sandbox's state."""

from __future__ import annotations

import httpx
import pytest

from jiguang_growth.sandbox import SandboxServer
from jiguang_growth.sandbox._config import DEFAULT_FIRST_CUID

from .conftest import VALID_BODIES, assert_envelope, call, event

# --- reportEvents -------------------------------------------------------------------------------


def test_report_events_stores_events_and_answers_the_envelope(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    body = {
        "appKey": "96441e4d73207a6517abfbbc",
        "data": [
            event(1, properties={"property_a": "a", "property_l": ["test1", "20231025"]}),
            event(2, cuid=10000091199, eventName="fllow_wechat"),
        ],
    }
    response = call(client, "reportEvents", body)

    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "success", "data": {"accepted": 2, "duplicates": 0}}
    events = sandbox.state.events()
    assert [(e["seq"], e["cuid"], e["eventName"], e["randomId"]) for e in events] == [
        (1, 10000091198, "open_app", "ev-1"),
        (2, 10000091199, "fllow_wechat", "ev-2"),
    ]
    assert events[0]["properties"] == {"property_a": "a", "property_l": ["test1", "20231025"]}
    assert events[1]["properties"] == {}
    assert {e["appKey"] for e in events} == {"96441e4d73207a6517abfbbc"}


def test_events_are_deduplicated_by_random_id_across_and_within_requests(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    first = call(client, "reportEvents", {"data": [event(1), event(2)]})
    again = call(client, "reportEvents", {"data": [event(2), event(3), event(3)]})

    assert first.json()["data"] == {"accepted": 2, "duplicates": 0}
    assert again.json()["data"] == {"accepted": 1, "duplicates": 2}
    snapshot = sandbox.state.snapshot()
    assert [e["randomId"] for e in snapshot.events] == ["ev-1", "ev-2", "ev-3"]
    assert snapshot.duplicate_events == 2


def test_events_without_random_id_are_always_stored(sandbox: SandboxServer, client: httpx.Client) -> None:
    body = {"data": [event(randomId=None)]}
    call(client, "reportEvents", body)
    call(client, "reportEvents", body)

    events = sandbox.state.events()
    assert len(events) == 2
    assert [e["randomId"] for e in events] == [None, None]


@pytest.mark.growth_sandbox(event_names=["open_app"])
def test_unknown_event_names_reject_the_whole_batch_when_event_names_are_configured(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = call(client, "reportEvents", {"data": [event(1), event(2, eventName="not_created")]})

    payload = assert_envelope(response, 400, 40005)
    assert "body.data[1].eventName" in payload["msg"]
    assert sandbox.state.events() == []
    assert call(client, "reportEvents", {"data": [event(3)]}).json()["code"] == 0


# --- getCuids -------------------------------------------------------------------------------------


def test_get_cuids_creates_cuids_in_order_and_keeps_the_mapping(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    first = call(client, "getCuids", {"identityName": "phone", "identityValues": ["a", "b", "a"]})
    second = call(client, "getCuids", {"identityName": "phone", "identityValues": ["c", "b"]})

    assert first.json() == {
        "code": 0,
        "msg": "success",
        "data": [
            {"identityValues": "a", "cuid": DEFAULT_FIRST_CUID, "errorCode": 0},
            {"identityValues": "b", "cuid": DEFAULT_FIRST_CUID + 1, "errorCode": 0},
            {"identityValues": "a", "cuid": DEFAULT_FIRST_CUID, "errorCode": 0},
        ],
    }
    assert [(i["identityValues"], i["cuid"]) for i in second.json()["data"]] == [
        ("c", DEFAULT_FIRST_CUID + 2),
        ("b", DEFAULT_FIRST_CUID + 1),
    ]
    assert sandbox.state.cuid_for("phone", "c") == DEFAULT_FIRST_CUID + 2
    assert sandbox.state.snapshot().identities == {
        "phone": {"a": DEFAULT_FIRST_CUID, "b": DEFAULT_FIRST_CUID + 1, "c": DEFAULT_FIRST_CUID + 2}
    }


@pytest.mark.growth_sandbox(first_cuid=500)
def test_each_identity_name_has_its_own_values_and_the_counter_start_is_configurable(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    phone = call(client, "getCuids", {"identityName": "phone", "identityValues": ["x"]}).json()
    login = call(client, "getCuids", {"identityName": "login_id", "identityValues": ["x"]}).json()

    assert phone["data"][0]["cuid"] == 500
    assert login["data"][0]["cuid"] == 501
    assert sandbox.state.cuid_for("login_id", "x") == 501
    assert sandbox.state.cuid_for("email", "x") is None


@pytest.mark.growth_sandbox(identity_names=["phone"])
def test_unknown_identity_names_are_rejected_when_configured(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = call(client, "getCuids", {"identityName": "wechat", "identityValues": ["x"]})

    assert_envelope(response, 400, 40006)
    assert sandbox.state.snapshot().identities == {}


# --- setUserAttributes ----------------------------------------------------------------------------


def put_attributes(client: httpx.Client, cuid: int, data: dict[str, object]) -> httpx.Response:
    return call(client, "setUserAttributes", {"cuid": cuid, "data": data})


def test_set_user_attributes_answers_ok_without_data(sandbox: SandboxServer, client: httpx.Client) -> None:
    response = put_attributes(client, 7, {"user_level": 3, "nickname": "小明"})

    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "ok"}
    assert sandbox.state.attributes(7) == {"user_level": 3, "nickname": "小明"}


def test_overwrite_keeps_the_latest_value(sandbox: SandboxServer, client: httpx.Client) -> None:
    put_attributes(client, 7, {"user_level": 3, "is_vip": 0, "last_login": "2023-12-12 00:56:23"})
    put_attributes(client, 7, {"user_level": 5, "is_vip": 1, "last_login": "2024-01-02 03:04:05"})

    assert sandbox.state.attributes(7) == {
        "user_level": 5,
        "is_vip": 1,
        "last_login": "2024-01-02 03:04:05",
    }


def test_once_keeps_the_first_value(sandbox: SandboxServer, client: httpx.Client) -> None:
    put_attributes(client, 7, {"user_number_once": 46.2, "user_string_once": "refef"})
    later = put_attributes(client, 7, {"user_number_once": 1, "user_string_once": "other"})

    assert later.json()["code"] == 0  # ignored, not refused
    assert sandbox.state.attributes(7) == {"user_number_once": 46.2, "user_string_once": "refef"}


def test_accumulate_adds_numbers_from_zero(sandbox: SandboxServer, client: httpx.Client) -> None:
    for amount in (10, -3, 2.5):
        assert put_attributes(client, 7, {"total_spend": amount}).json()["code"] == 0

    assert sandbox.state.attributes(7) == {"total_spend": 9.5}
    assert sandbox.state.attributes(8) == {}


def test_append_adds_new_list_elements_in_order_without_duplicates(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    put_attributes(client, 7, {"tags": ["A", "B", "C"]})
    put_attributes(client, 7, {"tags": ["C", "D", "D", "A", "E"]})

    assert sandbox.state.attributes(7) == {"tags": ["A", "B", "C", "D", "E"]}


def test_undefined_attributes_are_rejected_and_nothing_of_the_request_is_applied(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = put_attributes(client, 7, {"user_level": 3, "never_created": "x"})

    payload = assert_envelope(response, 400, 40003)
    assert "never_created" in payload["msg"]
    assert sandbox.state.attributes(7) == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("user_level", "3"),  # NUMBER
        ("nickname", 5),  # STRING
        ("is_vip", 2),  # BOOL is 0 or 1
        ("last_login", "2023-02-30 10:00:00"),  # DATETIME: no 30 February
        ("tags", "A"),  # LIST
    ],
)
def test_values_that_do_not_fit_the_configured_type_are_rejected(
    sandbox: SandboxServer, client: httpx.Client, name: str, value: object
) -> None:
    response = put_attributes(client, 7, {name: value})

    payload = assert_envelope(response, 400, 40004)
    assert name in payload["msg"]
    assert sandbox.state.attributes(7) == {}


@pytest.mark.growth_sandbox(strict_attributes=False)
def test_without_strict_attributes_undefined_ones_are_stored_with_overwrite(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    put_attributes(client, 7, {"favourite": ["a"], "tags": ["x"]})
    put_attributes(client, 7, {"favourite": ["b"], "tags": ["y"]})

    assert sandbox.state.attributes(7) == {"favourite": ["b"], "tags": ["x", "y"]}


@pytest.mark.growth_sandbox(attributes={"points": {"type": "NUMBER", "rule": "accumulate"}})
def test_configured_attributes_replace_the_defaults(sandbox: SandboxServer, client: httpx.Client) -> None:
    assert put_attributes(client, 7, {"points": 2}).json()["code"] == 0
    assert put_attributes(client, 7, {"points": 3}).json()["code"] == 0
    assert_envelope(put_attributes(client, 7, {"user_level": 1}), 400, 40003)

    assert sandbox.state.attributes(7) == {"points": 5}


# --- setUserChannels ------------------------------------------------------------------------------


def test_set_user_channels_merges_per_user_channel_and_label(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    first = call(
        client,
        "setUserChannels",
        [
            {
                "cuid": 10362819,
                "channels": [
                    {"id": 210, "channelValues": {"默认联系": "15088888888", "自定义联系": "123@qq.com"}},
                    {"id": 2210, "channelValues": {"默认联系": "15099999999"}},
                ],
            },
            {"cuid": 103629, "channels": [{"id": 219, "channelValues": {"默认联系": "15088888888"}}]},
        ],
    )
    second = call(
        client,
        "setUserChannels",
        [{"cuid": 10362819, "channels": [{"id": 210, "channelValues": {"默认联系": "13800000000"}}]}],
    )

    assert first.json() == {"code": 0, "msg": "success"}
    assert second.json() == {"code": 0, "msg": "success"}
    assert sandbox.state.channels(10362819) == {
        210: {"默认联系": "13800000000", "自定义联系": "123@qq.com"},
        2210: {"默认联系": "15099999999"},
    }
    assert sandbox.state.channels(103629) == {219: {"默认联系": "15088888888"}}


@pytest.mark.growth_sandbox(channel_labels=["默认联系"])
def test_unknown_contact_labels_are_rejected_when_configured(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    body = [{"cuid": 1, "channels": [{"id": 210, "channelValues": {"默认联系": "1", "自定义": "2"}}]}]

    payload = assert_envelope(call(client, "setUserChannels", body), 400, 40007)
    assert "自定义" in payload["msg"]
    assert sandbox.state.channels(1) == {}


# --- inspection -------------------------------------------------------------------------------


def test_snapshots_are_copies(sandbox: SandboxServer, client: httpx.Client) -> None:
    call(client, "reportEvents", {"data": [event(1, properties={"p": "a"})]})
    snapshot = sandbox.state.snapshot()
    snapshot.events[0]["properties"]["p"] = "changed"
    sandbox.state.events()[0]["cuid"] = 1

    assert sandbox.state.events()[0]["properties"] == {"p": "a"}
    assert sandbox.state.events()[0]["cuid"] == 10000091198


def test_the_request_log_records_operation_status_code_and_faults(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    call(client, "getCuids", VALID_BODIES["getCuids"])
    call(client, "getCuids", {"identityName": "phone", "identityValues": []})
    client.get("/user/register")

    records = sandbox.state.requests()
    assert [(r.seq, r.operation, r.method, r.status, r.code, r.fault, r.applied) for r in records] == [
        (1, "getCuids", "POST", 200, 0, None, True),
        (2, "getCuids", "POST", 400, 40002, None, False),
        (3, "getCuids", "GET", 405, 40500, None, False),
    ]
    assert all(r.path == "/smartop/api/v1/user/register" for r in records)


def test_the_state_view_over_http_needs_the_credentials_and_shows_everything(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    call(client, "reportEvents", {"data": [event(1)]})
    call(client, "getCuids", {"identityName": "phone", "identityValues": ["a"]})
    call(client, "setUserAttributes", {"cuid": 9, "data": {"user_level": 1}})
    call(client, "setUserChannels", [{"cuid": 9, "channels": [{"id": 3, "channelValues": {"l": "v"}}]}])

    anonymous = httpx.get(sandbox.state_url)
    view = httpx.get(sandbox.state_url, auth=sandbox.auth)
    wrong_method = httpx.post(sandbox.state_url, auth=sandbox.auth)

    assert_envelope(anonymous, 401, 40100)
    assert_envelope(wrong_method, 405, 40500)
    assert view.status_code == 200
    data = view.json()["data"]
    assert [e["randomId"] for e in data["events"]] == ["ev-1"]
    assert data["identities"] == {"phone": {"a": DEFAULT_FIRST_CUID}}
    assert data["attributes"] == {"9": {"user_level": 1}}
    assert data["channels"] == {"9": {"3": {"l": "v"}}}
    assert data["duplicate_events"] == 0
    # the view itself is not in the request log
    assert [r["operation"] for r in data["requests"]] == [
        "reportEvents",
        "getCuids",
        "setUserAttributes",
        "setUserChannels",
    ]
    connections = data.pop("connections")
    assert data == sandbox.state.snapshot().to_json()
    assert connections["opened"] >= 1 and connections["open"] >= 1  # at least the view's own


def test_reset_forgets_everything(sandbox: SandboxServer, client: httpx.Client) -> None:
    call(client, "getCuids", {"identityName": "phone", "identityValues": ["a"]})
    sandbox.state.reset()

    assert sandbox.state.snapshot().identities == {}
    again = call(client, "getCuids", {"identityName": "phone", "identityValues": ["b"]})
    assert again.json()["data"][0]["cuid"] == DEFAULT_FIRST_CUID


def test_state_writes_from_many_threads_lose_nothing(sandbox: SandboxServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from .conftest import make_client

    def report(worker: int) -> int:
        with make_client(sandbox) as http:
            ids = [event(worker * 1000 + n) for n in range(20)]
            return int(call(http, "reportEvents", {"data": ids}).json()["data"]["accepted"])

    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(report, range(4)))
        readers = [pool.submit(sandbox.state.snapshot) for _ in range(10)]

    assert accepted == 80
    assert all(len(r.result().events) <= 80 for r in readers)
    assert sorted(e["randomId"] for e in sandbox.state.events()) == sorted(
        f"ev-{w * 1000 + n}" for w in range(4) for n in range(20)
    )
