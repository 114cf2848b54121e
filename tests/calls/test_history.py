"""The call history and the calls to return, without Home Assistant."""

from datetime import UTC, datetime, timedelta
import json
import tracemalloc
from typing import Any

from mango_office_engine.api.models import CallEvent, RecordEvent, parse_message
from mango_office_engine.calls import CallTracker
from mango_office_engine.history import (
    KEEP_FOR,
    MAX_HISTORY,
    MAX_RECORDINGS,
    MAX_TO_RETURN,
    CallHistory,
    CallsToReturn,
    history_as_dict,
    restore_history,
)
from mango_office_engine.phonebook import Phonebook
import pytest

EXTENSION = "101"
OUTSIDE = "+74951234567"
OTHER = "+74957770000"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PHONEBOOK = Phonebook({OUTSIDE: "Ivan Petrov"})


def event(call_id: str, state: str, *, at: int = 0, **data: Any) -> CallEvent:
    """A /call push as the service sends it, through the real parser."""
    data = {
        "call_id": call_id,
        "entry_id": f"entry-{call_id}",
        "call_state": state,
        "timestamp": int(T0.timestamp()) + at,
        "direction": "in",
        "from": {"number": OUTSIDE},
        "to": {"extension": EXTENSION},
        **data,
    }
    parsed = parse_message({"routeKey": "/call", "data": data})
    assert isinstance(parsed, CallEvent)
    return parsed


def outgoing(call_id: str, state: str, *, at: int = 0, **data: Any) -> CallEvent:
    """A leg of a call the extension makes to OUTSIDE."""
    return event(
        call_id,
        state,
        at=at,
        direction="out",
        **{"from": {"extension": EXTENSION}, "to": {"number": OUTSIDE}},
        **data,
    )


def record(record_id: str, **data: Any) -> RecordEvent:
    """A /record push, through the real parser."""
    parsed = parse_message(
        {"routeKey": "/record", "data": {"record_id": record_id, **data}}
    )
    assert isinstance(parsed, RecordEvent)
    return parsed


class Extension:
    """The tracker and the history of one extension, fed as the coordinator does."""

    def __init__(self) -> None:
        """Start with nothing."""
        self.tracker = CallTracker(EXTENSION, PHONEBOOK)
        self.history = CallHistory(EXTENSION)
        self.to_return = CallsToReturn()

    def feed(self, *events: CallEvent) -> None:
        """Hand events over as they happen."""
        for item in events:
            now = item.timestamp or T0
            news = self.tracker.handle(item, now=now, replayed=False)
            self.to_return.handle(self.history.handle(item, news))


@pytest.fixture
def extension() -> Extension:
    """Extension 101 with nothing in its history."""
    return Extension()


def test_an_answered_call_is_kept_whole(extension: Extension) -> None:
    """Who, when it started, was answered and ended, how long they talked."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "CONNECTED", seq=2, at=5),
    )
    talking = extension.history.get("entry-c1")
    assert talking is not None
    assert (talking.outcome, talking.ended_at) == (None, None)
    extension.feed(event("c1", "DISCONNECTED", seq=3, at=65, disconnect_reason=1100))
    call = extension.history.get("entry-c1")
    assert call is not None
    assert call.direction == "in"
    assert (call.number, call.name) == (OUTSIDE, "Ivan Petrov")
    assert call.started_at == T0
    assert call.answered_at == T0 + timedelta(seconds=5)
    assert call.ended_at == T0 + timedelta(seconds=65)
    assert call.talk_time == 60
    assert call.outcome == "answered"
    assert call.legs == ("c1",)


@pytest.mark.parametrize(
    ("last", "outcome"),
    [
        ({"disconnect_reason": 1111}, "missed"),
        (
            {"disconnect_reason": 1100, "is_group_disconnect": True},
            "answered_elsewhere",
        ),
    ],
)
def test_incoming_calls_nobody_here_answered(
    extension: Extension, last: dict[str, Any], outcome: str
) -> None:
    """Missed, or taken by another member of the group."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "DISCONNECTED", seq=2, at=20, **last),
    )
    call = extension.history.get("entry-c1")
    assert call is not None
    assert (call.outcome, call.talk_time) == (outcome, None)


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (1121, "busy"),
        (1122, "rejected"),
        (1120, "rejected"),
        (1123, "rejected"),
        (1100, "failed"),
        (3200, "failed"),
    ],
)
def test_outgoing_calls_not_answered(
    extension: Extension, reason: int, outcome: str
) -> None:
    """Busy, turned down, or failed, from the service's reason."""
    extension.feed(
        outgoing("c1", "APPEARED", seq=1),
        outgoing("c1", "DISCONNECTED", seq=2, at=10, disconnect_reason=reason),
    )
    call = extension.history.get("entry-c1")
    assert call is not None
    assert (call.direction, call.number, call.outcome) == ("out", OUTSIDE, outcome)


