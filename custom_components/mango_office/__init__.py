"""The MANGO OFFICE integration: the calls of a Virtual PBX account's extensions in Home Assistant."""

from homeassistant.const import CONF_TOKEN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .account import MangoAccount, MangoConfigEntry
from .api import DEFAULT_BASE_URL, MangoClient
from .const import CONF_BASE_URL, CONF_PHONEBOOK, DOMAIN, SUBENTRY_EXTENSION
from .helpers import setup_errors
from .intents import async_register_intents
from .migration import async_migrate_integration
from .services import async_setup_services
from .session import create_account_session
from .storage import CallsStore
from .views import RecordingView

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR, Platform.TODO]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Turn 0.1's entries into accounts; register the actions, voice intents and playback."""
    await async_migrate_integration(hass)
    async_setup_services(hass)
    async_register_intents(hass)
    hass.http.register_view(RecordingView(hass))
    return True


async def async_setup_entry(hass: HomeAssistant, entry: MangoConfigEntry) -> bool:
    """Check the account's key, then connect its extensions in the background.

    Home Assistant's start does not wait for a hundred channels: each
    extension's entities are unavailable until its channel is live.
    """
    session = create_account_session()
    client = MangoClient(
        session,
        entry.data[CONF_TOKEN],
        base_url=entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )
    try:
        async with setup_errors():
            await client.ping()
    except BaseException:
        await session.close()
        raise
    account = MangoAccount(hass, entry, client, session)
    entry.runtime_data = account
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account.device_info
    )
    entry.async_on_unload(account.async_shutdown)
    for subentry in entry.get_subentries_of_type(SUBENTRY_EXTENSION):
        await account.async_prepare(subentry)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Started after the entities exist, so that they show the missed events
    # delivered first.
    account.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: MangoConfigEntry) -> bool:
    """Unload an account: close its channels first, so that what they still hold shows."""
    await entry.runtime_data.async_shutdown()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: MangoConfigEntry) -> None:
    """Forget the calls saved for a removed account (or a 0.1 entry)."""
    await CallsStore(hass, entry.entry_id).async_remove()
    for subentry_id in entry.subentries:
        await CallsStore(hass, entry.entry_id, subentry_id).async_remove()


async def _async_entry_updated(hass: HomeAssistant, entry: MangoConfigEntry) -> None:
    """A new key starts the account over; extensions and the phonebook change in place."""
    account = entry.runtime_data
    if entry.data != account.entry_data:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    account.async_set_phonebook(entry.options.get(CONF_PHONEBOOK, {}))
    await account.async_sync()
