from typing import Literal

EventBoolValue = Literal["0", "1", "false", "true"]

EVENT_BOOL_VALUE_VALUES: set[EventBoolValue] = {
    "0",
    "1",
    "false",
    "true",
}


def check_event_bool_value(value: str) -> EventBoolValue:
    if value in EVENT_BOOL_VALUE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {EVENT_BOOL_VALUE_VALUES!r}"
    )
