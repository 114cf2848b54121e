"""The calls of one extension, as its push events tell them: no Home Assistant here.

A ``CallTracker`` takes parsed ``/call`` events (with the time they are
handled and whether the service replayed them) and keeps the legs of the
calls in progress, the last caller and the missed-call count. Each event
returns the news it carries (incoming, answered, missed, ...); ``snapshot``
is a frozen picture of the extension for whoever shows it. It saves to and
loads from plain dicts, checking every saved field, so a damaged or
hand-edited file costs only what does not check out.

The channel (api/) has already dropped repeated and out-of-order events;
the tracker takes each event as new.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, TypedDict

from .api.fields import EXTENSION, INT64_MAX, NUMBER
from .api.models import CallEvent, CallState, Direction, Party
from .phonebook import Phonebook, normalize_number
from .saved import UnreadableError, flag, mapping, seconds, text, timestamp

# Call states as the call_state sensor shows them, most important first.
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

# News of a call, as the call event entity's event types.
CALL_INCOMING: Final = "incoming"
CALL_OUTGOING: Final = "outgoing"
CALL_ANSWERED: Final = "answered"
CALL_MISSED: Final = "missed"
CALL_ENDED: Final = "ended"
CALL_EVENT_TYPES: Final = [
    CALL_INCOMING,
    CALL_OUTGOING,
    CALL_ANSWERED,
    CALL_MISSED,
    CALL_ENDED,
]

# More legs than any one extension takes part in at once: a flood of junk
# that never ends its calls cannot grow the memory without bound.
MAX_CALLS: Final = 64
# A call whose end never arrived (the service lost it) stops counting as
# ongoing after this long without news, so call_state cannot get stuck.
# Nobody rings for ten minutes; a conversation can go on for hours.
STALE_RINGING_AFTER: Final = timedelta(minutes=10)
STALE_CALL_AFTER: Final = timedelta(hours=8)


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One leg of a call the extension takes part in, as far as it has got.

    The numbers and phonebook names of both ends are worked out when the
    leg learns them (or the phonebook changes), not on every message.
    """

    call_id: str
    entry_id: str | None
    direction: Direction
    incoming: bool
    """Whether this extension is the one being called."""
    state: CallState
    caller: Party
    callee: Party
    caller_number: str | None
    caller_name: str | None
    callee_number: str | None
    callee_name: str | None
    line_number: str | None
    started_at: datetime
    answered_at: datetime | None
    updated_at: datetime
    seq: int | None

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
class ExtensionCalls:
    """What an extension's calls look like at one moment."""

    calls: Mapping[str, Call]
    """The legs in progress, oldest first."""
    current_call: Call | None
    """The leg that matters most: talking, then on hold, then ringing or dialing."""
    last_caller: LastCaller | None
    missed_calls: int

    @property
    def call_state(self) -> str:
        """The state of the call_state sensor."""
        return STATE_IDLE if self.current_call is None else self.current_call.call_state


@dataclass(frozen=True, slots=True, kw_only=True)
class CallNews:
    """One piece of news a call event carried, for the bus and the event entity."""

    event_type: str | None
    """CALL_INCOMING, ...; None when the event changed a call without news."""
    call: Call
    state: CallState
    """The state the event reported (the leg is gone once it ended)."""
    duration: int | None
    """Seconds of talk, once an answered leg ended."""
    disconnect_reason: int | None
    outcome: str | None
    """How the leg ended, in a word from its disconnect_reason; None before it ended."""
    time: datetime
    repeat: bool = False
    """Another leg of the same call told it already, or the call goes on in one.

    A callback's two legs each start, answer and end: the call did each once.
    """


