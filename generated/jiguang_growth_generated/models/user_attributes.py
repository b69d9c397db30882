from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.user_bool_value import UserBoolValue, check_user_bool_value

T = TypeVar("T", bound="UserAttributes")


@_attrs_define
class UserAttributes:
    """User attributes keyed by attribute name, at least one. Names follow the
    metadata naming rule `^[a-z][a-z0-9_]*$`, stated in `x-key-pattern`
    because OpenAPI 3.0 has no keyword for a rule on property names:
    generated clients and standard validators do not check it, so check
    names yourself (a name like `Property_C` is refused by the
    jiguang-growth client and sandbox). Attributes must be defined in the
    console. Values by attribute type: STRING a string, NUMBER a number,
    BOOL the integer 0 or 1, DATETIME a "yyyy-MM-dd HH:mm:ss" string, LIST
    an array of strings.

        Example:
            {'user_number_once': 46.2}

    """

    additional_properties: dict[str, float | int | list[str] | str | UserBoolValue] = (
        _attrs_field(init=False, factory=dict)
    )

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            if isinstance(prop, int) or isinstance(prop, list):
                field_dict[prop_name] = prop

            else:
                field_dict[prop_name] = prop

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        user_attributes = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():

            def _parse_additional_property(
                data: object,
            ) -> float | int | list[str] | str | UserBoolValue:
                try:
                    if not isinstance(data, int):
                        raise TypeError()
                    componentsschemas_user_attribute_value_type_0 = (
                        check_user_bool_value(data)
                    )

                    return componentsschemas_user_attribute_value_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, list):
                        raise TypeError()
                    componentsschemas_user_attribute_value_type_5 = cast(
                        list[str], data
                    )

                    return componentsschemas_user_attribute_value_type_5
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(float | int | list[str] | str | UserBoolValue, data)

            additional_property = _parse_additional_property(prop_dict)

            additional_properties[prop_name] = additional_property

        user_attributes.additional_properties = additional_properties
        return user_attributes

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> float | int | list[str] | str | UserBoolValue:
        return self.additional_properties[key]

    def __setitem__(
        self, key: str, value: float | list[str] | str | UserBoolValue
    ) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
