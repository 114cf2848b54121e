"""The account's own session: paced channel requests, actions never held back."""

import asyncio

from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import CONF_BASE_URL, DOMAIN
from custom_components.mango_office.session import RequestPacer
from mango_simulator import MangoSimulator

from .conftest import TOKEN, extension_of, extension_subentry, wait_until


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


async def test_an_account_paces_its_channels(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Four extensions' starts cost 16 requests: at 9 a second, most of a second.

    Without the pacing they connect in a tenth of that.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry(str(e)) for e in (101, 102, 103, 104)],
    )
    simulator._extensions.add("104")
    loop = asyncio.get_running_loop()
    began = loop.time()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_until(
        lambda: all(c.connected for c in entry.runtime_data.coordinators.values())
    )

    assert loop.time() - began >= 0.7
    assert await hass.config_entries.async_unload(entry.entry_id)