def callback(extension: Extension, *, answered: bool) -> None:
    """A callback: the user's own phone answers first, then the PBX dials out."""
    shared = {"entry_id": "entry-cb"}
    extension.feed(
        outgoing("u1", "APPEARED", seq=1, **shared),
        outgoing("u1", "CONNECTED", seq=2, at=3, **shared),
        outgoing("d1", "APPEARED", seq=1, at=4, **shared),
    )
    if answered:
        extension.feed(
            outgoing("d1", "CONNECTED", seq=2, at=10, **shared),
            outgoing(
                "d1", "DISCONNECTED", seq=3, at=70, disconnect_reason=1100, **shared
            ),
        )
    else:
        extension.feed(
            outgoing(
                "d1", "DISCONNECTED", seq=2, at=6, disconnect_reason=1121, **shared
            )
        )
    extension.feed(
        outgoing("u1", "DISCONNECTED", seq=3, at=71, disconnect_reason=1100, **shared)
    )


def test_a_callback_is_answered_when_the_number_answers(extension: Extension) -> None:
    """Its talk time counts from the number's answer, not the user's own phone's."""
    callback(extension, answered=True)
    call = extension.history.get("entry-cb")
    assert call is not None
    assert call.outcome == "answered"
    assert call.answered_at == T0 + timedelta(seconds=10)
    assert call.talk_time == 61
    assert call.legs == ("u1", "d1")


def test_a_busy_callback_stays_busy(extension: Extension) -> None:
    """The user's leg hanging up afterwards does not hide why the call failed."""
    callback(extension, answered=False)
    call = extension.history.get("entry-cb")
    assert call is not None
    assert (call.outcome, call.answered_at, call.talk_time) == ("busy", None, None)


def test_a_call_first_seen_at_its_end(extension: Extension) -> None:
    """Replayed after an absence: only its end arrived."""
    extension.feed(event("c1", "DISCONNECTED", seq=4, disconnect_reason=1111))
    call = extension.history.get("entry-c1")
    assert call is not None
    assert (call.outcome, call.started_at) == ("missed", T0)


def test_transfers_are_the_new_parties_a_call_rings(extension: Extension) -> None:
    """A leg of the same call that rings someone else is a transfer to them."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "CONNECTED", seq=2, at=2),
        event(
            "c2", "APPEARED", seq=1, at=30, entry_id="entry-c1", to={"extension": "102"}
        ),
        event(
            "c2", "APPEARED", seq=2, at=31, entry_id="entry-c1", to={"extension": "102"}
        ),
        event("c1", "DISCONNECTED", seq=3, at=32, disconnect_reason=1100),
    )
    call = extension.history.get("entry-c1")
    assert call is not None
    assert call.transfers == ("102",)
    assert call.outcome == "answered"


def test_recordings_join_their_call(extension: Extension) -> None:
    """By the call's entry_id or one of its legs; the latest word on each is kept."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "CONNECTED", seq=2),
        event("c1", "DISCONNECTED", seq=3, at=30, disconnect_reason=1100),
    )
    history = extension.history
    assert history.add_recording(record("r1", entry_id="entry-c1", status="PROCESSING"))
    ready = history.add_recording(
        record(
            "r1",
            call_id="c1",
            status="AVAILABLE",
            url="https://records.example/r1.mp3",
            duration=28,
        )
    )
    assert ready is not None
    assert [
        (item.record_id, item.ready, item.duration) for item in ready.recordings
    ] == [("r1", True, 28)]
    assert history.recording("r1") == (ready, ready.recordings[0])
    assert history.recording("r2") is None
    assert history.add_recording(record("r9", call_id="unknown")) is None
    for number in range(MAX_RECORDINGS + 3):
        history.add_recording(record(f"x{number}", entry_id="entry-c1"))
    call = history.get("entry-c1")
    assert call is not None
    assert len(call.recordings) == MAX_RECORDINGS


