"""What the integration shows of a call or a push: the one place each key is written.

The bus events, the event entities' attributes and the sensors' attributes
are all built here, so that a key is spelled once and the same news reads
the same wherever it shows.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .api.models import IvrEvent, Party, RecordEvent, RouteResultEvent
from .calls import Call, CallNews, LastCaller, party_number
from .const import (
    ATTR_ANSWERED,
    ATTR_ANSWERED_AT,
    ATTR_CALL_ID,
    ATTR_CALLEE_NAME,
    ATTR_CALLEE_NUMBER,
    ATTR_CALLER_NAME,
    ATTR_CALLER_NUMBER,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DEVICE_ID,
    ATTR_DIRECTION,
    ATTR_DISCONNECT_REASON,
    ATTR_DURATION,
    ATTR_ENTRY_ID,
    ATTR_EVENT_TYPE,
    ATTR_EXTENSION,
    ATTR_LINE_NUMBER,
    ATTR_MESSAGE,
    ATTR_NAME,
    ATTR_NUMBER,
    ATTR_OUTCOME,
    ATTR_RECORD_ID,
    ATTR_REPLAYED,
    ATTR_REQUEST_ID,
    ATTR_RESULT,
    ATTR_STARTED_AT,
    ATTR_STATE,
    ATTR_STATUS,
    ATTR_TIME,
    ATTR_TO,
    ATTR_URL,
    EVENT_CALL,
    EVENT_IVR,
    EVENT_RECORD,
    EVENT_ROUTE_RESULT,
    IVR_APPEARED,
    RECORDING_AVAILABLE,
    ROUTE_FAILURE,
    ROUTE_SUCCESS,
)
from .phonebook import Phonebook

# What the call_state sensor shows of its current call, in this order.
CALL_ATTRIBUTES: Final = (
    ATTR_CALL_ID,
    ATTR_ENTRY_ID,
    ATTR_DIRECTION,
    # The other party, whichever way the call goes: what a card shows.
    ATTR_NUMBER,
    ATTR_NAME,
    ATTR_CALLER_NUMBER,
    ATTR_CALLER_NAME,
    ATTR_CALLEE_NUMBER,
    ATTR_CALLEE_NAME,
    ATTR_LINE_NUMBER,
    ATTR_STARTED_AT,
    ATTR_ANSWERED_AT,
)
NO_CALL: Final = dict.fromkeys(CALL_ATTRIBUTES)

LAST_CALLER_ATTRIBUTES: Final = (
    ATTR_NAME,
    ATTR_TIME,
    ATTR_ANSWERED,
    ATTR_DURATION,
    ATTR_CALL_ID,
)
NO_LAST_CALLER: Final = dict.fromkeys(LAST_CALLER_ATTRIBUTES)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """Something that happened: a bus event, and news for an event entity."""

    kind: str
    """The bus event it goes out as (EVENT_CALL, ...)."""
    event_type: str | None
    """The event entity's event type, or None when the event entity has nothing to say."""
    attributes: dict[str, Any]
    replayed: bool
    repeat: bool = False
    """Another leg of the call told it already: a bus event, no news for the entity."""

    def bus_data(self, source: dict[str, str]) -> dict[str, Any]:
        """The bus event's data: where it came from, then what happened."""
        return {
            **source,
            ATTR_EVENT_TYPE: self.event_type,
            ATTR_REPLAYED: self.replayed,
            **self.attributes,
        }

    def entity_attributes(self) -> dict[str, Any]:
        """The event entity's attributes when it shows this news."""
        return {**self.attributes, ATTR_REPLAYED: self.replayed}


def event_source(
    config_entry_id: str, device_id: str, extension: str
) -> dict[str, str]:
    """What a bus event says of where it came from."""
    return {
        ATTR_CONFIG_ENTRY_ID: config_entry_id,
        ATTR_DEVICE_ID: device_id,
        ATTR_EXTENSION: extension,
    }


class HeldNews:
    """The latest news of each kind and type, kept while the entities cannot show it."""

    def __init__(self) -> None:
        """Hold nothing yet."""
        self._latest: dict[tuple[str, str], Notification] = {}

    def hold(self, news: Iterable[Notification]) -> None:
        """Keep each piece of news in place of the one of its kind and type."""
        for notification in news:
            if notification.event_type is not None:
                key = (notification.kind, notification.event_type)
                # Moved to the end: the entities show them in the order they came.
                self._latest.pop(key, None)
                self._latest[key] = notification

    def take(self) -> tuple[Notification, ...]:
        """What is held, oldest first; nothing is held afterwards."""
        held = tuple(self._latest.values())
        self._latest.clear()
        return held