class CallTracker:
    """Follows the legs of one extension's calls; see the module's docstring."""

    def __init__(
        self,
        extension: str,
        phonebook: Phonebook,
        *,
        calls: Iterable[Call] = (),
        last_caller: LastCaller | None = None,
        missed_calls: int = 0,
    ) -> None:
        """Start from what is known (nothing, or what was saved)."""
        self.extension = extension
        self._phonebook = phonebook
        self._calls = {call.call_id: self._named(call) for call in calls}
        self._last_caller = last_caller
        self._missed_calls = missed_calls
        self._snapshot: ExtensionCalls | None = None

    @property
    def snapshot(self) -> ExtensionCalls:
        """The extension as it is now; the same object until something changes."""
        if self._snapshot is None:
            self._snapshot = ExtensionCalls(
                calls=dict(self._calls),
                current_call=max(
                    self._calls.values(),
                    key=lambda call: (_IMPORTANCE[call.call_state], call.updated_at),
                    default=None,
                ),
                last_caller=self._last_caller,
                missed_calls=self._missed_calls,
            )
        return self._snapshot

    def last_seqs(self) -> dict[str, int]:
        """The latest seq of each call in progress, for the channel's check of stale events."""
        return {
            call_id: call.seq
            for call_id, call in self._calls.items()
            if call.seq is not None
        }

    def set_phonebook(self, phonebook: Phonebook) -> None:
        """Name the parties of the calls in progress from a new phonebook."""
        self._phonebook = phonebook
        self._calls = {
            call_id: self._named(call) for call_id, call in self._calls.items()
        }
        self._snapshot = None

    def handle(
        self, event: CallEvent, *, now: datetime, replayed: bool
    ) -> list[CallNews]:
        """Take one event of a leg; return its news (at least one, maybe without a type)."""
        time = event.timestamp or now
        # Staleness is judged by our own clock, which the service's may not
        # match; a replayed event is as old as the service says.
        received = min(time, now) if replayed else now
        event_types: list[str | None] = []
        duration: int | None = None

        known = self._calls.get(event.call_id)
        if known is None:
            call = self._new_call(event, time, received, event_types)
        else:
            call = self._updated_call(known, event, time, received)
        if call.answered_at is not None and (
            known is None or known.answered_at is None
        ):
            event_types.append(CALL_ANSWERED)
            self._update_last_caller(call.call_id, answered=True)
        repeated = self._repeated(call, known, event_types)
        if event.state is CallState.DISCONNECTED:
            duration = self._end(call, event, time, event_types)
        else:
            self._calls[call.call_id] = call
        self._snapshot = None

        # A message may carry more than one piece of news (the first sign
        # of a call may already be its answer): each is news of its own.
        return [
            CallNews(
                event_type=event_type,
                call=call,
                state=event.state,
                duration=duration,
                disconnect_reason=event.disconnect_reason,
                outcome=event.outcome,
                time=time,
                repeat=event_type in repeated
                or (event_type in _ENDINGS and _goes_on(self._calls, call)),
            )
            for event_type in event_types or [None]
        ]

    def _repeated(
        self, call: Call, known: Call | None, event_types: list[str | None]
    ) -> set[str | None]:
        """The news of this leg that another leg of its call already told."""
        others = [
            leg
            for leg in self._calls.values()
            if leg.call_id != call.call_id
            and call.entry_id is not None
            and leg.entry_id == call.entry_id
        ]
        repeated: set[str | None] = set()
        if others and known is None:
            repeated.update((CALL_INCOMING, CALL_OUTGOING))
        if any(leg.answered_at is not None for leg in others):
            repeated.add(CALL_ANSWERED)
        return repeated & set(event_types)

    def prune(self, now: datetime) -> bool:
        """Forget legs whose end never arrived; return whether any went."""
        stale = [
            call_id
            for call_id, call in self._calls.items()
            if now - call.updated_at
            > (
                STALE_RINGING_AFTER
                if call.state is CallState.APPEARED
                else STALE_CALL_AFTER
            )
        ]
        for call_id in stale:
            del self._calls[call_id]
        if stale:
            self._snapshot = None
        return bool(stale)

    def _new_call(
        self,
        event: CallEvent,
        time: datetime,
        received: datetime,
        event_types: list[str | None],
    ) -> Call:
        direction = _direction(event, self.extension)
        call = Call(
            call_id=event.call_id,
            entry_id=event.entry_id,
            direction=direction,
            incoming=direction is Direction.INBOUND
            or (
                direction is not Direction.OUTBOUND
                and event.callee.extension == self.extension
            ),
            state=event.state,
            caller=event.caller,
            callee=event.callee,
            **_describe(self._phonebook, event.caller, event.callee),
            line_number=event.line_number,
            started_at=time,
            answered_at=time if event.state is CallState.CONNECTED else None,
            updated_at=received,
            seq=event.seq,
        )
        if event.state is CallState.DISCONNECTED:
            return call  # first seen at its end: _end tells what it was
        event_types.append(CALL_INCOMING if call.incoming else CALL_OUTGOING)
        if call.incoming:
            self._set_last_caller(call, time)
        if len(self._calls) >= MAX_CALLS:
            del self._calls[next(iter(self._calls))]
        return call

    def _updated_call(
        self, known: Call, event: CallEvent, time: datetime, received: datetime
    ) -> Call:
        # A message that leaves out a party keeps what is known of it.
        caller = event.caller if event.caller.number or event.caller.extension else None
        callee = event.callee if event.callee.number or event.callee.extension else None
        if (caller is None or caller == known.caller) and (
            callee is None or callee == known.callee
        ):
            caller, callee = known.caller, known.callee
            described: _Described = {
                "caller_number": known.caller_number,
                "caller_name": known.caller_name,
                "callee_number": known.callee_number,
                "callee_name": known.callee_name,
            }
        else:
            caller, callee = caller or known.caller, callee or known.callee
            described = _describe(self._phonebook, caller, callee)
        # One new Call a message, built whole: this is paid for every message.
        return Call(
            call_id=known.call_id,
            entry_id=event.entry_id or known.entry_id,
            direction=known.direction,
            incoming=known.incoming,
            state=event.state,
            caller=caller,
            callee=callee,
            **described,
            line_number=event.line_number or known.line_number,
            started_at=known.started_at,
            answered_at=known.answered_at
            or (time if event.state is CallState.CONNECTED else None),
            updated_at=received,
            seq=known.seq if event.seq is None else event.seq,
        )

    def _end(
        self,
        call: Call,
        event: CallEvent,
        time: datetime,
        event_types: list[str | None],
    ) -> int | None:
        """Forget an ended leg; return how long it talked."""
        first_seen = self._calls.pop(call.call_id, None) is None
        duration: int | None = None
        if call.answered_at is not None:
            duration = max(0, round((time - call.answered_at).total_seconds()))
            self._update_last_caller(call.call_id, duration=duration)
        # Not missed: a call another member of the group took. A call first
        # seen at its end began before anyone listened: only the service's
        # reason tells whether it went unanswered.
        missed = (
            call.incoming
            and call.answered_at is None
            and not event.is_group_disconnect
            and (not first_seen or event.unanswered)
        )
        if missed:
            self._missed_calls += 1
            if first_seen:
                self._set_last_caller(call, time)
        event_types.append(CALL_MISSED if missed else CALL_ENDED)
        return duration

    def _named(self, call: Call) -> Call:
        return replace(call, **_describe(self._phonebook, call.caller, call.callee))

    def _set_last_caller(self, call: Call, time: datetime) -> None:
        self._last_caller = LastCaller(
            call_id=call.call_id,
            number=call.caller_number,
            time=time,
            answered=False,
            duration=None,
        )

    def _update_last_caller(self, call_id: str, **changes: Any) -> None:
        if (last := self._last_caller) is not None and last.call_id == call_id:
            self._last_caller = replace(last, **changes)

    # -- storage -------------------------------------------------------------

    def as_dict(self) -> StoredCalls:
        """What survives a restart: the legs in progress, the count and the last caller."""
        last = self._last_caller
        return {
            "calls": [_call_to_dict(call) for call in self._calls.values()],
            "missed_calls": self._missed_calls,
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


def restore_tracker(
    extension: str, phonebook: Phonebook, stored: object
) -> CallTracker:
    """Take back what CallTracker.as_dict saved, leaving out whatever does not check out.

    The file is ours, but may be damaged or edited by hand, or written by
    a newer version: nothing in it is trusted.
    """
    if not isinstance(stored, dict):
        return CallTracker(extension, phonebook)
    calls = stored.get("calls")
    missed = stored.get("missed_calls")
    return CallTracker(
        extension,
        phonebook,
        calls=[
            call
            for item in (calls[-MAX_CALLS:] if isinstance(calls, list) else ())
            if (call := _call_from_dict(item)) is not None
        ],
        last_caller=_last_caller_from_dict(stored.get("last_caller")),
        missed_calls=missed if type(missed) is int and 0 <= missed <= INT64_MAX else 0,
    )


_ENDINGS: Final = (CALL_MISSED, CALL_ENDED)


def _goes_on(calls: Mapping[str, Call], ended: Call) -> bool:
    """Whether another leg of an ended leg's call is still in progress."""
    return ended.entry_id is not None and any(
        leg.entry_id == ended.entry_id for leg in calls.values()
    )


def _direction(event: CallEvent, extension: str) -> Direction:
    """The direction the event gives, else the one its parties tell.

    The VPBX API says it only in a call's summary: the side that carries
    the extension, and whether the other side is an extension too, tell.
    """
    if event.direction is not Direction.UNKNOWN:
        return event.direction
    caller, callee = event.caller, event.callee
    if callee.extension == extension:
        return Direction.INTERNAL if caller.extension else Direction.INBOUND
    if caller.extension == extension:
        return Direction.INTERNAL if callee.extension else Direction.OUTBOUND
    return Direction.UNKNOWN


def _describe(phonebook: Phonebook, caller: Party, callee: Party) -> _Described:
    caller_number = party_number(caller)
    callee_number = party_number(callee)
    return {
        "caller_number": caller_number,
        "caller_name": phonebook.name_of(caller_number),
        "callee_number": callee_number,
        "callee_name": phonebook.name_of(callee_number),
    }


def party_number(party: Party) -> str | None:
    """The number to show for one end of a call.

    A phone number, in one form; else the extension (the VPBX API gives an
    extension its SIP address as its number); else whatever number it has.
    """
    if party.number is not None and (number := normalize_number(party.number)):
        return number
    return party.extension or party.number


class _Described(TypedDict):
    caller_number: str | None
    caller_name: str | None
    callee_number: str | None
    callee_name: str | None


class _StoredCall(TypedDict):
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


class StoredCalls(TypedDict):
    """The saved form of a tracker (version 1 of the integration's store)."""

    calls: list[_StoredCall]
    missed_calls: int
    last_caller: _StoredLastCaller | None


def _call_to_dict(call: Call) -> _StoredCall:
    return {
        "call_id": call.call_id,
        "entry_id": call.entry_id,
        "direction": call.direction.value,
        "incoming": call.incoming,
        "state": call.state.value,
        "caller": [call.caller.extension, call.caller.number],
        "callee": [call.callee.extension, call.callee.number],
        "line_number": call.line_number,
        "started_at": call.started_at.isoformat(),
        "answered_at": None
        if call.answered_at is None
        else call.answered_at.isoformat(),
        "updated_at": call.updated_at.isoformat(),
        "seq": call.seq,
    }


def _party(value: object) -> Party:
    if not isinstance(value, list) or len(value) != 2:
        raise UnreadableError
    return Party(extension=text(value[0], EXTENSION), number=text(value[1], NUMBER))


def _call_from_dict(value: object) -> Call | None:
    try:
        stored = mapping(value)
        answered_at = stored.get("answered_at")
        seq = stored.get("seq")
        return Call(
            call_id=text(stored.get("call_id"), optional=False),
            entry_id=text(stored.get("entry_id")),
            direction=Direction(str(stored.get("direction"))),
            incoming=flag(stored.get("incoming")),
            state=CallState(str(stored.get("state"))),
            caller=_party(stored.get("caller")),
            callee=_party(stored.get("callee")),
            caller_number=None,
            caller_name=None,
            callee_number=None,
            callee_name=None,
            line_number=text(stored.get("line_number"), NUMBER),
            started_at=timestamp(stored.get("started_at")),
            answered_at=None if answered_at is None else timestamp(answered_at),
            updated_at=timestamp(stored.get("updated_at")),
            # A damaged seq costs only the check against stale messages.
            seq=seq if type(seq) is int and abs(seq) <= INT64_MAX else None,
        )
    except UnreadableError, ValueError:
        return None


def _last_caller_from_dict(value: object) -> LastCaller | None:
    try:
        stored = mapping(value)
        return LastCaller(
            call_id=text(stored.get("call_id"), optional=False),
            number=text(stored.get("number"), NUMBER),
            time=timestamp(stored.get("time")),
            answered=flag(stored.get("answered")),
            duration=seconds(stored.get("duration")),
        )
    except UnreadableError:
        return None
