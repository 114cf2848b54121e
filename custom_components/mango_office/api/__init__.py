"""Async client for MANGO OFFICE's server-client API (API «Сервер-клиент»).

Independent of Home Assistant: it needs only aiohttp and yarl, and the
caller's aiohttp session. library/pyproject.toml in the repository builds this
folder into a wheel named mango_office_api; library/README.md describes it.
"""

from .channel import ChannelState, MangoChannel
from .client import MangoClient, MissedEventsBatch, TransferMethod, new_command_id
from .errors import (
    MangoApiError,
    MangoAuthError,
    MangoConnectionError,
    MangoError,
    MangoProtocolError,
    MangoRateLimitError,
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
    SummaryEvent,
    disconnect_outcome,
    parse_frame,
    parse_message,
)
from .pacing import Pacer
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
    "MangoRateLimitError",
    "MissedEventsBatch",
    "Pacer",
    "Party",
    "PushEvent",
    "RecordEvent",
    "RouteResultEvent",
    "SummaryEvent",
    "TransferMethod",
    "Validator",
    "disconnect_outcome",
    "new_command_id",
    "parse_frame",
    "parse_message",
]
