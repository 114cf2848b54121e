"""Fixtures for the API client's tests: a real aiohttp session, a client and running channels.

Home Assistant is not needed here; the plugin's ``hass`` fixture still runs
(the package's conftest enables custom integrations for every test), and its
``verify_cleanup`` checks that nothing the client started outlives a test.
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.mango_office.api import (
    CallEvent,
    ChannelState,
    MangoChannel,
    MangoClient,
    PushEvent,
)
from mango_simulator import MangoSimulator
from tests.conftest import EXTENSION, TOKEN

# Fast reconnects, so that tests of retries take milliseconds.
RETRY_MINIMUM = 0.01
RETRY_MAXIMUM = 0.05
WAIT = 5.0


@dataclass
class Recorder:
    """What a channel reported, in one timeline: events and states as they came."""

    timeline: list[tuple[str, Any]] = field(default_factory=list)

    def on_event(self, event: PushEvent, replayed: bool) -> None:
        """Keep an event with its replayed flag."""
        self.timeline.append(("event", (event, replayed)))

    def on_state(self, state: ChannelState) -> None:
        """Keep a state change."""
        self.timeline.append(("state", state))

    @property
    def events(self) -> list[tuple[PushEvent, bool]]:
        """The delivered events with their replayed flags, in order."""
        return [item for kind, item in self.timeline if kind == "event"]

    @property
    def states(self) -> list[ChannelState]:
        """The reported states, in order."""
        return [item for kind, item in self.timeline if kind == "state"]

    def call_ids(self) -> list[str]:
        """The call ids of the delivered call events, in order."""
        return [
            event.call_id for event, _ in self.events if isinstance(event, CallEvent)
        ]

    async def wait_for(
        self, condition: Callable[[], bool], seconds: float = WAIT
    ) -> None:
        """Let the loop run until the condition holds, or fail."""
        try:
            async with asyncio.timeout(seconds):
                while not condition():  # noqa: ASYNC110 - polls plain state
                    await asyncio.sleep(0.005)
        except TimeoutError:
            raise AssertionError(f"Timed out; timeline: {self.timeline!r}") from None

    async def wait_events(
        self, count: int, seconds: float = WAIT
    ) -> list[tuple[PushEvent, bool]]:
        """Wait until at least `count` events were delivered; return them all."""
        await self.wait_for(lambda: len(self.events) >= count, seconds)
        return self.events

    async def wait_state(
        self, state: ChannelState, occurrences: int = 1, seconds: float = WAIT
    ) -> None:
        """Wait until the channel reported a state (so many times)."""
        await self.wait_for(lambda: self.states.count(state) >= occurrences, seconds)


@dataclass
class RunningChannel:
    """A channel whose run() is a task of the test, and what it reported."""

    channel: MangoChannel
    recorder: Recorder
    task: asyncio.Task[None]


type StartChannel = Callable[..., Awaitable[RunningChannel]]


@pytest.fixture
async def session(simulator: MangoSimulator) -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed at teardown (the client never closes it)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, simulator: MangoSimulator) -> MangoClient:
    """A client of the simulator with the accepted token."""
    return MangoClient(session, TOKEN, base_url=simulator.base_url, request_timeout=2.0)


@pytest.fixture
def free_port(socket_enabled: None) -> int:
    """A port of 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def start_channel(
    client: MangoClient, simulator: MangoSimulator
) -> AsyncGenerator[StartChannel]:
    """Start channels of a provisioned extension; each is closed and awaited at teardown."""
    running: list[RunningChannel] = []

    async def _start(
        extension: str = EXTENSION,
        *,
        wait_connected: bool = True,
        channel_client: MangoClient | None = None,
        **kwargs: Any,
    ) -> RunningChannel:
        simulator.provision(extension)
        recorder = Recorder()
        kwargs.setdefault("retry_minimum", RETRY_MINIMUM)
        kwargs.setdefault("retry_maximum", RETRY_MAXIMUM)
        channel = MangoChannel(
            channel_client or client,
            extension,
            on_event=recorder.on_event,
            on_state=recorder.on_state,
            **kwargs,
        )
        task = asyncio.create_task(channel.run(), name=f"channel {extension}")
        started = RunningChannel(channel, recorder, task)
        running.append(started)
        if wait_connected:
            await recorder.wait_state(ChannelState.CONNECTED)
        return started

    yield _start
    for started in running:
        await started.channel.close()
        # close() has ended run(); a task it cancelled is done too.
        assert started.task.done()
        if not started.task.cancelled():
            started.task.result()


def call_message(call_id: str, seq: int = 1, state: str = "APPEARED") -> dict[str, Any]:
    """A /call push message, told apart by call_id and seq."""
    return {
        "routeKey": "/call",
        "data": {
            "call_id": call_id,
            "entry_id": f"entry-{call_id}",
            "seq": seq,
            "timestamp": 1_800_000_000 + seq,
            "call_state": state,
            "direction": "in",
            "from": {"number": "+74951234567"},
            "to": {"extension": EXTENSION},
        },
    }


def seqs(running: RunningChannel, call_id: str) -> list[int | None]:
    """The seqs delivered for one call, in order."""
    return [
        event.seq
        for event, _ in running.recorder.events
        if isinstance(event, CallEvent) and event.call_id == call_id
    ]
