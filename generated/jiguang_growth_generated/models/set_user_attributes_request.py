from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.user_attributes import UserAttributes


T = TypeVar("T", bound="SetUserAttributesRequest")


@_attrs_define
class SetUserAttributesRequest:
    """Attribute values for one user.

    Attributes:
        cuid (int): A CUID, the platform's unique user ID. Bounded to 2^53-1 so that every
            JSON reader keeps it exact; the vendor does not state a range.
             Example: 10000091198.
        data (UserAttributes): User attributes keyed by attribute name, at least one. Names follow the
            metadata naming rule `^[a-z][a-z0-9_]*$`, stated in `x-key-pattern`
            because OpenAPI 3.0 has no keyword for a rule on property names:
            generated clients and standard validators do not check it, so check
            names yourself (a name like `Property_C` is refused by the
            jiguang-growth client and sandbox). Attributes must be defined in the
            console. Values by attribute type: STRING a string, NUMBER a number,
            BOOL the integer 0 or 1, DATETIME a "yyyy-MM-dd HH:mm:ss" string, LIST
            an array of strings.
             Example: {'user_number_once': 46.2}.
    """

    cuid: int
    data: UserAttributes
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cuid = self.cuid

        data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cuid": cuid,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.user_attributes import UserAttributes

        d = dict(src_dict)
        cuid = d.pop("cuid")

        data = UserAttributes.from_dict(d.pop("data"))

        set_user_attributes_request = cls(
            cuid=cuid,
            data=data,
        )

        set_user_attributes_request.additional_properties = d
        return set_user_attributes_request

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
