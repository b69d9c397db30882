from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.envelope import Envelope
from ...models.set_user_channels_response import SetUserChannelsResponse
from ...models.user_channels import UserChannels
from ...types import Response


def _get_kwargs(
    *,
    body: list[UserChannels],
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/user/channel/batch",
    }

    _kwargs["json"] = []
    for componentsschemas_set_user_channels_request_item_data in body:
        componentsschemas_set_user_channels_request_item = (
            componentsschemas_set_user_channels_request_item_data.to_dict()
        )
        _kwargs["json"].append(componentsschemas_set_user_channels_request_item)

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Envelope | SetUserChannelsResponse | None:
    if response.status_code == 200:
        response_200 = SetUserChannelsResponse.from_dict(response.json())

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
) -> Response[Envelope | SetUserChannelsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: list[UserChannels],
) -> Response[Envelope | SetUserChannelsResponse]:
    """Set contact details of many users

     Sets, for up to 100 CUIDs, the contact value stored under each contact
    label of each reach channel. The body is a JSON array. Labels must
    already exist in the console's channel settings; the preset label is
    named 默认联系 ("default contact").

    Replay-safe: yes. A PUT that stores the given contact value under each
    label; writing the same values again leaves the same state.

    Args:
        body (list[UserChannels]): Contact details for 1 to 100 users, as a top-level JSON array.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | SetUserChannelsResponse]
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
    body: list[UserChannels],
) -> Envelope | SetUserChannelsResponse | None:
    """Set contact details of many users

     Sets, for up to 100 CUIDs, the contact value stored under each contact
    label of each reach channel. The body is a JSON array. Labels must
    already exist in the console's channel settings; the preset label is
    named 默认联系 ("default contact").

    Replay-safe: yes. A PUT that stores the given contact value under each
    label; writing the same values again leaves the same state.

    Args:
        body (list[UserChannels]): Contact details for 1 to 100 users, as a top-level JSON array.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | SetUserChannelsResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: list[UserChannels],
) -> Response[Envelope | SetUserChannelsResponse]:
    """Set contact details of many users

     Sets, for up to 100 CUIDs, the contact value stored under each contact
    label of each reach channel. The body is a JSON array. Labels must
    already exist in the console's channel settings; the preset label is
    named 默认联系 ("default contact").

    Replay-safe: yes. A PUT that stores the given contact value under each
    label; writing the same values again leaves the same state.

    Args:
        body (list[UserChannels]): Contact details for 1 to 100 users, as a top-level JSON array.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | SetUserChannelsResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: list[UserChannels],
) -> Envelope | SetUserChannelsResponse | None:
    """Set contact details of many users

     Sets, for up to 100 CUIDs, the contact value stored under each contact
    label of each reach channel. The body is a JSON array. Labels must
    already exist in the console's channel settings; the preset label is
    named 默认联系 ("default contact").

    Replay-safe: yes. A PUT that stores the given contact value under each
    label; writing the same values again leaves the same state.

    Args:
        body (list[UserChannels]): Contact details for 1 to 100 users, as a top-level JSON array.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | SetUserChannelsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
