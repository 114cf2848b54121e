"""Typed push messages of the server-client API, and a lenient parser for them.

The vendor's schema is not public, so the parser takes what it can: keys in
any case (``call_id``, ``CALL_ID``, ``callId``), ids and numbers as int or
string, unknown fields ignored and optional fields missing.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from . import wire
from .errors import MangoProtocolError
from .fields import (
    EXTENSION,
    ID,
    INT64_MAX,
    INT64_MIN,
    LINK,
    NUMBER,
    PLAUSIBLE_TIME_MAX,
    PLAUSIBLE_TIME_MIN,
    ROUTE,
    WORD,
    Fields,
    decode_json,
)


class CallState(StrEnum):
    """State of one call leg."""

    APPEARED = "appeared"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    DISCONNECTED = "disconnected"


class Direction(StrEnum):
    """Direction of a call as the PBX sees it."""

    INBOUND = "in"
    OUTBOUND = "out"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """One end of a call: an extension of the PBX, an outside number, or both."""

    extension: str | None = None
    number: str | None = None


def disconnect_outcome(code: int | None) -> str | None:
    """Say in a word how a call ended, from its disconnect_reason.

    By the exact code where the VPBX API names it, else by the code's class
    ("unknown" for a code of no known class); None without a code.
    """
    if code is None:
        return None
    if (outcome := wire.DISCONNECT_OUTCOMES.get(code)) is not None:
        return outcome
    for lowest, highest, outcome in wire.DISCONNECT_OUTCOME_CLASSES:
        if lowest <= code <= highest:
            return outcome
    return wire.DISCONNECT_OUTCOME_UNKNOWN


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """A telephony event of one call leg (``/call``)."""

    call_id: str
    entry_id: str | None
    seq: int | None
    timestamp: datetime | None
    state: CallState
    direction: Direction
    """UNKNOWN where the message does not say (as the VPBX API's never do)."""
    caller: Party
    callee: Party
    line_number: str | None
    disconnect_reason: int | None
    is_group_disconnect: bool
    location: str | None = None
    """Where the call is: ivr, queue, abonent (VPBX API)."""
    transfer: str | None = None
    """How it is being transferred: consultative, blind, return_blind (VPBX API)."""
    callback_initiator: str | None = None
    command_id: str | None = None
    """The id of the command (a callback, say) that made this call."""
    sip_call_id: str | None = None

    @property
    def unanswered(self) -> bool:
        """Whether the service says this leg ended with nobody answering it."""
        return self.disconnect_reason in wire.DISCONNECT_REASONS_UNANSWERED

    @property
    def outcome(self) -> str | None:
        """How the leg ended, in a word (see disconnect_outcome); None before it ended.

        The VPBX API sends disconnect_reason 0 with the states before.
        """
        if self.state is not CallState.DISCONNECTED:
            return None
        return disconnect_outcome(self.disconnect_reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordEvent:
    """Progress of a call's recording (``/record``)."""

    record_id: str
    call_id: str | None
    entry_id: str | None
    status: str
    url: str | None
    """None where the service gives no link: get_record_url(record_id) fetches it."""
    duration: int | None
    timestamp: datetime | None
    completion_code: int | None = None

    @property
    def available(self) -> bool:
        """Whether the recording can be fetched now (AVAILABLE, or the VPBX API's COMPLETED)."""
        return self.status in wire.RECORD_STATUSES_READY


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrEvent:
    """An incoming call waiting in the IVR for someone to route it (``/ivr``)."""

    call_id: str
    entry_id: str | None
    status: str
    caller: Party
    callee: Party
    line_number: str | None
    timestamp: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteResultEvent:
    """The outcome of a route request (``/route_result``)."""

    request_id: str
    """The request's id, or the command's id where the result names only that."""
    call_id: str | None
    to_number: str | None
    result: int
    message: str | None
    timestamp: datetime | None
    command_id: str | None = None

    @property
    def success(self) -> bool:
        """Whether the call reached the employee (0, or the VPBX API's 1000)."""
        return self.result in wire.ROUTE_RESULT_SUCCESS_CODES


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryEvent:
    """The summary of a whole call once it ended (``/summary``, as the VPBX API sends it)."""

    entry_id: str
    direction: Direction
    caller: Party
    callee: Party
    line_number: str | None
    created: datetime | None
    answered: datetime | None
    """When the talk began; None for a call nobody answered."""
    ended: datetime | None
    entry_result: int | None
    disconnect_reason: int | None

    @property
    def outcome(self) -> str | None:
        """How the call ended, in a word (see disconnect_outcome)."""
        return disconnect_outcome(self.disconnect_reason)


type PushEvent = CallEvent | RecordEvent | IvrEvent | RouteResultEvent | SummaryEvent


def parse_frame(frame: str | bytes) -> PushEvent | None:
    """Parse one websocket text frame; see parse_message."""
    return parse_message(decode_json(frame))


def parse_message(message: Any) -> PushEvent | None:
    """Turn one push message into its model.

    Returns None for a kind of message this client does not know, so that a
    new kind from the vendor is skipped rather than treated as an error.
    Raises MangoProtocolError when the message is of a known kind but lacks
    what makes it usable (an id, a state) or has fields of the wrong type.
    """
    if (
        type(message) is dict
        and message.get(wire.KEY_ROUTE_KEY) == wire.ROUTE_CALL
        and type(data := message.get(wire.KEY_DATA)) is dict
        and (event := _parse_call_fast(data)) is not None
    ):
        return event
    if not isinstance(message, Mapping):
        raise MangoProtocolError("message is not an object")
    fields = Fields(message)
    route_key = fields.text(wire.KEY_ROUTE_KEY, ROUTE)
    data = fields.mapping(wire.KEY_DATA)
    if route_key is None:
        raise MangoProtocolError("message has no routeKey")
    if (parse := _PARSERS.get(route_key.lower())) is None:
        return None
    if data is None:
        raise MangoProtocolError(f"{route_key} message has no data object")
    return parse(Fields(data))


_NO_PARTY: Final = Party()


def _party(data: Fields, name: str) -> Party:
    value = data.get(name)
    # A bare number where an object is expected is still the number.
    if isinstance(value, str | int) and not isinstance(value, bool):
        return Party(number=data.text(name, NUMBER))
    if (party := data.mapping(name)) is None:
        return _NO_PARTY
    fields = Fields(party)
    return Party(
        extension=fields.text(wire.FIELD_EXTENSION, EXTENSION),
        number=fields.text(wire.FIELD_NUMBER, NUMBER),
    )


_CALL_STATES: Final = {
    wire.CALL_STATE_APPEARED: CallState.APPEARED,
    wire.CALL_STATE_CONNECTED: CallState.CONNECTED,
    wire.CALL_STATE_ONHOLD: CallState.ON_HOLD,
    **dict.fromkeys(wire.CALL_STATE_DISCONNECTED, CallState.DISCONNECTED),
}
_DIRECTIONS: Final = {
    wire.DIRECTION_IN: Direction.INBOUND,
    wire.DIRECTION_OUT: Direction.OUTBOUND,
    wire.DIRECTION_INTERNAL: Direction.INTERNAL,
}
_CALL_DIRECTIONS: Final = {
    wire.CALL_DIRECTION_IN: Direction.INBOUND,
    wire.CALL_DIRECTION_OUT: Direction.OUTBOUND,
    wire.CALL_DIRECTION_INTERNAL: Direction.INTERNAL,
}


def _call_state(word: str) -> CallState:
    if (state := _CALL_STATES.get(word) or _CALL_STATES.get(word.upper())) is None:
        raise MangoProtocolError(f"unknown call state {word!r}")
    return state


def _direction(data: Fields) -> Direction:
    if (word := data.text(wire.FIELD_DIRECTION, WORD)) is not None:
        return _DIRECTIONS.get(word) or _DIRECTIONS.get(word.lower(), Direction.UNKNOWN)
    value = data.get(wire.FIELD_CALL_DIRECTION)
    if isinstance(value, str) and not value.strip().isdigit():
        return Direction.UNKNOWN  # a word we do not know: no direction
    if (number := data.integer(wire.FIELD_CALL_DIRECTION)) is None:
        return Direction.UNKNOWN
    return _CALL_DIRECTIONS.get(number, Direction.UNKNOWN)


def _line_number(data: Fields) -> str | None:
    """The PBX number of the call: at the top level, or (VPBX API) inside to or from."""
    if (line := data.text(wire.FIELD_LINE_NUMBER, NUMBER)) is not None:
        return line
    for side in (wire.FIELD_TO, wire.FIELD_FROM):
        if isinstance(party := data.get(side), Mapping) and (
            line := Fields(party).text(wire.FIELD_LINE_NUMBER, NUMBER)
        ):
            return line
    return None


def _word(data: Fields, name: str) -> str | None:
    word = data.text(name, WORD)
    return None if word is None else word.lower()


def _parse_call(data: Fields) -> CallEvent:
    return CallEvent(
        call_id=data.required_text(wire.FIELD_CALL_ID),
        entry_id=data.text(wire.FIELD_ENTRY_ID),
        seq=data.integer(wire.FIELD_SEQ),
        timestamp=data.timestamp(wire.FIELD_TIMESTAMP),
        state=_call_state(data.required_text(wire.FIELD_CALL_STATE, WORD)),
        direction=_direction(data),
        caller=_party(data, wire.FIELD_FROM),
        callee=_party(data, wire.FIELD_TO),
        line_number=_line_number(data),
        disconnect_reason=data.integer(wire.FIELD_DISCONNECT_REASON),
        is_group_disconnect=data.flag(wire.FIELD_IS_GROUP_DISCONNECT),
        location=_word(data, wire.FIELD_LOCATION),
        transfer=_word(data, wire.FIELD_TRANSFER),
        callback_initiator=data.text(wire.FIELD_CALLBACK_INITIATOR),
        command_id=data.text(wire.FIELD_COMMAND_ID),
        sip_call_id=data.text(wire.FIELD_SIP_CALL_ID),
    )


def _parse_record(data: Fields) -> RecordEvent:
    record_id = data.text(wire.FIELD_RECORD_ID) or data.text(wire.FIELD_RECORDING_ID)
    if record_id is None:
        raise MangoProtocolError(f"{wire.FIELD_RECORD_ID} is missing or implausible")
    status = data.text(wire.FIELD_STATUS, WORD) or data.text(
        wire.FIELD_RECORDING_STATE, WORD
    )
    return RecordEvent(
        record_id=record_id,
        call_id=data.text(wire.FIELD_CALL_ID),
        entry_id=data.text(wire.FIELD_ENTRY_ID),
        status=(status or "").upper(),
        url=data.text(wire.FIELD_URL, LINK),
        duration=data.integer(wire.FIELD_DURATION),
        timestamp=data.timestamp(wire.FIELD_TIMESTAMP),
        completion_code=data.integer(wire.FIELD_COMPLETION_CODE),
    )


def _parse_ivr(data: Fields) -> IvrEvent:
    return IvrEvent(
        call_id=data.required_text(wire.FIELD_CALL_ID),
        entry_id=data.text(wire.FIELD_ENTRY_ID),
        status=(data.text(wire.FIELD_STATUS, WORD) or "").upper(),
        caller=_party(data, wire.FIELD_FROM),
        callee=_party(data, wire.FIELD_TO),
        line_number=_line_number(data),
        timestamp=data.timestamp(wire.FIELD_TIMESTAMP),
    )


def _parse_route_result(data: Fields) -> RouteResultEvent:
    result = data.integer(wire.FIELD_RESULT)
    if result is None:
        raise MangoProtocolError(f"{wire.FIELD_RESULT} is missing")
    command_id = data.text(wire.FIELD_COMMAND_ID)
    request_id = data.text(wire.FIELD_REQUEST_ID) or command_id
    if request_id is None:
        raise MangoProtocolError(f"{wire.FIELD_REQUEST_ID} is missing or implausible")
    return RouteResultEvent(
        request_id=request_id,
        call_id=data.text(wire.FIELD_CALL_ID),
        to_number=data.text(wire.FIELD_TO_NUMBER, NUMBER),
        result=result,
        message=data.message(wire.FIELD_MESSAGE),
        timestamp=data.timestamp(wire.FIELD_TIMESTAMP),
        command_id=command_id,
    )


def _parse_summary(data: Fields) -> SummaryEvent:
    return SummaryEvent(
        entry_id=data.required_text(wire.FIELD_ENTRY_ID),
        direction=_direction(data),
        caller=_party(data, wire.FIELD_FROM),
        callee=_party(data, wire.FIELD_TO),
        line_number=_line_number(data),
        created=data.timestamp(wire.FIELD_CREATE_TIME),
        answered=data.timestamp(wire.FIELD_TALK_TIME),
        ended=data.timestamp(wire.FIELD_END_TIME),
        entry_result=data.integer(wire.FIELD_ENTRY_RESULT),
        disconnect_reason=data.integer(wire.FIELD_DISCONNECT_REASON),
    )


_UNSET: Final = object()
_NO_PARTY_VALUES: Final = (None, _UNSET)
_INT64: Final = range(INT64_MIN, INT64_MAX + 1)
_PLAUSIBLE_TIMES: Final = range(PLAUSIBLE_TIME_MIN, PLAUSIBLE_TIME_MAX)


def _parse_call_fast(data: dict[str, Any]) -> CallEvent | None:
    """Parse a /call written exactly as the wire format says, or return None.

    Most messages are; checking them with plain look-ups costs a fraction of
    the lenient path, which takes every other spelling and does the
    complaining. Anything unusual here goes there, so both give one result.
    """
    if not _CANONICAL_FIELDS.issuperset(data):
        return None
    get = data.get
    call_id = get(wire.FIELD_CALL_ID)
    word = get(wire.FIELD_CALL_STATE)
    state = _CALL_STATES.get(word) if type(word) is str else None
    seq = get(wire.FIELD_SEQ)
    timestamp = get(wire.FIELD_TIMESTAMP)
    direction = get(wire.FIELD_DIRECTION)
    entry_id = get(wire.FIELD_ENTRY_ID)
    line_number = get(wire.FIELD_LINE_NUMBER)
    reason = get(wire.FIELD_DISCONNECT_REASON)
    group = get(wire.FIELD_IS_GROUP_DISCONNECT)
    if (
        state is None
        or type(call_id) is not str
        or not ID(call_id)
        or (seq is not None and (type(seq) is not int or seq not in _INT64))
        or (
            timestamp is not None
            and (type(timestamp) is not int or timestamp not in _PLAUSIBLE_TIMES)
        )
        or (
            direction is not None
            and (type(direction) is not str or direction not in _DIRECTIONS)
        )
        or (entry_id is not None and (type(entry_id) is not str or not ID(entry_id)))
        or (
            line_number is not None
            and (type(line_number) is not str or not NUMBER(line_number))
        )
        or (reason is not None and (type(reason) is not int or reason not in _INT64))
        or (group is not None and type(group) is not bool)
        or (caller := _party_fast(get(wire.FIELD_FROM, _UNSET))) is None
        or (callee := _party_fast(get(wire.FIELD_TO, _UNSET))) is None
    ):
        return None
    return CallEvent(
        call_id=call_id,
        entry_id=entry_id,
        seq=seq,
        timestamp=None if timestamp is None else datetime.fromtimestamp(timestamp, UTC),
        state=state,
        direction=Direction.UNKNOWN if direction is None else _DIRECTIONS[direction],
        caller=caller,
        callee=callee,
        line_number=line_number,
        disconnect_reason=reason,
        is_group_disconnect=group is True,
    )


def _party_fast(value: Any) -> Party | None:
    if value in _NO_PARTY_VALUES:
        return _NO_PARTY
    if type(value) is not dict or not _PARTY_FIELDS.issuperset(value):
        return None
    extension = value.get(wire.FIELD_EXTENSION)
    number = value.get(wire.FIELD_NUMBER)
    if (
        extension is not None
        and (type(extension) is not str or not EXTENSION(extension))
    ) or (number is not None and (type(number) is not str or not NUMBER(number))):
        return None
    return Party(extension=extension, number=number)


_CANONICAL_FIELDS: Final = frozenset(
    {
        wire.FIELD_CALL_ID,
        wire.FIELD_ENTRY_ID,
        wire.FIELD_SEQ,
        wire.FIELD_TIMESTAMP,
        wire.FIELD_CALL_STATE,
        wire.FIELD_DIRECTION,
        wire.FIELD_FROM,
        wire.FIELD_TO,
        wire.FIELD_LINE_NUMBER,
        wire.FIELD_DISCONNECT_REASON,
        wire.FIELD_IS_GROUP_DISCONNECT,
    }
)
_PARTY_FIELDS: Final = frozenset({wire.FIELD_EXTENSION, wire.FIELD_NUMBER})

_PARSERS: Final[Mapping[str, Callable[[Fields], PushEvent]]] = {
    wire.ROUTE_CALL: _parse_call,
    wire.ROUTE_RECORD: _parse_record,
    wire.ROUTE_RECORDING: _parse_record,
    wire.ROUTE_IVR: _parse_ivr,
    wire.ROUTE_RESULT: _parse_route_result,
    wire.ROUTE_SUMMARY: _parse_summary,
}
