from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Envelope")


@_attrs_define
class Envelope:
    """The wrapper around every answer. `data` is deliberately not declared
    here: each operation's response adds its own typed `data`, and failure
    answers may carry any `data` or none. Fields it does not name are
    allowed (`additionalProperties: true`): the vendor may add one, such
    as a request ID, to any answer, and a reader must keep working.

        Attributes:
            code (int): 0 on success; any other value is a failure code. Example: 0.
            msg (str | Unset): Human-readable result. Free text; do not compare it. Example: success.
    """

    code: int
    msg: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        msg = self.msg

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
            }
        )
        if msg is not UNSET:
            field_dict["msg"] = msg

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = d.pop("code")

        msg = d.pop("msg", UNSET)

        envelope = cls(
            code=code,
            msg=msg,
        )

        envelope.additional_properties = d
        return envelope

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
