"""The calls of one extension after they happened, and the calls to return: no Home Assistant here.

``CallHistory`` keeps one record a call (its ``entry_id``: every leg and
transfer of it), built from the call tracker's news, live and replayed
alike, with the call's recordings. ``CallsToReturn`` is the list of numbers
whose calls went unanswered: a missed call adds or updates its number's
item; an answered call with that number, either way, completes it.

Both save to and load from plain dicts and check every saved field.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, TypedDict

from .api.fields import ID, NUMBER, Validator
from .api.models import CallEvent, CallState, Direction, RecordEvent
from .calls import CALL_MISSED, CallNews
from .phonebook import Phonebook
from .saved import (
    UnreadableError,
    count,
    flag,
    listed,
    mapping,
    seconds,
    text,
    timestamp,
)

# How a call ended, for the history and its filters.
OUTCOME_ANSWERED: Final = "answered"
OUTCOME_MISSED: Final = "missed"
OUTCOME_ANSWERED_ELSEWHERE: Final = "answered_elsewhere"
OUTCOME_BUSY: Final = "busy"
OUTCOME_REJECTED: Final = "rejected"
OUTCOME_FAILED: Final = "failed"
OUTCOMES: Final = [
    OUTCOME_ANSWERED,
    OUTCOME_MISSED,
    OUTCOME_ANSWERED_ELSEWHERE,
    OUTCOME_BUSY,
    OUTCOME_REJECTED,
    OUTCOME_FAILED,
]
# The service's words (disconnect_outcome) for a call the other end turned down.
_REJECTED_REASONS: Final = frozenset({"rejected", "ended_by_callee", "do_not_disturb"})

# As long as the service keeps missed events, and a bound on the file and
# the memory however busy the extension is.
KEEP_FOR: Final = timedelta(days=14)
MAX_HISTORY: Final = 2000
# Bounds inside one call: a flood of junk legs cannot grow a record.
MAX_LEGS: Final = 16
MAX_TRANSFERS: Final = 8
MAX_RECORDINGS: Final = 8
# Open and done items together; the oldest done ones go first.
MAX_TO_RETURN: Final = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """A recording of a call, as the service last told of it."""

    record_id: str
    url: str | None
    """The link the service sent; it may have expired since."""
    duration: int | None
    ready: bool
    """False while the service is still preparing it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryCall:
    """One call of the extension, from its first leg to its end."""

    entry_id: str
    """The whole call (its entry_id, else its first leg's call_id)."""
    direction: str
    """in, out or internal."""
    number: str | None
    """The other party: its number in one form, else its extension."""
    name: str | None
    """The other party's name in the phonebook."""
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    talk_time: int | None
    """Seconds of talk over every leg."""
    outcome: str | None
    """One of OUTCOMES once it ended; None while it goes on."""
    transfers: tuple[str, ...]
    """Who the call was passed on to, in order."""
    recordings: tuple[Recording, ...]
    legs: tuple[str, ...]
    """The call_ids of its legs, which recordings may name instead."""

    @property
    def incoming(self) -> bool:
        """Whether the other party called the extension."""
        return self.direction == Direction.INBOUND.value


