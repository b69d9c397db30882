from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.report_events_result import ReportEventsResult


T = TypeVar("T", bound="ReportEventsResponse")


@_attrs_define
class ReportEventsResponse:
    """Envelope answering a report of events.

    Attributes:
        code (int): 0 on success; any other value is a failure code. Example: 0.
        msg (str | Unset): Human-readable result. Free text; do not compare it. Example: success.
        data (None | ReportEventsResult | Unset): Success data of a report. Undocumented: the overview shows `{}`. Any
            fields the server sends are kept.
    """

    code: int
    msg: str | Unset = UNSET
    data: None | ReportEventsResult | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.report_events_result import ReportEventsResult

        code = self.code

        msg = self.msg

        data: dict[str, Any] | None | Unset
        if isinstance(self.data, Unset):
            data = UNSET
        elif isinstance(self.data, ReportEventsResult):
            data = self.data.to_dict()
        else:
            data = self.data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
            }
        )
        if msg is not UNSET:
            field_dict["msg"] = msg
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.report_events_result import ReportEventsResult

        d = dict(src_dict)
        code = d.pop("code")

        msg = d.pop("msg", UNSET)

        def _parse_data(data: object) -> None | ReportEventsResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_report_events_result_type_0 = (
                    ReportEventsResult.from_dict(data)
                )

                return componentsschemas_report_events_result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReportEventsResult | Unset, data)

        data = _parse_data(d.pop("data", UNSET))

        report_events_response = cls(
            code=code,
            msg=msg,
            data=data,
        )

        report_events_response.additional_properties = d
        return report_events_response

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
