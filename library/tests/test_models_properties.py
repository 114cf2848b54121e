"""Property tests of the lenient parser: whatever comes, a model, None or MangoProtocolError.

Hypothesis is not among the library's own test requirements (the wheel, pytest
and pytest-asyncio): these run in the development venv, which has it.
"""

import json
from typing import Any

import pytest

from mango_office_api import (
    CallEvent,
    IvrEvent,
    MangoProtocolError,
    RecordEvent,
    RouteResultEvent,
    models,
    parse_frame,
    parse_message,
)
from mango_office_api.fields import Fields

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings, strategies as st  # noqa: E402

MODELS = (CallEvent, RecordEvent, IvrEvent, RouteResultEvent)


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
