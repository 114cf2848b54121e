"""Rules of the coordinator and the account that the other tests leave implicit."""

import asyncio
import logging
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_TOKEN, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import CONF_BASE_URL, DOMAIN
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


async def test_removing_a_refused_extension_ends_its_repair_issue(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """The user deletes an extension the PBX refused (not through the issue): the issue goes."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry("101"), extension_subentry("109")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    registry = ir.async_get(hass)

    def issues() -> list[ir.IssueEntry]:
        return [i for i in registry.issues.values() if i.domain == DOMAIN]

    await wait_until(lambda: len(issues()) == 1)
    await wait_until(lambda: extension_of(entry, "101").connected)
    [refused] = [s for s in entry.subentries.values() if s.unique_id == "109"]

    assert hass.config_entries.async_remove_subentry(entry, refused.subentry_id)
    await hass.async_block_till_done()

    assert issues() == []
    assert simulator.is_registered("101")


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
