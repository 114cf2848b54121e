"""Async client for MANGO OFFICE's server-client API (API «Сервер-клиент»).

Independent of Home Assistant: it needs only aiohttp and yarl, and the
caller's aiohttp session. library/pyproject.toml in the repository builds this
folder into a wheel named mango_office_api; library/README.md describes it.
"""

from .channel import ChannelState, MangoChannel
from .client import MangoClient, MissedEventsBatch, TransferMethod
from .errors import (
    MangoApiError,
    MangoAuthError,
    MangoConnectionError,
    MangoError,
    MangoProtocolError,
)
from .fields import EXTENSION, ID, INT64_MAX, INT64_MIN, NUMBER, Validator
from .models import (
    CallEvent,
    CallState,
    Direction,
    IvrEvent,
    Party,
    PushEvent,
    RecordEvent,
    RouteResultEvent,
    parse_frame,
    parse_message,
)
from .wire import DEFAULT_BASE_URL

__all__ = [
    "DEFAULT_BASE_URL",
    "EXTENSION",
    "ID",
    "INT64_MAX",
    "INT64_MIN",
    "NUMBER",
    "CallEvent",
    "CallState",
    "ChannelState",
    "Direction",
    "IvrEvent",
    "MangoApiError",
    "MangoAuthError",
    "MangoChannel",
    "MangoClient",
    "MangoConnectionError",
    "MangoError",
    "MangoProtocolError",
    "MissedEventsBatch",
    "Party",
    "PushEvent",
    "RecordEvent",
    "RouteResultEvent",
    "TransferMethod",
    "Validator",
    "parse_frame",
    "parse_message",
]
