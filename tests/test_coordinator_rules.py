"""Rules of the coordinator and the account that the other tests leave implicit."""

import asyncio
import logging
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_TOKEN, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.mango_office.const import CONF_BASE_URL, CONF_EXTENSION, DOMAIN
from mango_simulator import MangoSimulator
from mango_simulator.wire import PATH_CHANNEL

from .conftest import (
    TOKEN,
    extension_of,
    extension_subentry,
    wait_connected,
    wait_until,
)

CALL_STATE = "sensor.extension_101_call_state"


@pytest.mark.parametrize("provisioned", [True, False])
async def test_an_extension_removed_while_connecting_sends_nothing_more(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    provisioned: bool,
) -> None:
    """Removed while its first channel request is out: no provisioning, no websocket later.

    The PBX has it (it would register) or not (it would be provisioned).
    """
    if provisioned:
        simulator.provision("102")
    method, channel = simulator._routes[PATH_CHANNEL]
    asked = asyncio.Event()
    release = asyncio.Event()

    async def held_channel(request: Any, params: Any) -> dict[str, Any]:
        if params.text("EXTENSION") == "102":
            asked.set()
            await release.wait()
        return await channel(request, params)

    simulator._routes[PATH_CHANNEL] = (method, held_channel)
    subentry = ConfigSubentry(**extension_subentry("102"))
    hass.config_entries.async_add_subentry(init_integration, subentry)
    async with asyncio.timeout(5):
        await asked.wait()

    assert hass.config_entries.async_remove_subentry(
        init_integration, subentry.subentry_id
    )
    await hass.async_block_till_done()
    release.set()
    # Time for a connection that went on to open its websocket and register.
    for _ in range(20):
        await asyncio.sleep(0.02)
        await hass.async_block_till_done()

    assert [
        r.path for r in simulator.requests if r.params.get("EXTENSION") == "102"
    ] == [PATH_CHANNEL]
    assert not simulator.is_registered("102")
    assert simulator.open_websockets == 1


@pytest.mark.blip_grace
async def test_a_refused_token_shows_at_once_not_after_the_grace(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A channel that will not come back by itself is no blip: unavailable now, said once."""
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.01
    channel._auth_confirm_after = 0.1
    simulator.revoke_token(TOKEN)

    await wait_until(hass.config_entries.flow.async_progress)
    # Well within the 10 s a blip is given.
    await wait_connected(hass, connected=False, seconds=2)
    assert hass.states.get(CALL_STATE).state == STATE_UNAVAILABLE
    assert [
        record.levelno
        for record in caplog.records
        if "101 lost its connection" in record.getMessage()
    ] == [logging.INFO]


@pytest.mark.parametrize("simulator", ["vpbx"], indirect=True)
async def test_a_recording_link_that_fails_says_why_in_the_debug_log(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The news comes without a link, and the debug log tells which recording and why."""
    caplog.set_level(logging.DEBUG, logger="custom_components.mango_office")
    records = async_capture_events(hass, "mango_office_record")
    simulator.fail_next("record", mode="500")
    ids = await simulator.incoming_answered("101", duration=42)
    await wait_until(
        lambda: any(event.data["event_type"] == "available" for event in records)
    )

    assert records[-1].data["url"] is None
    [line] = [
        record
        for record in caplog.records
        if record.getMessage().startswith("No link yet for recording")
    ]
    assert line.levelno == logging.DEBUG
    assert ids["record_id"] in line.getMessage()
    assert "500" in line.getMessage()


async def test_an_extension_migrated_with_an_older_key_keeps_its_device_and_entities(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """0.1 made its ids from an older key: the same device and entities carry on, no copies."""
    former = "older-key_101"
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=1,
        title="MANGO OFFICE 101",
        unique_id=former,
        data={
            CONF_TOKEN: TOKEN,
            CONF_EXTENSION: "101",
            CONF_BASE_URL: simulator.base_url,
        },
    )
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, former)},
        manufacturer="MANGO OFFICE",
        name="Extension 101",
    )
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{former}_call_state",
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="extension_101_call_state",
    )

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    [account] = hass.config_entries.async_entries(DOMAIN)
    await wait_until(lambda: extension_of(account, "101").connected)
    await hass.async_block_till_done()

    assert hass.states.get(CALL_STATE).state == "idle"
    assert hass.states.get(f"{CALL_STATE}_2") is None
    entity = registry.async_get(CALL_STATE)
    assert entity is not None
    assert entity.unique_id == f"{former}_call_state"
    assert entity.device_id == device.id
    extension_devices = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), account.entry_id)
        if d.model_id != "account"
    ]
    assert [d.identifiers for d in extension_devices] == [{(DOMAIN, former)}]
    assert await hass.config_entries.async_unload(account.entry_id)
