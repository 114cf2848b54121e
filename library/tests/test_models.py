"""The lenient parser of push messages: unit tests (property tests: test_models_properties.py)."""

from datetime import UTC, datetime
import json
from typing import Any

import pytest

from mango_office_api import (
    CallEvent,
    CallState,
    Direction,
    IvrEvent,
    MangoProtocolError,
    Party,
    RecordEvent,
    RouteResultEvent,
    fields,
    parse_frame,
    parse_message,
)
from mango_office_api.fields import Fields

MODELS = (CallEvent, RecordEvent, IvrEvent, RouteResultEvent)


def call(**data: Any) -> dict[str, Any]:
    """A /call message with the given data."""
    return {"routeKey": "/call", "data": data}


# -- /call -----------------------------------------------------------------------


def test_full_call_event() -> None:
    """Every documented field of a /call message lands in its model field."""
    event = parse_message(
        call(
            call_id="c1",
            entry_id="e1",
            seq=4,
            timestamp=1_800_000_000,
            call_state="DISCONNECTED",
            direction="in",
            **{"from": {"number": "+74951234567"}, "to": {"extension": "101"}},
            line_number="+74957654321",
            disconnect_reason=1111,
            is_group_disconnect=True,
            some_future_field={"ignored": True},
        )
    )

    assert event == CallEvent(
        call_id="c1",
        entry_id="e1",
        seq=4,
        timestamp=datetime.fromtimestamp(1_800_000_000, UTC),
        state=CallState.DISCONNECTED,
        direction=Direction.INBOUND,
        caller=Party(number="+74951234567"),
        callee=Party(extension="101"),
        line_number="+74957654321",
        disconnect_reason=1111,
        is_group_disconnect=True,
    )
    assert event.timestamp is not None
    assert event.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    "message",
    [
        {
            "ROUTEKEY": "/CALL",
            "DATA": {"CALL_ID": "c1", "CALL_STATE": "APPEARED", "SEQ": 2},
        },
        {
            "routeKey": "/call",
            "data": {"callId": "c1", "callState": "APPEARED", "Seq": 2},
        },
        {
            "route_key": "/Call",
            "Data": {"Call-Id": "c1", "call_state": "appeared", "seq": 2},
        },
    ],
    ids=["upper", "camel", "mixed"],
)
def test_keys_in_any_case(message: dict[str, Any]) -> None:
    """call_id, CALL_ID, callId and Call-Id are one field; routeKey's value in any case too."""
    event = parse_message(message)
    assert isinstance(event, CallEvent)
    assert (event.call_id, event.state, event.seq) == ("c1", CallState.APPEARED, 2)


def test_numbers_as_strings_and_ids_as_numbers() -> None:
    """Ints may come as strings (with spaces), floats with no fraction count, ids may be numbers."""
    event = parse_message(
        call(
            call_id=123456,
            entry_id=7,
            seq=" 3 ",
            timestamp="1800000000.5",
            call_state="DISCONNECTED",
            disconnect_reason=1100.0,
            line_number=74957654321,
        )
    )
    assert isinstance(event, CallEvent)
    assert event.call_id == "123456"
    assert event.entry_id == "7"
    assert event.seq == 3
    assert event.timestamp == datetime.fromtimestamp(1_800_000_000.5, UTC)
    assert event.disconnect_reason == 1100
    assert event.line_number == "74957654321"


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("APPEARED", CallState.APPEARED),
        ("Connected", CallState.CONNECTED),
        ("ONHOLD", CallState.ON_HOLD),
        ("onhold", CallState.ON_HOLD),
        ("DISCONNECTED", CallState.DISCONNECTED),
        ("DISONNECTED", CallState.DISCONNECTED),
        ("disonnected", CallState.DISCONNECTED),
    ],
)
def test_call_states(word: str, state: CallState) -> None:
    """Every state word in any case, with the vendor page's misspelling DISONNECTED."""
    event = parse_message(call(call_id="c1", call_state=word))
    assert isinstance(event, CallEvent)
    assert event.state is state


@pytest.mark.parametrize(
    ("word", "direction"),
    [
        ("in", Direction.INBOUND),
        ("OUT", Direction.OUTBOUND),
        ("Internal", Direction.INTERNAL),
        ("sideways", Direction.UNKNOWN),
        (None, Direction.UNKNOWN),
    ],
)
def test_directions(word: str | None, direction: Direction) -> None:
    """Directions in any case; an unknown or missing one is UNKNOWN, not an error."""
    event = parse_message(call(call_id="c1", call_state="APPEARED", direction=word))
    assert isinstance(event, CallEvent)
    assert event.direction is direction


