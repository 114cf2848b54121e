"""MangoChannel against the simulator: every push kind, missed events, reconnects and close."""

import asyncio
import logging
import random
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from mango_office_api import (
    CallEvent,
    CallState,
    ChannelState,
    Direction,
    IvrEvent,
    MangoApiError,
    MangoAuthError,
    MangoChannel,
    MangoClient,
    MangoConnectionError,
    Party,
    RecordEvent,
    RouteResultEvent,
    channel as channel_module,
)
from mango_simulator import MangoSimulator

from .conftest import (
    CALLER,
    EXTENSION,
    LINE,
    TOKEN,
    Recorder,
    RunningChannel,
    StartChannel,
    call_message,
    seqs,
)

# The library's loggers, whatever its package is called where it runs.
LOGGER_NAME = MangoChannel.__module__.rpartition(".")[0]


def record_message(record_id: str, status: str = "AVAILABLE") -> dict[str, Any]:
    """A /record push message."""
    return {
        "routeKey": "/record",
        "data": {"record_id": record_id, "call_id": "c1", "status": status},
    }


def ivr_message(call_id: str) -> dict[str, Any]:
    """An /ivr push message."""
    return {
        "routeKey": "/ivr",
        "data": {"call_id": call_id, "status": "APPEARED", "from": CALLER},
    }


def route_result_message(request_id: str) -> dict[str, Any]:
    """A /route_result push message."""
    return {
        "routeKey": "/route_result",
        "data": {"request_id": request_id, "call_id": "c1", "result": 0},
    }


def states_after(running: RunningChannel, index: int) -> list[ChannelState]:
    """The states reported from the index-th one on."""
    return running.recorder.states[index:]


# -- every push kind -----------------------------------------------------------


