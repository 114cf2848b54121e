"""Extensions as subentries: added, changed and removed without touching the others."""

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import (
    CONF_BASE_URL,
    CONF_EXTENSION,
    DOMAIN,
    SUBENTRY_EXTENSION,
)
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, TOKEN, extension_of, extension_subentry, wait_until


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_EXTENSION), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result["flow_id"]


def _devices(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str | None]:
    """The account's extension devices: name by subentry."""
    return {
        str(device.name): device.config_subentry_id
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), entry.entry_id
        )
        if device.config_subentry_id is not None
    }


async def test_add_an_extension_without_touching_the_others(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A new extension is tested, gets its device and entities at once; 101 stays connected."""
    channels_of_101 = len(simulator.requests_to("channel"))
    flow_id = await _start(hass, init_integration)

    result = await hass.config_entries.subentries.async_configure(
        flow_id, {CONF_EXTENSION: " 102 "}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Extension 102"
    [subentry] = [
        s for s in init_integration.subentries.values() if s.unique_id == "102"
    ]
    assert subentry.data == {CONF_EXTENSION: "102"}
    await simulator.wait_registered("102")
    await wait_until(lambda: extension_of(init_integration, "102").connected)
    # No reload: the same coordinator, and no new channel for 101.
    assert init_integration.state is ConfigEntryState.LOADED
    assert simulator.is_registered(EXTENSION)
    channels = simulator.requests_to("channel")
    assert [r.params["EXTENSION"] for r in channels[channels_of_101:]] == [
        "102",  # the flow's test
        "102",  # the channel
    ]
    assert _devices(hass, init_integration)["Extension 102"] == subentry.subentry_id
    entity = er.async_get(hass).async_get("sensor.extension_102_call_state")
    assert entity is not None
    assert entity.config_subentry_id == subentry.subentry_id
    assert hass.states.get("binary_sensor.extension_102_connection").state == "on"


async def test_add_an_extension_already_there_or_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An extension the account has aborts; one the service refuses is an error."""
    result = await hass.config_entries.subentries.async_configure(
        await _start(hass, init_integration), {CONF_EXTENSION: EXTENSION}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    flow_id = await _start(hass, init_integration)
    for bad in ("104", "1O4"):
        result = await hass.config_entries.subentries.async_configure(
            flow_id, {CONF_EXTENSION: bad}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_EXTENSION: "invalid_extension"}
    assert len(init_integration.subentries) == 1


async def test_remove_an_extension(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """A removed extension is unregistered at the service; its device, entities and saved calls go; 101 stays."""
    result = await hass.config_entries.subentries.async_configure(
        await _start(hass, init_integration), {CONF_EXTENSION: "102"}
    )
    await simulator.wait_registered("102")
    await hass.async_block_till_done()
    [subentry] = [
        s for s in init_integration.subentries.values() if s.unique_id == "102"
    ]
    channels = len(simulator.requests_to("channel"))

    assert hass.config_entries.async_remove_subentry(
        init_integration, subentry.subentry_id
    )
    await hass.async_block_till_done()

    await wait_until(lambda: not simulator.is_registered("102"))
    # The websocket closes first (which ends the registration), then unregister goes.
    unregister = await simulator.wait_for_request("session/unregister")
    assert unregister.params == {"EXTENSION": "102"}
    assert "Extension 102" not in _devices(hass, init_integration)
    assert er.async_get(hass).async_get("sensor.extension_102_call_state") is None
    assert hass.states.get("sensor.extension_102_call_state") is None
    assert simulator.is_registered(EXTENSION)
    assert len(simulator.requests_to("channel")) == channels
    assert result["type"] is FlowResultType.CREATE_ENTRY
    saved = f"mango_office.{init_integration.entry_id}"
    assert f"{saved}.{subentry.subentry_id}" not in hass_storage


async def test_reconfigure_an_extension(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A subentry moved to another extension: the old one is unregistered and its device goes."""
    [subentry] = init_integration.subentries.values()
    result = await init_integration.start_subentry_reconfigure_flow(
        hass, subentry.subentry_id
    )
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_EXTENSION: "103"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert subentry.subentry_id in init_integration.subentries
    changed = init_integration.subentries[subentry.subentry_id]
    assert (changed.unique_id, changed.title) == ("103", "Extension 103")
    await simulator.wait_registered("103")
    await wait_until(lambda: not simulator.is_registered(EXTENSION))
    assert _devices(hass, init_integration) == {"Extension 103": subentry.subentry_id}
    assert hass.states.get("sensor.extension_101_call_state") is None
    assert init_integration.state is ConfigEntryState.LOADED


async def test_subentry_flow_when_account_not_loaded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The flow tests an extension with the account's key even while it is not set up."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_configure(
        await _start(hass, mock_config_entry), {CONF_EXTENSION: "102"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.requests_to("users/create")[-1].params == {"EXTENSION": "102"}


async def test_a_disabled_extension_device_still_connects(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Its entities are disabled, as for any device; its channel and bus events go on, after a restart too.

    Automations on mango_office_call and the actions name the extension, not
    its entities; the only way to stop following one is to remove it.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry("101"), extension_subentry("102")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_until(lambda: extension_of(entry, "102").connected)
    device_registry = dr.async_get(hass)
    device = device_registry.async_get(extension_of(entry, "102").device_id)
    assert device is not None

    device_registry.async_update_device(
        device.id, disabled_by=dr.DeviceEntryDisabler.USER
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await simulator.wait_registered("102")
    await wait_until(lambda: extension_of(entry, "102").connected)

    assert hass.states.get("binary_sensor.extension_102_connection") is None
    assert all(
        registered.disabled_by is er.RegistryEntryDisabler.DEVICE
        for registered in er.async_entries_for_device(
            er.async_get(hass), device.id, include_disabled_entities=True
        )
    )
    calls = async_capture_events(hass, "mango_office_call")
    await simulator.incoming_missed("102")
    await wait_until(lambda: len(calls) == 2)
    assert {event.data["extension"] for event in calls} == {"102"}
    assert hass.states.get("binary_sensor.extension_101_connection").state == "on"
    assert await hass.config_entries.async_unload(entry.entry_id)
