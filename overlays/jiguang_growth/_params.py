"""Typed inputs: the TypedDicts generated from openapi.yaml, under the names users import.

They come from ``jiguang_growth_generated.params`` (datamodel-code-generator, run by
``make generate``), so a misspelt key such as ``eventname`` in a plain dict is a type error in
mypy and the editor. At run time they are ordinary dicts; the operation methods accept them,
the generated attrs models and plain dicts alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from jiguang_growth_generated.params import Channel as ChannelParam
from jiguang_growth_generated.params import Event as EventParam
from jiguang_growth_generated.params import SetUserAttributesRequest as SetUserAttributesParam
from jiguang_growth_generated.params import UserAttributeValue
from jiguang_growth_generated.params import UserChannels as UserChannelsParam

__all__ = [
    "ChannelParam",
    "EventParam",
    "SetUserAttributesParam",
    "UserAttributesParam",
    "UserChannelsParam",
]

UserAttributesParam: TypeAlias = Mapping[str, UserAttributeValue]
"""Attribute values keyed by attribute name (a ``Mapping``, so a ``dict[str, int]`` fits too)."""
