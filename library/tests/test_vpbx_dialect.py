"""The client against the simulator speaking the VPBX API's spellings (dialect "vpbx")."""

from collections.abc import AsyncGenerator
import io

import aiohttp
import pytest

from mango_office_api import (
    CallEvent,
    CallState,
    Direction,
    IvrEvent,
    MangoApiError,
    MangoClient,
    Party,
    RecordEvent,
    RouteResultEvent,
    SummaryEvent,
)
from mango_office_api.probe import Probe
from mango_simulator import MangoSimulator

from .conftest import CALLER, EXTENSION, LINE, TOKEN, Recorder, StartChannel

SIP = "sip:101@vpbx400000001.mangosip.ru"


@pytest.fixture
async def simulator() -> AsyncGenerator[MangoSimulator]:
    """The simulator, speaking the VPBX API's spellings."""
    sim = MangoSimulator(
        tokens={TOKEN}, extensions={"101", "102", "103"}, seed=1, dialect="vpbx"
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


def test_an_unknown_dialect_is_refused() -> None:
    """Only the two dialects exist."""
    with pytest.raises(ValueError, match="dialect"):
        MangoSimulator(dialect="vpbx2")


async def test_frames_are_spelt_as_the_vpbx_api_spells_them(
    simulator: MangoSimulator,
) -> None:
    """What the service stores for the client: TitleCase, strings, line_number in to, no direction, a summary."""
    simulator.provision(EXTENSION)
    await simulator.incoming_answered(EXTENSION, caller=CALLER, line=LINE, record=False)
    frames = simulator.missed(EXTENSION)
    assert [
        (frame["routeKey"], frame["data"].get("call_state")) for frame in frames
    ] == [
        ("/call", "Appeared"),
        ("/call", "Connected"),
        ("/call", "Disconnected"),
        ("/summary", None),
    ]
    call = frames[0]["data"]
    assert "direction" not in call
    assert "line_number" not in call
    assert call["to"] == {"extension": EXTENSION, "number": SIP, "line_number": LINE}
    assert (call["seq"], call["disconnect_reason"]) == ("1", "0")
    assert isinstance(call["timestamp"], str)
    assert frames[3]["data"]["call_direction"] == 1


async def test_a_call_through_the_channel(
    start_channel: StartChannel, simulator: MangoSimulator, client: MangoClient
) -> None:
    """A recorded incoming call, live: states, parties, line, outcome, summary, and the recording's link by id."""
    running = await start_channel()
    await simulator.incoming_answered(EXTENSION, caller=CALLER, line=LINE, duration=42)
    recorder: Recorder = running.recorder
    await recorder.wait_for(
        lambda: any(
            isinstance(event, RecordEvent) and event.available
            for event, _ in recorder.events
        )
    )
    events = [event for event, _ in recorder.events]
    calls = [event for event in events if isinstance(event, CallEvent)]
    assert [call.state for call in calls] == [
        CallState.APPEARED,
        CallState.CONNECTED,
        CallState.DISCONNECTED,
    ]
    assert {call.direction for call in calls} == {Direction.UNKNOWN}
    assert calls[0].caller == Party(number=CALLER)
    assert calls[0].callee == Party(extension=EXTENSION, number=SIP)
    assert {call.line_number for call in calls} == {LINE}
    assert [call.outcome for call in calls] == [None, None, "normal"]
    (summary,) = [event for event in events if isinstance(event, SummaryEvent)]
    assert summary.direction is Direction.INBOUND
    assert summary.entry_id == calls[0].entry_id
    record = next(
        event for event in events if isinstance(event, RecordEvent) and event.available
    )
    assert (record.status, record.url, record.completion_code) == (
        "COMPLETED",
        None,
        1000,
    )
    assert ".wav?" in await client.get_record_url(record.record_id)


async def test_route_results_name_the_command(
    start_channel: StartChannel, simulator: MangoSimulator, client: MangoClient
) -> None:
    """A route's answer has no request id: the command's id stands for it, and its result (1000) names it."""
    running = await start_channel()
    ivr = await simulator.incoming_via_ivr(caller=CALLER, line=LINE)
    await running.recorder.wait_for(
        lambda: any(isinstance(event, IvrEvent) for event, _ in running.recorder.events)
    )
    request_id = await client.route(ivr["call_id"], "102", command_id="command-7")
    assert request_id == "command-7"
    await running.recorder.wait_for(
        lambda: any(
            isinstance(event, RouteResultEvent) for event, _ in running.recorder.events
        )
    )
    (result,) = [
        event
        for event, _ in running.recorder.events
        if isinstance(event, RouteResultEvent)
    ]
    assert (result.request_id, result.command_id, result.result, result.success) == (
        "command-7",
        "command-7",
        1000,
        True,
    )


async def test_four_digit_result_codes(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """Success is 1000 (a user that exists too); a refusal carries the VPBX API's four-digit code."""
    await client.create_user(EXTENSION)
    await client.create_user(EXTENSION)
    await client.ping()
    with pytest.raises(MangoApiError) as caught:
        await client.create_user("999")
    assert caught.value.code == 3300


async def test_missed_events_drain(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Missed events in the VPBX spellings are drained in batches; none lost, none doubled."""
    simulator.provision(EXTENSION)
    for _ in range(3):
        await simulator.incoming_missed(EXTENSION, caller=CALLER)
    stored = len(simulator.missed(EXTENSION))
    running = await start_channel(missed_events_limit=2)
    events = await running.recorder.wait_events(stored)
    assert len(events) == stored
    assert all(replayed for _, replayed in events)


async def test_the_probe_passes(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """The probe's every step passes against the VPBX dialect too."""
    simulator.provision(EXTENSION)
    report = await Probe(
        session,
        TOKEN,
        EXTENSION,
        base_url=simulator.base_url,
        wait=0,
        write=io.StringIO().write,
    ).run()
    assert report.ok