def test_missing_optional_fields() -> None:
    """A /call with only its id and state is usable; "" and null mean absent."""
    event = parse_message(
        call(call_id="c1", call_state="APPEARED", entry_id="", seq=None, to=None)
    )
    assert event == CallEvent(
        call_id="c1",
        entry_id=None,
        seq=None,
        timestamp=None,
        state=CallState.APPEARED,
        direction=Direction.UNKNOWN,
        caller=Party(),
        callee=Party(),
        line_number=None,
        disconnect_reason=None,
        is_group_disconnect=False,
    )


@pytest.mark.parametrize(
    ("value", "party"),
    [
        ("+74951234567", Party(number="+74951234567")),
        (74951234567, Party(number="74951234567")),
        ({"extension": 101}, Party(extension="101")),
        (
            {"NUMBER": "+7495", "Extension": "101"},
            Party(extension="101", number="+7495"),
        ),
        ({}, Party()),
        ("", Party()),
    ],
)
def test_parties(value: Any, party: Party) -> None:
    """from/to as an object, or a bare number where the object is expected."""
    event = parse_message(call(call_id="c1", call_state="APPEARED", **{"from": value}))
    assert isinstance(event, CallEvent)
    assert event.caller == party


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        (" Yes ", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("no", False),
        ("0", False),
        (0, False),
        (None, False),
    ],
)
def test_bool_words(value: Any, flag: bool) -> None:
    """is_group_disconnect as a bool, a word or 0/1."""
    event = parse_message(
        call(call_id="c1", call_state="DISCONNECTED", is_group_disconnect=value)
    )
    assert isinstance(event, CallEvent)
    assert event.is_group_disconnect is flag


@pytest.mark.parametrize(
    "data",
    [
        {"call_state": "APPEARED"},
        {"call_id": "", "call_state": "APPEARED"},
        {"call_id": None, "call_state": "APPEARED"},
        {"call_id": "c1"},
        {"call_id": "c1", "call_state": "RINGING"},
        {"call_id": True, "call_state": "APPEARED"},
        {"call_id": ["c1"], "call_state": "APPEARED"},
        {"call_id": "c1", "call_state": "APPEARED", "seq": "first"},
        {"call_id": "c1", "call_state": "APPEARED", "seq": 1.5},
        {"call_id": "c1", "call_state": "APPEARED", "seq": True},
        {"call_id": "c1", "call_state": "APPEARED", "timestamp": "yesterday"},
        {"call_id": "c1", "call_state": "APPEARED", "timestamp": True},
        {"call_id": "c1", "call_state": "APPEARED", "is_group_disconnect": "maybe"},
        {"call_id": "c1", "call_state": "APPEARED", "is_group_disconnect": 2},
        {"call_id": "c1", "call_state": "APPEARED", "from": ["+7495"]},
        {"call_id": "c1", "call_state": "APPEARED", "from": {"number": {"x": 1}}},
        {"call_id": "c1", "call_state": "APPEARED", "direction": 5.5},
    ],
)
def test_unusable_call_events(data: dict[str, Any]) -> None:
    """A /call without its id or state, or with fields of the wrong type, is a protocol error."""
    with pytest.raises(MangoProtocolError):
        parse_message(call(**data))


@pytest.mark.parametrize(
    "timestamp", [1e300, -5, 1_790_000_000_000, float("nan"), float("inf"), "0"]
)
def test_implausible_times_are_dropped(timestamp: Any) -> None:
    """Milliseconds, negative or infinite times: the call stays, its time is unknown."""
    event = parse_message(
        call(call_id="c1", call_state="APPEARED", timestamp=timestamp)
    )
    assert isinstance(event, CallEvent)
    assert event.timestamp is None


def test_oversized_numbers_are_protocol_errors() -> None:
    """Numbers too long to print (past Python's digit limit) never raise ValueError.

    Where the message needs the field it is refused; an optional one is dropped.
    """
    huge = 10**5000
    with pytest.raises(MangoProtocolError):
        parse_message(call(call_id=huge, call_state="APPEARED"))
    event = parse_message(call(call_id="c1", call_state="APPEARED", **{"from": huge}))
    assert isinstance(event, CallEvent)
    assert event.caller == Party()
    with pytest.raises(MangoProtocolError):
        parse_message(
            call(call_id="c1", call_state="APPEARED", is_group_disconnect=huge)
        )


# -- the other kinds -------------------------------------------------------------


def test_record_event() -> None:
    """A /record message; status upper-cased, AVAILABLE makes it available."""
    event = parse_message(
        {
            "routeKey": "/record",
            "data": {
                "RECORD_ID": 99,
                "callId": "c1",
                "entry_id": "e1",
                "status": "available",
                "url": "https://example.invalid/r.mp3",
                "duration": "42",
                "timestamp": 1_800_000_000,
            },
        }
    )
    assert event == RecordEvent(
        record_id="99",
        call_id="c1",
        entry_id="e1",
        status="AVAILABLE",
        url="https://example.invalid/r.mp3",
        duration=42,
        timestamp=datetime.fromtimestamp(1_800_000_000, UTC),
    )
    assert event.available


