"""The channel's promises under stress: supervision, cancellation, pings, close, dedupe bounds."""

import asyncio
import logging
from typing import Any

import aiohttp
import pytest

from mango_office_api import (
    ChannelState,
    MangoChannel,
    MangoClient,
    MangoProtocolError,
    MissedEventsBatch,
    RouteResultEvent,
    channel as channel_module,
    parse_frame,
)
from mango_office_api.client import DEFAULT_MISSED_EVENTS_LIMIT
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, TOKEN, Recorder, StartChannel, call_message, seqs


def test_defaults_are_pinned() -> None:
    """Ping after 20 s of quiet (dead after 40 s), retry from 1 s up to a minute; the bounds."""
    assert channel_module.PING_AFTER == 20.0
    assert channel_module.RETRY_MINIMUM == 1.0
    assert channel_module.RETRY_MAXIMUM == 60.0
    assert channel_module.RECENT_MESSAGES == 4096
    assert channel_module.MAX_MISSED_BATCHES == 10_000
    assert channel_module.MAX_HELD_FRAMES == 10_000


def test_retries_after_an_outage_are_back_within_a_minute_at_most_twice_a_minute(
    session: aiohttp.ClientSession,
) -> None:
    """Delays double from 1 s; at the ceiling each lies between 30 and 60 s."""
    channel = MangoChannel(
        MangoClient(session, TOKEN, base_url="http://127.0.0.1:1/api"),
        EXTENSION,
        on_event=lambda event, replayed: None,
    )
    for attempt, ceiling in enumerate([1, 2, 4, 8, 16, 32, 60, 60, 60]):
        delays = [channel.retry_delay(attempt) for _ in range(200)]
        assert ceiling / 2 <= min(delays)
        assert max(delays) <= ceiling
    # After the first minute of an outage: no two tries within 30 s.
    assert sum(channel.retry_delay(attempt) for attempt in range(6)) < 70
    # Days of an outage: the exponent is bounded, or 2**1024 would overflow a float.
    assert 30 <= channel.retry_delay(100_000) <= 60


@pytest.mark.parametrize(
    "frame",
    ["[" * 100_000, '{"a":' * 100_000, b"\xff" * 10, "1" * 5000, '"\\ud800"'],
)
def test_parser_raises_only_its_own_error(frame: str | bytes) -> None:
    """Nesting past the decoder's depth, bad UTF-8, huge numbers: MangoProtocolError."""
    with pytest.raises(MangoProtocolError):
        parse_frame(frame)


class FlakyClient(MangoClient):
    """A client with a bug that strikes its first requests for a channel."""

    failures = 2

    async def get_channel(self, extension: str) -> str:
        """Fail with something no MangoError covers, then work."""
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a bug")
        return await super().get_channel(extension)


