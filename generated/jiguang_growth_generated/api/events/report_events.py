from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.envelope import Envelope
from ...models.report_events_request import ReportEventsRequest
from ...models.report_events_response import ReportEventsResponse
from ...types import Response


def _get_kwargs(
    *,
    body: ReportEventsRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/events/report",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Envelope | ReportEventsResponse | None:
    if response.status_code == 200:
        response_200 = ReportEventsResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Envelope.from_dict(response.json())

        return response_401

    if response.status_code == 429:
        response_429 = Envelope.from_dict(response.json())

        return response_429

    if 400 <= response.status_code <= 499:
        response_4xx = Envelope.from_dict(response.json())

        return response_4xx

    if 500 <= response.status_code <= 599:
        response_5xx = Envelope.from_dict(response.json())

        return response_5xx

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Envelope | ReportEventsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ReportEventsRequest,
) -> Response[Envelope | ReportEventsResponse]:
    """Report behaviour events

     Records one to 100 behaviour events. Each event belongs to an existing
    CUID and names a meta event that was created in the console beforehand.
    Reported events are facts: once accepted they can be neither edited nor
    deleted.

    The server is expected to drop repeats of the same `randomId`; the
    vendor page does not say so explicitly, so send a stable `randomId` on
    every event if you may resend it.

    Replay-safe: yes. The client gives every event without a randomId a
    fresh one before the first attempt and resends the same bytes, so the
    server can recognise a replay and drop it.

    Args:
        body (ReportEventsRequest): A batch of behaviour events.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | ReportEventsResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: ReportEventsRequest,
) -> Envelope | ReportEventsResponse | None:
    """Report behaviour events

     Records one to 100 behaviour events. Each event belongs to an existing
    CUID and names a meta event that was created in the console beforehand.
    Reported events are facts: once accepted they can be neither edited nor
    deleted.

    The server is expected to drop repeats of the same `randomId`; the
    vendor page does not say so explicitly, so send a stable `randomId` on
    every event if you may resend it.

    Replay-safe: yes. The client gives every event without a randomId a
    fresh one before the first attempt and resends the same bytes, so the
    server can recognise a replay and drop it.

    Args:
        body (ReportEventsRequest): A batch of behaviour events.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | ReportEventsResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ReportEventsRequest,
) -> Response[Envelope | ReportEventsResponse]:
    """Report behaviour events

     Records one to 100 behaviour events. Each event belongs to an existing
    CUID and names a meta event that was created in the console beforehand.
    Reported events are facts: once accepted they can be neither edited nor
    deleted.

    The server is expected to drop repeats of the same `randomId`; the
    vendor page does not say so explicitly, so send a stable `randomId` on
    every event if you may resend it.

    Replay-safe: yes. The client gives every event without a randomId a
    fresh one before the first attempt and resends the same bytes, so the
    server can recognise a replay and drop it.

    Args:
        body (ReportEventsRequest): A batch of behaviour events.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | ReportEventsResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ReportEventsRequest,
) -> Envelope | ReportEventsResponse | None:
    """Report behaviour events

     Records one to 100 behaviour events. Each event belongs to an existing
    CUID and names a meta event that was created in the console beforehand.
    Reported events are facts: once accepted they can be neither edited nor
    deleted.

    The server is expected to drop repeats of the same `randomId`; the
    vendor page does not say so explicitly, so send a stable `randomId` on
    every event if you may resend it.

    Replay-safe: yes. The client gives every event without a randomId a
    fresh one before the first attempt and resends the same bytes, so the
    server can recognise a replay and drop it.

    Args:
        body (ReportEventsRequest): A batch of behaviour events.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | ReportEventsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