class CallHistory:
    """The extension's calls of the last two weeks; see the module's docstring."""

    def __init__(self, extension: str, calls: Iterable[HistoryCall] = ()) -> None:
        """Start from what was saved (oldest first), or nothing."""
        self.extension = extension
        self._calls: dict[str, HistoryCall] = {}
        self._by_leg: dict[str, str] = {}
        for call in calls:
            self._put(call)

    @property
    def calls(self) -> Mapping[str, HistoryCall]:
        """Every call kept, by entry_id, oldest first."""
        return self._calls

    def latest_first(self) -> Iterator[HistoryCall]:
        """Every call kept, the one heard of last first."""
        return reversed(self._calls.values())

    def get(self, entry_id: str) -> HistoryCall | None:
        """The call of that entry_id, if it is kept."""
        return self._calls.get(entry_id)

    def recording(self, record_id: str) -> tuple[HistoryCall, Recording] | None:
        """The call that has this recording, and the recording."""
        for call in self.latest_first():
            for recording in call.recordings:
                if recording.record_id == record_id:
                    return call, recording
        return None

    def handle(self, event: CallEvent, news: Sequence[CallNews]) -> HistoryCall:
        """Take the news of one call event; return the call as it is now."""
        leg = news[-1].call
        key = self._by_leg.get(leg.call_id) or leg.entry_id or leg.call_id
        known = self._calls.get(key)
        incoming = leg.incoming
        number, name = (
            (leg.caller_number, leg.caller_name)
            if incoming
            else (leg.callee_number, leg.callee_name)
        )
        if known is None:
            known = HistoryCall(
                entry_id=key,
                direction=(
                    leg.direction.value
                    if leg.direction is not Direction.UNKNOWN
                    else (Direction.INBOUND if incoming else Direction.OUTBOUND).value
                ),
                number=number,
                name=name,
                started_at=leg.started_at,
                answered_at=None,
                ended_at=None,
                talk_time=None,
                outcome=None,
                transfers=(),
                recordings=(),
                legs=(),
            )
        legs = _added(known.legs, leg.call_id, MAX_LEGS)
        answered_at = self._answered_at(known, leg.answered_at, leg.call_id, legs)
        # A call goes on while any of its legs does.
        ended_at: datetime | None = None
        talk_time = known.talk_time
        outcome = known.outcome
        if event.state is CallState.DISCONNECTED:
            ended_at = news[-1].time
            if answered_at is not None:
                talk_time = max(0, round((ended_at - answered_at).total_seconds()))
            ended = _outcome(answered_at, event, news)
            # A leg that just hung up says less than one that ended busy.
            if ended != OUTCOME_FAILED or outcome is None:
                outcome = ended
        # One new record a message, built whole: this is paid for every message.
        call = HistoryCall(
            entry_id=key,
            direction=known.direction,
            number=known.number or number,
            name=known.name or name,
            started_at=known.started_at,
            answered_at=answered_at,
            ended_at=ended_at,
            talk_time=talk_time,
            outcome=outcome,
            transfers=self._transfers(known, leg.callee_number, incoming),
            recordings=known.recordings,
            legs=legs,
        )
        if legs is known.legs:
            self._calls[key] = call
        else:
            self._put(call)
        return call

    def add_recording(self, event: RecordEvent) -> HistoryCall | None:
        """Keep what the service tells of a recording; None when its call is not kept."""
        key = (event.entry_id if event.entry_id in self._calls else None) or (
            self._by_leg.get(event.call_id) if event.call_id else None
        )
        if key is None:
            return None
        known = self._calls[key]
        recording = Recording(
            record_id=event.record_id,
            url=event.url,
            duration=event.duration,
            ready=event.available,
        )
        kept = [item for item in known.recordings if item.record_id != event.record_id]
        if len(kept) == len(known.recordings) and len(kept) >= MAX_RECORDINGS:
            return known
        call = replace(known, recordings=(*kept, recording))
        self._calls[key] = call
        return call

    def set_phonebook(self, phonebook: Phonebook) -> None:
        """Name the callers the phonebook now knows."""
        for key, call in self._calls.items():
            name = phonebook.name_of(call.number)
            if name is not None and name != call.name:
                self._calls[key] = replace(call, name=name)

    def prune(self, now: datetime) -> bool:
        """Forget calls older than KEEP_FOR; return whether any went."""
        oldest = now - KEEP_FOR
        old = [
            key
            for key, call in self._calls.items()
            if (call.ended_at or call.started_at) < oldest
        ]
        for key in old:
            self._forget(key)
        return bool(old)

    def _put(self, call: HistoryCall) -> None:
        if call.entry_id not in self._calls and len(self._calls) >= MAX_HISTORY:
            self._forget(next(iter(self._calls)))
        self._calls[call.entry_id] = call
        for leg in call.legs:
            self._by_leg[leg] = call.entry_id

    def _forget(self, key: str) -> None:
        call = self._calls.pop(key)
        for leg in call.legs:
            self._by_leg.pop(leg, None)

    @staticmethod
    def _answered_at(
        known: HistoryCall,
        answered_at: datetime | None,
        call_id: str,
        legs: tuple[str, ...],
    ) -> datetime | None:
        """When the other party answered.

        Any leg answered tells of an incoming call. An outgoing call's first
        leg may ring the extension's own phone (a callback): only its newest
        leg tells whether the number it dialled answered.
        """
        if known.incoming:
            return known.answered_at or answered_at
        return answered_at if call_id == legs[-1] else known.answered_at

    def _transfers(
        self, known: HistoryCall, callee: str | None, incoming: bool
    ) -> tuple[str, ...]:
        """A leg that rings someone new (not the extension, not the other party) is a transfer."""
        if not incoming or callee in (None, self.extension, known.number):
            return known.transfers
        return _added(known.transfers, callee, MAX_TRANSFERS)

    def as_dict(self) -> list[dict[str, Any]]:
        """What survives a restart: every call kept."""
        return [_call_to_dict(call) for call in self._calls.values()]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnItem:
    """A number to call back."""

    uid: str
    number: str
    name: str | None
    missed: int
    """Missed calls from it since the item was last done."""
    last_missed_at: datetime
    completed: bool
    last_entry_id: str | None = None
    """The call last counted, so that a call's second leg is not a second miss."""


