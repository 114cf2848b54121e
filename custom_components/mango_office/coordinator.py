"""Turns the push channel of one extension into call state, events and availability.

The path of a message: the channel (api/) parses and de-duplicates it; the
coordinator here keeps the legs of the calls in progress, fires the bus
event and tells exactly the entities whose state it changed; each entity
writes only when what it shows is different.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum, auto
import logging
from typing import Any, Final, TypedDict

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import (
    EXTENSION,
    ID,
    INT64_MAX,
    INT64_MIN,
    NUMBER,
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
    Validator,
)
from .const import (
    ATTR_ANSWERED_AT,
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
    ATTR_STARTED_AT,
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

# Calls whose end was lost are forgotten this often; nothing is sent.
PRUNE_INTERVAL: Final = timedelta(minutes=1)
# More legs than any one extension takes part in at once: a flood of junk
# that never ends its calls cannot grow the memory without bound.
MAX_CALLS: Final = 64
# The calls in progress are saved this long after they change (and always
# when the entry unloads or Home Assistant stops).
SAVE_DELAY: Final = 10.0
STORAGE_VERSION: Final = 1


class Topic(Enum):
    """What changed, so that only the entities that show it write their state."""

    CALLS = auto()
    LAST_CALLER = auto()
    MISSED_CALLS = auto()
    CONNECTION = auto()
    """Every entity: its availability follows the connection."""


@dataclass(slots=True, kw_only=True)
class CallLeg:
    """One leg of a call the extension takes part in, as far as it has got.

    The numbers and phonebook names of both ends are worked out once, when
    the leg learns them, not on every message.
    """

    call_id: str
    entry_id: str | None
    direction: Direction
    incoming: bool
    """Whether this extension is the one being called."""
    state: CallState
    caller: Party
    callee: Party
    caller_number: str | None = None
    caller_name: str | None = None
    callee_number: str | None = None
    callee_name: str | None = None
    line_number: str | None
    started_at: datetime
    answered_at: datetime | None
    updated_at: datetime
    seq: int | None
    shown: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """What the call_state sensor shows of the leg; None when it must be worked out again."""

    @property
    def call_state(self) -> str:
        """The leg's state in the words of the call_state sensor."""
        if self.state is CallState.CONNECTED:
            return STATE_TALKING
        if self.state is CallState.ON_HOLD:
            return STATE_ON_HOLD
        return STATE_RINGING if self.incoming else STATE_DIALING

    def attributes(self) -> dict[str, Any]:
        """What the call_state sensor shows of the leg, worked out once per change."""
        if self.shown is None:
            self.shown = {
                ATTR_CALL_ID: self.call_id,
                ATTR_ENTRY_ID: self.entry_id,
                ATTR_DIRECTION: self.direction.value,
                ATTR_CALLER_NUMBER: self.caller_number,
                ATTR_CALLER_NAME: self.caller_name,
                ATTR_CALLEE_NUMBER: self.callee_number,
                ATTR_CALLEE_NAME: self.callee_name,
                ATTR_LINE_NUMBER: self.line_number,
                ATTR_STARTED_AT: self.started_at.isoformat(),
                ATTR_ANSWERED_AT: _isoformat(self.answered_at),
            }
        return self.shown


@dataclass(frozen=True, slots=True, kw_only=True)
class LastCaller:
    """The last incoming call, for the last_caller sensor."""

    call_id: str
    number: str | None
    time: datetime
    answered: bool
    duration: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MangoNotification:
    """Something that happened, for the event entities."""

    kind: str
    """The bus event it also went out as (EVENT_CALL, ...)."""
    event_type: str | None
    """The event entity's event type, or None when the event entity has nothing to say."""
    attributes: dict[str, Any]
    replayed: bool


class _StoredLeg(TypedDict):
    call_id: str
    entry_id: str | None
    direction: str
    incoming: bool
    state: str
    caller: list[str | None]
    callee: list[str | None]
    line_number: str | None
    started_at: str
    answered_at: str | None
    updated_at: str
    seq: int | None