async def test_an_unexpected_error_is_logged_once_and_survived(
    session: aiohttp.ClientSession,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Whatever goes wrong inside run(), it reconnects; the first time with a traceback."""
    simulator.provision(EXTENSION)
    recorder = Recorder()
    channel = MangoChannel(
        FlakyClient(session, TOKEN, base_url=simulator.base_url),
        EXTENSION,
        on_event=recorder.on_event,
        on_state=recorder.on_state,
        retry_minimum=0.01,
        retry_maximum=0.02,
    )
    task = asyncio.create_task(channel.run())
    try:
        await recorder.wait_state(ChannelState.CONNECTED)
        await simulator.push(EXTENSION, call_message("after"))
        await recorder.wait_events(1)
    finally:
        await channel.close()
    assert task.done()
    assert recorder.call_ids() == ["after"]
    assert recorder.states.count(ChannelState.DISCONNECTED) == 2
    errors = [r for r in caplog.records if "Unexpected error" in r.getMessage()]
    assert [r.levelno for r in errors] == [logging.ERROR, logging.DEBUG]
    assert errors[0].exc_info is not None
    assert channel.stats.unexpected_errors == 2
    assert channel.stats.last_error == "RuntimeError: a bug"


async def test_a_failing_state_handler_costs_nothing(
    client: MangoClient, simulator: MangoSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An error in the caller's state handler is logged; the channel stays live."""
    simulator.provision(EXTENSION)
    recorder = Recorder()

    def on_state(state: ChannelState) -> None:
        recorder.on_state(state)
        raise ValueError("handler bug")

    channel = MangoChannel(
        client, EXTENSION, on_event=recorder.on_event, on_state=on_state
    )
    task = asyncio.create_task(channel.run())
    try:
        await recorder.wait_state(ChannelState.CONNECTED)
        await simulator.push(EXTENSION, call_message("after"))
        await recorder.wait_events(1)
    finally:
        await channel.close()
    assert task.done()
    assert ChannelState.DISCONNECTED not in recorder.states
    assert channel.stats.handler_errors == 3  # connecting, connected, closed
    assert "Error handling state" in caplog.text


async def test_run_cancelled_from_outside_stays_cancelled(
    start_channel: StartChannel,
) -> None:
    """Only close() turns a cancellation into a return; anyone else's goes on."""
    running = await start_channel()
    running.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running.task
    assert running.task.cancelled()


async def test_the_channel_answers_the_services_ping(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A PING from the service gets its PONG with the same payload."""
    running = await start_channel()
    pongs = await simulator.ping_websocket(EXTENSION, b"are you there")
    await running.recorder.wait_for(lambda: bool(pongs))
    assert pongs == [b"are you there"]


async def test_close_delivers_what_was_sent_before_the_handshake(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Frames sent right before close() are delivered, and run() is over when it returns."""
    running = await start_channel()
    for number in range(50):
        await simulator.push(EXTENSION, call_message(f"c{number}"))
    await running.channel.close()

    assert running.task.done()
    assert running.recorder.call_ids() == [f"c{number}" for number in range(50)]
    assert running.channel.state is ChannelState.CLOSED
    assert simulator.missed(EXTENSION) == []


async def test_dedupe_memory_is_bounded(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """Ids are remembered up to RECENT_MESSAGES: the oldest is forgotten first."""
    running = await start_channel()
    for number in range(channel_module.RECENT_MESSAGES + 1):
        await simulator.push(
            EXTENSION,
            {
                "routeKey": "/route_result",
                "data": {"request_id": f"r{number}", "result": 0},
            },
        )
    await simulator.push(
        EXTENSION,
        {"routeKey": "/route_result", "data": {"request_id": "r0", "result": 0}},
    )
    await simulator.push(
        EXTENSION,
        {"routeKey": "/route_result", "data": {"request_id": "r4096", "result": 0}},
    )
    await running.recorder.wait_events(channel_module.RECENT_MESSAGES + 2)
    await asyncio.sleep(0.05)

    assert len(running.recorder.events) == channel_module.RECENT_MESSAGES + 2
    assert running.channel.stats.duplicates_dropped == 1


async def test_the_first_channel_through_wakes_the_accounts_others(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """After an outage, a channel with a long backoff left comes back with the first one through."""
    quick = await start_channel("101")
    slow = await start_channel("102", retry_minimum=20.0, retry_maximum=40.0)
    loop = asyncio.get_running_loop()

    await simulator.outage(0.3)
    await slow.recorder.wait_state(ChannelState.DISCONNECTED)
    began = loop.time()
    await quick.recorder.wait_for(lambda: quick.channel.state is ChannelState.CONNECTED)
    await slow.recorder.wait_for(
        lambda: slow.channel.state is ChannelState.CONNECTED, 9.0
    )

    # Its own backoff after the drop was 10-20 s.
    assert loop.time() - began < 9.0
    assert slow.channel.stats.reconnects == 1


async def test_dedupe_memory_holds_exactly_the_newest_ids(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """After RECENT_MESSAGES + 1 ids the second is still a repeat; the first is news again."""
    running = await start_channel()
    count = channel_module.RECENT_MESSAGES + 1
    for number in range(count):
        await simulator.push(EXTENSION, route_result(f"r{number}"))
    await simulator.push(EXTENSION, route_result("r1"))
    await simulator.push(EXTENSION, route_result("r0"))
    await simulator.push(EXTENSION, call_message("sentinel"))
    await running.recorder.wait_for(lambda: "sentinel" in running.recorder.call_ids())

    request_ids = [
        event.request_id
        for event, _ in running.recorder.events
        if isinstance(event, RouteResultEvent)
    ]
    assert request_ids == [f"r{number}" for number in range(count)] + ["r0"]
    assert running.channel.stats.duplicates_dropped == 1


def route_result(request_id: str) -> dict[str, Any]:
    """A /route_result push message, told apart by its request id."""
    return {
        "routeKey": "/route_result",
        "data": {"request_id": request_id, "result": 0},
    }


class PushedDuringTheDrain(MangoClient):
    """A client whose second register of a drain meets trouble after live messages came.

    The service pushes ``live`` to the websocket while the drain is under way
    (the extension is registered), then answers the register with a server
    error, or refuses the key for a while (the VPBX API blocks a key for
    minutes after bad requests).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        simulator: MangoSimulator,
        live: list[dict[str, Any]],
        trouble: str,
    ) -> None:
        """Talk to the simulator with the accepted token."""
        super().__init__(session, TOKEN, base_url=simulator.base_url)
        self.simulator = simulator
        self.live = live
        self.trouble = trouble
        self.registers = 0

    async def register(
        self,
        extension: str,
        channel: str,
        *,
        limit: int = DEFAULT_MISSED_EVENTS_LIMIT,
        more: bool = False,
    ) -> MissedEventsBatch:
        """Register; the second time, push the live messages, then fail."""
        self.registers += 1
        if self.registers != 2:
            return await super().register(extension, channel, limit=limit, more=more)
        for message in self.live:
            await self.simulator.push(extension, message)
        if self.trouble == "refused":
            refused = MangoClient(
                self.session, "blocked-key", base_url=self.simulator.base_url
            )
            return await refused.register(extension, channel, limit=limit, more=more)
        self.simulator.fail_next("session/register", mode="500")
        return await super().register(extension, channel, limit=limit, more=more)


@pytest.mark.parametrize("trouble", ["server_error", "refused"])
async def test_messages_that_came_live_during_a_failed_drain_are_not_lost(
    session: aiohttp.ClientSession,
    simulator: MangoSimulator,
    trouble: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A drain that fails halfway: what came live meanwhile arrives with the next connection, once."""
    simulator.provision(EXTENSION)
    for number in range(4):
        await simulator.push(EXTENSION, call_message(f"missed{number}"))
    live = [call_message(f"live{number}") for number in range(3)]
    recorder = Recorder()
    channel = MangoChannel(
        PushedDuringTheDrain(session, simulator, live, trouble),
        EXTENSION,
        on_event=recorder.on_event,
        on_state=recorder.on_state,
        missed_events_limit=2,
        retry_minimum=0.01,
        retry_maximum=0.02,
        auth_confirm_after=0.05,
    )
    task = asyncio.create_task(channel.run())
    try:
        await recorder.wait_state(ChannelState.CONNECTED)
        events_when_live = list(recorder.events)
        await simulator.push(EXTENSION, call_message("after"))
        await recorder.wait_for(lambda: "after" in recorder.call_ids())
    finally:
        await channel.close()
    assert task.done()

    # Held back from the broken connection, delivered before the rest of the replay.
    assert recorder.call_ids() == [
        "missed0",
        "missed1",
        "live0",
        "live1",
        "live2",
        "missed2",
        "missed3",
        "after",
    ]
    assert events_when_live == recorder.events[:-1]
    assert [replayed for _, replayed in recorder.events] == [
        True,
        True,
        False,
        False,
        False,
        True,
        True,
        False,
    ]
    assert recorder.states[:3] == [
        ChannelState.CONNECTING,
        ChannelState.DISCONNECTED,
        ChannelState.CONNECTING,
    ]
    assert ChannelState.AUTH_FAILED not in recorder.states
    assert simulator.missed(EXTENSION) == []
    assert channel.stats.last_error is not None
    assert channel.stats.last_error.startswith(
        "MangoAuthError" if trouble == "refused" else "MangoConnectionError"
    )
    # Why it reconnected, for whoever turns on debug logging.
    said = "Channel of extension 101: " if trouble == "refused" else "stopped: "
    assert said in caplog.text


async def test_frames_held_after_a_failed_drain_are_bounded(
    session: aiohttp.ClientSession,
    simulator: MangoSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past MAX_HELD_FRAMES the frames of a broken connection are let go: memory stays bounded."""
    monkeypatch.setattr(channel_module, "MAX_HELD_FRAMES", 3)
    simulator.provision(EXTENSION)
    for number in range(2):
        await simulator.push(EXTENSION, call_message(f"missed{number}"))
    live = [call_message(f"live{number}") for number in range(5)]
    recorder = Recorder()
    channel = MangoChannel(
        PushedDuringTheDrain(session, simulator, live, "server_error"),
        EXTENSION,
        on_event=recorder.on_event,
        on_state=recorder.on_state,
        missed_events_limit=1,
        retry_minimum=0.01,
        retry_maximum=0.02,
    )
    task = asyncio.create_task(channel.run())
    try:
        await recorder.wait_state(ChannelState.CONNECTED)
        await simulator.push(EXTENSION, call_message("after"))
        await recorder.wait_for(lambda: "after" in recorder.call_ids())
    finally:
        await channel.close()
    assert task.done()

    assert recorder.call_ids() == [
        "missed0",
        "live0",
        "live1",
        "live2",
        "missed1",
        "after",
    ]


async def test_a_service_that_never_stops_handing_out_missed_events(
    start_channel: StartChannel,
    simulator: MangoSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past MAX_MISSED_BATCHES batches in one drain the channel goes live anyway."""
    monkeypatch.setattr(channel_module, "MAX_MISSED_BATCHES", 4)
    handed_out = 0

    async def endless() -> dict[str, Any]:
        nonlocal handed_out
        handed_out += 1
        return {"events": [call_message(f"m{handed_out}")]}

    simulator.replace_handler("session/register", endless)
    running = await start_channel()

    assert running.recorder.call_ids() == ["m1", "m2", "m3", "m4"]
    assert running.recorder.states == [ChannelState.CONNECTING, ChannelState.CONNECTED]
    assert handed_out == 4


async def test_a_bug_while_frames_arrive_loses_none_of_them(
    start_channel: StartChannel,
    simulator: MangoSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frames the service sent behind one that broke the channel arrive after the reconnect."""
    parse = channel_module.parse_message

    def buggy_parse(message: object) -> object:
        if isinstance(message, dict) and message["data"]["call_id"] == "bug":
            raise RuntimeError("a bug")
        return parse(message)

    monkeypatch.setattr(channel_module, "parse_message", buggy_parse)
    running = await start_channel()
    # Held back by the service, then sent in one go: all of it is on the way
    # when the channel meets the bug.
    simulator.stall_websockets(True)
    for call_id in ("bug", "after0", "after1"):
        await simulator.push(EXTENSION, call_message(call_id))
    simulator.stall_websockets(False)
    await running.recorder.wait_state(ChannelState.CONNECTED, occurrences=2)
    await simulator.push(EXTENSION, call_message("later"))
    await running.recorder.wait_for(lambda: "later" in running.recorder.call_ids())

    assert running.recorder.call_ids() == ["after0", "after1", "later"]
    assert running.channel.stats.unexpected_errors == 1
    assert running.channel.stats.reconnects == 1


async def test_seqs_from_before_a_restart_still_drop_older_events(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """A channel given the calls' latest seqs drops what is not newer, and nothing else."""
    running = await start_channel(last_seqs={"c1": 5})
    for seq in (4, 5, 6):
        await simulator.push(EXTENSION, call_message("c1", seq))
    await simulator.push(EXTENSION, call_message("c2", 1))
    await running.recorder.wait_for(lambda: "c2" in running.recorder.call_ids())

    assert seqs(running, "c1") == [6]
    assert running.channel.stats.stale_dropped == 1
    assert running.channel.stats.duplicates_dropped == 1


async def test_a_call_that_keeps_talking_is_remembered_longest(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """The seqs are forgotten least recently used first: a call's news keeps its seq known."""
    running = await start_channel()
    await simulator.push(EXTENSION, call_message("long", 1))
    for number in range(channel_module.RECENT_MESSAGES - 1):
        await simulator.push(EXTENSION, call_message(f"short{number}", 1))
    await simulator.push(EXTENSION, call_message("long", 2))
    await simulator.push(EXTENSION, call_message("one_more", 1))
    # "long" at seq 1 is stale still; the first short call is forgotten.
    await simulator.push(EXTENSION, call_message("long", 1))
    await simulator.push(EXTENSION, call_message("short0", 1))
    await simulator.push(EXTENSION, call_message("sentinel", 1))
    await running.recorder.wait_for(
        lambda: "sentinel" in running.recorder.call_ids(), seconds=30
    )

    assert seqs(running, "long") == [1, 2]
    assert seqs(running, "short0") == [1, 1]
    assert running.channel.stats.stale_dropped == 1


async def test_diagnostics_keep_the_latest_20_frames_cut_to_2000_characters(
    start_channel: StartChannel, simulator: MangoSimulator
) -> None:
    """What the channel keeps of raw frames for a bug report is bounded."""
    running = await start_channel()
    long_frame = "x" * 3000
    await simulator.push_raw(EXTENSION, long_frame)
    for number in range(19):
        await simulator.push(EXTENSION, call_message(f"c{number}"))
    await running.recorder.wait_events(19)
    stats = running.channel.stats
    assert len(stats.recent_frames[0][1]) == 2000

    await simulator.push(EXTENSION, call_message("newest"))
    await running.recorder.wait_events(20)
    frames = [frame for _, frame in stats.recent_frames]
    assert len(frames) == 20
    assert "c0" in frames[0]
    assert "newest" in frames[-1]
    assert stats.frames_received == 21
    assert stats.reconnects == 0


class LongWindedBug(MangoClient):
    """A client with a bug whose message runs on."""

    async def get_channel(self, extension: str) -> str:
        """Fail with something no MangoError covers, at length."""
        raise RuntimeError("a bug: " + "and more " * 200)


async def test_the_last_error_is_kept_short_with_its_time(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """A long error message is cut to 500 characters for diagnostics, and timed."""
    recorder = Recorder()
    channel = MangoChannel(
        LongWindedBug(session, TOKEN, base_url=simulator.base_url),
        EXTENSION,
        on_event=recorder.on_event,
        on_state=recorder.on_state,
    )
    task = asyncio.create_task(channel.run())
    try:
        await recorder.wait_state(ChannelState.DISCONNECTED)
    finally:
        await channel.close()
    assert task.done()

    assert channel.stats.last_error is not None
    assert channel.stats.last_error.startswith("RuntimeError: a bug: and more")
    assert len(channel.stats.last_error) == 500
    assert channel.stats.last_error_at is not None


class AnswerHeldBack(MangoClient):
    """A client that takes a while to read register's answer (a busy event loop)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Talk to the simulator with the accepted token."""
        super().__init__(session, TOKEN, base_url=base_url)
        self.answered = asyncio.Event()
        self.release = asyncio.Event()

    async def register(
        self,
        extension: str,
        channel: str,
        *,
        limit: int = DEFAULT_MISSED_EVENTS_LIMIT,
        more: bool = False,
    ) -> MissedEventsBatch:
        """Register, then hold the answer until released."""
        batch = await super().register(extension, channel, limit=limit, more=more)
        self.answered.set()
        await self.release.wait()
        return batch


async def test_closed_while_the_first_register_is_answered_it_unregisters(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """A close that comes while connect_or_provision() reads register's answer unregisters.

    The service registered the extension; cut short there, the channel would
    leave it registered, and the service would not keep its events as missed.
    """
    simulator.provision(EXTENSION)
    client = AnswerHeldBack(session, simulator.base_url)
    channel = MangoChannel(client, EXTENSION, on_event=lambda *_: None)
    connecting = asyncio.create_task(channel.connect_or_provision())
    await client.answered.wait()

    closing = asyncio.create_task(channel.close())
    await asyncio.sleep(0.05)
    client.release.set()
    await closing

    assert [r.params for r in simulator.requests_to("session/unregister")] == [
        {"EXTENSION": EXTENSION}
    ]
    assert connecting.done()
    assert channel.state is ChannelState.CLOSED
