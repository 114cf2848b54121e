"""The account's own session: paced channel requests, actions never held back."""

import asyncio

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.session import RequestPacer
from mango_simulator import MangoSimulator

from .conftest import extension_of


async def test_pacer_never_lets_more_than_the_limit_start_in_a_second() -> None:
    """Thirty requests (some of three at once) never put more than nine in any second."""
    pacer = RequestPacer(9)
    loop = asyncio.get_running_loop()
    started: list[float] = []

    async def _request(cost: int) -> None:
        await pacer.wait(cost)
        started.extend([loop.time()] * cost)

    began = loop.time()
    await asyncio.gather(*(_request(3 if n % 3 == 0 else 1) for n in range(20)))

    assert len(started) == 34
    for at in started:
        assert sum(1 for t in started if at <= t < at + 1.0) <= 9
    # Paced, not stalled: 34 requests at 9 a second take a little over 3 seconds.
    assert 3.0 <= loop.time() - began < 4.5


async def test_channels_use_their_own_session(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The websockets are not held on Home Assistant's shared session; unloading closes it."""
    session = extension_of(init_integration).client.session
    assert session is not async_get_clientsession(hass)
    assert session.connector is not None
    assert session.connector.limit == 0

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert session.closed