def test_the_history_keeps_two_weeks_and_2000_calls() -> None:
    """10,000 calls: the oldest go, whatever comes; memory stays bounded."""
    extension = Extension()
    tracemalloc.start()
    for number in range(10_000):
        at = number * 60
        extension.feed(
            event(
                f"c{number}",
                "APPEARED",
                seq=1,
                at=at,
                **{"from": {"number": f"+7495{number:07}"}},
            ),
            event(
                f"c{number}", "DISCONNECTED", seq=2, at=at + 5, disconnect_reason=1111
            ),
        )
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    history = extension.history
    assert len(history.calls) == MAX_HISTORY
    assert next(iter(history.calls)) == f"entry-c{10_000 - MAX_HISTORY}"
    assert len(extension.to_return.items) == MAX_TO_RETURN
    # The newest missed calls stay on the list.
    assert extension.to_return.items[0].number == "+74950009999"
    # 1.2 MB measured (tracemalloc, Python 3.14); a leak of every call would be 6 MB or more.
    assert size < 3e6

    last = T0 + timedelta(seconds=9_999 * 60 + 5)
    assert not history.prune(last + KEEP_FOR - timedelta(days=5))
    assert history.prune(last + KEEP_FOR - timedelta(hours=12))
    assert 0 < len(history.calls) < MAX_HISTORY
    assert history.prune(last + KEEP_FOR + timedelta(seconds=1))
    assert history.calls == {}


def test_calls_to_return(extension: Extension) -> None:
    """One item a number: a miss adds or counts, an answer either way ticks it."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "DISCONNECTED", seq=2, at=10, disconnect_reason=1111),
        event("c2", "APPEARED", seq=1, at=60),
        event("c2", "DISCONNECTED", seq=2, at=70, disconnect_reason=1111),
    )
    (item,) = extension.to_return.open_items()
    assert (item.number, item.name, item.missed) == (OUTSIDE, "Ivan Petrov", 2)
    assert item.last_missed_at == T0 + timedelta(seconds=70)

    # A second leg of the same missed call is not a second miss.
    extension.feed(
        event("c3", "APPEARED", seq=1, at=80, entry_id="entry-c2"),
        event(
            "c3",
            "DISCONNECTED",
            seq=2,
            at=90,
            entry_id="entry-c2",
            disconnect_reason=1111,
        ),
    )
    assert extension.to_return.open_items()[0].missed == 2

    callback(extension, answered=True)
    assert extension.to_return.open_items() == []
    assert extension.to_return.items[0].completed

    extension.feed(
        event("c4", "APPEARED", seq=1, at=200),
        event("c4", "DISCONNECTED", seq=2, at=210, disconnect_reason=1111),
    )
    (again,) = extension.to_return.open_items()
    assert again.missed == 1

    assert extension.to_return.set_completed(OUTSIDE, True)
    assert not extension.to_return.set_completed("nobody", True)
    assert extension.to_return.open_items() == []
    extension.to_return.delete([OUTSIDE])
    assert extension.to_return.items == []


def test_a_full_list_drops_done_items_first() -> None:
    """Over the bound, the oldest done item goes before any open one."""
    extension = Extension()
    for number in range(MAX_TO_RETURN):
        caller = {"from": {"number": f"+7495{number:07}"}}
        extension.feed(
            event(f"c{number}", "APPEARED", seq=1, at=number, **caller),
            event(
                f"c{number}",
                "DISCONNECTED",
                seq=2,
                at=number,
                disconnect_reason=1111,
                **caller,
            ),
        )
    extension.to_return.set_completed("+74950000100", True)
    caller = {"from": {"number": OTHER}}
    extension.feed(
        event("new", "APPEARED", seq=1, at=5000, **caller),
        event("new", "DISCONNECTED", seq=2, at=5000, disconnect_reason=1111, **caller),
    )
    numbers = {item.number for item in extension.to_return.items}
    assert len(numbers) == MAX_TO_RETURN
    assert "+74950000100" not in numbers
    assert {"+74950000000", OTHER} <= numbers


def test_what_is_saved_comes_back(extension: Extension) -> None:
    """Through JSON, as the Store writes it."""
    callback(extension, answered=False)
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "DISCONNECTED", seq=2, at=10, disconnect_reason=1111),
    )
    extension.history.add_recording(
        record(
            "r1", entry_id="entry-c1", status="AVAILABLE", url="https://x.example/r1"
        )
    )
    saved = json.loads(
        json.dumps(history_as_dict(extension.history, extension.to_return))
    )
    history, to_return = restore_history(EXTENSION, saved)
    assert dict(history.calls) == dict(extension.history.calls)
    assert to_return.items == extension.to_return.items
    # The legs still find their call.
    assert history.add_recording(record("r2", call_id="d1")) is not None


@pytest.mark.parametrize(
    "damage",
    [
        {"entry_id": 5},
        {"direction": "sideways"},
        {"number": "not a number"},
        {"started_at": "yesterday"},
        {"started_at": "2026-12-01T10:00:00"},
        {"ended_at": 17},
        {"talk_time": -1},
        {"outcome": "exploded"},
        {"transfers": "102"},
        {"legs": [None]},
        {
            "recordings": [
                {"record_id": "r1", "url": "javascript:alert(1)", "ready": True}
            ]
        },
        {"recordings": [{"record_id": "r1", "ready": "yes"}]},
        {"recordings": {}},
    ],
)
def test_a_damaged_call_is_left_out(
    extension: Extension, damage: dict[str, Any]
) -> None:
    """Only the call that does not check out is lost."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "DISCONNECTED", seq=2, disconnect_reason=1111),
        event("c2", "APPEARED", seq=1, at=60),
        event("c2", "DISCONNECTED", seq=2, at=70, disconnect_reason=1111),
    )
    saved = json.loads(
        json.dumps(history_as_dict(extension.history, extension.to_return))
    )
    saved["calls"][0].update(damage)
    history, to_return = restore_history(EXTENSION, saved)
    assert list(history.calls) == ["entry-c2"]
    assert len(to_return.items) == 1