class CallsToReturn:
    """The extension's list of calls to return; see the module's docstring."""

    def __init__(self, items: Iterable[ReturnItem] = ()) -> None:
        """Start from what was saved, or nothing."""
        self._items = {item.uid: item for item in items}
        self._sorted: list[ReturnItem] | None = None

    @property
    def items(self) -> list[ReturnItem]:
        """Every item, the latest missed call first."""
        if self._sorted is None:
            # Of the same second, the one changed last comes first.
            self._sorted = sorted(
                self._items.values(), key=lambda item: item.last_missed_at
            )[::-1]
        return self._sorted

    def open_items(self) -> list[ReturnItem]:
        """The items not done yet, the latest missed call first."""
        return [item for item in self.items if not item.completed]

    def handle(self, call: HistoryCall) -> bool:
        """Follow a call that ended; return whether the list changed."""
        if call.number is None or call.ended_at is None:
            return False
        known = self._items.get(call.number)
        if call.outcome == OUTCOME_MISSED:
            if known is not None and known.last_entry_id == call.entry_id:
                return False
            missed = 1 if known is None or known.completed else known.missed + 1
            self._set(
                ReturnItem(
                    uid=call.number,
                    number=call.number,
                    name=call.name or (known.name if known else None),
                    missed=missed,
                    last_missed_at=call.ended_at,
                    completed=False,
                    last_entry_id=call.entry_id,
                )
            )
            return True
        if (
            call.outcome == OUTCOME_ANSWERED
            and known is not None
            and not known.completed
        ):
            self._set(replace(known, completed=True))
            return True
        return False

    def set_completed(self, uid: str, completed: bool) -> bool:
        """Tick an item, or untick it; return whether it is there."""
        if (known := self._items.get(uid)) is None:
            return False
        self._set(replace(known, completed=completed))
        return True

    def delete(self, uids: Iterable[str]) -> None:
        """Take items off the list."""
        for uid in uids:
            self._items.pop(uid, None)
        self._sorted = None

    def set_phonebook(self, phonebook: Phonebook) -> None:
        """Name the numbers the phonebook now knows."""
        for uid, item in self._items.items():
            name = phonebook.name_of(item.number)
            if name is not None and name != item.name:
                self._items[uid] = replace(item, name=name)
        self._sorted = None

    def _set(self, item: ReturnItem) -> None:
        self._items.pop(item.uid, None)
        self._items[item.uid] = item
        if len(self._items) > MAX_TO_RETURN:
            # The oldest done item goes first, else the oldest of all.
            oldest = min(
                self._items.values(),
                key=lambda item: (not item.completed, item.last_missed_at),
            )
            del self._items[oldest.uid]
        self._sorted = None

    def as_dict(self) -> list[dict[str, Any]]:
        """What survives a restart: every item."""
        return [
            {
                "uid": item.uid,
                "number": item.number,
                "name": item.name,
                "missed": item.missed,
                "last_missed_at": item.last_missed_at.isoformat(),
                "completed": item.completed,
                "last_entry_id": item.last_entry_id,
            }
            for item in self._items.values()
        ]


class StoredHistory(TypedDict):
    """The saved form of an extension's history and calls to return."""

    calls: list[dict[str, Any]]
    to_return: list[dict[str, Any]]


def history_as_dict(history: CallHistory, to_return: CallsToReturn) -> StoredHistory:
    """What is saved of both."""
    return {"calls": history.as_dict(), "to_return": to_return.as_dict()}


def restore_history(
    extension: str, stored: object
) -> tuple[CallHistory, CallsToReturn]:
    """Take back what history_as_dict saved, leaving out whatever does not check out."""
    calls: object = None
    items: object = None
    if isinstance(stored, dict):
        calls, items = stored.get("calls"), stored.get("to_return")
    return (
        CallHistory(
            extension,
            (
                call
                for value in (calls[-MAX_HISTORY:] if isinstance(calls, list) else ())
                if (call := _call_from_dict(value)) is not None
            ),
        ),
        CallsToReturn(
            item
            for value in (items[-MAX_TO_RETURN:] if isinstance(items, list) else ())
            if (item := _item_from_dict(value)) is not None
        ),
    )


