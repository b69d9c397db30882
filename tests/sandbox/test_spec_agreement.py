"""The sandbox refuses what openapi.yaml forbids, even where draft-7 JSON Schema would not.

openapi.yaml accepts only ``application/json`` bodies, and an ``integer`` there is written
without a decimal point (OpenAPI 3.0 readers such as openapi-core and every generated client
with an int64 field refuse ``1.0``). A decimal stays fine wherever a number is allowed.
"""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import PATH, VALID_BODIES, assert_envelope, event, send_raw

pytestmark = pytest.mark.timeout(60)


def test_a_body_without_content_type_is_refused_with_415(client: httpx.Client) -> None:
    body = json.dumps(VALID_BODIES["getCuids"]).encode()
    request = client.build_request("POST", PATH["getCuids"], content=body)
    assert "content-type" not in request.headers
    response = client.send(request)
    payload = assert_envelope(response, 415, 41500)
    assert "Content-Type" in payload["msg"]


@pytest.mark.parametrize(
    ("operation_id", "raw", "field"),
    [
        ("setUserAttributes", b'{"cuid": 1.0, "data": {"user_level": 3}}', "body.cuid"),
        (
            "reportEvents",
            b'{"data": [{"cuid": 5, "eventName": "a", "itime": 1.654076420772e12}]}',
            "body.data[0].itime",
        ),
        (
            "setUserChannels",
            b'[{"cuid": 7, "channels": [{"id": 210.0, "channelValues": {"x": "1"}}]}]',
            "body[0].channels[0].id",
        ),
    ],
)
def test_a_decimal_where_an_integer_belongs_is_refused(
    client: httpx.Client, operation_id: str, raw: bytes, field: str
) -> None:
    payload = assert_envelope(send_raw(client, operation_id, raw), 400, 40002)
    assert payload["data"]["rule"] == "type"
    assert payload["data"]["field"] == field


def test_a_decimal_is_still_a_number_attribute_value(client: httpx.Client) -> None:
    body = {"data": [event(1, properties={"ratio": 2.0, "count": 3})]}
    response = send_raw(client, "reportEvents", json.dumps(body).encode())
    assert assert_envelope(response, 200, 0)["code"] == 0
    attributes = {"cuid": 10362473, "data": {"user_level": 3.0}}
    response = send_raw(client, "setUserAttributes", json.dumps(attributes).encode())
    assert assert_envelope(response, 200, 0)["code"] == 0
