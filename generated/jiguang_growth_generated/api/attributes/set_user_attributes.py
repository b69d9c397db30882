from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.envelope import Envelope
from ...models.set_user_attributes_request import SetUserAttributesRequest
from ...models.set_user_attributes_response import SetUserAttributesResponse
from ...types import Response


def _get_kwargs(
    *,
    body: SetUserAttributesRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/user/attribute",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Envelope | SetUserAttributesResponse | None:
    if response.status_code == 200:
        response_200 = SetUserAttributesResponse.from_dict(response.json())

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
) -> Response[Envelope | SetUserAttributesResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: SetUserAttributesRequest,
) -> Response[Envelope | SetUserAttributesResponse]:
    """Set attributes of one user

     Writes attribute values onto one CUID. Every attribute must already be
    defined in the console, and its configured rule decides what a write
    does: overwrite keeps the latest value, set-once keeps the first,
    accumulate adds a number to the stored total, and append merges list
    elements without duplicates. Because of accumulate, repeating a call is
    not always harmless.

    Replay-safe: no. An attribute with the accumulate rule adds the value on
    every write, so a replay counts it twice; the client cannot see which
    rule an attribute has.

    Args:
        body (SetUserAttributesRequest): Attribute values for one user.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | SetUserAttributesResponse]
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
    body: SetUserAttributesRequest,
) -> Envelope | SetUserAttributesResponse | None:
    """Set attributes of one user

     Writes attribute values onto one CUID. Every attribute must already be
    defined in the console, and its configured rule decides what a write
    does: overwrite keeps the latest value, set-once keeps the first,
    accumulate adds a number to the stored total, and append merges list
    elements without duplicates. Because of accumulate, repeating a call is
    not always harmless.

    Replay-safe: no. An attribute with the accumulate rule adds the value on
    every write, so a replay counts it twice; the client cannot see which
    rule an attribute has.

    Args:
        body (SetUserAttributesRequest): Attribute values for one user.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | SetUserAttributesResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: SetUserAttributesRequest,
) -> Response[Envelope | SetUserAttributesResponse]:
    """Set attributes of one user

     Writes attribute values onto one CUID. Every attribute must already be
    defined in the console, and its configured rule decides what a write
    does: overwrite keeps the latest value, set-once keeps the first,
    accumulate adds a number to the stored total, and append merges list
    elements without duplicates. Because of accumulate, repeating a call is
    not always harmless.

    Replay-safe: no. An attribute with the accumulate rule adds the value on
    every write, so a replay counts it twice; the client cannot see which
    rule an attribute has.

    Args:
        body (SetUserAttributesRequest): Attribute values for one user.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | SetUserAttributesResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: SetUserAttributesRequest,
) -> Envelope | SetUserAttributesResponse | None:
    """Set attributes of one user

     Writes attribute values onto one CUID. Every attribute must already be
    defined in the console, and its configured rule decides what a write
    does: overwrite keeps the latest value, set-once keeps the first,
    accumulate adds a number to the stored total, and append merges list
    elements without duplicates. Because of accumulate, repeating a call is
    not always harmless.

    Replay-safe: no. An attribute with the accumulate rule adds the value on
    every write, so a replay counts it twice; the client cannot see which
    rule an attribute has.

    Args:
        body (SetUserAttributesRequest): Attribute values for one user.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | SetUserAttributesResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
