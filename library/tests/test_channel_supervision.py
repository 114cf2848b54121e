"""The channel's promises under stress: supervision, cancellation, pings, close, dedupe bounds."""

import asyncio
import logging

import aiohttp
import pytest

from mango_office_api import (
    ChannelState,
    MangoChannel,
    MangoClient,
    MangoProtocolError,
    channel as channel_module,
    parse_frame,
)
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, TOKEN, Recorder, StartChannel, call_message


def test_defaults_are_pinned() -> None:
    """Ping after 20 s of quiet (dead after 40 s), retry from 1 s up to a minute."""
    assert channel_module.PING_AFTER == 20.0
    assert channel_module.RETRY_MINIMUM == 1.0
    assert channel_module.RETRY_MAXIMUM == 60.0
    assert channel_module.RECENT_MESSAGES == 4096


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
