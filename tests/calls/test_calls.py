"""Every rule of the call tracker, one event at a time, without Home Assistant."""

from datetime import UTC, datetime, timedelta
import json
from typing import Any

from mango_office_engine.api.models import CallEvent, parse_message
from mango_office_engine.calls import (
    MAX_CALLS,
    STALE_CALL_AFTER,
    STALE_RINGING_AFTER,
    CallNews,
    CallTracker,
    restore_tracker,
)
from mango_office_engine.phonebook import Phonebook
import pytest

EXTENSION = "101"
OUTSIDE = "+74951234567"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PHONEBOOK = Phonebook({OUTSIDE: "Ivan Petrov; Ваня", "102": "Reception"})


def event(call_id: str, state: str, *, at: int = 0, **data: Any) -> CallEvent:
    """A /call push as the service sends it, through the real parser."""
    data = {
        "call_id": call_id,
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


def feed(
    tracker: CallTracker, *events: CallEvent, at: int = 0, replayed: bool = False
) -> list[CallNews]:
    """Hand events to the tracker as if handled `at` seconds after T0."""
    news: list[CallNews] = []
    for item in events:
        news += tracker.handle(item, now=T0 + timedelta(seconds=at), replayed=replayed)
    return news


def types_of(news: list[CallNews]) -> list[str | None]:
    """The event types of some news, in order."""
    return [item.event_type for item in news]


@pytest.fixture
def tracker() -> CallTracker:
    """A tracker of extension 101 with a small phonebook."""
    return CallTracker(EXTENSION, PHONEBOOK)


def test_incoming_call_rings_talks_and_ends(tracker: CallTracker) -> None:
    """Incoming call rings talks and ends."""
    assert types_of(feed(tracker, event("c1", "APPEARED", seq=1))) == ["incoming"]
    ringing = tracker.snapshot
    assert ringing.call_state == "ringing"
    assert ringing.current_call is not None
    assert ringing.current_call.caller_number == OUTSIDE
    assert ringing.current_call.caller_name == "Ivan Petrov"
    assert ringing.current_call.callee_number == EXTENSION
    assert ringing.last_caller is not None
    assert (ringing.last_caller.call_id, ringing.last_caller.number) == ("c1", OUTSIDE)
    assert ringing.last_caller.answered is False

    answered = feed(tracker, event("c1", "CONNECTED", seq=2, at=5), at=5)
    assert types_of(answered) == ["answered"]
    assert tracker.snapshot.call_state == "talking"
    assert tracker.snapshot.current_call.answered_at == T0 + timedelta(seconds=5)
    assert tracker.snapshot.last_caller.answered is True

    ended = feed(
        tracker,
        event("c1", "DISCONNECTED", seq=3, at=65, disconnect_reason=1100),
        at=65,
    )
    assert types_of(ended) == ["ended"]
    assert ended[0].duration == 60
    assert ended[0].disconnect_reason == 1100
    assert ended[0].time == T0 + timedelta(seconds=65)
    snapshot = tracker.snapshot
    assert (snapshot.call_state, snapshot.current_call, dict(snapshot.calls)) == (
        "idle",
        None,
        {},
    )
    assert snapshot.last_caller.duration == 60
    assert snapshot.missed_calls == 0


def test_unanswered_call_is_missed_once(tracker: CallTracker) -> None:
    """Unanswered call is missed once."""
    feed(tracker, event("c1", "APPEARED"))
    news = feed(tracker, event("c1", "DISCONNECTED", at=20, disconnect_reason=1111))
    assert types_of(news) == ["missed"]
    assert news[0].duration is None
    assert tracker.snapshot.missed_calls == 1
    assert tracker.snapshot.last_caller.answered is False


def test_group_call_answered_elsewhere_is_not_missed(tracker: CallTracker) -> None:
    """Group call answered elsewhere is not missed."""
    feed(tracker, event("c1", "APPEARED"))
    news = feed(
        tracker,
        event(
            "c1", "DISCONNECTED", at=3, disconnect_reason=1100, is_group_disconnect=True
        ),
    )
    assert types_of(news) == ["ended"]
    assert tracker.snapshot.missed_calls == 0


def test_call_first_seen_at_its_end(tracker: CallTracker) -> None:
    """Only the service's reason tells whether a call that began unseen was missed."""
    ended = feed(tracker, event("earlier", "DISCONNECTED", disconnect_reason=1100))
    assert types_of(ended) == ["ended"]
    assert tracker.snapshot.missed_calls == 0
    assert tracker.snapshot.last_caller is None

    missed = feed(
        tracker,
        event(
            "unseen",
            "DISCONNECTED",
            disconnect_reason=1111,
            **{"from": {"number": "+74990000000"}},
        ),
    )
    assert types_of(missed) == ["missed"]
    assert tracker.snapshot.missed_calls == 1
    assert tracker.snapshot.last_caller.call_id == "unseen"
    assert tracker.snapshot.last_caller.number == "+74990000000"
    assert dict(tracker.snapshot.calls) == {}


def test_first_sign_of_a_call_may_be_its_answer(tracker: CallTracker) -> None:
    """First sign of a call may be its answer."""
    news = feed(tracker, event("c1", "CONNECTED"))
    assert types_of(news) == ["incoming", "answered"]
    assert tracker.snapshot.last_caller.answered is True


def test_a_change_without_news_still_reports_the_event(tracker: CallTracker) -> None:
    """A change without news still reports the event."""
    feed(tracker, event("c1", "CONNECTED"))
    news = feed(tracker, event("c1", "ONHOLD", at=4))
    assert types_of(news) == [None]
    assert news[0].state.value == "on_hold"
    assert tracker.snapshot.call_state == "on_hold"
    assert types_of(feed(tracker, event("c1", "CONNECTED", at=9))) == [None]
    assert tracker.snapshot.call_state == "talking"


def test_outgoing_call_dials_and_is_never_the_last_caller(tracker: CallTracker) -> None:
    """Outgoing call dials and is never the last caller."""
    outgoing = event(
        "out",
        "APPEARED",
        direction="out",
        **{"from": {"extension": EXTENSION}, "to": {"number": "89161234567"}},
    )
    assert types_of(feed(tracker, outgoing)) == ["outgoing"]
    assert tracker.snapshot.call_state == "dialing"
    assert tracker.snapshot.current_call.callee_number == "+79161234567"
    assert tracker.snapshot.last_caller is None
    news = feed(
        tracker, event("out", "DISCONNECTED", direction="out", disconnect_reason=1111)
    )
    assert types_of(news) == ["ended"]
    assert tracker.snapshot.missed_calls == 0


@pytest.mark.parametrize(
    ("callee", "state", "incoming"),
    [(EXTENSION, "ringing", True), ("102", "dialing", False)],
)
def test_internal_call_is_incoming_when_we_are_called(
    tracker: CallTracker, callee: str, state: str, incoming: bool
) -> None:
    """Internal call is incoming when we are called."""
    caller = "102" if incoming else EXTENSION
    feed(
        tracker,
        event(
            "c1",
            "APPEARED",
            direction="internal",
            **{"from": {"extension": caller}, "to": {"extension": callee}},
        ),
    )
    call = tracker.snapshot.current_call
    assert (call.incoming, tracker.snapshot.call_state) == (incoming, state)
    # A caller known only by its extension is shown by it, and named.
    assert call.caller_number == caller
    assert call.caller_name == ("Reception" if incoming else None)
    assert (tracker.snapshot.last_caller is not None) is incoming


def test_an_extensions_sip_address_shows_as_the_extension(tracker: CallTracker) -> None:
    """The VPBX API gives an extension its SIP address as its number."""
    sip = "sip:101@vpbx400000001.mangosip.ru"
    feed(
        tracker,
        event("c1", "APPEARED", to={"extension": EXTENSION, "number": sip}),
    )
    assert tracker.snapshot.current_call.callee_number == EXTENSION
    outside = "sip:user@example.mangosip.ru"
    feed(tracker, event("c2", "APPEARED", **{"from": {"number": outside}}))
    assert tracker.snapshot.calls["c2"].caller_number == outside


@pytest.mark.parametrize(
    ("caller", "callee", "direction", "call_state"),
    [
        ({"number": OUTSIDE}, {"extension": EXTENSION}, "in", "ringing"),
        ({"extension": EXTENSION}, {"number": OUTSIDE}, "out", "dialing"),
        ({"extension": "102"}, {"extension": EXTENSION}, "internal", "ringing"),
        ({"extension": EXTENSION}, {"extension": "102"}, "internal", "dialing"),
        # A leg between others (the extension only watches it): no telling.
        ({"number": OUTSIDE}, {"extension": "102"}, "unknown", "dialing"),
    ],
)
def test_without_a_direction_the_parties_tell_it(
    tracker: CallTracker,
    caller: dict[str, str],
    callee: dict[str, str],
    direction: str,
    call_state: str,
) -> None:
    """As in the VPBX API's events: the side that carries the extension decides."""
    feed(
        tracker,
        event("c1", "APPEARED", direction=None, **{"from": caller, "to": callee}),
    )
    call = tracker.snapshot.current_call
    assert (call.direction.value, tracker.snapshot.call_state) == (
        direction,
        call_state,
    )


def test_on_hold_outranks_a_second_call_ringing(tracker: CallTracker) -> None:
    """On hold outranks a second call ringing."""
    feed(tracker, event("first", "CONNECTED"), event("first", "ONHOLD", at=1), at=1)
    feed(tracker, event("second", "APPEARED", at=2), at=2)
    assert tracker.snapshot.current_call.call_id == "first"
    assert tracker.snapshot.call_state == "on_hold"
    feed(tracker, event("second", "CONNECTED", at=3), at=3)
    assert tracker.snapshot.current_call.call_id == "second"
    # Between equals, the one with the latest news.
    feed(tracker, event("first", "CONNECTED", at=4), at=4)
    assert tracker.snapshot.current_call.call_id == "first"


def test_an_update_keeps_what_it_leaves_out(tracker: CallTracker) -> None:
    """An update keeps what it leaves out."""
    feed(
        tracker,
        event("c1", "APPEARED", entry_id="e1", line_number="74957654321", seq=1),
    )
    feed(tracker, event("c1", "CONNECTED", seq=2, **{"from": None, "to": None}))
    call = tracker.snapshot.current_call
    assert (call.caller_number, call.callee_number) == (OUTSIDE, EXTENSION)
    assert (call.entry_id, call.line_number, call.seq) == ("e1", "74957654321", 2)

    # What it does say replaces the old: transferred to another person.
    feed(
        tracker,
        event(
            "c1",
            "CONNECTED",
            entry_id="e2",
            line_number="74950000000",
            to={"extension": "102"},
        ),
    )
    call = tracker.snapshot.current_call
    assert (call.callee_number, call.callee_name) == ("102", "Reception")
    assert (call.entry_id, call.line_number) == ("e2", "74950000000")
    assert call.seq == 2  # an event without seq keeps the last one


@pytest.mark.parametrize(
    ("update", "caller", "callee"),
    [
        # Picked up by another extension of the group: only the callee is new.
        ({"from": None, "to": {"extension": "102"}}, OUTSIDE, "102"),
        # The caller's side is now an extension (a transfer from inside).
        ({"from": {"extension": "102"}, "to": None}, "102", EXTENSION),
        # The same parties again: nothing to name anew.
        ({}, OUTSIDE, EXTENSION),
    ],
)
def test_an_update_names_the_parties_it_changes(
    tracker: CallTracker, update: dict[str, Any], caller: str, callee: str
) -> None:
    """Each side an update names replaces that side, with its phonebook name."""
    feed(tracker, event("c1", "APPEARED"))
    feed(tracker, event("c1", "CONNECTED", at=2, **update))
    call = tracker.snapshot.current_call
    names = {OUTSIDE: "Ivan Petrov", "102": "Reception", EXTENSION: None}
    assert (call.caller_number, call.caller_name) == (caller, names[caller])
    assert (call.callee_number, call.callee_name) == (callee, names[callee])


def test_last_seqs_are_for_the_channel(tracker: CallTracker) -> None:
    """Last seqs are for the channel."""
    feed(tracker, event("a", "APPEARED", seq=4), event("b", "APPEARED"))
    assert tracker.last_seqs() == {"a": 4}


def test_replayed_events_are_as_old_as_the_service_says(tracker: CallTracker) -> None:
    """A call that rang long ago while nobody listened is forgotten soon."""
    feed(tracker, event("old", "APPEARED", at=-3600), at=0, replayed=True)
    feed(tracker, event("live", "APPEARED", at=-3600), at=0)
    calls = tracker.snapshot.calls
    assert calls["old"].updated_at == T0 - timedelta(hours=1)
    assert calls["live"].updated_at == T0
    # A replayed event dated in the future counts from now.
    feed(tracker, event("future", "APPEARED", at=3600), replayed=True)
    assert tracker.snapshot.calls["future"].updated_at == T0
    assert tracker.prune(T0 + STALE_RINGING_AFTER - timedelta(minutes=59))
    assert sorted(tracker.snapshot.calls) == ["future", "live"]


def test_pruning_forgets_ringing_sooner_than_talking(tracker: CallTracker) -> None:
    """Pruning forgets ringing sooner than talking."""
    feed(tracker, event("ringing", "APPEARED"), event("talking", "CONNECTED"))
    assert not tracker.prune(T0 + STALE_RINGING_AFTER)
    snapshot = tracker.snapshot
    assert tracker.prune(T0 + STALE_RINGING_AFTER + timedelta(seconds=1))
    assert tracker.snapshot is not snapshot
    assert list(tracker.snapshot.calls) == ["talking"]
    assert not tracker.prune(T0 + STALE_CALL_AFTER)
    assert tracker.prune(T0 + STALE_CALL_AFTER + timedelta(seconds=1))
    assert tracker.snapshot.call_state == "idle"


def test_how_long_a_call_without_news_is_kept(tracker: CallTracker) -> None:
    """Ten minutes of ringing, eight hours of talking or holding: then it is forgotten."""
    feed(tracker, event("ringing", "APPEARED"), event("talking", "CONNECTED"))
    feed(tracker, event("held", "CONNECTED"), event("held", "ONHOLD"))
    assert not tracker.prune(T0 + timedelta(minutes=10))
    assert tracker.prune(T0 + timedelta(minutes=10, seconds=1))
    assert sorted(tracker.snapshot.calls) == ["held", "talking"]
    assert not tracker.prune(T0 + timedelta(hours=8))
    assert tracker.prune(T0 + timedelta(hours=8, seconds=1))
    assert dict(tracker.snapshot.calls) == {}


def test_calls_in_progress_are_bounded(tracker: CallTracker) -> None:
    """Calls in progress are bounded."""
    for number in range(MAX_CALLS + 5):
        feed(tracker, event(f"junk{number}", "APPEARED", at=number), at=number)
    calls = tracker.snapshot.calls
    assert len(calls) == MAX_CALLS
    assert "junk0" not in calls
    assert "junk4" not in calls
    assert "junk5" in calls
    assert f"junk{MAX_CALLS + 4}" in calls


def test_snapshot_is_the_same_object_until_something_changes(
    tracker: CallTracker,
) -> None:
    """Snapshot is the same object until something changes."""
    first = tracker.snapshot
    assert tracker.snapshot is first
    feed(tracker, event("c1", "APPEARED"))
    assert tracker.snapshot is not first
    assert not tracker.prune(T0)


def test_a_new_phonebook_renames_the_calls_in_progress(tracker: CallTracker) -> None:
    """A new phonebook renames the calls in progress."""
    feed(tracker, event("c1", "APPEARED"))
    before = tracker.snapshot
    tracker.set_phonebook(Phonebook({OUTSIDE: "Anna"}))
    assert tracker.snapshot is not before
    assert tracker.snapshot.current_call.caller_name == "Anna"
    assert tracker.snapshot.current_call.callee_name is None


def test_storage_round_trip_keeps_every_field(tracker: CallTracker) -> None:
    """Storage round trip keeps every field."""
    feed(
        tracker,
        event("c1", "APPEARED", entry_id="e1", seq=7, line_number="74957654321"),
        event("c1", "CONNECTED", entry_id="e1", seq=8, at=2),
        event("gone", "APPEARED", at=3),
        event("gone", "DISCONNECTED", at=9, disconnect_reason=1111),
        at=10,
    )
    saved = json.loads(json.dumps(tracker.as_dict()))
    loaded = restore_tracker(EXTENSION, PHONEBOOK, saved)

    assert loaded.snapshot == tracker.snapshot
    assert loaded.as_dict() == saved
    assert saved["missed_calls"] == 1
    assert saved["last_caller"] == {
        "call_id": "gone",
        "number": OUTSIDE,
        "time": (T0 + timedelta(seconds=3)).isoformat(),
        "answered": False,
        "duration": None,
    }
    assert saved["calls"] == [
        {
            "call_id": "c1",
            "entry_id": "e1",
            "direction": "in",
            "incoming": True,
            "state": "connected",
            "caller": [None, OUTSIDE],
            "callee": [EXTENSION, None],
            "line_number": "74957654321",
            "started_at": T0.isoformat(),
            "answered_at": (T0 + timedelta(seconds=2)).isoformat(),
            "updated_at": (T0 + timedelta(seconds=10)).isoformat(),
            "seq": 8,
        }
    ]
    assert loaded.last_seqs() == {"c1": 8}
    # Names come from the phonebook in use, not from the file.
    assert loaded.snapshot.current_call.caller_name == "Ivan Petrov"
    # It goes on from where it was: the answered call ends with its talk time.
    news = loaded.handle(
        event("c1", "DISCONNECTED", at=62, disconnect_reason=1100),
        now=T0 + timedelta(seconds=62),
        replayed=False,
    )
    assert (types_of(news), news[0].duration) == (["ended"], 60)


GOOD_CALL: dict[str, Any] = {
    "call_id": "c1",
    "entry_id": None,
    "direction": "in",
    "incoming": True,
    "state": "appeared",
    "caller": [None, OUTSIDE],
    "callee": [EXTENSION, None],
    "line_number": None,
    "started_at": "2026-12-01T10:00:00+00:00",
    "answered_at": None,
    "updated_at": "2026-12-01T10:00:00+00:00",
    "seq": 1,
}


@pytest.mark.parametrize(
    "damage",
    [
        {"call_id": None},
        {"call_id": "has space"},
        {"direction": "sideways"},
        {"incoming": "yes"},
        {"state": "RINGING"},
        {"caller": [None]},
        {"caller": "+74951234567"},
        {"caller": {"extension": None, "number": OUTSIDE}},
        {"callee": ["1O1", None]},
        {"line_number": "call me"},
        {"started_at": "yesterday"},
        {"started_at": "2026-12-01T10:00:00"},
        {"answered_at": 5},
        {"updated_at": None},
        {"entry_id": 12},
    ],
)
def test_a_damaged_saved_call_is_left_out(damage: dict[str, Any]) -> None:
    """A damaged saved call is left out."""
    stored = {
        "calls": [{**GOOD_CALL, **damage}, {**GOOD_CALL, "call_id": "kept"}],
        "missed_calls": 3,
        "last_caller": None,
    }
    loaded = restore_tracker(EXTENSION, PHONEBOOK, stored)
    assert list(loaded.snapshot.calls) == ["kept"]
    assert loaded.snapshot.missed_calls == 3


@pytest.mark.parametrize("seq", ["1", 1.5, True, 2**70, None])
def test_a_damaged_seq_costs_only_the_stale_check(seq: object) -> None:
    """A damaged seq costs only the stale check."""
    loaded = restore_tracker(
        EXTENSION, PHONEBOOK, {"calls": [{**GOOD_CALL, "seq": seq}]}
    )
    assert loaded.snapshot.calls["c1"].seq is None
    assert loaded.last_seqs() == {}


@pytest.mark.parametrize(
    "last_caller",
    [
        {
            "call_id": "c",
            "number": None,
            "time": "2026-12-01T10:00:00+00:00",
            "answered": 1,
            "duration": None,
        },
        {
            "call_id": "c",
            "number": None,
            "time": "2026-12-01T10:00:00+00:00",
            "answered": True,
            "duration": -5,
        },
        {
            "call_id": "c",
            "number": None,
            "time": "2026-12-01T10:00:00+00:00",
            "answered": True,
            "duration": "75",
        },
        {
            "call_id": "c",
            "number": "call me",
            "time": "2026-12-01T10:00:00+00:00",
            "answered": True,
            "duration": None,
        },
        {
            "call_id": "",
            "number": None,
            "time": "2026-12-01T10:00:00+00:00",
            "answered": True,
            "duration": None,
        },
        {
            "number": None,
            "time": "2026-12-01T10:00:00+00:00",
            "answered": True,
            "duration": None,
        },
        ["c", None],
    ],
)
def test_a_damaged_last_caller_is_left_out(last_caller: object) -> None:
    """A damaged last caller is left out."""
    loaded = restore_tracker(
        EXTENSION, PHONEBOOK, {"last_caller": last_caller, "missed_calls": 2}
    )
    assert loaded.snapshot.last_caller is None
    assert loaded.snapshot.missed_calls == 2


@pytest.mark.parametrize(
    "stored",
    [
        None,
        [],
        "calls",
        {"calls": "many"},
        {"missed_calls": "many"},
        {"missed_calls": -1},
        {"missed_calls": True},
        {"missed_calls": 2**64},
    ],
)
def test_a_damaged_file_starts_empty(stored: object) -> None:
    """A damaged file starts empty."""
    loaded = restore_tracker(EXTENSION, PHONEBOOK, stored)
    assert loaded.snapshot.missed_calls == 0
    assert dict(loaded.snapshot.calls) == {}


@pytest.mark.parametrize("seq", [2**63 - 1, -(2**63 - 1), 0])
def test_any_64_bit_seq_is_kept(seq: int) -> None:
    """Every seq a 64-bit integer holds checks out."""
    loaded = restore_tracker(
        EXTENSION, PHONEBOOK, {"calls": [{**GOOD_CALL, "seq": seq}]}
    )
    assert loaded.last_seqs() == {"c1": seq}


@pytest.mark.parametrize("missed", [0, 1, 2**63 - 1])
def test_any_64_bit_missed_count_is_kept(missed: int) -> None:
    """Every count a 64-bit integer holds checks out, up to the largest."""
    loaded = restore_tracker(EXTENSION, PHONEBOOK, {"missed_calls": missed})
    assert loaded.snapshot.missed_calls == missed


def test_a_huge_saved_file_keeps_the_newest_calls() -> None:
    """A huge saved file keeps the newest calls."""
    stored = {
        "calls": [{**GOOD_CALL, "call_id": f"c{n}"} for n in range(MAX_CALLS * 3)]
    }
    loaded = restore_tracker(EXTENSION, PHONEBOOK, stored)
    assert len(loaded.snapshot.calls) == MAX_CALLS
    assert f"c{MAX_CALLS * 3 - 1}" in loaded.snapshot.calls
    assert f"c{MAX_CALLS * 2 - 1}" not in loaded.snapshot.calls


@pytest.mark.parametrize("answered", [True, False])
def test_a_callbacks_second_leg_repeats_its_news(
    tracker: CallTracker, answered: bool
) -> None:
    """One call, two legs: each starts, answers and ends; the call does each once.

    The call ends with its last leg: an earlier leg's end is a repeat.
    """
    out = {
        "direction": "out",
        "entry_id": "entry-cb",
        "from": {"extension": EXTENSION},
        "to": {"number": OUTSIDE},
    }
    news = feed(
        tracker,
        event("u1", "APPEARED", **out),
        event("u1", "CONNECTED", at=3, **out),
        event("d1", "APPEARED", at=4, **out),
    )
    assert [(item.event_type, item.repeat) for item in news] == [
        ("outgoing", False),
        ("answered", False),
        ("outgoing", True),
    ]
    if answered:
        news = feed(
            tracker,
            event("d1", "CONNECTED", at=10, **out),
            event("d1", "DISCONNECTED", at=70, disconnect_reason=1100, **out),
        )
        assert [(item.event_type, item.repeat) for item in news] == [
            ("answered", True),
            ("ended", True),
        ]
    else:
        news = feed(
            tracker, event("d1", "DISCONNECTED", at=6, disconnect_reason=1121, **out)
        )
        assert [(item.event_type, item.repeat) for item in news] == [("ended", True)]
    news = feed(
        tracker, event("u1", "DISCONNECTED", at=71, disconnect_reason=1100, **out)
    )
    assert [(item.event_type, item.repeat) for item in news] == [("ended", False)]


def test_calls_of_their_own_repeat_nothing(tracker: CallTracker) -> None:
    """Two calls at once (no shared entry_id): each tells its own news."""
    news = feed(
        tracker,
        event("a", "APPEARED", entry_id="entry-a"),
        event(
            "b", "APPEARED", entry_id="entry-b", **{"from": {"number": "+79990000000"}}
        ),
        event("a", "CONNECTED", at=2, entry_id="entry-a"),
        event("b", "DISCONNECTED", at=3, entry_id="entry-b", disconnect_reason=1111),
        event("a", "DISCONNECTED", at=9, entry_id="entry-a", disconnect_reason=1100),
        event("c", "DISCONNECTED", at=9, disconnect_reason=1111),
    )
    assert [(item.event_type, item.repeat) for item in news] == [
        ("incoming", False),
        ("incoming", False),
        ("answered", False),
        ("missed", False),
        ("ended", False),
        ("missed", False),
    ]