def call_attributes(call: Call | None) -> dict[str, Any]:
    """What the call_state sensor shows of the extension's current call."""
    if call is None:
        return NO_CALL
    return dict(
        zip(
            CALL_ATTRIBUTES,
            (
                call.call_id,
                call.entry_id,
                call.direction.value,
                *(
                    (call.caller_number, call.caller_name)
                    if call.incoming
                    else (call.callee_number, call.callee_name)
                ),
                call.caller_number,
                call.caller_name,
                call.callee_number,
                call.callee_name,
                call.line_number,
                call.started_at.isoformat(),
                _isoformat(call.answered_at),
            ),
            strict=True,
        )
    )


def call_key(call: Call | None) -> object:
    """The parts of a call that the call_state sensor shows, to tell cheaply whether they changed.

    A call's news comes with a new Call every message (its seq and time of
    last news change); its direction and start never do.
    """
    if call is None:
        return None
    return (
        call.call_state,
        call.call_id,
        call.entry_id,
        call.caller_number,
        call.caller_name,
        call.callee_number,
        call.callee_name,
        call.line_number,
        call.answered_at,
    )


def last_caller_attributes(
    last: LastCaller | None, phonebook: Phonebook
) -> dict[str, Any]:
    """What the last_caller sensor shows beside the number."""
    if last is None:
        return NO_LAST_CALLER
    return dict(
        zip(
            LAST_CALLER_ATTRIBUTES,
            (
                phonebook.name_of(last.number),
                last.time.isoformat(),
                last.answered,
                last.duration,
                last.call_id,
            ),
            strict=True,
        )
    )


def call_notification(news: CallNews, *, replayed: bool) -> Notification:
    """A call's news, with both ends of the call as the leg knows them."""
    call = news.call
    return Notification(
        kind=EVENT_CALL,
        event_type=news.event_type,
        attributes={
            ATTR_CALL_ID: call.call_id,
            ATTR_ENTRY_ID: call.entry_id,
            ATTR_STATE: news.state.value,
            ATTR_DIRECTION: call.direction.value,
            ATTR_CALLER_NUMBER: call.caller_number,
            ATTR_CALLER_NAME: call.caller_name,
            ATTR_CALLEE_NUMBER: call.callee_number,
            ATTR_CALLEE_NAME: call.callee_name,
            ATTR_LINE_NUMBER: call.line_number,
            ATTR_DURATION: news.duration,
            ATTR_DISCONNECT_REASON: news.disconnect_reason,
            ATTR_OUTCOME: news.outcome,
            ATTR_TIME: news.time.isoformat(),
        },
        replayed=replayed,
        repeat=news.repeat,
    )


def record_notification(event: RecordEvent, *, replayed: bool) -> Notification:
    """A recording's progress; news for the entity once it is available."""
    return Notification(
        kind=EVENT_RECORD,
        event_type=RECORDING_AVAILABLE if event.available else None,
        attributes={
            ATTR_RECORD_ID: event.record_id,
            ATTR_CALL_ID: event.call_id,
            ATTR_ENTRY_ID: event.entry_id,
            ATTR_STATUS: event.status.lower(),
            ATTR_URL: event.url,
            ATTR_DURATION: event.duration,
            ATTR_TIME: _isoformat(event.timestamp),
        },
        replayed=replayed,
    )


def ivr_notification(
    event: IvrEvent, phonebook: Phonebook, *, replayed: bool
) -> Notification:
    """A caller waiting in the IVR, named from the phonebook."""
    return Notification(
        kind=EVENT_IVR,
        event_type=IVR_APPEARED,
        attributes={
            ATTR_CALL_ID: event.call_id,
            ATTR_ENTRY_ID: event.entry_id,
            ATTR_STATUS: event.status.lower(),
            **_party_attributes(
                ATTR_CALLER_NUMBER, ATTR_CALLER_NAME, event.caller, phonebook
            ),
            **_party_attributes(
                ATTR_CALLEE_NUMBER, ATTR_CALLEE_NAME, event.callee, phonebook
            ),
            ATTR_LINE_NUMBER: event.line_number,
            ATTR_TIME: _isoformat(event.timestamp),
        },
        replayed=replayed,
    )


def route_result_notification(
    event: RouteResultEvent, *, replayed: bool
) -> Notification:
    """The outcome of a route request."""
    return Notification(
        kind=EVENT_ROUTE_RESULT,
        event_type=ROUTE_SUCCESS if event.success else ROUTE_FAILURE,
        attributes={
            ATTR_REQUEST_ID: event.request_id,
            ATTR_CALL_ID: event.call_id,
            ATTR_TO: event.to_number,
            ATTR_RESULT: event.result,
            ATTR_MESSAGE: event.message,
            ATTR_TIME: _isoformat(event.timestamp),
        },
        replayed=replayed,
    )


def _party_attributes(
    number_key: str, name_key: str, party: Party, phonebook: Phonebook
) -> dict[str, str | None]:
    number = party_number(party)
    return {number_key: number, name_key: phonebook.name_of(number)}


def _isoformat(time: datetime | None) -> str | None:
    return None if time is None else time.isoformat()
