"""From 0.1's entry per extension to an account entry with a subentry per extension.

Entries with the same key become one account; the first enabled entry of a
key is kept (so its id stays), the others are removed once their extension,
device, entities, saved calls and phonebook are the kept one's. Each step can
run again: a migration cut short finishes on the next start.
"""

from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import SOURCE_IGNORE, ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.typing import UNDEFINED, UndefinedType

from .api import DEFAULT_BASE_URL
from .config_flow import account_key, default_titles
from .const import (
    ACCOUNT_TITLE,
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_FORMER_ENTRY_ID,
    CONF_FORMER_UNIQUE_ID,
    CONF_PHONEBOOK,
    DOMAIN,
    LOGGER,
    SUBENTRY_EXTENSION,
)
from .helpers import async_extension_title
from .storage import CallsStore


async def async_migrate_integration(hass: HomeAssistant) -> None:
    """Move every 0.1 entry into its account."""
    entries = hass.config_entries.async_entries(DOMAIN)
    # Enabled entries first: the kept one must not disable the others.
    old = sorted(
        (e for e in entries if e.version == 1 and e.source != SOURCE_IGNORE),
        key=lambda e: e.disabled_by is not None,
    )
    if not old:
        return
    accounts: dict[str, ConfigEntry] = {
        e.data[CONF_TOKEN]: e
        for e in entries
        if e.version > 1 and e.source != SOURCE_IGNORE
    }
    for entry in old:
        token = entry.data[CONF_TOKEN]
        account = accounts.setdefault(token, entry)
        all_disabled = all(
            e.disabled_by is not None
            for e in (*old, account)
            if e.data[CONF_TOKEN] == token
        )
        await _async_move(hass, entry, account, all_disabled)
    LOGGER.info(
        "Moved %d MANGO OFFICE entries into %d accounts", len(old), len(accounts)
    )


async def _async_move(
    hass: HomeAssistant, entry: ConfigEntry, account: ConfigEntry, all_disabled: bool
) -> None:
    """Make a 0.1 entry an extension of its account, then remove it (or upgrade it, if it is the account)."""
    extension: str = entry.data[CONF_EXTENSION]
    subentry = next(
        (
            s
            for s in account.subentries.values()
            if s.subentry_type == SUBENTRY_EXTENSION and s.unique_id == extension
        ),
        None,
    )
    if subentry is None:
        data: dict[str, Any] = {
            CONF_EXTENSION: extension,
            CONF_FORMER_ENTRY_ID: entry.entry_id,
        }
        account_id = (
            account.unique_id
            if account.version > 1
            else account_key(account.data[CONF_TOKEN])
        )
        # Made with an older key: the device and entities keep their ids.
        if (unique_id := entry.unique_id or "") != f"{account_id}_{extension}":
            data[CONF_FORMER_UNIQUE_ID] = unique_id
        subentry = ConfigSubentry(
            data=MappingProxyType(data),
            subentry_type=SUBENTRY_EXTENSION,
            # A title the user gave the entry stays with the extension.
            title=await async_extension_title(hass, extension)
            if entry.title in default_titles(extension)
            else entry.title,
            unique_id=extension,
        )
        hass.config_entries.async_add_subentry(account, subentry)

    await _async_move_calls(hass, entry, account, subentry)
    _merge_phonebook(hass, entry, account)
    _move_registry_entries(hass, entry, account, subentry, all_disabled)

    if account is not entry:
        await hass.config_entries.async_remove(entry.entry_id)
        return
    await CallsStore(hass, entry.entry_id).async_remove()
    hass.config_entries.async_update_entry(
        entry,
        version=2,
        title=ACCOUNT_TITLE if entry.title in default_titles(extension) else UNDEFINED,
        unique_id=account_key(entry.data[CONF_TOKEN]),
        data={
            CONF_TOKEN: entry.data[CONF_TOKEN],
            CONF_BASE_URL: entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
        },
    )


async def _async_move_calls(
    hass: HomeAssistant,
    entry: ConfigEntry,
    account: ConfigEntry,
    subentry: ConfigSubentry,
) -> None:
    """Carry the calls in progress and the missed-call count over to the extension's store."""
    if (stored := await CallsStore(hass, entry.entry_id).async_load_raw()) is not None:
        await CallsStore(hass, account.entry_id, subentry.subentry_id).async_save_raw(
            stored
        )


def _merge_phonebook(
    hass: HomeAssistant, entry: ConfigEntry, account: ConfigEntry
) -> None:
    """One phonebook per account: a number named differently keeps the first name."""
    if entry is account:
        return
    merged = dict(account.options.get(CONF_PHONEBOOK, {}))
    for number, name in entry.options.get(CONF_PHONEBOOK, {}).items():
        kept = merged.setdefault(number, name)
        if kept != name:
            LOGGER.warning(
                "Phonebooks merged: %s stays named %r (the entry of extension %s named it %r)",
                number,
                kept,
                entry.data[CONF_EXTENSION],
                name,
            )
    hass.config_entries.async_update_entry(
        account, options={**account.options, CONF_PHONEBOOK: merged}
    )


def _move_registry_entries(
    hass: HomeAssistant,
    entry: ConfigEntry,
    account: ConfigEntry,
    subentry: ConfigSubentry,
    all_disabled: bool,
) -> None:
    """Move the device and entities, with their ids and history, to the extension.

    The registries do not update what an entry's disabling disabled when a
    device or entity moves: a disabled 0.1 entry's extension stays disabled
    (by the user) rather than enabling or disabling the rest.
    """
    device_registry = dr.async_get(hass)
    entity_registry = er.async_get(hass)
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        if entity.config_subentry_id is not None:
            # Moved already (the kept entry holds the others' too).
            continue
        disabled_by = entity.disabled_by
        if disabled_by is er.RegistryEntryDisabler.CONFIG_ENTRY and not all_disabled:
            disabled_by = (
                er.RegistryEntryDisabler.DEVICE
                if entity.device_id
                else er.RegistryEntryDisabler.USER
            )
        entity_registry.async_update_entity(
            entity.entity_id,
            config_entry_id=account.entry_id,
            config_subentry_id=subentry.subentry_id,
            disabled_by=disabled_by,
        )
    for device in devices:
        if device.config_subentry_id is not None:
            continue
        device_disabled_by: dr.DeviceEntryDisabler | UndefinedType = UNDEFINED
        if (
            device.disabled_by is dr.DeviceEntryDisabler.CONFIG_ENTRY
            and not all_disabled
        ):
            device_disabled_by = dr.DeviceEntryDisabler.USER
        device_registry.async_update_device(
            device.id,
            disabled_by=device_disabled_by,
            new_config_entry_id=account.entry_id,
            new_config_subentry_id=subentry.subentry_id,
        )
