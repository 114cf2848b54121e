"""Turns the push channel of one extension into call state, events and availability."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util.signal_type import SignalType

from .api import (
    CallEvent,
    CallState,
    ChannelState,
    Direction,
    IvrEvent,
    MangoChannel,
    MangoClient,
    Party,
    PushEvent,
    RecordEvent,
    RouteResultEvent,
)
from .const import (
    ATTR_CALL_ID,
    ATTR_CALLEE_NAME,
    ATTR_CALLEE_NUMBER,
    ATTR_CALLER_NAME,
    ATTR_CALLER_NUMBER,
    ATTR_DIRECTION,
    ATTR_DISCONNECT_REASON,
    ATTR_DURATION,
    ATTR_ENTRY_ID,
    ATTR_EVENT_TYPE,
    ATTR_LINE_NUMBER,
    ATTR_MESSAGE,
    ATTR_RECORD_ID,
    ATTR_REPLAYED,
    ATTR_REQUEST_ID,
    ATTR_RESULT,
    ATTR_STATE,
    ATTR_STATUS,
    ATTR_TIME,
    ATTR_TO,
    ATTR_URL,
    CALL_ANSWERED,
    CALL_ENDED,
    CALL_INCOMING,
    CALL_MISSED,
    CALL_OUTGOING,
    CONF_EXTENSION,
    CONF_PHONEBOOK,
    DOMAIN,
    EVENT_CALL,
    EVENT_IVR,
    EVENT_RECORD,
    EVENT_ROUTE_RESULT,
    IVR_APPEARED,
    LOGGER,
    RECORDING_AVAILABLE,
    ROUTE_FAILURE,
    ROUTE_SUCCESS,
    STALE_CALL_AFTER,
    STALE_RINGING_AFTER,
)
from .phonebook import Phonebook, normalize_number

type MangoConfigEntry = ConfigEntry[MangoCoordinator]

# Call states of the call_state sensor, most important first.
STATE_TALKING: Final = "talking"
STATE_ON_HOLD: Final = "on_hold"
STATE_RINGING: Final = "ringing"
STATE_DIALING: Final = "dialing"
STATE_IDLE: Final = "idle"
CALL_STATES: Final = [
    STATE_IDLE,
    STATE_RINGING,
    STATE_DIALING,
    STATE_TALKING,
    STATE_ON_HOLD,
]
_IMPORTANCE: Final = {
    STATE_TALKING: 3,
    STATE_ON_HOLD: 2,
    STATE_RINGING: 1,
    STATE_DIALING: 1,
}

# The periodic refresh only prunes calls whose end was lost; it sends nothing.
PRUNE_INTERVAL: Final = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallLeg:
    """One leg of a call the extension takes part in, as far as it has got."""

    call_id: str
    entry_id: str | None
    direction: Direction
    incoming: bool
    """Whether this extension is the one being called."""
    state: CallState
    caller: Party
    callee: Party
    line_number: str | None
    started_at: datetime
    answered_at: datetime | None
    updated_at: datetime
    seq: int

    @property
    def call_state(self) -> str:
        """The leg's state in the words of the call_state sensor."""
        if self.state is CallState.CONNECTED:
            return STATE_TALKING
        if self.state is CallState.ON_HOLD:
            return STATE_ON_HOLD
        return STATE_RINGING if self.incoming else STATE_DIALING


@dataclass(frozen=True, slots=True, kw_only=True)
class LastCaller:
    """The last incoming call, for the last_caller sensor."""

    call_id: str
    number: str | None
    time: datetime
    answered: bool
    duration: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionData:
    """What the extension's entities show."""

    calls: Mapping[str, CallLeg]
    """Legs still going on, by call id."""
    last_caller: LastCaller | None

    @property
    def current_call(self) -> CallLeg | None:
        """The leg that matters most now: talking, then on hold, then ringing or dialing."""
        return max(
            self.calls.values(),
            key=lambda leg: (_IMPORTANCE[leg.call_state], leg.updated_at, leg.seq),
            default=None,
        )

    @property
    def call_state(self) -> str:
        """The state of the call_state sensor."""
        return STATE_IDLE if (call := self.current_call) is None else call.call_state


@dataclass(frozen=True, slots=True, kw_only=True)
class MangoNotification:
    """Something that happened, for the event entities and the missed-calls counter."""

    kind: str
    """The bus event it also went out as (EVENT_CALL, ...)."""
    event_type: str | None
    """The event entity's event type, or None when the event entity has nothing to say."""
    attributes: dict[str, Any]
    replayed: bool


def notification_signal(entry: ConfigEntry) -> SignalType[MangoNotification]:
    """Return the dispatcher signal an entry's notifications go out on."""
    return SignalType(f"{DOMAIN}_{entry.entry_id}_notification")


