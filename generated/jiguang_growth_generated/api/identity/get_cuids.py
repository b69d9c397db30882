from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.envelope import Envelope
from ...models.get_cuids_request import GetCuidsRequest
from ...models.get_cuids_response import GetCuidsResponse
from ...types import Response


def _get_kwargs(
    *,
    body: GetCuidsRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/user/register",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Envelope | GetCuidsResponse | None:
    if response.status_code == 200:
        response_200 = GetCuidsResponse.from_dict(response.json())

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
) -> Response[Envelope | GetCuidsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: GetCuidsRequest,
) -> Response[Envelope | GetCuidsResponse]:
    """Exchange user identifier values for CUIDs

     Looks up the CUID of each value of one user identifier (for example a
    phone number or your own login ID). The identifier must be defined in
    the console and must have the first priority in ID mapping. Values that
    match no user are expected to get a new CUID, which is why the path
    says "register"; the vendor page only says "exchange".

    Too many values, or a value longer than 256 characters, fails the whole
    request. Each result item carries its own `errorCode`.

    Replay-safe: yes. A value seen before maps to the CUID created for it
    the first time, so a replay returns the same CUIDs and creates none.

    Args:
        body (GetCuidsRequest): Values of one user identifier to exchange for CUIDs.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | GetCuidsResponse]
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
    body: GetCuidsRequest,
) -> Envelope | GetCuidsResponse | None:
    """Exchange user identifier values for CUIDs

     Looks up the CUID of each value of one user identifier (for example a
    phone number or your own login ID). The identifier must be defined in
    the console and must have the first priority in ID mapping. Values that
    match no user are expected to get a new CUID, which is why the path
    says "register"; the vendor page only says "exchange".

    Too many values, or a value longer than 256 characters, fails the whole
    request. Each result item carries its own `errorCode`.

    Replay-safe: yes. A value seen before maps to the CUID created for it
    the first time, so a replay returns the same CUIDs and creates none.

    Args:
        body (GetCuidsRequest): Values of one user identifier to exchange for CUIDs.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | GetCuidsResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: GetCuidsRequest,
) -> Response[Envelope | GetCuidsResponse]:
    """Exchange user identifier values for CUIDs

     Looks up the CUID of each value of one user identifier (for example a
    phone number or your own login ID). The identifier must be defined in
    the console and must have the first priority in ID mapping. Values that
    match no user are expected to get a new CUID, which is why the path
    says "register"; the vendor page only says "exchange".

    Too many values, or a value longer than 256 characters, fails the whole
    request. Each result item carries its own `errorCode`.

    Replay-safe: yes. A value seen before maps to the CUID created for it
    the first time, so a replay returns the same CUIDs and creates none.

    Args:
        body (GetCuidsRequest): Values of one user identifier to exchange for CUIDs.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | GetCuidsResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: GetCuidsRequest,
) -> Envelope | GetCuidsResponse | None:
    """Exchange user identifier values for CUIDs

     Looks up the CUID of each value of one user identifier (for example a
    phone number or your own login ID). The identifier must be defined in
    the console and must have the first priority in ID mapping. Values that
    match no user are expected to get a new CUID, which is why the path
    says "register"; the vendor page only says "exchange".

    Too many values, or a value longer than 256 characters, fails the whole
    request. Each result item carries its own `errorCode`.

    Replay-safe: yes. A value seen before maps to the CUID created for it
    the first time, so a replay returns the same CUIDs and creates none.

    Args:
        body (GetCuidsRequest): Values of one user identifier to exchange for CUIDs.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | GetCuidsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
