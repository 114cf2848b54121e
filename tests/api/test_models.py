"""The lenient parser of push messages: unit tests and property tests."""

from datetime import UTC, datetime
import json
from typing import Any

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.mango_office.api import (
    CallEvent,
    CallState,
    Direction,
    IvrEvent,
    MangoProtocolError,
    Party,
    RecordEvent,
    RouteResultEvent,
    fields,
    models,
    parse_frame,
    parse_message,
)
from custom_components.mango_office.api.fields import Fields

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
        {"call_id": "c1", "call_state": "APPEARED", "timestamp": 1e300},
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


# -- properties ------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # json.loads accepts NaN and Infinity
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

FIELD_NAMES = (
    "call_id",
    "entry_id",
    "seq",
    "timestamp",
    "call_state",
    "direction",
    "from",
    "to",
    "line_number",
    "disconnect_reason",
    "is_group_disconnect",
    "record_id",
    "status",
    "url",
    "duration",
    "request_id",
    "to_number",
    "result",
    "message",
)


def _spellings(name: str) -> st.SearchStrategy[str]:
    first, *rest = name.split("_")
    camel = first + "".join(part.title() for part in rest)
    return st.sampled_from([name, name.upper(), camel])


FIELD_VALUES = (
    JSON_VALUES
    | st.sampled_from(
        ["APPEARED", "connected", "DISONNECTED", "ONHOLD", "in", "OUT", "AVAILABLE"]
    )
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.dictionaries(
        st.sampled_from(["extension", "number", "EXTENSION"]), JSON_SCALARS, max_size=2
    )
)

DATA = st.dictionaries(
    st.sampled_from(FIELD_NAMES).flatmap(_spellings), FIELD_VALUES, max_size=12
)

MESSAGES = st.fixed_dictionaries(
    {
        "routeKey": st.sampled_from(
            ["/call", "/CALL", "/record", "/ivr", "/route_result", "/other"]
        )
        | JSON_SCALARS,
        "data": DATA | JSON_VALUES,
    }
)


def _parses_or_refuses(message: Any) -> None:
    try:
        event = parse_message(message)
    except MangoProtocolError:
        return
    assert event is None or isinstance(event, MODELS)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_parses_or_is_refused(message: Any) -> None:
    """Whatever JSON-like value comes, parse_message returns a model or None, or raises MangoProtocolError."""
    _parses_or_refuses(message)


@settings(max_examples=500, deadline=None)
@given(MESSAGES)
@example(
    {
        "routeKey": "/call",
        "data": {"call_id": "c", "call_state": "APPEARED", "timestamp": float("nan")},
    }
)
@example(
    {
        "routeKey": "/call",
        "data": {"call_id": "c", "call_state": "APPEARED", "timestamp": "-inf"},
    }
)
@example(
    {
        "routeKey": "/call",
        "data": {"call_id": "c", "call_state": "APPEARED", "seq": float("inf")},
    }
)
def test_any_message_shaped_value_parses_or_is_refused(message: Any) -> None:
    """Messages of the known kinds with any values in their fields: a model, None or MangoProtocolError."""
    _parses_or_refuses(message)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200) | JSON_VALUES.map(json.dumps))
def test_any_frame_parses_or_is_refused(frame: str | bytes) -> None:
    """parse_frame on any text or bytes: a model or None, or MangoProtocolError."""
    try:
        event = parse_frame(frame)
    except MangoProtocolError:
        return
    assert event is None or isinstance(event, MODELS)


@settings(max_examples=200, deadline=None)
@given(
    call_id=st.from_regex(r"[A-Za-z0-9_\-:.=/+]{1,40}", fullmatch=True)
    | st.integers(min_value=0, max_value=2**63 - 1),
    seq=st.integers(min_value=0, max_value=2**40),
    seq_as_text=st.booleans(),
    state=st.sampled_from(["APPEARED", "CONNECTED", "ONHOLD", "DISCONNECTED"]),
    case=st.sampled_from([str.lower, str.upper, str.title]),
)
def test_well_formed_call_events_keep_their_values(
    call_id: str | int, seq: int, seq_as_text: bool, state: str, case: Any
) -> None:
    """However a valid /call is spelt, the model holds its id, seq and state."""
    event = parse_message(
        {
            "routeKey": case("/call"),
            "data": {
                case("call_id"): call_id,
                case("seq"): str(seq) if seq_as_text else seq,
                case("call_state"): case(state),
            },
        }
    )
    assert isinstance(event, CallEvent)
    assert event.call_id == str(call_id)
    assert event.seq == seq
    assert event.state.name.replace("_", "") == state


_FIELD_VALUES = {
    "call_id": st.text(max_size=5) | st.integers() | st.none(),
    "entry_id": st.text(max_size=5) | st.none(),
    "seq": st.integers(min_value=-(2**64), max_value=2**64) | st.text(max_size=3),
    "timestamp": st.integers(min_value=0, max_value=2**40) | st.floats() | st.none(),
    "call_state": st.sampled_from(["APPEARED", "connected", "DISONNECTED", "X", ""]),
    "direction": st.sampled_from(["in", "out", "internal", "IN", "sideways", ""]),
    "from": st.none()
    | st.text(max_size=12)
    | st.fixed_dictionaries(
        {}, optional={"number": st.text(max_size=12), "extension": st.text(max_size=4)}
    ),
    "to": st.fixed_dictionaries(
        {}, optional={"number": st.from_regex(r"\+?\d{3,12}", fullmatch=True)}
    ),
    "line_number": st.from_regex(r"\+?\d{3,12}", fullmatch=True) | st.integers(),
    "disconnect_reason": st.integers(min_value=-(2**64), max_value=2**64) | st.none(),
    "is_group_disconnect": st.booleans() | st.integers() | st.none(),
}


@settings(max_examples=500, deadline=None)
@given(data=st.fixed_dictionaries({}, optional=_FIELD_VALUES))
def test_fast_path_agrees_with_the_lenient_parser(data: dict[str, Any]) -> None:
    """The fast path for canonical /call messages gives what the lenient parser gives."""
    fast = models._parse_call_fast(data)
    if fast is None:
        return
    assert fast == models._parse_call(Fields(data))


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