async def test_incoming_answered_and_recorded(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """An answered call's /call events, then its /record progress, arrive live and parsed."""
    running = await start_channel()

    ids = await simulator.incoming_answered(
        EXTENSION, caller=CALLER, line=LINE, record=True, duration=42
    )
    events = await running.recorder.wait_events(5)

    assert [replayed for _, replayed in events] == [False] * 5
    calls = [event for event, _ in events[:3] if isinstance(event, CallEvent)]
    assert len(calls) == 3
    assert [call.state for call in calls] == [
        CallState.APPEARED,
        CallState.CONNECTED,
        CallState.DISCONNECTED,
    ]
    first, _, last = calls
    assert first.call_id == ids["call_id"]
    assert first.entry_id == ids["entry_id"]
    assert first.seq == 1
    assert first.direction is Direction.INBOUND
    assert first.caller == Party(number=CALLER)
    assert first.callee == Party(extension=EXTENSION)
    assert first.line_number == LINE
    assert first.timestamp is not None
    assert first.disconnect_reason is None
    assert last.seq == 3
    assert last.disconnect_reason == 1100
    assert last.is_group_disconnect is False

    processing, available = (event for event, _ in events[3:])
    assert isinstance(processing, RecordEvent)
    assert isinstance(available, RecordEvent)
    assert processing.record_id == available.record_id == ids["record_id"]
    assert processing.status == "PROCESSING"
    assert not processing.available
    assert processing.url is None
    assert available.available
    assert available.call_id == ids["call_id"]
    assert available.entry_id == ids["entry_id"]
    assert available.duration == 42
    assert available.url is not None
    assert f"/records/{ids['record_id']}.wav?" in available.url


async def test_ivr_and_route_result(
    start_channel: StartChannel, simulator: MangoSimulator, client: MangoClient
) -> None:
    """An /ivr push for a call in the IVR; routing it brings a /route_result, then the call."""
    running = await start_channel()

    ivr = await simulator.incoming_via_ivr(caller=CALLER, line=LINE)
    ((event, replayed),) = await running.recorder.wait_events(1)

    assert ivr["extension"] == EXTENSION
    assert not replayed
    assert isinstance(event, IvrEvent)
    assert event.call_id == ivr["call_id"]
    assert event.entry_id == ivr["entry_id"]
    assert event.status == "APPEARED"
    assert event.caller == Party(number=CALLER)
    assert event.callee == Party(number=LINE)
    assert event.line_number == LINE

    request_id = await client.route(ivr["call_id"], "102")
    events = await running.recorder.wait_events(2)

    result, replayed = events[1]
    assert not replayed
    assert isinstance(result, RouteResultEvent)
    assert result.request_id == request_id
    assert result.call_id == ivr["call_id"]
    assert result.to_number == "102"
    assert result.result == 0
    assert result.success
    assert result.message == "OK"


async def test_route_to_a_number_that_is_no_extension_fails(
    start_channel: StartChannel, simulator: MangoSimulator, client: MangoClient
) -> None:
    """A failed route is a /route_result with a non-zero result."""
    running = await start_channel()
    ivr = await simulator.incoming_via_ivr()
    await running.recorder.wait_events(1)

    request_id = await client.route(ivr["call_id"], "555")
    events = await running.recorder.wait_events(2)

    result = events[1][0]
    assert isinstance(result, RouteResultEvent)
    assert result.request_id == request_id
    assert result.result == 1
    assert not result.success
    assert result.message == "Employee not available"


async def test_group_call_answered_elsewhere(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """The member who did not answer gets DISCONNECTED with is_group_disconnect."""
    running = await start_channel()

    ids = await simulator.group_answered_elsewhere(EXTENSION, "102", caller=CALLER)
    events = await running.recorder.wait_events(2)

    appeared, disconnected = (event for event, _ in events)
    assert isinstance(appeared, CallEvent)
    assert isinstance(disconnected, CallEvent)
    assert appeared.call_id == disconnected.call_id == ids["call_id"]
    assert disconnected.state is CallState.DISCONNECTED
    assert disconnected.is_group_disconnect is True
    # Only extension 101's leg reaches its channel.
    await asyncio.sleep(0.05)
    assert len(running.recorder.events) == 2


async def test_outgoing_callback_and_hold(
    start_channel: StartChannel, simulator: MangoSimulator, client: MangoClient
) -> None:
    """A callback's legs are outbound and carry the returned call id; hold is ON_HOLD."""
    running = await start_channel()

    call_id = await client.callback(EXTENSION, "+74959876543")
    # The user's leg: APPEARED, CONNECTED; the dialled leg: APPEARED, CONNECTED,
    # DISCONNECTED; then the user's leg DISCONNECTED.
    events = await running.recorder.wait_events(6)
    user_leg = [
        event
        for event, _ in events
        if isinstance(event, CallEvent) and event.call_id == call_id
    ]
    assert [event.state for event in user_leg] == [
        CallState.APPEARED,
        CallState.CONNECTED,
        CallState.DISCONNECTED,
    ]
    assert all(isinstance(event, CallEvent) for event, _ in events)
    assert {event.direction for event, _ in events if isinstance(event, CallEvent)} == {
        Direction.OUTBOUND
    }
    assert user_leg[0].callee == Party(number="+74959876543")
    assert user_leg[0].caller == Party(extension=EXTENSION)

    ids = await simulator.hold_and_resume(EXTENSION)
    events = await running.recorder.wait_events(11)
    assert [
        event.state
        for event, _ in events[6:]
        if isinstance(event, CallEvent) and event.call_id == ids["call_id"]
    ] == [
        CallState.APPEARED,
        CallState.CONNECTED,
        CallState.ON_HOLD,
        CallState.CONNECTED,
        CallState.DISCONNECTED,
    ]


# -- missed events -------------------------------------------------------------


async def test_missed_events_drained_in_batches_then_live(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Seven missed messages with LIMIT 3: all once, in order, replayed, before CONNECTED."""
    simulator.provision(EXTENSION)
    missed = [f"missed{number}" for number in range(7)]
    for call_id in missed:
        await simulator.push(EXTENSION, call_message(call_id))

    running = await start_channel(missed_events_limit=3)
    for call_id in ("live0", "live1"):
        await simulator.push(EXTENSION, call_message(call_id))
    events = await running.recorder.wait_events(9)

    assert running.recorder.call_ids() == [*missed, "live0", "live1"]
    assert [replayed for _, replayed in events] == [True] * 7 + [False] * 2
    registers = simulator.requests_to("session/register")
    # 3 + 3 + 1 with code 0, then code 109: nothing is left.
    assert len(registers) == 4
    assert {request.params["LIMIT"] for request in registers} == {3}
    assert len({request.params["CHANNEL"] for request in registers}) == 1
    assert simulator.missed(EXTENSION) == []
    # CONNECTED means "everything missed is delivered": it comes after the replay.
    timeline = running.recorder.timeline
    assert timeline.index(("state", ChannelState.CONNECTED)) == 1 + 7
    assert timeline[0] == ("state", ChannelState.CONNECTING)


async def test_missed_events_of_every_kind(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Missed /record, /ivr and /route_result messages are replayed parsed, like /call."""
    simulator.provision(EXTENSION)
    for message in (
        call_message("c1"),
        record_message("r1"),
        ivr_message("i1"),
        route_result_message("q1"),
    ):
        await simulator.push(EXTENSION, message)

    running = await start_channel()

    assert [type(event) for event, _ in running.recorder.events] == [
        CallEvent,
        RecordEvent,
        IvrEvent,
        RouteResultEvent,
    ]
    assert all(replayed for _, replayed in running.recorder.events)


async def test_connect_then_run(client: MangoClient, simulator: MangoSimulator) -> None:
    """connect() registers and keeps the first batch; run() delivers it, then goes live."""
    simulator.provision(EXTENSION)
    await simulator.push(EXTENSION, call_message("missed"))
    recorder = Recorder()
    channel = MangoChannel(
        client, EXTENSION, on_event=recorder.on_event, on_state=recorder.on_state
    )

    await channel.connect()
    assert simulator.is_registered(EXTENSION)
    assert recorder.events == []
    assert channel.state is ChannelState.CONNECTING
    assert repr(channel) == "MangoChannel(extension='101', state='connecting')"

    task = asyncio.create_task(channel.run())
    await recorder.wait_state(ChannelState.CONNECTED)
    assert repr(channel) == "MangoChannel(extension='101', state='connected')"
    await simulator.push(EXTENSION, call_message("live"))
    await recorder.wait_events(2)
    await channel.close()
    # close() ends run() with a return, as documented, not with a cancellation.
    await task

    assert recorder.call_ids() == ["missed", "live"]
    assert len(simulator.requests_to("channel")) == 1
    assert recorder.states == [
        ChannelState.CONNECTING,
        ChannelState.CONNECTED,
        ChannelState.CLOSED,
    ]


async def test_connect_errors(
    client: MangoClient, simulator: MangoSimulator, session: aiohttp.ClientSession
) -> None:
    """connect() raises what stops it, and leaves no websocket open."""
    channel = MangoChannel(client, EXTENSION, on_event=lambda *_: None)
    # Not provisioned: channel/ is refused.
    with pytest.raises(MangoApiError) as caught:
        await channel.connect()
    assert caught.value.code == 114

    simulator.provision(EXTENSION)
    simulator.refuse_websockets(10)
    with pytest.raises(MangoConnectionError):
        await channel.connect()
    simulator.refuse_websockets(0)

    simulator.fail_next("session/register", mode="500")
    with pytest.raises(MangoConnectionError):
        await channel.connect()
    await asyncio.sleep(0.05)
    assert simulator.open_websockets == 0
    assert not simulator.is_registered(EXTENSION)

    revoked = MangoChannel(
        MangoClient(session, "wrong", base_url=simulator.base_url),
        EXTENSION,
        on_event=lambda *_: None,
    )
    with pytest.raises(MangoAuthError):
        await revoked.connect()
    await channel.close()
    await revoked.close()
    assert simulator.requests_to("session/unregister") == []


# -- reconnecting ----------------------------------------------------------------


async def test_reconnect_after_a_drop_loses_and_repeats_nothing(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Messages pushed while the websocket is down arrive once, replayed, after the reconnect."""
    running = await start_channel()
    for call_id in ("before0", "before1"):
        await simulator.push(EXTENSION, call_message(call_id))
    await running.recorder.wait_events(2)
    connected_at = len(running.recorder.states)

    # Keep the channel down (upgrades refused) while messages are stored as missed.
    simulator.refuse_websockets(30)
    await simulator.drop_websockets()
    assert not simulator.is_registered(EXTENSION)
    for call_id in ("down0", "down1", "down2"):
        await simulator.push(EXTENSION, call_message(call_id))
    assert len(simulator.missed(EXTENSION)) == 3
    await running.recorder.wait_state(ChannelState.DISCONNECTED)
    simulator.refuse_websockets(0)
    await running.recorder.wait_state(ChannelState.CONNECTED, occurrences=2)
    await simulator.push(EXTENSION, call_message("after"))
    events = await running.recorder.wait_events(6)
    await asyncio.sleep(0.05)

    assert running.recorder.call_ids() == [
        "before0",
        "before1",
        "down0",
        "down1",
        "down2",
        "after",
    ]
    assert [replayed for _, replayed in events] == [
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    states = states_after(running, connected_at)
    assert states[0] is ChannelState.DISCONNECTED
    assert states[-1] is ChannelState.CONNECTED
    assert len(simulator.requests_to("channel")) >= 2
    assert simulator.missed(EXTENSION) == []


async def test_drops_while_messages_flow(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Dropping the websocket again and again while messages keep coming: each arrives once, in order."""
    running = await start_channel()
    sent: list[str] = []
    for round_number in range(5):
        for number in range(4):
            call_id = f"r{round_number}m{number}"
            sent.append(call_id)
            await simulator.push(EXTENSION, call_message(call_id))
        await simulator.drop_websockets()
    await running.recorder.wait_events(len(sent))
    await asyncio.sleep(0.1)

    assert running.recorder.call_ids() == sent


async def test_live_messages_also_kept_as_missed_are_delivered_once(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A service that keeps live messages as missed too: the replay after a reconnect repeats nothing."""
    simulator.duplicate_live_into_missed(True)
    running = await start_channel()
    live = [
        call_message("c1", seq=1),
        call_message("c1", seq=2, state="CONNECTED"),
        # A call event without seq falls back on its state and time.
        {
            "routeKey": "/call",
            "data": {"call_id": "c2", "call_state": "APPEARED", "timestamp": 5},
        },
        record_message("r1", "PROCESSING"),
        record_message("r1", "AVAILABLE"),
        ivr_message("i1"),
        route_result_message("q1"),
    ]
    for message in live:
        await simulator.push(EXTENSION, message)
    await running.recorder.wait_events(len(live))
    assert len(simulator.missed(EXTENSION)) == len(live)

    simulator.refuse_websockets(30)
    await simulator.drop_websockets()
    await simulator.push(EXTENSION, call_message("c1", seq=3, state="DISCONNECTED"))
    assert len(simulator.missed(EXTENSION)) == len(live) + 1
    simulator.refuse_websockets(0)
    await running.recorder.wait_state(ChannelState.CONNECTED, occurrences=2)
    events = await running.recorder.wait_events(len(live) + 1)
    await asyncio.sleep(0.05)

    assert len(running.recorder.events) == len(live) + 1
    assert [replayed for _, replayed in events] == [False] * len(live) + [True]
    assert seqs(running, "c1") == [1, 2, 3]
    # The replay handed out the overlap as well as the new message.
    assert simulator.missed(EXTENSION) == []


async def test_stale_and_repeated_call_events_are_dropped(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A /call with a lower seq than one delivered for that call is stale; the same seq is a repeat."""
    running = await start_channel()

    for call_id, seq in (
        ("c1", 2),
        ("c1", 1),
        ("c1", 2),
        ("c2", 1),
        ("c1", 3),
        ("c2", 1),
    ):
        await simulator.push(EXTENSION, call_message(call_id, seq))
    await simulator.push(EXTENSION, call_message("sentinel"))
    await running.recorder.wait_for(lambda: "sentinel" in running.recorder.call_ids())

    assert seqs(running, "c1") == [2, 3]
    assert seqs(running, "c2") == [1]
    assert running.recorder.call_ids() == ["c1", "c2", "c1", "sentinel"]


async def test_stale_missed_event_after_a_newer_live_one(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A replayed event older than what arrived live for the call is dropped too."""
    running = await start_channel()
    await simulator.push(EXTENSION, call_message("c1", seq=5))
    await running.recorder.wait_events(1)

    simulator.refuse_websockets(30)
    await simulator.drop_websockets()
    await simulator.push(EXTENSION, call_message("c1", seq=4))
    await simulator.push(EXTENSION, call_message("c1", seq=6))
    simulator.refuse_websockets(0)
    await running.recorder.wait_events(2)
    await asyncio.sleep(0.05)

    assert seqs(running, "c1") == [5, 6]
    assert running.recorder.events[1][1] is True


# A key refused while running is confirmed this much later (120 s for real).
CONFIRM_AFTER = 0.2


async def test_revoked_token_stops_reconnecting(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """The token revoked while connected, refused again later: AUTH_FAILED, and nothing more is sent."""
    running = await start_channel(auth_confirm_after=CONFIRM_AFTER)
    channels = len(simulator.requests_to("channel"))

    simulator.revoke_token(TOKEN)
    revoked = time.monotonic()
    async with asyncio.timeout(5):
        await running.task
    # Confirmed by a second refusal, no sooner than asked.
    assert time.monotonic() - revoked >= CONFIRM_AFTER
    sent = len(simulator.requests)
    await asyncio.sleep(0.2)
    await running.channel.close()

    assert running.channel.state is ChannelState.CLOSED
    assert running.recorder.states == [
        ChannelState.CONNECTING,
        ChannelState.CONNECTED,
        ChannelState.DISCONNECTED,
        ChannelState.CONNECTING,
        ChannelState.DISCONNECTED,
        ChannelState.CONNECTING,
        ChannelState.AUTH_FAILED,
        ChannelState.CLOSED,
    ]
    # The two requests that found out; after them, not even close() sends anything.
    assert len(simulator.requests_to("channel")) == channels + 2
    assert simulator.requests[-1].path == "channel"
    assert len(simulator.requests) == sent
    assert simulator.open_websockets == 0


async def test_a_key_refused_once_while_running_is_not_given_up(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A refusal that the second attempt does not confirm (the VPBX API's block) ends nothing."""
    running = await start_channel(auth_confirm_after=CONFIRM_AFTER)
    simulator.revoke_token(TOKEN)
    await running.recorder.wait_state(ChannelState.DISCONNECTED)
    simulator.add_token(TOKEN)
    await running.recorder.wait_state(ChannelState.CONNECTED, occurrences=2)

    assert ChannelState.AUTH_FAILED not in running.recorder.states
    assert not running.task.done()


async def test_rejected_token_from_the_start(
    start_channel: StartChannel,
    simulator: MangoSimulator,
    session: aiohttp.ClientSession,
) -> None:
    """A channel whose token is rejected gives up after two requests, the second one later."""
    client = MangoClient(session, "wrong-token", base_url=simulator.base_url)
    running = await start_channel(
        channel_client=client, wait_connected=False, auth_confirm_after=CONFIRM_AFTER
    )

    async with asyncio.timeout(5):
        await running.task

    assert running.recorder.states == [
        ChannelState.CONNECTING,
        ChannelState.DISCONNECTED,
        ChannelState.CONNECTING,
        ChannelState.AUTH_FAILED,
    ]
    assert len(simulator.requests) == 2


async def test_refused_websockets_retried_with_backoff(
    start_channel: StartChannel,
    simulator: MangoSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused upgrades are retried, each wait drawn below a doubling bound, until one connects."""
    bounds: list[float] = []
    real_uniform = random.uniform

    def spy(low: float, high: float) -> float:
        bounds.append(high)
        return real_uniform(low, high)

    # Only the channel module's view of random: nobody else's draws are counted.
    monkeypatch.setattr(channel_module, "random", SimpleNamespace(uniform=spy))
    simulator.refuse_websockets(30)

    running = await start_channel(
        wait_connected=False, retry_minimum=0.01, retry_maximum=0.04
    )
    await running.recorder.wait_state(ChannelState.DISCONNECTED, occurrences=5)
    simulator.refuse_websockets(0)
    await running.recorder.wait_state(ChannelState.CONNECTED)

    states = running.recorder.states
    assert states[0] is ChannelState.CONNECTING
    assert states[-1] is ChannelState.CONNECTED
    failures = states.count(ChannelState.DISCONNECTED)
    assert failures >= 5
    # Every failure is CONNECTING followed by DISCONNECTED, then a new attempt.
    assert states == [ChannelState.CONNECTING, ChannelState.DISCONNECTED] * failures + [
        ChannelState.CONNECTING,
        ChannelState.CONNECTED,
    ]
    assert bounds[:3] == [0.01, 0.02, 0.04]
    assert set(bounds[3:]) <= {0.04}
    assert len(simulator.requests_to("channel")) == failures + 1

    # Once connected, the backoff starts over.
    bounds.clear()
    await simulator.drop_websockets()
    await running.recorder.wait_state(ChannelState.CONNECTED, occurrences=2)
    assert bounds == [0.01]


async def test_unanswered_pings_make_the_channel_reconnect(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A websocket that stops answering is taken for dead; what was held back comes as missed."""
    running = await start_channel(ping_after=0.1)

    simulator.stall_websockets(True)
    await simulator.push(EXTENSION, call_message("held"))
    await running.recorder.wait_state(ChannelState.DISCONNECTED, seconds=3)
    await running.recorder.wait_state(ChannelState.CONNECTED, occurrences=2)
    await running.recorder.wait_events(1)
    simulator.stall_websockets(False)
    await simulator.push(EXTENSION, call_message("live"))
    await running.recorder.wait_for(lambda: "live" in running.recorder.call_ids())

    assert running.recorder.call_ids() == ["held", "live"]
    assert running.recorder.events[0][1] is True
    assert running.recorder.events[1][1] is False
    assert len(simulator.requests_to("channel")) >= 2
    assert (
        running.channel.stats.last_error
        == "MangoConnectionError: websocket stopped answering"
    )


async def test_a_quiet_websocket_that_answers_pings_stays_up(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Pings that get their pong keep the connection: no reconnect in many ping periods."""
    # Long enough for a pong under load, short enough for several pings.
    running = await start_channel(ping_after=0.1)
    await asyncio.sleep(0.5)
    await simulator.push(EXTENSION, call_message("c1"))
    await running.recorder.wait_events(1)

    assert running.recorder.states == [ChannelState.CONNECTING, ChannelState.CONNECTED]
    assert len(simulator.requests_to("channel")) == 1


# -- closing ---------------------------------------------------------------------


async def test_close_unregisters_and_leaves_nothing_running(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """close(): the websocket goes, the extension is unregistered, run() ends; twice is once."""
    before = asyncio.all_tasks()
    simulator.provision(EXTENSION)
    recorder = Recorder()
    channel = MangoChannel(
        client, EXTENSION, on_event=recorder.on_event, on_state=recorder.on_state
    )
    task = asyncio.create_task(channel.run())
    await recorder.wait_state(ChannelState.CONNECTED)

    await channel.close()

    assert task.done()
    await task  # returned, not cancelled
    assert not simulator.is_registered(EXTENSION)
    assert simulator.requests[-1].path == "session/unregister"
    assert simulator.requests[-1].params == {"EXTENSION": EXTENSION}
    assert channel.state is ChannelState.CLOSED
    assert recorder.states[-1] is ChannelState.CLOSED
    sent = len(simulator.requests)

    await channel.close()
    await channel.run()

    assert len(simulator.requests) == sent
    assert recorder.states.count(ChannelState.CLOSED) == 1
    await simulator.push(EXTENSION, call_message("later"))
    assert simulator.missed(EXTENSION) == [call_message("later")]
    assert recorder.events == []
    await asyncio.sleep(0.05)
    assert simulator.open_websockets == 0
    # Only the simulator's server may still have a task (a keep-alive connection).
    assert [
        leftover
        for leftover in asyncio.all_tasks() - before
        if leftover is not asyncio.current_task() and not _is_server_side(leftover)
    ] == []


def _is_server_side(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = "" if code is None else code.co_filename
    return "mango_simulator" in filename or filename.endswith(
        ("aiohttp/web_protocol.py", "aiohttp/web_ws.py")
    )


async def test_close_while_retrying(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """close() during the backoff between refused attempts ends run() at once."""
    simulator.refuse_websockets(30)
    running = await start_channel(
        wait_connected=False, retry_minimum=10, retry_maximum=10
    )
    await running.recorder.wait_state(ChannelState.DISCONNECTED)

    async with asyncio.timeout(1):
        await running.channel.close()
    await running.task  # returned, not cancelled
    assert running.recorder.states[-1] is ChannelState.CLOSED


async def test_close_during_a_hanging_channel_request(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """close() before anything is registered cuts a hanging request short at once."""
    simulator.provision(EXTENSION)
    simulator.fail_next("channel", mode="timeout")
    running = await start_channel(wait_connected=False)
    await simulator.wait_for_request("channel")

    # Well within REGISTER_GRACE: only a register in flight is waited for.
    async with asyncio.timeout(0.9):
        await running.channel.close()
    await running.task  # returned, not cancelled
    assert running.channel.state is ChannelState.CLOSED
    assert simulator.requests_to("session/register") == []


async def test_close_during_a_hanging_request(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """close() while register hangs (the vendor allows it a minute) does not wait for it."""
    simulator.provision(EXTENSION)
    simulator.fail_next("session/register", mode="timeout")
    running = await start_channel(wait_connected=False)
    await simulator.wait_for_request("session/register")

    async with asyncio.timeout(2):
        await running.channel.close()
    await running.task  # returned, not cancelled
    assert running.channel.state is ChannelState.CLOSED
    await asyncio.sleep(0.05)
    assert simulator.open_websockets == 0


async def test_run_returns_to_a_caller_that_awaits_it(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """A coroutine that awaits run() goes on after close(); its task is not cancelled."""
    simulator.provision(EXTENSION)
    recorder = Recorder()
    channel = MangoChannel(
        client, EXTENSION, on_event=recorder.on_event, on_state=recorder.on_state
    )

    async def supervise() -> str:
        await channel.run()
        await asyncio.sleep(0)
        return "went on"

    supervisor = asyncio.create_task(supervise())
    await recorder.wait_state(ChannelState.CONNECTED)
    await channel.close()

    assert await supervisor == "went on"


async def test_close_before_run(client: MangoClient, simulator: MangoSimulator) -> None:
    """A channel closed before it ever connected sends nothing."""
    channel = MangoChannel(client, EXTENSION, on_event=lambda *_: None)
    await channel.close()
    await channel.run()
    assert simulator.requests == []
    assert channel.state is ChannelState.CLOSED
    assert repr(channel) == "MangoChannel(extension='101', state='closed')"


# -- bad messages ----------------------------------------------------------------


async def test_bad_frames_are_skipped_and_logged_once(
    start_channel: StartChannel,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frames that are not JSON, of an unknown kind or with wrong types are skipped; the line stays up."""
    caplog.set_level(logging.DEBUG)
    running = await start_channel()

    await simulator.send_malformed(EXTENSION)
    await simulator.send_unknown(EXTENSION)
    await simulator.push_raw(
        EXTENSION,
        '{"routeKey": "/call", "data": {"call_id": {"id": 1}, "call_state": "APPEARED"}}',
    )
    await simulator.push_raw(
        EXTENSION, '{"routeKey": "/call", "data": {"call_id": "c9", "seq": "first"}}'
    )
    await simulator.push_raw(EXTENSION, '["routeKey", "/call"]')
    await simulator.push(EXTENSION, call_message("good"))
    await running.recorder.wait_events(1)

    assert running.recorder.call_ids() == ["good"]
    assert running.recorder.states == [ChannelState.CONNECTING, ChannelState.CONNECTED]
    assert len(simulator.requests_to("channel")) == 1
    ours = [record for record in caplog.records if record.name.startswith(LOGGER_NAME)]
    warnings = [record for record in ours if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "not JSON" in warnings[0].getMessage()
    skipped = [
        record
        for record in ours
        if record.levelno == logging.DEBUG and "Skipped message" in record.getMessage()
    ]
    assert len(skipped) == 5
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert TOKEN not in caplog.text


async def test_bad_missed_messages_are_skipped(
    start_channel: StartChannel,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bad message among the missed ones is skipped; the ones around it are delivered."""
    simulator.provision(EXTENSION)
    await simulator.push(EXTENSION, call_message("c1"))
    await simulator.push(
        EXTENSION, {"routeKey": "/record", "data": {"status": "AVAILABLE"}}
    )
    await simulator.push(EXTENSION, {"routeKey": "/ivr", "data": "not an object"})
    await simulator.push(EXTENSION, {"routeKey": "/voicemail", "data": {}})
    await simulator.push(EXTENSION, call_message("c2"))

    running = await start_channel()

    assert running.recorder.call_ids() == ["c1", "c2"]
    warnings = [
        record
        for record in caplog.records
        if record.name.startswith(LOGGER_NAME) and record.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1
    assert "record_id is missing" in warnings[0].getMessage()


async def test_an_error_in_the_event_handler_costs_nothing(
    client: MangoClient, simulator: MangoSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises is logged; the channel stays up and delivers what follows."""
    simulator.provision(EXTENSION)
    recorder = Recorder()

    def on_event(event: Any, replayed: bool) -> None:
        recorder.on_event(event, replayed)
        if isinstance(event, CallEvent) and event.call_id == "boom":
            raise RuntimeError("handler bug")

    channel = MangoChannel(
        client, EXTENSION, on_event=on_event, on_state=recorder.on_state
    )
    task = asyncio.create_task(channel.run())
    await recorder.wait_state(ChannelState.CONNECTED)

    await simulator.push(EXTENSION, call_message("boom"))
    await simulator.push(EXTENSION, call_message("after"))
    await recorder.wait_events(2)
    await channel.close()
    await task

    assert recorder.call_ids() == ["boom", "after"]
    assert recorder.states.count(ChannelState.DISCONNECTED) == 0
    assert channel.stats.handler_errors == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "CallEvent of extension 101" in errors[0].getMessage()
    assert errors[0].exc_info is not None
