from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.channel_values import ChannelValues


T = TypeVar("T", bound="Channel")


@_attrs_define
class Channel:
    """Contact values of one user under one reach channel.

    Attributes:
        id (int): ID of the reach channel, as shown in the console. Example: 210.
        channel_values (ChannelValues): Contact values keyed by contact label name (for example 默认联系). For an
            SMS channel the client SDK pages require an 11-digit mobile number; the
            REST page does not say.
             Example: {'默认联系': '15088888888'}.
    """

    id: int
    channel_values: ChannelValues
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        channel_values = self.channel_values.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "channelValues": channel_values,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.channel_values import ChannelValues

        d = dict(src_dict)
        id = d.pop("id")

        channel_values = ChannelValues.from_dict(d.pop("channelValues"))

        channel = cls(
            id=id,
            channel_values=channel_values,
        )

        channel.additional_properties = d
        return channel

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
