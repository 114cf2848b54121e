"""The VPBX API's spellings (the vendor's documented API), read besides the server-client API's assumed ones.

One test per spelling; the names match the table in library/README.md.
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from mango_office_api import (
    CallEvent,
    CallState,
    Direction,
    Party,
    RecordEvent,
    RouteResultEvent,
    SummaryEvent,
    disconnect_outcome,
    parse_message,
)
from mango_simulator import MangoSimulator

from .conftest import StartChannel

# A /call as the VPBX API writes it (its PDF v1.9 and payloads in public code).
VPBX_CALL: dict[str, Any] = {
    "entry_id": "MjA0NzkxNjQ2MzU6MTAx",
    "call_id": "MToxMDE3NjU0MToxMDE6Mjg3MzIxNjI3",
    "timestamp": "1800000000",
    "seq": "2",
    "call_state": "Connected",
    "location": "abonent",
    "from": {"number": "74951234567", "taken_from_call_id": ""},
    "to": {
        "extension": "101",
        "number": "sip:user101@vpbx400000000.mangosip.ru",
        "line_number": "74957654321",
        "acd_group": "",
    },
    "dct": {"number": "", "type": 0},
    "disconnect_reason": "0",
    "transfer": "",
    "sip_call_id": "3c2a5e1f@10.0.0.1",
    "command_id": "",
}


def call(**data: Any) -> CallEvent:
    """Parse a /call with VPBX_CALL's fields, some replaced."""
    event = parse_message({"routeKey": "/call", "data": {**VPBX_CALL, **data}})
    assert isinstance(event, CallEvent)
    return event


def test_vpbx_call_event_whole() -> None:
    """A VPBX API call event as a whole: every field where the model has it."""
    assert call() == CallEvent(
        call_id="MToxMDE3NjU0MToxMDE6Mjg3MzIxNjI3",
        entry_id="MjA0NzkxNjQ2MzU6MTAx",
        seq=2,
        timestamp=datetime.fromtimestamp(1_800_000_000, UTC),
        state=CallState.CONNECTED,
        direction=Direction.UNKNOWN,
        caller=Party(number="74951234567"),
        callee=Party(extension="101", number="sip:user101@vpbx400000000.mangosip.ru"),
        line_number="74957654321",
        disconnect_reason=0,
        is_group_disconnect=False,
        location="abonent",
        sip_call_id="3c2a5e1f@10.0.0.1",
    )


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("Appeared", CallState.APPEARED),
        ("Connected", CallState.CONNECTED),
        ("OnHold", CallState.ON_HOLD),
        ("Disconnected", CallState.DISCONNECTED),
    ],
)
def test_vpbx_call_state_titlecase(word: str, state: CallState) -> None:
    """call_state in TitleCase."""
    assert call(call_state=word).state is state


def test_vpbx_no_direction_in_call_events() -> None:
    """No direction in a VPBX call event: UNKNOWN, for the caller to derive from which side is the extension."""
    assert "direction" not in VPBX_CALL
    assert call().direction is Direction.UNKNOWN


@pytest.mark.parametrize(
    ("value", "direction"),
    [
        (0, Direction.INTERNAL),
        (1, Direction.INBOUND),
        (2, Direction.OUTBOUND),
        ("2", Direction.OUTBOUND),
        (7, Direction.UNKNOWN),
        ("sideways", Direction.UNKNOWN),
    ],
)
def test_vpbx_call_direction_numbers(value: Any, direction: Direction) -> None:
    """call_direction 0 internal, 1 incoming, 2 outgoing, in the summary and in a call event alike."""
    assert call(call_direction=value).direction is direction
    summary = parse_message(
        {"routeKey": "/summary", "data": {"entry_id": "e1", "call_direction": value}}
    )
    assert isinstance(summary, SummaryEvent)
    assert summary.direction is direction


def test_vpbx_summary() -> None:
    """The end-of-call summary: its times, parties, line, result and outcome."""
    summary = parse_message(
        {
            "routeKey": "/summary",
            "data": {
                "entry_id": "e1",
                "call_direction": 1,
                "from": {"number": "74951234567"},
                "to": {"extension": "101", "line_number": "74957654321"},
                "create_time": "1800000000",
                "forward_time": 1_800_000_001,
                "talk_time": 0,
                "end_time": 1_800_000_030,
                "entry_result": 0,
                "disconnect_reason": "1110",
            },
        }
    )
    assert summary == SummaryEvent(
        entry_id="e1",
        direction=Direction.INBOUND,
        caller=Party(number="74951234567"),
        callee=Party(extension="101"),
        line_number="74957654321",
        created=datetime.fromtimestamp(1_800_000_000, UTC),
        answered=None,  # talk_time 0: nobody answered
        ended=datetime.fromtimestamp(1_800_000_030, UTC),
        entry_result=0,
        disconnect_reason=1110,
    )
    assert summary.outcome == "ended_by_caller"


def test_vpbx_line_number_inside_to() -> None:
    """line_number inside to (or from), where there is none at the top level; the top level wins."""
    assert call().line_number == "74957654321"
    outgoing = call(
        to={"number": "74951234567"},
        **{"from": {"extension": "101", "line_number": "74950000000"}},
    )
    assert outgoing.line_number == "74950000000"
    assert call(line_number="74951111111").line_number == "74951111111"


def test_vpbx_empty_to() -> None:
    """To may be {}."""
    assert call(to={}).callee == Party()


def test_vpbx_number_as_sip_uri() -> None:
    """A number may be a SIP URI."""
    event = call(**{"from": {"number": "sip:74951234567@vpbx400000000.mangosip.ru"}})
    assert event.caller == Party(number="sip:74951234567@vpbx400000000.mangosip.ru")


