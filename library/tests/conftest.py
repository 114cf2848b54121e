"""Fixtures for the library's tests: the simulator on 127.0.0.1, a real aiohttp session, a client, channels.

Nothing here needs Home Assistant: scripts/test runs these tests in a venv
that holds only the library's wheel, the simulator's, pytest and
pytest-asyncio. The development venv runs them too (see the repository's
root conftest.py).
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
import logging
import socket
import traceback
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest

from mango_office_api import (
    CallEvent,
    ChannelState,
    MangoChannel,
    MangoClient,
    MangoError,
    PushEvent,
)
from mango_simulator import MangoSimulator

TOKEN = "test-token-4f9c2e"
EXTENSION = "101"
CALLER = "+74951234567"
LINE = "+74957654321"

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


class TokenWatch(logging.Handler):
    """Notes every log line (with its traceback) and every error of the library that shows TOKEN."""

    def __init__(self) -> None:
        """Start with no leaks."""
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def check(self, where: str, text: str) -> None:
        """Note a leak if the text holds the token."""
        if TOKEN in text:
            self.leaks.append(f"{where}: {text[:300]}")

    def emit(self, record: logging.LogRecord) -> None:
        """Check a log line of the library."""
        if record.name.startswith("mango_simulator"):
            return  # the simulator stands for the service
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(record.exc_info[1]))
        self.check(f"log line of {record.name}", text)


@pytest.fixture(autouse=True)
def token_never_leaks() -> Generator[None]:
    """Fail any test whose log lines (debug ones too) or errors show the token."""
    watch = TokenWatch()
    root = logging.getLogger()
    library = logging.getLogger(MangoError.__module__.rpartition(".")[0])
    level = library.level
    library.setLevel(logging.DEBUG)
    root.addHandler(watch)
    init = MangoError.__init__

    def watched_init(self: MangoError, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        watch.check(f"{type(self).__name__} raised", f"{args!r} {kwargs!r} {self}")

    try:
        with patch.object(MangoError, "__init__", watched_init):
            yield
    finally:
        root.removeHandler(watch)
        library.setLevel(level)
    assert not watch.leaks, "The token leaked:\n" + "\n".join(watch.leaks[:10])


@pytest.fixture
async def simulator() -> AsyncGenerator[MangoSimulator]:
    """A MANGO OFFICE simulator on a free port of 127.0.0.1, with no delays."""
    sim = MangoSimulator(tokens={TOKEN}, extensions={"101", "102", "103"}, seed=1)
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


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
def free_port() -> int:
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
