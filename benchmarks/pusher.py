"""The vendor's side of the benchmark, in a process of its own so that its CPU is not counted.

Serves the few requests the integration makes (users/create, channel/,
session/register/ with missed events in batches and code 109 at their end,
session/unregister/, session/ping) and one websocket per extension. The
benchmark drives it over a small control API:

- ``POST /bench/prepare`` ``{"name": ..., "workload": {...}}`` generates and
  serialises a workload's frames ahead of time;
- ``POST /bench/push`` ``{"name": ..., "rate": messages per second, 0 = as fast as
  the socket takes them}`` sends them on the extension's websocket and answers
  with the CLOCK_MONOTONIC time (ns) at which each frame was handed to the socket;
- ``POST /bench/missed`` ``{"workload": {...}}`` stores a workload as missed events,
  handed out by the next session/register calls.

Run ``python -m benchmarks.pusher``; it prints ``PORT <n>`` once it listens on 127.0.0.1.
"""

import asyncio
from collections import deque
import json
import time
from typing import Any, Final

from aiohttp import WSMsgType, web

from custom_components.mango_office.api import wire

from .workload import Workload, messages

API: Final = "/api/"
OK: Final = {wire.KEY_RESULT: {wire.KEY_CODE: wire.RESULT_OK, wire.KEY_MESSAGE: "OK"}}


class Pusher:
    """Extensions' websockets, missed events and prepared frames."""

    def __init__(self) -> None:
        """Start with no extension connected."""
        self.websockets: dict[str, web.WebSocketResponse] = {}
        self.missed: dict[str, deque[dict[str, Any]]] = {}
        self.prepared: dict[str, tuple[str, list[str]]] = {}
        self.port = 0

    def app(self) -> web.Application:
        """Return the web application: the API, the websockets and the control requests."""
        app = web.Application()
        app.router.add_post(API + wire.PATH_USERS_CREATE, self._ok)
        app.router.add_get(API + wire.PATH_CHANNEL, self._channel)
        app.router.add_post(API + wire.PATH_SESSION_REGISTER, self._register)
        app.router.add_post(API + wire.PATH_SESSION_UNREGISTER, self._ok)
        app.router.add_get(API + wire.PATH_SESSION_PING, self._ok)
        app.router.add_get("/ws/{extension}", self._websocket)
        app.router.add_post("/bench/prepare", self._prepare)
        app.router.add_post("/bench/push", self._push)
        app.router.add_post("/bench/missed", self._store_missed)
        return app

    async def _ok(self, request: web.Request) -> web.Response:
        return web.json_response(OK)

    async def _channel(self, request: web.Request) -> web.Response:
        extension = request.query[wire.PARAM_EXTENSION]
        url = f"ws://127.0.0.1:{self.port}/ws/{extension}"
        return web.json_response({**OK, wire.KEY_URL: url})

    async def _register(self, request: web.Request) -> web.Response:
        body = await request.json()
        missed = self.missed.get(str(body[wire.PARAM_EXTENSION]), deque())
        limit = int(body[wire.PARAM_LIMIT])
        batch = [missed.popleft() for _ in range(min(limit, len(missed)))]
        if not batch:
            code = wire.RESULT_NO_MORE_MISSED_EVENTS
            return web.json_response(
                {
                    wire.KEY_RESULT: {wire.KEY_CODE: code, wire.KEY_MESSAGE: "none"},
                    wire.KEY_EVENTS: [],
                }
            )
        return web.json_response({**OK, wire.KEY_EVENTS: batch})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        extension = request.match_info["extension"]
        websocket = web.WebSocketResponse()
        await websocket.prepare(request)
        self.websockets[extension] = websocket
        try:
            async for message in websocket:
                if message.type is WSMsgType.ERROR:
                    break
        finally:
            if self.websockets.get(extension) is websocket:
                del self.websockets[extension]
        return websocket

    async def _prepare(self, request: web.Request) -> web.Response:
        body = await request.json()
        workload = Workload.from_json(body["workload"])
        frames = [json.dumps(message.frame) for message in messages(workload)]
        self.prepared[body["name"]] = (workload.extension, frames)
        return web.json_response({"messages": len(frames)})

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.json()
        extension, frames = self.prepared.pop(body["name"])
        rate = float(body["rate"])
        websocket = self.websockets[extension]
        sent_at: list[int] = []
        started = time.monotonic()
        for index, frame in enumerate(frames):
            if rate and (delay := started + index / rate - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            sent_at.append(time.monotonic_ns())
            await websocket.send_str(frame)
        return web.json_response({"sent_at": sent_at})

    async def _store_missed(self, request: web.Request) -> web.Response:
        body = await request.json()
        workload = Workload.from_json(body["workload"])
        stored = self.missed.setdefault(workload.extension, deque())
        stored.extend(message.frame for message in messages(workload))
        return web.json_response({"messages": len(stored)})


async def serve() -> None:
    """Listen on a free port of 127.0.0.1 until killed."""
    pusher = Pusher()
    runner = web.AppRunner(pusher.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pusher.port = runner.addresses[0][1]
    print(f"PORT {pusher.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