@pytest.mark.parametrize(
    "damage",
    [
        {"number": None},
        {"missed": -3},
        {"missed": None},
        {"completed": "no"},
        {"last_missed_at": None},
    ],
)
def test_a_damaged_item_is_left_out(
    extension: Extension, damage: dict[str, Any]
) -> None:
    """Only the item that does not check out is lost."""
    extension.feed(
        event("c1", "APPEARED", seq=1),
        event("c1", "DISCONNECTED", seq=2, disconnect_reason=1111),
    )
    saved = json.loads(
        json.dumps(history_as_dict(extension.history, extension.to_return))
    )
    saved["to_return"][0].update(damage)
    history, to_return = restore_history(EXTENSION, saved)
    assert len(history.calls) == 1
    assert to_return.items == []


@pytest.mark.parametrize("stored", [None, [], "junk", {"calls": {}, "to_return": 5}])
def test_nothing_readable_is_an_empty_history(stored: object) -> None:
    """A file of another shape starts over."""
    history, to_return = restore_history(EXTENSION, stored)
    assert (dict(history.calls), to_return.items) == ({}, [])


def test_a_new_phonebook_names_the_numbers(extension: Extension) -> None:
    """Calls and items from a number the phonebook now knows get its name."""
    caller = {"from": {"number": OTHER}}
    extension.feed(
        event("c1", "APPEARED", seq=1, **caller),
        event("c1", "DISCONNECTED", seq=2, disconnect_reason=1111, **caller),
    )
    assert extension.history.get("entry-c1").name is None  # type: ignore[union-attr]
    phonebook = Phonebook({OTHER: "Anna"})
    extension.history.set_phonebook(phonebook)
    extension.to_return.set_phonebook(phonebook)
    assert extension.history.get("entry-c1").name == "Anna"  # type: ignore[union-attr]
    assert extension.to_return.items[0].name == "Anna"
