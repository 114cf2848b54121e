"""The account's own connections: its websockets never hold Home Assistant's shared ones.

Each extension keeps a websocket open for as long as it runs. Home Assistant's
shared session allows 100 connections for every integration together, so an
office of a hundred extensions would starve all of them (and its own last
extension). An account therefore has a session of its own, with no cap on its
connections, and paces what its channels send: the vendor allows about 10
requests a second per account, and a hundred extensions starting, or coming
back after an outage, would send hundreds at once.
"""

import asyncio
from collections import deque
from typing import Final

import aiohttp
from homeassistant.helpers.aiohttp_client import SERVER_SOFTWARE
from homeassistant.util import ssl as ssl_util

# At most this many requests in any second from an account's starting
# channels (the vendor's documented general limit is 10).
CHANNEL_REQUESTS_PER_SECOND: Final = 9
# What an extension's start sends: users/create, channel/, the websocket, register.
START_COST: Final = 4


class RequestPacer:
    """At most `limit` requests start in any one second; the first ones go at once."""

    def __init__(self, limit: int) -> None:
        """Start with nothing sent."""
        self._limit = limit
        self._sent: deque[float] = deque()

    async def wait(self, cost: int = 1) -> None:
        """Return when `cost` more requests may go; they count from now."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            if (over := len(self._sent) + cost - self._limit) <= 0:
                break
            await asyncio.sleep(self._sent[over - 1] + 1.0 - now)
        self._sent.extend([now] * cost)


def create_account_session() -> aiohttp.ClientSession:
    """A session of the account's own; whoever creates it closes it."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            # One connection a websocket: the account's own, without a cap.
            limit=0,
            ssl=ssl_util.client_context(),
        ),
        headers={"User-Agent": SERVER_SOFTWARE},
    )
