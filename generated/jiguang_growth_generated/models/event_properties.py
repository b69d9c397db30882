from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_bool_value import EventBoolValue, check_event_bool_value

T = TypeVar("T", bound="EventProperties")


@_attrs_define
class EventProperties:
    """Event attributes keyed by attribute name. Names follow the metadata
    naming rule `^[a-z][a-z0-9_]*$`, stated in `x-key-pattern` because
    OpenAPI 3.0 has no keyword for a rule on property names: generated
    clients and standard validators do not check it, so check names
    yourself (a name like `Property_C` is refused by the jiguang-growth
    client and sandbox). Attributes must be defined in the console. Values by attribute type: STRING a string, NUMBER a
    number,
    BOOL one of the strings "true", "false", "0", "1", DATETIME a 13-digit
    millisecond timestamp, LIST an array of strings. Empty values are
    dropped by the platform and are not accepted here.

        Example:
            {'property_a': 'a', 'property_b': 2}

    """

    additional_properties: dict[str, EventBoolValue | float | int | list[str] | str] = (
        _attrs_field(init=False, factory=dict)
    )

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            if isinstance(prop, str) or isinstance(prop, list):
                field_dict[prop_name] = prop

            else:
                field_dict[prop_name] = prop

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        event_properties = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():

            def _parse_additional_property(
                data: object,
            ) -> EventBoolValue | float | int | list[str] | str:
                try:
                    if not isinstance(data, str):
                        raise TypeError()
                    componentsschemas_event_property_value_type_0 = (
                        check_event_bool_value(data)
                    )

                    return componentsschemas_event_property_value_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, list):
                        raise TypeError()
                    componentsschemas_event_property_value_type_5 = cast(
                        list[str], data
                    )

                    return componentsschemas_event_property_value_type_5
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(EventBoolValue | float | int | list[str] | str, data)

            additional_property = _parse_additional_property(prop_dict)

            additional_properties[prop_name] = additional_property

        event_properties.additional_properties = additional_properties
        return event_properties

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> EventBoolValue | float | int | list[str] | str:
        return self.additional_properties[key]

    def __setitem__(
        self, key: str, value: EventBoolValue | float | list[str] | str
    ) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
