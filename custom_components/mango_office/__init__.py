"""The MANGO OFFICE integration: calls of a Virtual PBX extension in Home Assistant."""

from homeassistant.const import CONF_TOKEN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import DEFAULT_BASE_URL, MangoClient
from .const import CONF_BASE_URL, CONF_EXTENSION, CONF_PHONEBOOK, DOMAIN
from .coordinator import MangoConfigEntry, MangoCoordinator
from .entity import device_info
from .helpers import setup_errors
from .intents import async_register_intents
from .phonebook import Phonebook
from .services import async_setup_services
from .storage import CallsStore

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions and voice intents."""
    async_setup_services(hass)
    async_register_intents(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: MangoConfigEntry) -> bool:
    """Connect an extension's push channel and set up its entities."""
    extension: str = entry.data[CONF_EXTENSION]
    assert entry.unique_id is not None
    client = MangoClient(
        async_get_clientsession(hass),
        entry.data[CONF_TOKEN],
        base_url=entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )
    device_registry = dr.async_get(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        **device_info(entry.unique_id, extension, hass.config.language),
    )
    # Reconfigured to another extension: the old one's device goes, with its entities.
    for stale in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
        if stale.id != device.id:
            device_registry.async_update_device(
                stale.id, remove_config_entry_id=entry.entry_id
            )
    store = CallsStore(hass, entry)
    tracker = await store.async_load(
        extension, Phonebook(entry.options.get(CONF_PHONEBOOK, {}))
    )
    coordinator = MangoCoordinator(
        hass, entry, client, device.id, tracker=tracker, store=store
    )
    async with setup_errors(entry):
        # Provisioning again is harmless, and brings back an extension the
        # account's administrator removed from the integration.
        await client.create_user(extension)
        await coordinator.channel.connect()
    entry.runtime_data = coordinator
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Started after the entities exist, so that they show the missed events
    # it delivers first.
    coordinator.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: MangoConfigEntry) -> bool:
    """Unload an extension: close its channel first, so that what it still holds shows."""
    await entry.runtime_data.async_shutdown()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: MangoConfigEntry) -> None:
    """Forget the calls saved for a removed entry."""
    await CallsStore(hass, entry).async_remove()


async def _async_entry_updated(hass: HomeAssistant, entry: MangoConfigEntry) -> None:
    """Start over with new settings; take a new phonebook without dropping the connection."""
    coordinator = entry.runtime_data
    if entry.data != coordinator.entry_data:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    coordinator.async_set_phonebook(entry.options.get(CONF_PHONEBOOK, {}))
