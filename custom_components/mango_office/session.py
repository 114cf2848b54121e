"""The account's own connections: its websockets never hold Home Assistant's shared ones.

Each extension keeps a websocket open for as long as it runs. Home Assistant's
shared session allows 100 connections for every integration together, so an
office of a hundred extensions would starve all of them (and its own last
extension). An account therefore has a session of its own, with no cap on its
connections; its client paces what its channels send (api/pacing.py).
"""

import aiohttp
from homeassistant.helpers.aiohttp_client import SERVER_SOFTWARE
from homeassistant.util import ssl as ssl_util


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
