"""Contains all the data models used in inputs/outputs"""

from .channel import Channel
from .channel_values import ChannelValues
from .cuid_result import CuidResult
from .envelope import Envelope
from .event import Event
from .event_bool_value import EventBoolValue
from .event_properties import EventProperties
from .get_cuids_request import GetCuidsRequest
from .get_cuids_response import GetCuidsResponse
from .report_events_request import ReportEventsRequest
from .report_events_response import ReportEventsResponse
from .report_events_result import ReportEventsResult
from .set_user_attributes_request import SetUserAttributesRequest
from .set_user_attributes_response import SetUserAttributesResponse
from .set_user_attributes_result import SetUserAttributesResult
from .set_user_channels_response import SetUserChannelsResponse
from .set_user_channels_result import SetUserChannelsResult
from .user_attributes import UserAttributes
from .user_bool_value import UserBoolValue
from .user_channels import UserChannels

__all__ = (
    "Channel",
    "ChannelValues",
    "CuidResult",
    "Envelope",
    "Event",
    "EventBoolValue",
    "EventProperties",
    "GetCuidsRequest",
    "GetCuidsResponse",
    "ReportEventsRequest",
    "ReportEventsResponse",
    "ReportEventsResult",
    "SetUserAttributesRequest",
    "SetUserAttributesResponse",
    "SetUserAttributesResult",
    "SetUserChannelsResponse",
    "SetUserChannelsResult",
    "UserAttributes",
    "UserBoolValue",
    "UserChannels",
)
