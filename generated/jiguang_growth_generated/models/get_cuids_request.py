from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GetCuidsRequest")


@_attrs_define
class GetCuidsRequest:
    """Values of one user identifier to exchange for CUIDs.

    Attributes:
        identity_name (str): Name of a user identifier defined in the console (One ID). Example: phone_test.
        identity_values (list[str]): The values, at least 1 and at most 100.
    """

    identity_name: str
    identity_values: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        identity_name = self.identity_name

        identity_values = self.identity_values

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "identityName": identity_name,
                "identityValues": identity_values,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        identity_name = d.pop("identityName")

        identity_values = cast(list[str], d.pop("identityValues"))

        get_cuids_request = cls(
            identity_name=identity_name,
            identity_values=identity_values,
        )

        get_cuids_request.additional_properties = d
        return get_cuids_request

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
