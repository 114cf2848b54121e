"""The devices in the server's language: their names and models."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.const import DOMAIN
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, extension_of, wait_until


async def test_device_in_russian(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    device_registry: dr.DeviceRegistry,
) -> None:
    """With the server's language Russian the device page reads in Russian throughout.

    Home Assistant translates a device's name but not its model: the model is the
    integration's own, picked by the server's language.
    """
    await hass.config.async_update(language="ru")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await simulator.wait_registered(EXTENSION)
    await wait_until(lambda: extension_of(mock_config_entry).connected)
    await hass.async_block_till_done()

    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{mock_config_entry.unique_id}_101"), mock_config_entry.entry_id
    )
    assert device is not None
    assert device.name == "Внутренний номер 101"
    assert device.model == "Внутренний номер ВАТС"  # noqa: RUF001 - Russian
    account = device_registry.async_get_device_by_identifier(
        (DOMAIN, str(mock_config_entry.unique_id)), mock_config_entry.entry_id
    )
    assert account is not None
    assert account.model == "ВАТС"  # noqa: RUF001 - Russian
    # Names in Russian; new entity ids from the Russian device name and the English
    # entity name (what the README says).
    last_caller = hass.states.get("sensor.vnutrennii_nomer_101_last_caller")
    assert last_caller is not None
    assert last_caller.attributes["friendly_name"] == "Внутренний номер 101 Кто звонил"
