"""Home Assistant's websocket API, for the commands that have no HTTP form.

The settings, the dashboards and the user's language live behind the websocket only, as in the
frontend. Needs aiohttp, which every Home Assistant venv has.
"""

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import aiohttp

TIMEOUT: Final = 30.0


class HassWsError(Exception):
    """A websocket command failed, or the connection did."""


def ws_commands(
    base_url: str, access_token: str, commands: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """Send commands one by one as the token's user; return their results in order.

    In a thread of its own: the caller may be running an event loop (Playwright's sync API).
    """
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(
            asyncio.run, _send(base_url, access_token, commands)
        ).result()


async def _send(
    base_url: str, access_token: str, commands: Sequence[Mapping[str, Any]]
) -> list[Any]:
    url = f"{base_url.replace('http', 'ws', 1)}/api/websocket"
    results: list[Any] = []
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT * (len(commands) + 1))
            ) as session,
            session.ws_connect(url) as ws,
        ):
            await ws.receive_json(timeout=TIMEOUT)  # auth_required
            await ws.send_json({"type": "auth", "access_token": access_token})
            if (answer := await ws.receive_json(timeout=TIMEOUT))["type"] != "auth_ok":
                raise HassWsError(f"websocket login refused: {answer}")
            for number, command in enumerate(commands, start=1):
                await ws.send_json({**command, "id": number})
                while (answer := await ws.receive_json(timeout=TIMEOUT)).get(
                    "id"
                ) != number or answer.get("type") != "result":
                    pass
                if not answer.get("success"):
                    raise HassWsError(f"{command['type']}: {answer.get('error')}")
                results.append(answer.get("result"))
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise HassWsError(f"websocket {url}: {err!r}") from err
    return results
