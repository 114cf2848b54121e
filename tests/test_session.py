"""The account's own session, and its channels paced as one account: at the start and after an outage."""

import asyncio

from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import CONF_BASE_URL, DOMAIN
from mango_simulator import MangoSimulator

from .conftest import TOKEN, extension_of, extension_subentry, wait_until

# The vendor's documented general limit, per account.
LIMIT = 10
OFFICE = [str(number) for number in range(201, 221)]


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


async def _start_office(
    hass: HomeAssistant, simulator: MangoSimulator, *, unknown: str | None = None
) -> MockConfigEntry:
    """Set up one account with twenty extensions, all provisioned but `unknown`."""
    for extension in OFFICE:
        simulator.add_extension(extension)
        if extension != unknown:
            simulator.provision(extension)
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry(extension) for extension in OFFICE],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


def _all_connected(entry: MockConfigEntry) -> bool:
    return all(c.connected for c in entry.runtime_data.coordinators.values())


async def test_twenty_extensions_start_within_ten_requests_a_second(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Each start costs channel/ and register; users/create only for the one the service refuses.

    The set-up's ping, 40 requests, 209's refused channel/ and its
    users/create at 10 a second take over four seconds; without the
    account's pace they go in a fraction of one.
    """
    loop = asyncio.get_running_loop()
    began = loop.time()
    entry = await _start_office(hass, simulator, unknown="209")
    await wait_until(lambda: _all_connected(entry), 15)

    assert simulator.peak_per_second(began) <= LIMIT
    assert loop.time() - began >= 4.0
    assert [r.params["EXTENSION"] for r in simulator.requests_to("users/create")] == [
        "209"
    ]
    assert len(simulator.requests_to("channel")) == len(OFFICE) + 1
    assert simulator.users >= set(OFFICE)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_after_an_outage_the_account_reconnects_within_ten_requests_a_second(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Twenty channels dropped at once retry and reconnect paced as one account.

    Paced per channel, twenty first retries (within a second of the drop)
    and twenty reconnections would each put twenty requests into a second.
    The first channel through wakes the others from their backoff.
    """
    entry = await _start_office(hass, simulator)
    await wait_until(lambda: _all_connected(entry), 15)
    loop = asyncio.get_running_loop()
    dropped = loop.time()

    await simulator.outage(3)
    await wait_until(lambda: not any(simulator.is_registered(e) for e in OFFICE))
    await wait_until(lambda: _all_connected(entry), 30)

    assert simulator.peak_per_second(dropped) <= LIMIT
    # 40 requests to reconnect, after the outage's 3 s: paced, not stalled.
    assert 3.0 + 3.0 <= loop.time() - dropped < 20.0
    assert all(simulator.is_registered(extension) for extension in OFFICE)
    assert await hass.config_entries.async_unload(entry.entry_id)