def test_record_event_in_progress() -> None:
    """Any other status is progress; a missing one is empty."""
    event = parse_message({"routeKey": "/record", "data": {"record_id": "r1"}})
    assert isinstance(event, RecordEvent)
    assert event.status == ""
    assert not event.available
    assert event.url is None


def test_ivr_event() -> None:
    """An /ivr message with the caller as a bare number."""
    event = parse_message(
        {
            "routeKey": "/ivr",
            "data": {
                "call_id": "c1",
                "status": "appeared",
                "from": "+74951234567",
                "to": {"number": "+74957654321"},
                "line_number": "+74957654321",
            },
        }
    )
    assert event == IvrEvent(
        call_id="c1",
        entry_id=None,
        status="APPEARED",
        caller=Party(number="+74951234567"),
        callee=Party(number="+74957654321"),
        line_number="+74957654321",
        timestamp=None,
    )


@pytest.mark.parametrize(("result", "success"), [(0, True), ("0", True), (1, False)])
def test_route_result_event(result: Any, success: bool) -> None:
    """A /route_result message; result 0 is success."""
    event = parse_message(
        {
            "routeKey": "/ROUTE_RESULT",
            "data": {
                "requestId": "q1",
                "call_id": "c1",
                "to_number": 102,
                "result": result,
                "message": "OK",
            },
        }
    )
    assert isinstance(event, RouteResultEvent)
    assert (event.request_id, event.call_id, event.to_number) == ("q1", "c1", "102")
    assert event.success is success
    assert event.message == "OK"


@pytest.mark.parametrize(
    "message",
    [
        {"routeKey": "/record", "data": {"status": "AVAILABLE"}},
        {"routeKey": "/ivr", "data": {"status": "APPEARED"}},
        {"routeKey": "/route_result", "data": {"result": 0}},
        {"routeKey": "/route_result", "data": {"request_id": "q1"}},
        {"routeKey": "/route_result", "data": {"request_id": "q1", "result": "ok"}},
    ],
)
def test_unusable_events_of_other_kinds(message: dict[str, Any]) -> None:
    """Without its id (or a route result without its result) a message is a protocol error."""
    with pytest.raises(MangoProtocolError):
        parse_message(message)


# -- the envelope ----------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"routeKey": "/voicemail", "data": {"id": 1}},
        {"routeKey": "/voicemail"},
        {"routeKey": "call", "data": {"call_id": "c1", "call_state": "APPEARED"}},
        {"routeKey": 5, "data": {}},
    ],
)
def test_unknown_route_key(message: dict[str, Any]) -> None:
    """A kind this client does not know is None: skipped, not an error."""
    assert parse_message(message) is None


@pytest.mark.parametrize(
    "message",
    [
        None,
        [],
        "routeKey",
        42,
        {},
        {"data": {"call_id": "c1"}},
        {"routeKey": None, "data": {}},
        {"routeKey": {"/call": 1}, "data": {}},
        {"routeKey": "/call"},
        {"routeKey": "/call", "data": None},
        {"routeKey": "/call", "data": ["call_id", "c1"]},
        {"routeKey": "/call", "data": "c1"},
    ],
)
def test_malformed_envelopes(message: Any) -> None:
    """Not an object, no routeKey, or a known kind without a data object: protocol errors."""
    with pytest.raises(MangoProtocolError):
        parse_message(message)


def test_parse_frame() -> None:
    """A text or bytes frame is parsed as JSON first; a frame that is not JSON is a protocol error."""
    frame = json.dumps(call(call_id="c1", call_state="APPEARED"))
    assert parse_frame(frame) == parse_message(json.loads(frame))
    assert parse_frame(frame.encode()) == parse_message(json.loads(frame))
    for bad in (
        '{"routeKey": "/call", "data": {"call_id": ',
        "",
        b"\xff\xfe\x00",
        "NaN-ish",
    ):
        with pytest.raises(MangoProtocolError):
            parse_frame(bad)


def test_a_long_signed_link_is_kept() -> None:
    """A recording link with a long signature is a link, not an id: kept whole."""
    url = "https://records.example/r/1.mp3?X-Signature=" + "a" * 1500
    event = parse_message(
        {
            "routeKey": "/record",
            "data": {"record_id": "r1", "status": "AVAILABLE", "url": url},
        }
    )
    assert isinstance(event, RecordEvent)
    assert event.url == url
    assert Fields({"url": url}).required_text("url", fields.LINK) == url