def _outcome(
    answered_at: datetime | None, event: CallEvent, news: Sequence[CallNews]
) -> str:
    """How a call ended, from the tracker's word on it and the service's reason."""
    if answered_at is not None:
        return OUTCOME_ANSWERED
    if any(item.event_type == CALL_MISSED for item in news):
        return OUTCOME_MISSED
    if event.is_group_disconnect:
        return OUTCOME_ANSWERED_ELSEWHERE
    reason = event.outcome
    if reason == "busy":
        return OUTCOME_BUSY
    if reason in _REJECTED_REASONS:
        return OUTCOME_REJECTED
    return OUTCOME_FAILED


def _added(items: tuple[str, ...], item: str, bound: int) -> tuple[str, ...]:
    if item in items or len(items) >= bound:
        return items
    return (*items, item)


def _call_to_dict(call: HistoryCall) -> dict[str, Any]:
    return {
        "entry_id": call.entry_id,
        "direction": call.direction,
        "number": call.number,
        "name": call.name,
        "started_at": call.started_at.isoformat(),
        "answered_at": _isoformat(call.answered_at),
        "ended_at": _isoformat(call.ended_at),
        "talk_time": call.talk_time,
        "outcome": call.outcome,
        "transfers": list(call.transfers),
        "recordings": [
            {
                "record_id": recording.record_id,
                "url": recording.url,
                "duration": recording.duration,
                "ready": recording.ready,
            }
            for recording in call.recordings
        ],
        "legs": list(call.legs),
    }


def _isoformat(time: datetime | None) -> str | None:
    return None if time is None else time.isoformat()


def _optional_time(value: object) -> datetime | None:
    return None if value is None else timestamp(value)


def _texts(value: object, valid: Validator, bound: int) -> tuple[str, ...]:
    return tuple(text(item, valid, optional=False) for item in listed(value)[:bound])


def _choice(value: object, allowed: Sequence[object], *, optional: bool) -> Any:
    if (value is None and optional) or value in allowed:
        return value
    raise UnreadableError


def _recording_from_dict(value: object) -> Recording:
    stored = mapping(value)
    return Recording(
        record_id=text(stored.get("record_id"), optional=False),
        url=_url(stored.get("url")),
        duration=seconds(stored.get("duration")),
        ready=flag(stored.get("ready")),
    )


def _url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise UnreadableError
    return value


def _call_from_dict(value: object) -> HistoryCall | None:
    try:
        stored = mapping(value)
        name = stored.get("name")
        return HistoryCall(
            entry_id=text(stored.get("entry_id"), optional=False),
            direction=_choice(
                stored.get("direction"),
                (Direction.INBOUND, Direction.OUTBOUND, Direction.INTERNAL),
                optional=False,
            ),
            number=text(stored.get("number"), NUMBER),
            name=name if isinstance(name, str) and len(name) <= 255 else None,
            started_at=timestamp(stored.get("started_at")),
            answered_at=_optional_time(stored.get("answered_at")),
            ended_at=_optional_time(stored.get("ended_at")),
            talk_time=seconds(stored.get("talk_time")),
            outcome=_choice(stored.get("outcome"), OUTCOMES, optional=True),
            transfers=_texts(stored.get("transfers"), NUMBER, MAX_TRANSFERS),
            recordings=tuple(
                _recording_from_dict(item)
                for item in listed(stored.get("recordings"))[:MAX_RECORDINGS]
            ),
            legs=_texts(stored.get("legs"), ID, MAX_LEGS),
        )
    except UnreadableError:
        return None


def _item_from_dict(value: object) -> ReturnItem | None:
    try:
        stored = mapping(value)
        number = text(stored.get("number"), NUMBER, optional=False)
        name = stored.get("name")
        return ReturnItem(
            uid=number,
            number=number,
            name=name if isinstance(name, str) and len(name) <= 255 else None,
            missed=count(stored.get("missed")),
            last_missed_at=timestamp(stored.get("last_missed_at")),
            completed=flag(stored.get("completed")),
            last_entry_id=text(stored.get("last_entry_id")),
        )
    except UnreadableError:
        return None
