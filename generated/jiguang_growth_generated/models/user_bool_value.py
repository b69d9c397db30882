from typing import Literal

UserBoolValue = Literal[0, 1]

USER_BOOL_VALUE_VALUES: set[UserBoolValue] = {
    0,
    1,
}


def check_user_bool_value(value: int) -> UserBoolValue:
    if value in USER_BOOL_VALUE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {USER_BOOL_VALUE_VALUES!r}"
    )