class MangoCoordinator(DataUpdateCoordinator[ExtensionData]):
    """Follows one extension's calls through its push channel.

    The channel delivers each push message once and in order; this keeps
    the legs of the calls in progress, fires bus events, and tells the
    entities. Events the service kept while nobody listened arrive first,
    marked replayed: they update the counters and fire their events, but
    the call state is only shown once they are all in, so a call that
    ended while Home Assistant was away never shows as ringing.
    """

    config_entry: MangoConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: MangoConfigEntry,
        client: MangoClient,
        device_id: str,
    ) -> None:
        """Set up the channel; nothing is sent until it is connected."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=entry.title,
            update_interval=PRUNE_INTERVAL,
        )
        self.client = client
        self.entry_data = entry.data
        """The settings this coordinator was made with."""
        self.extension: str = entry.data[CONF_EXTENSION]
        self.device_id = device_id
        self.phonebook = Phonebook(entry.options.get(CONF_PHONEBOOK, {}))
        self.channel = MangoChannel(
            client,
            self.extension,
            on_event=self._handle_event,
            on_state=self._handle_state,
        )
        self.connected = False
        self._lost = False
        self._calls: dict[str, CallLeg] = {}
        self._last_caller: LastCaller | None = None
        self.data = ExtensionData(calls={}, last_caller=None)

    @override
    async def _async_update_data(self) -> ExtensionData:
        """Forget calls whose end never came; everything else is pushed."""
        return self._snapshot()

    @callback
    def async_restore_last_caller(self, last_caller: LastCaller) -> None:
        """Take back the last caller from before a restart, unless a newer one came."""
        if self._last_caller is None:
            self._last_caller = last_caller
            self.data = self._snapshot()

    @callback
    def async_set_phonebook(self, entries: Mapping[str, str]) -> None:
        """Use a new phonebook from now on."""
        self.phonebook = Phonebook(entries)
        self.async_set_updated_data(self._snapshot())

    def party_number(self, party: Party) -> str | None:
        """Return the number to show for one end of a call."""
        if party.number is not None:
            return normalize_number(party.number) or party.number
        return party.extension

    @callback
    def _handle_state(self, state: ChannelState) -> None:
        if state is ChannelState.CONNECTED:
            self.connected = True
            if self._lost:
                self._lost = False
                LOGGER.info(
                    "Extension %s is connected to MANGO OFFICE again", self.extension
                )
            self.async_set_updated_data(self._snapshot())
            return
        if state is ChannelState.CLOSED:
            return
        if self.connected:
            # Once when it goes, once when it comes back: the retries in
            # between are the channel's business.
            self._lost = True
            LOGGER.warning(
                "Extension %s lost its connection to MANGO OFFICE; retrying",
                self.extension,
            )
        self.connected = False
        if state is ChannelState.AUTH_FAILED:
            LOGGER.error(
                "MANGO OFFICE rejected the token of extension %s", self.extension
            )
            self.config_entry.async_start_reauth(self.hass)
        self.async_update_listeners()

    @callback
    def _handle_event(self, event: PushEvent, replayed: bool) -> None:
        match event:
            case CallEvent():
                self._handle_call(event, replayed)
            case RecordEvent():
                self._notify(
                    EVENT_RECORD,
                    RECORDING_AVAILABLE if event.available else None,
                    {
                        ATTR_RECORD_ID: event.record_id,
                        ATTR_CALL_ID: event.call_id,
                        ATTR_ENTRY_ID: event.entry_id,
                        ATTR_STATUS: event.status.lower(),
                        ATTR_URL: event.url,
                        ATTR_DURATION: event.duration,
                        ATTR_TIME: _isoformat(event.timestamp),
                    },
                    replayed,
                )
            case IvrEvent():
                self._notify(
                    EVENT_IVR,
                    IVR_APPEARED,
                    {
                        ATTR_CALL_ID: event.call_id,
                        ATTR_ENTRY_ID: event.entry_id,
                        ATTR_STATUS: event.status.lower(),
                        **self.party_attributes(event.caller, event.callee),
                        ATTR_LINE_NUMBER: event.line_number,
                        ATTR_TIME: _isoformat(event.timestamp),
                    },
                    replayed,
                )
            case RouteResultEvent():
                self._notify(
                    EVENT_ROUTE_RESULT,
                    ROUTE_SUCCESS if event.success else ROUTE_FAILURE,
                    {
                        ATTR_REQUEST_ID: event.request_id,
                        ATTR_CALL_ID: event.call_id,
                        ATTR_TO: event.to_number,
                        ATTR_RESULT: event.result,
                        ATTR_MESSAGE: event.message,
                        ATTR_TIME: _isoformat(event.timestamp),
                    },
                    replayed,
                )

    def _handle_call(self, event: CallEvent, replayed: bool) -> None:
        now = dt_util.utcnow()
        time = event.timestamp or now
        # Staleness is judged by our own clock, which the service's may not
        # match; a replayed event is as old as the service says.
        received = time if replayed else now
        leg = self._calls.get(event.call_id)
        event_types: list[str | None] = []
        duration: int | None = None

        first_seen = leg is None
        if leg is None:
            leg = CallLeg(
                call_id=event.call_id,
                entry_id=event.entry_id,
                direction=event.direction,
                incoming=self._is_incoming(event),
                state=event.state,
                caller=event.caller,
                callee=event.callee,
                line_number=event.line_number,
                started_at=time,
                answered_at=None,
                updated_at=received,
                seq=event.seq or 0,
            )
            if event.state is not CallState.DISCONNECTED:
                event_types.append(CALL_INCOMING if leg.incoming else CALL_OUTGOING)
                if leg.incoming:
                    self._last_caller = LastCaller(
                        call_id=leg.call_id,
                        number=self.party_number(leg.caller),
                        time=time,
                        answered=False,
                        duration=None,
                    )

        if event.state is CallState.CONNECTED and leg.answered_at is None:
            leg = replace(leg, answered_at=time)
            event_types.append(CALL_ANSWERED)
            self._update_last_caller(leg.call_id, answered=True)

        if event.state is CallState.DISCONNECTED:
            self._calls.pop(event.call_id, None)
            if leg.answered_at is not None:
                duration = max(0, round((time - leg.answered_at).total_seconds()))
                self._update_last_caller(leg.call_id, duration=duration)
            # Not missed: a call another member of the group took, or one
            # first seen at its end, which began before we listened (a reload
            # mid-call) and may well have been answered.
            missed = (
                leg.incoming
                and not first_seen
                and leg.answered_at is None
                and not event.is_group_disconnect
            )
            event_types.append(CALL_MISSED if missed else CALL_ENDED)
        else:
            self._calls[event.call_id] = replace(
                leg,
                state=event.state,
                caller=event.caller if event.caller != Party() else leg.caller,
                callee=event.callee if event.callee != Party() else leg.callee,
                updated_at=received,
                seq=event.seq or leg.seq,
            )

        attributes = {
            ATTR_CALL_ID: event.call_id,
            ATTR_ENTRY_ID: event.entry_id or leg.entry_id,
            ATTR_STATE: event.state.value,
            ATTR_DIRECTION: leg.direction.value,
            **self.party_attributes(leg.caller, leg.callee),
            ATTR_LINE_NUMBER: event.line_number or leg.line_number,
            ATTR_DURATION: duration,
            ATTR_DISCONNECT_REASON: event.disconnect_reason,
            ATTR_TIME: time.isoformat(),
        }
        # A message may carry more than one piece of news (the first sign
        # of a call may already be its answer): each is an event of its own.
        for event_type in event_types or [None]:
            self._notify(EVENT_CALL, event_type, attributes, replayed)
        if not replayed and self.connected:
            self.async_set_updated_data(self._snapshot())

    def _is_incoming(self, event: CallEvent) -> bool:
        if event.direction is Direction.INBOUND:
            return True
        if event.direction is Direction.OUTBOUND:
            return False
        # Internal, or the service did not say: it is incoming if we are called.
        return event.callee.extension == self.extension

    def _update_last_caller(self, call_id: str, **changes: Any) -> None:
        if self._last_caller is not None and self._last_caller.call_id == call_id:
            self._last_caller = replace(self._last_caller, **changes)

    def party_attributes(self, caller: Party, callee: Party) -> dict[str, str | None]:
        """Return the numbers and phonebook names of both ends of a call."""
        caller_number = self.party_number(caller)
        callee_number = self.party_number(callee)
        return {
            ATTR_CALLER_NUMBER: caller_number,
            ATTR_CALLER_NAME: self.phonebook.name_of(caller_number),
            ATTR_CALLEE_NUMBER: callee_number,
            ATTR_CALLEE_NAME: self.phonebook.name_of(callee_number),
        }

    def _notify(
        self,
        kind: str,
        event_type: str | None,
        attributes: dict[str, Any],
        replayed: bool,
    ) -> None:
        self.hass.bus.async_fire(
            kind,
            {
                "config_entry_id": self.config_entry.entry_id,
                "device_id": self.device_id,
                "extension": self.extension,
                ATTR_EVENT_TYPE: event_type,
                ATTR_REPLAYED: replayed,
                **attributes,
            },
        )
        async_dispatcher_send(
            self.hass,
            notification_signal(self.config_entry),
            MangoNotification(
                kind=kind,
                event_type=event_type,
                attributes=attributes,
                replayed=replayed,
            ),
        )

    def _snapshot(self) -> ExtensionData:
        now = dt_util.utcnow()
        for call_id, leg in list(self._calls.items()):
            limit = (
                STALE_RINGING_AFTER
                if leg.state is CallState.APPEARED
                else STALE_CALL_AFTER
            )
            if now - leg.updated_at > limit:
                LOGGER.debug("Forgetting call %s: its end never arrived", call_id)
                del self._calls[call_id]
        return ExtensionData(calls=dict(self._calls), last_caller=self._last_caller)


def _isoformat(time: datetime | None) -> str | None:
    return None if time is None else time.isoformat()