def test_vpbx_strings_for_numbers() -> None:
    """extension, seq, timestamp and disconnect_reason as strings."""
    event = call(call_state="Disconnected", disconnect_reason="1121")
    assert (event.seq, event.disconnect_reason, event.callee.extension) == (
        2,
        1121,
        "101",
    )
    assert event.timestamp == datetime.fromtimestamp(1_800_000_000, UTC)


@pytest.mark.parametrize("location", ["ivr", "queue", "abonent"])
def test_vpbx_location(location: str) -> None:
    """location: ivr, queue, abonent."""
    assert call(location=location.upper()).location == location


@pytest.mark.parametrize("kind", ["consultative", "blind", "return_blind"])
def test_vpbx_transfer(kind: str) -> None:
    """transfer: consultative, blind, return_blind; "" is none."""
    assert call(transfer=kind).transfer == kind
    assert call().transfer is None


def test_vpbx_callback_initiator_command_id_sip_call_id() -> None:
    """callback_initiator, command_id and sip_call_id; "" is none."""
    event = call(callback_initiator="101", command_id="cmd-1")
    assert (event.callback_initiator, event.command_id, event.sip_call_id) == (
        "101",
        "cmd-1",
        "3c2a5e1f@10.0.0.1",
    )
    assert call().command_id is None


@pytest.mark.parametrize(
    ("route_key", "state", "available"),
    [
        ("/record", "Started", False),
        ("/recording", "Continued", False),
        ("/recording", "Completed", True),
    ],
)
def test_vpbx_recording(route_key: str, state: str, available: bool) -> None:
    """Recordings as recording_id, recording_state and completion_code, without url or duration."""
    event = parse_message(
        {
            "routeKey": route_key,
            "data": {
                "recording_id": "rec-1",
                "recording_state": state,
                "completion_code": "1000",
                "entry_id": "e1",
                "call_id": "c1",
                "timestamp": 1_800_000_000,
            },
        }
    )
    assert event == RecordEvent(
        record_id="rec-1",
        call_id="c1",
        entry_id="e1",
        status=state.upper(),
        url=None,
        duration=None,
        timestamp=datetime.fromtimestamp(1_800_000_000, UTC),
        completion_code=1000,
    )
    assert event.available is available


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (1100, "normal"),
        (1110, "ended_by_caller"),
        (1111, "no_answer"),
        (1120, "ended_by_callee"),
        (1121, "busy"),
        (1122, "rejected"),
        (1123, "do_not_disturb"),
        (1124, "do_not_disturb"),
        (1131, "number_unavailable"),
        *((code, "group_call_failed") for code in range(1160, 1165)),
        (1170, "forwarding_scheme"),
        (1171, "forwarding_scheme"),
        *((code, "ended_by_command") for code in range(1180, 1184)),
    ],
)
def test_disconnect_outcome_by_exact_code(code: int, outcome: str) -> None:
    """Every disconnect_reason the VPBX API names, by its exact code."""
    assert disconnect_outcome(code) == outcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (1105, "normal"),
        (1199, "normal"),
        (2000, "billing"),
        (2999, "billing"),
        (3200, "wrong_number"),
        (3299, "wrong_number"),
        (4200, "unreachable"),
        (4250, "unreachable"),
        (5000, "service_error"),
        (5999, "service_error"),
        (3100, "unknown"),
        (0, "unknown"),
        (None, None),
    ],
)
def test_disconnect_outcome_by_class(code: int | None, outcome: str | None) -> None:
    """An unknown code by its class: 11xx normal, 2xxx billing, 32xx wrong number, 42xx unreachable, 5xxx the service."""
    assert disconnect_outcome(code) == outcome


def test_call_outcome_only_once_ended() -> None:
    """A call event's outcome: none before it ended (the VPBX API sends 0 then), the word after."""
    assert call().outcome is None
    assert (
        call(call_state="Disconnected", disconnect_reason="1111").outcome == "no_answer"
    )


@pytest.mark.parametrize(
    ("data", "request_id", "success"),
    [
        ({"command_id": "cmd-1", "result": 1000}, "cmd-1", True),
        ({"command_id": "cmd-1", "result": "1000"}, "cmd-1", True),
        ({"request_id": "r1", "command_id": "cmd-1", "result": 0}, "r1", True),
        ({"command_id": "cmd-1", "result": 3310}, "cmd-1", False),
    ],
)
def test_vpbx_command_result(
    data: dict[str, Any], request_id: str, success: bool
) -> None:
    """A command's result named by command_id alone or with request_id; success as 0 or 1000."""
    event = parse_message({"routeKey": "/route_result", "data": data})
    assert isinstance(event, RouteResultEvent)
    assert (event.request_id, event.command_id, event.success) == (
        request_id,
        "cmd-1",
        success,
    )


async def test_summaries_are_delivered_once(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A summary that comes both live and as missed is delivered once."""
    summary = {"routeKey": "/summary", "data": {"entry_id": "e1", "call_direction": 1}}
    running = await start_channel()
    await simulator.push("101", summary)
    await simulator.push("101", summary)
    await simulator.push(
        "101", {"routeKey": "/summary", "data": {"entry_id": "e2", "call_direction": 2}}
    )
    events = await running.recorder.wait_events(2)
    assert [
        event.entry_id for event, _ in events if isinstance(event, SummaryEvent)
    ] == [
        "e1",
        "e2",
    ]
    assert running.channel.stats.duplicates_dropped == 1
