from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_properties import EventProperties


T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """One behaviour event. The vendor's field table is not readable; these
    fields and their rules come from the documented example and the
    metadata naming rules. `randomId` is optional (the example omits it on
    one event).

        Attributes:
            cuid (int): A CUID, the platform's unique user ID. Bounded to 2^53-1 so that every
                JSON reader keeps it exact; the vendor does not state a range.
                 Example: 10000091198.
            event_name (str): Name of a meta event or attribute: lowercase letters, digits and
                underscores, starting with a letter. Custom names starting with `jg`
                are reserved for the platform's preset events.
                 Example: open_app.
            itime (int): Milliseconds since the Unix epoch, exactly 13 digits. Example: 1654076420772.
            random_id (str | Unset): Client-chosen ID of this report, e.g. a UUID. Reuse it when resending
                the same event so that it can be recognised as a repeat.
                 Example: 5b102148-0d28-4a6a-8658-483f7d1c735e.
            properties (EventProperties | Unset): Event attributes keyed by attribute name. Names follow the metadata
                naming rule `^[a-z][a-z0-9_]*$`, stated in `x-key-pattern` because
                OpenAPI 3.0 has no keyword for a rule on property names: generated
                clients and standard validators do not check it, so check names
                yourself (a name like `Property_C` is refused by the jiguang-growth
                client and sandbox). Attributes must be defined in the console. Values by attribute type: STRING a string,
                NUMBER a number,
                BOOL one of the strings "true", "false", "0", "1", DATETIME a 13-digit
                millisecond timestamp, LIST an array of strings. Empty values are
                dropped by the platform and are not accepted here.
                 Example: {'property_a': 'a', 'property_b': 2}.
    """

    cuid: int
    event_name: str
    itime: int
    random_id: str | Unset = UNSET
    properties: EventProperties | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cuid = self.cuid

        event_name = self.event_name

        itime = self.itime

        random_id = self.random_id

        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cuid": cuid,
                "eventName": event_name,
                "itime": itime,
            }
        )
        if random_id is not UNSET:
            field_dict["randomId"] = random_id
        if properties is not UNSET:
            field_dict["properties"] = properties

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.event_properties import EventProperties

        d = dict(src_dict)
        cuid = d.pop("cuid")

        event_name = d.pop("eventName")

        itime = d.pop("itime")

        random_id = d.pop("randomId", UNSET)

        _properties = d.pop("properties", UNSET)
        properties: EventProperties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = EventProperties.from_dict(_properties)

        event = cls(
            cuid=cuid,
            event_name=event_name,
            itime=itime,
            random_id=random_id,
            properties=properties,
        )

        event.additional_properties = d
        return event

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
