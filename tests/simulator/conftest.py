"""Fixtures for the simulator's own tests: a real server on 127.0.0.1 and a plain client."""

import asyncio
from collections.abc import AsyncGenerator, Callable
import json
from typing import Any

import aiohttp
import pytest

from mango_simulator import MangoSimulator, control

TOKEN = "secret-token"
START = 1_800_000_000.0  # a fixed "now" for the injected clock


class FakeClock:
    """A settable unix clock."""

    def __init__(self, now: float = START) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


class Client:
    """A plain aiohttp client of the simulated API, as an integration would use it."""

    def __init__(self, session: aiohttp.ClientSession, sim: MangoSimulator) -> None:
        """Talk to `sim` through `session`."""
        self.session = session
        self.sim = sim
        self.websockets: list[aiohttp.ClientWebSocketResponse] = []

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        token: str | None = TOKEN,
    ) -> tuple[int, dict[str, Any]]:
        """Send one API request; return the HTTP status and the JSON body."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        url = f"{self.sim.base_url}/v1/{path}"
        if method == "GET":
            response = await self.session.get(url, params=params, headers=headers)
        else:
            response = await self.session.post(url, json=params or {}, headers=headers)
        async with response:
            return response.status, await response.json()

    async def post(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """POST with a JSON body."""
        return await self.call("POST", path, params)

    async def get(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """GET with query parameters."""
        return await self.call("GET", path, params)

    async def channel(self, extension: str) -> str:
        """Get a websocket URL for a provisioned user."""
        status, body = await self.get("channel/", EXTENSION=extension)
        assert status == 200, body
        return str(body["url"])

    async def open(self, url: str, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        """Open a websocket (closed by the fixture at the end)."""
        ws: aiohttp.ClientWebSocketResponse = await self.session.ws_connect(
            url, heartbeat=None, **kwargs
        )
        self.websockets.append(ws)
        return ws

    async def connect(
        self, extension: str, **ws_kwargs: Any
    ) -> tuple[aiohttp.ClientWebSocketResponse, str]:
        """users/create, channel/, open the websocket, session/register/: what a client does."""
        status, body = await self.post("users/create", EXTENSION=extension)
        assert status == 200 or body["Result"]["code"] == 110, body
        url = await self.channel(extension)
        ws = await self.open(url, **ws_kwargs)
        status, body = await self.post(
            "session/register/", EXTENSION=extension, CHANNEL=url, LIMIT=100
        )
        assert status == 200, body
        assert self.sim.is_registered(extension)
        return ws, url


async def receive(
    ws: aiohttp.ClientWebSocketResponse, seconds: float = 2.0
) -> dict[str, Any]:
    """The next push message on a websocket."""
    message = await ws.receive(timeout=seconds)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    decoded: dict[str, Any] = json.loads(message.data)
    return decoded


async def receive_many(
    ws: aiohttp.ClientWebSocketResponse, count: int, seconds: float = 2.0
) -> list[dict[str, Any]]:
    """The next `count` push messages."""
    return [await receive(ws, seconds) for _ in range(count)]


async def nothing_more(ws: aiohttp.ClientWebSocketResponse, wait: float = 0.05) -> None:
    """Assert that no frame arrives for a moment."""
    try:
        message = await ws.receive(timeout=wait)
    except TimeoutError:
        return
    raise AssertionError(f"Unexpected frame {message!r}")


async def eventually(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    """Wait until a condition holds."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polling any state is simplest here
            await asyncio.sleep(0.01)


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's clock."""
    return FakeClock()


@pytest.fixture
async def sim(socket_enabled: None, clock: FakeClock) -> AsyncGenerator[MangoSimulator]:
    """A running simulator with three extensions and none provisioned."""
    simulator = MangoSimulator(
        tokens={TOKEN},
        extensions={"101", "102", "103"},
        step_delay=0.0,
        record_delay=0.0,
        clock=clock,
        seed=1,
    )
    await simulator.start(host="127.0.0.1", port=0, routes=control.routes(simulator))
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: MangoSimulator) -> AsyncGenerator[Client]:
    """A plain HTTP/websocket client of the simulator."""
    async with aiohttp.ClientSession() as session:
        api = Client(session, sim)
        yield api
        for ws in api.websockets:
            await ws.close()