class _StoredLastCaller(TypedDict):
    call_id: str
    number: str | None
    time: str
    answered: bool
    duration: int | None


class StoredData(TypedDict):
    """What survives a restart or reload, beside the entities' own restore data."""

    calls: list[_StoredLeg]
    missed_calls: int
    last_caller: _StoredLastCaller | None


def storage_key(entry: ConfigEntry) -> str:
    """Where an entry's calls in progress are saved."""
    return f"{DOMAIN}.{entry.entry_id}"


class MangoCoordinator:
    """Follows one extension's calls through its push channel.

    The channel delivers each push message once and in order; this keeps
    the legs of the calls in progress, fires bus events, and tells the
    entities. Events the service kept while nobody listened arrive first,
    marked replayed: they update the legs and counters and fire their bus
    events, while the entities stay unavailable; once the last one is in,
    every entity writes once, so a long absence costs a handful of state
    changes, not one per event.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: MangoConfigEntry,
        client: MangoClient,
        device_id: str,
    ) -> None:
        """Set up the channel; nothing is sent until it is connected."""
        self.hass = hass
        self.config_entry = entry
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
        self.calls: dict[str, CallLeg] = {}
        self.current_call: CallLeg | None = None
        self.last_caller: LastCaller | None = None
        self.missed_calls: int | None = None
        """None until known: from storage, or from the sensor's last state."""
        self.stale_dropped = 0
        self._lost = False
        self._listeners: dict[Topic, list[CALLBACK_TYPE]] = {
            topic: [] for topic in Topic
        }
        self._event_listeners: dict[str, list[Callable[[MangoNotification], None]]] = {}
        self._bus_data = {
            "config_entry_id": entry.entry_id,
            "device_id": device_id,
            "extension": self.extension,
        }
        self._store: Store[StoredData] = Store(
            hass, STORAGE_VERSION, storage_key(entry)
        )
        self._save_pending = False
        self._shutting_down = False
        self._shut_down = False
        self._run_failures = 0
        self._restart: CALLBACK_TYPE | None = None

    @property
    def call_state(self) -> str:
        """The state of the call_state sensor."""
        return STATE_IDLE if (call := self.current_call) is None else call.call_state

    # -- life cycle ----------------------------------------------------------

    async def async_load(self) -> None:
        """Take back the calls in progress, the counter and the last caller.

        The file is ours, but may be damaged or edited by hand, or written by
        a newer version: what does not check out is left out, never trusted.
        """
        try:
            stored: Any = await self._store.async_load()
        except (HomeAssistantError, NotImplementedError, ValueError) as err:
            LOGGER.warning(
                "Ignoring the saved calls of extension %s: %s", self.extension, err
            )
            return
        if not isinstance(stored, dict):
            return
        calls = stored.get("calls")
        for item in calls[-MAX_CALLS:] if isinstance(calls, list) else ():
            if (leg := _leg_from_storage(item)) is not None:
                self._describe_parties(leg)
                self.calls[leg.call_id] = leg
        missed = stored.get("missed_calls")
        if isinstance(missed, int) and not isinstance(missed, bool) and missed >= 0:
            self.missed_calls = missed
        self.last_caller = _last_caller_from_storage(stored.get("last_caller"))
        self._calls_changed()

    @callback
    def async_start(self) -> None:
        """Start delivering, once the entities are there to show it."""
        entry = self.config_entry
        entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._prune,
                PRUNE_INTERVAL,
                name=f"{entry.title} prune",
                cancel_on_shutdown=True,
            )
        )
        entry.async_on_unload(self._stop_restarting)
        self._start_channel()

    def _start_channel(self) -> None:
        self._restart = None
        task = self.config_entry.async_create_background_task(
            self.hass,
            self.channel.run(),
            name=f"{self.config_entry.title} push channel",
        )
        task.add_done_callback(self._channel_ended)

    @callback
    def _channel_ended(self, task: asyncio.Task[None]) -> None:
        """Start the channel again if it ended for any reason but close() or the token."""
        if self._shutting_down or task.cancelled():
            return
        error = task.exception()
        if error is None and self.channel.state is ChannelState.AUTH_FAILED:
            return
        # run() promises not to end otherwise: this is a bug, and whatever
        # it is, delivery must go on.
        self._run_failures += 1
        LOGGER.log(
            logging.ERROR if self._run_failures == 1 else logging.DEBUG,
            "The push channel of extension %s ended unexpectedly; starting it again",
            self.extension,
            exc_info=error,
        )
        self._handle_state(ChannelState.DISCONNECTED)
        self._restart = async_call_later(
            self.hass,
            self.channel.retry_delay(self._run_failures),
            HassJob(self._restart_channel, cancel_on_shutdown=True),
        )

    @callback
    def _restart_channel(self, _: datetime) -> None:
        self._start_channel()

    @callback
    def _stop_restarting(self) -> None:
        self._shutting_down = True
        if self._restart is not None:
            self._restart()
            self._restart = None

    async def async_shutdown(self) -> None:
        """Close the channel (delivering what it still holds), then save once."""
        if self._shut_down:
            return
        self._stop_restarting()
        await self.channel.close()
        if not self._shut_down:
            self._shut_down = True
            self._save_pending = False
            await self._store.async_save(self._data_to_store())

    # -- what the entities and actions use -----------------------------------

    @callback
    def async_add_listener(self, topic: Topic, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update whenever what the topic covers changes; returns the remover."""
        listeners = self._listeners[topic]
        listeners.append(update)
        return lambda: listeners.remove(update)

    @callback
    def async_add_event_listener(
        self, kind: str, handle: Callable[[MangoNotification], None]
    ) -> CALLBACK_TYPE:
        """Hand each notification of one kind (EVENT_CALL, ...) to handle."""
        listeners = self._event_listeners.setdefault(kind, [])
        listeners.append(handle)
        return lambda: listeners.remove(handle)

    @callback
    def async_restore(
        self, *, missed_calls: int | None = None, last_caller: LastCaller | None = None
    ) -> None:
        """Take what the sensors kept before this coordinator saved anything."""
        if self.missed_calls is None and missed_calls is not None:
            self.missed_calls = missed_calls
        if self.last_caller is None and last_caller is not None:
            self.last_caller = last_caller

    @callback
    def async_set_phonebook(self, entries: Mapping[str, str]) -> None:
        """Use a new phonebook from now on."""
        self.phonebook = Phonebook(entries)
        for leg in self.calls.values():
            self._describe_parties(leg)
        self._update(Topic.CALLS, Topic.LAST_CALLER)

    def party_number(self, party: Party) -> str | None:
        """Return the number to show for one end of a call."""
        if party.number is not None:
            return normalize_number(party.number) or party.number
        return party.extension

    def party_attributes(self, caller: Party, callee: Party) -> dict[str, str | None]:
        """Return the numbers and phonebook names of both ends of a call."""
        caller_number, caller_name = self._number_and_name(caller)
        callee_number, callee_name = self._number_and_name(callee)
        return {
            ATTR_CALLER_NUMBER: caller_number,
            ATTR_CALLER_NAME: caller_name,
            ATTR_CALLEE_NUMBER: callee_number,
            ATTR_CALLEE_NAME: callee_name,
        }

    def _number_and_name(self, party: Party) -> tuple[str | None, str | None]:
        number = self.party_number(party)
        return number, self.phonebook.name_of(number)

    # -- the channel's news --------------------------------------------------

    @callback
    def _handle_state(self, state: ChannelState) -> None:
        if state is ChannelState.CONNECTED:
            self.connected = True
            if self._lost:
                self._lost = False
                LOGGER.info(
                    "Extension %s is connected to MANGO OFFICE again", self.extension
                )
            self._prune()
            self._schedule_save()
            self._update(Topic.CONNECTION)
            return
        if state is ChannelState.CLOSED:
            return
        if self.connected:
            # Once when it goes, once when it comes back: the retries in
            # between are the channel's business.
            self._lost = True
            LOGGER.info(
                "Extension %s lost its connection to MANGO OFFICE; retrying",
                self.extension,
            )
        if state is ChannelState.AUTH_FAILED:
            LOGGER.error(
                "MANGO OFFICE rejected the token of extension %s", self.extension
            )
            self.config_entry.async_start_reauth(self.hass)
        if self.connected:
            self.connected = False
            self._update(Topic.CONNECTION)

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
        received = min(time, now) if replayed else now
        leg = self.calls.get(event.call_id)
        topics = {Topic.CALLS}
        event_types: list[str] = []
        duration: int | None = None

        if leg is None:
            leg = self._new_leg(event, time, received, topics, event_types)
        elif event.seq is not None and leg.seq is not None and event.seq <= leg.seq:
            # Seen before a reload; the channel's own memory starts afresh.
            self.stale_dropped += 1
            return
        else:
            self._update_leg(leg, event, received)

        if event.state is CallState.CONNECTED and leg.answered_at is None:
            leg.answered_at = time
            leg.shown = None
            event_types.append(CALL_ANSWERED)
            if self._update_last_caller(leg.call_id, answered=True):
                topics.add(Topic.LAST_CALLER)
        if event.state is CallState.DISCONNECTED:
            duration = self._end_leg(leg, event, time, topics, event_types)

        attributes = {
            ATTR_CALL_ID: event.call_id,
            ATTR_ENTRY_ID: leg.entry_id,
            ATTR_STATE: event.state.value,
            ATTR_DIRECTION: leg.direction.value,
            ATTR_CALLER_NUMBER: leg.caller_number,
            ATTR_CALLER_NAME: leg.caller_name,
            ATTR_CALLEE_NUMBER: leg.callee_number,
            ATTR_CALLEE_NAME: leg.callee_name,
            ATTR_LINE_NUMBER: leg.line_number,
            ATTR_DURATION: duration,
            ATTR_DISCONNECT_REASON: event.disconnect_reason,
            ATTR_TIME: time.isoformat(),
        }
        self._calls_changed()
        self._schedule_save()
        # A message may carry more than one piece of news (the first sign
        # of a call may already be its answer): each is an event of its own.
        if not event_types:
            self._notify(EVENT_CALL, None, attributes, replayed)
        for event_type in event_types:
            self._notify(EVENT_CALL, event_type, attributes, replayed)
        self._update(*topics)

    def _new_leg(
        self,
        event: CallEvent,
        time: datetime,
        received: datetime,
        topics: set[Topic],
        event_types: list[str],
    ) -> CallLeg:
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
            seq=event.seq,
        )
        self._describe_parties(leg)
        if event.state is CallState.DISCONNECTED:
            return leg  # first seen at its end: _end_leg tells what it was
        event_types.append(CALL_INCOMING if leg.incoming else CALL_OUTGOING)
        if leg.incoming:
            self._set_last_caller(leg, time)
            topics.add(Topic.LAST_CALLER)
        calls = self.calls
        calls[leg.call_id] = leg
        if len(calls) > MAX_CALLS:
            forgotten = next(iter(calls))
            LOGGER.debug("Forgetting call %s: too many calls", forgotten)
            del calls[forgotten]
        return leg

    def _update_leg(self, leg: CallLeg, event: CallEvent, received: datetime) -> None:
        # A message that leaves out a party keeps what is known of it.
        changed = False
        if event.caller.number or event.caller.extension:
            changed = event.caller != leg.caller
            leg.caller = event.caller
        if event.callee.number or event.callee.extension:
            changed = changed or event.callee != leg.callee
            leg.callee = event.callee
        if changed:
            self._describe_parties(leg)
        if (event.entry_id and event.entry_id != leg.entry_id) or (
            event.line_number and event.line_number != leg.line_number
        ):
            leg.entry_id = event.entry_id or leg.entry_id
            leg.line_number = event.line_number or leg.line_number
            leg.shown = None
        leg.state = event.state
        leg.updated_at = received
        if event.seq is not None:
            leg.seq = event.seq

    def _end_leg(
        self,
        leg: CallLeg,
        event: CallEvent,
        time: datetime,
        topics: set[Topic],
        event_types: list[str],
    ) -> int | None:
        """Forget an ended leg; return how long it talked."""
        first_seen = self.calls.pop(leg.call_id, None) is None
        duration: int | None = None
        if leg.answered_at is not None:
            duration = max(0, round((time - leg.answered_at).total_seconds()))
            if self._update_last_caller(leg.call_id, duration=duration):
                topics.add(Topic.LAST_CALLER)
        # Not missed: a call another member of the group took. A call first
        # seen at its end began before anyone listened: only the service's
        # reason tells whether it went unanswered.
        missed = (
            leg.incoming
            and leg.answered_at is None
            and not event.is_group_disconnect
            and (not first_seen or event.unanswered)
        )
        if missed:
            self.missed_calls = (self.missed_calls or 0) + 1
            topics.add(Topic.MISSED_CALLS)
            if first_seen:
                self._set_last_caller(leg, time)
                topics.add(Topic.LAST_CALLER)
        event_types.append(CALL_MISSED if missed else CALL_ENDED)
        return duration

    def _is_incoming(self, event: CallEvent) -> bool:
        if event.direction is Direction.INBOUND:
            return True
        if event.direction is Direction.OUTBOUND:
            return False
        # Internal, or the service did not say: it is incoming if we are called.
        return event.callee.extension == self.extension

    def _describe_parties(self, leg: CallLeg) -> None:
        leg.shown = None
        leg.caller_number, leg.caller_name = self._number_and_name(leg.caller)
        leg.callee_number, leg.callee_name = self._number_and_name(leg.callee)

    def _set_last_caller(self, leg: CallLeg, time: datetime) -> None:
        self.last_caller = LastCaller(
            call_id=leg.call_id,
            number=leg.caller_number,
            time=time,
            answered=False,
            duration=None,
        )

    def _update_last_caller(self, call_id: str, **changes: Any) -> bool:
        last = self.last_caller
        if last is None or last.call_id != call_id:
            return False
        self.last_caller = replace(last, **changes)
        return True

    def _calls_changed(self) -> None:
        self.current_call = max(
            self.calls.values(),
            key=lambda leg: (_IMPORTANCE[leg.call_state], leg.updated_at),
            default=None,
        )

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
                **self._bus_data,
                ATTR_EVENT_TYPE: event_type,
                ATTR_REPLAYED: replayed,
                **attributes,
            },
        )
        if listeners := self._event_listeners.get(kind):
            notification = MangoNotification(
                kind=kind,
                event_type=event_type,
                attributes=attributes,
                replayed=replayed,
            )
            for handle in listeners:
                handle(notification)

    def _update(self, *topics: Topic) -> None:
        # While the missed events drain the entities are unavailable: they
        # catch up all at once when the channel is live again (every entity
        # follows the connection, and reads everything it shows then).
        if not self.connected and Topic.CONNECTION not in topics:
            return
        for topic in topics:
            for update in self._listeners[topic]:
                update()

    @callback
    def _prune(self, _: datetime | None = None) -> None:
        """Forget calls whose end never arrived, so call_state cannot get stuck."""
        now = dt_util.utcnow()
        stale = [
            call_id
            for call_id, leg in self.calls.items()
            if now - leg.updated_at
            > (
                STALE_RINGING_AFTER
                if leg.state is CallState.APPEARED
                else STALE_CALL_AFTER
            )
        ]
        if not stale:
            return
        for call_id in stale:
            LOGGER.debug("Forgetting call %s: its end never arrived", call_id)
            del self.calls[call_id]
        self._calls_changed()
        self._schedule_save()
        self._update(Topic.CALLS)

    # -- storage -------------------------------------------------------------

    def _schedule_save(self) -> None:
        # One timer per save, not one per message.
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_store, SAVE_DELAY)

    def _data_to_store(self) -> StoredData:
        self._save_pending = False
        last = self.last_caller
        return {
            "calls": [_leg_to_storage(leg) for leg in self.calls.values()],
            "missed_calls": self.missed_calls or 0,
            "last_caller": None
            if last is None
            else {
                "call_id": last.call_id,
                "number": last.number,
                "time": last.time.isoformat(),
                "answered": last.answered,
                "duration": last.duration,
            },
        }


def _leg_to_storage(leg: CallLeg) -> _StoredLeg:
    return {
        "call_id": leg.call_id,
        "entry_id": leg.entry_id,
        "direction": leg.direction.value,
        "incoming": leg.incoming,
        "state": leg.state.value,
        "caller": [leg.caller.extension, leg.caller.number],
        "callee": [leg.callee.extension, leg.callee.number],
        "line_number": leg.line_number,
        "started_at": leg.started_at.isoformat(),
        "answered_at": _isoformat(leg.answered_at),
        "updated_at": leg.updated_at.isoformat(),
        "seq": leg.seq,
    }


class _UnreadableError(Exception):
    """A saved value that does not check out."""


def _saved_text(value: Any, valid: Validator = ID, *, optional: bool = True) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not valid(value):
        raise _UnreadableError
    return value


def _saved_integer(value: Any, minimum: int = INT64_MIN) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not minimum <= value <= INT64_MAX:
        raise _UnreadableError
    return value


def _saved_time(value: Any) -> datetime:
    parsed = dt_util.parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise _UnreadableError
    return parsed


def _saved_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _UnreadableError
    return value


def _saved_party(value: Any) -> Party:
    if not isinstance(value, list) or len(value) != 2:
        raise _UnreadableError
    return Party(
        extension=_saved_text(value[0], EXTENSION), number=_saved_text(value[1], NUMBER)
    )


def _saved_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _UnreadableError
    return value


def _leg_from_storage(value: Any) -> CallLeg | None:
    try:
        stored = _saved_mapping(value)
        answered_at = stored.get("answered_at")
        return CallLeg(
            call_id=_saved_text(stored.get("call_id"), optional=False),
            entry_id=_saved_text(stored.get("entry_id")),
            direction=Direction(str(stored.get("direction"))),
            incoming=_saved_flag(stored.get("incoming")),
            state=CallState(str(stored.get("state"))),
            caller=_saved_party(stored.get("caller")),
            callee=_saved_party(stored.get("callee")),
            line_number=_saved_text(stored.get("line_number"), NUMBER),
            started_at=_saved_time(stored.get("started_at")),
            answered_at=None if answered_at is None else _saved_time(answered_at),
            updated_at=_saved_time(stored.get("updated_at")),
            # A damaged seq costs only the check against stale messages.
            seq=seq if type(seq := stored.get("seq")) is int else None,
        )
    except _UnreadableError, ValueError:
        LOGGER.debug("Ignoring an unreadable saved call")
        return None


def _last_caller_from_storage(value: Any) -> LastCaller | None:
    try:
        stored = _saved_mapping(value)
        return LastCaller(
            call_id=_saved_text(stored.get("call_id"), optional=False),
            number=_saved_text(stored.get("number"), NUMBER),
            time=_saved_time(stored.get("time")),
            answered=_saved_flag(stored.get("answered")),
            duration=_saved_integer(stored.get("duration"), minimum=0),
        )
    except _UnreadableError:
        return None


def _isoformat(time: datetime | None) -> str | None:
    return None if time is None else time.isoformat()
