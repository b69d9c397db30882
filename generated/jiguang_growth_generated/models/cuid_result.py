from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CuidResult")


@_attrs_define
class CuidResult:
    """The result for one identifier value. The field is named
    `identityValues` although it holds a single value. The vendor's field
    table is cut off at `errorCode`, so its type is inferred from `code`
    and its values are unknown apart from 0. Fields it does not name are
    allowed, so a field the vendor adds per item does not break a reader.

        Attributes:
            identity_values (str | Unset): The identifier value this result belongs to. Example: 18012345678.
            cuid (int | None | Unset): The CUID of that value; may be absent when the item failed. Example: 10000091198.
            error_code (int | Unset): Per-item result code; 0 is taken to mean success. Example: 0.
    """

    identity_values: str | Unset = UNSET
    cuid: int | None | Unset = UNSET
    error_code: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        identity_values = self.identity_values

        cuid: int | None | Unset
        if isinstance(self.cuid, Unset):
            cuid = UNSET
        else:
            cuid = self.cuid

        error_code = self.error_code

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if identity_values is not UNSET:
            field_dict["identityValues"] = identity_values
        if cuid is not UNSET:
            field_dict["cuid"] = cuid
        if error_code is not UNSET:
            field_dict["errorCode"] = error_code

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        identity_values = d.pop("identityValues", UNSET)

        def _parse_cuid(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        cuid = _parse_cuid(d.pop("cuid", UNSET))

        error_code = d.pop("errorCode", UNSET)

        cuid_result = cls(
            identity_values=identity_values,
            cuid=cuid,
            error_code=error_code,
        )

        cuid_result.additional_properties = d
        return cuid_result

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
