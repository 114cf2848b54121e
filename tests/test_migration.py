"""From 0.1's entry per extension to accounts with subentries, as 0.1 left them."""

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office import migration
from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import (
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_FORMER_ENTRY_ID,
    CONF_PHONEBOOK,
    DOMAIN,
    SUBENTRY_EXTENSION,
)
from mango_simulator import MangoSimulator

from .conftest import TOKEN, extension_of, wait_until

OTHER_TOKEN = "other-account-key-55e1"


@pytest.fixture(autouse=True)
async def unload_entries(
    hass: HomeAssistant, simulator: MangoSimulator
) -> AsyncGenerator[None]:
    """Unload the accounts while the simulator still runs."""
    yield
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def _v1_entry(
    hass: HomeAssistant,
    simulator: MangoSimulator,
    extension: str,
    *,
    token: str = TOKEN,
    phonebook: dict[str, str] | None = None,
    title: str | None = None,
    disabled: bool = False,
) -> MockConfigEntry:
    """An entry as 0.1 made it, with its device and entities."""
    unique_id = f"{account_key(token)}_{extension}"
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=1,
        title=title or f"MANGO OFFICE {extension}",
        unique_id=unique_id,
        data={
            CONF_TOKEN: token,
            CONF_EXTENSION: extension,
            CONF_BASE_URL: simulator.base_url,
        },
        options={CONF_PHONEBOOK: phonebook or {}},
        disabled_by=ConfigEntryDisabler.USER if disabled else None,
    )
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, unique_id)},
        manufacturer="MANGO OFFICE",
        name=f"Extension {extension}",
        disabled_by=dr.DeviceEntryDisabler.CONFIG_ENTRY if disabled else None,
    )
    registry = er.async_get(hass)
    for domain, key in (("sensor", "missed_calls"), ("sensor", "call_state")):
        registry.async_get_or_create(
            domain,
            DOMAIN,
            f"{unique_id}_{key}",
            config_entry=entry,
            device_id=device.id,
            suggested_object_id=f"extension_{extension}_{key}",
            disabled_by=er.RegistryEntryDisabler.CONFIG_ENTRY if disabled else None,
        )
    return entry


def _stored(hass_storage: dict[str, Any], key: str, missed: int) -> None:
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"calls": [], "missed_calls": missed, "last_caller": None},
    }


async def _set_up(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


def _subentries(entry: Any) -> dict[str, Any]:
    return {
        s.data[CONF_EXTENSION]: s
        for s in entry.get_subentries_of_type(SUBENTRY_EXTENSION)
    }


async def test_same_key_becomes_one_account(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries of one key: one account; ids, devices, entities, calls and phonebooks kept."""
    first = _v1_entry(
        hass, simulator, "101", phonebook={"+74951234567": "Ivan", "+7001": "A"}
    )
    second = _v1_entry(
        hass,
        simulator,
        "102",
        phonebook={"+74951234567": "Ivan Petrov", "+7002": "B"},
        title="Reception",
    )
    _stored(hass_storage, f"{DOMAIN}.{first.entry_id}", 3)
    _stored(hass_storage, f"{DOMAIN}.{second.entry_id}", 7)
    registry = er.async_get(hass)
    entity_ids = {e.entity_id: e.unique_id for e in registry.entities.values()}
    # 0.1 showed IVR calls on each extension; the account's device shows them now.
    registry.async_get_or_create(
        "event",
        DOMAIN,
        f"{account_key(TOKEN)}_101_ivr",
        config_entry=first,
        suggested_object_id="extension_101_ivr_call",
    )

    await _set_up(hass)

    [account] = hass.config_entries.async_entries(DOMAIN)
    assert account.entry_id == first.entry_id
    assert account.version == 2
    assert account.title == "MANGO OFFICE"
    assert account.unique_id == account_key(TOKEN)
    assert account.data == {CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url}
    # The first entry's name wins, and the log says so.
    assert account.options[CONF_PHONEBOOK] == {
        "+74951234567": "Ivan",
        "+7001": "A",
        "+7002": "B",
    }
    assert "+74951234567 stays named 'Ivan'" in caplog.text
    subentries = _subentries(account)
    assert {k: s.title for k, s in subentries.items()} == {
        "101": "Extension 101",
        "102": "Reception",
    }
    assert subentries["102"].data[CONF_FORMER_ENTRY_ID] == second.entry_id
    # Entity ids and unique ids stay; everything is the account's now.
    assert {
        entity_id: registry.entities[entity_id].unique_id for entity_id in entity_ids
    } == entity_ids
    for entity_id in entity_ids:
        entity = registry.entities[entity_id]
        extension = entity_id.split(".")[1].split("_")[1]
        assert entity.config_entry_id == account.entry_id
        assert entity.config_subentry_id == subentries[extension].subentry_id
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), account.entry_id)
    assert {
        d.name: d.config_subentry_id for d in devices if d.model_id != "account"
    } == {
        "Extension 101": subentries["101"].subentry_id,
        "Extension 102": subentries["102"].subentry_id,
    }
    # The missed-call counts carry on.
    await wait_until(lambda: account.state is ConfigEntryState.LOADED)
    await wait_until(lambda: extension_of(account, "102").connected)
    assert hass.states.get("sensor.extension_101_missed_calls").state == "3"
    assert hass.states.get("sensor.extension_102_missed_calls").state == "7"
    assert registry.async_get("event.extension_101_ivr_call") is None
    assert registry.async_get("event.mango_office_account_ivr_call") is not None
    assert f"{DOMAIN}.{second.entry_id}" not in hass_storage
    assert f"{DOMAIN}.{first.entry_id}" not in hass_storage


async def test_different_keys_different_accounts_and_a_disabled_entry(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Two keys make two accounts; a disabled entry's extension stays disabled alone."""
    simulator.add_token(OTHER_TOKEN)
    _v1_entry(hass, simulator, "101", disabled=True)
    kept = _v1_entry(hass, simulator, "102")
    other = _v1_entry(hass, simulator, "103", token=OTHER_TOKEN)

    await _set_up(hass)

    accounts = {e.entry_id: e for e in hass.config_entries.async_entries(DOMAIN)}
    assert set(accounts) == {kept.entry_id, other.entry_id}
    account = accounts[kept.entry_id]
    # The enabled entry was kept: the account is not disabled.
    assert account.disabled_by is None
    assert set(_subentries(account)) == {"101", "102"}
    assert set(_subentries(accounts[other.entry_id])) == {"103"}
    registry = er.async_get(hass)
    disabled = registry.async_get("sensor.extension_101_missed_calls")
    assert disabled is not None
    assert disabled.disabled_by is er.RegistryEntryDisabler.DEVICE
    assert registry.async_get("sensor.extension_102_missed_calls").disabled_by is None
    [device] = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), account.entry_id)
        if d.name == "Extension 101"
    ]
    assert device.disabled_by is dr.DeviceEntryDisabler.USER
    await wait_until(lambda: extension_of(account, "102").connected)


async def test_an_interrupted_migration_finishes_on_the_next_start(
    hass: HomeAssistant, hass_storage: dict[str, Any], simulator: MangoSimulator
) -> None:
    """Cut short after the kept entry was upgraded, the rest moves on the next start."""
    first = _v1_entry(hass, simulator, "101")
    second = _v1_entry(hass, simulator, "102")
    _stored(hass_storage, f"{DOMAIN}.{second.entry_id}", 4)

    real_move = migration._async_move
    calls = 0

    async def _move_once(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("power cut")
        await real_move(*args)

    migration._async_move = _move_once  # type: ignore[assignment]  # a power cut
    try:
        with pytest.raises(RuntimeError):
            await migration.async_migrate_integration(hass)
    finally:
        migration._async_move = real_move  # type: ignore[assignment]
    assert first.version == 2
    assert second.version == 1

    await _set_up(hass)

    [account] = hass.config_entries.async_entries(DOMAIN)
    assert set(_subentries(account)) == {"101", "102"}
    entity = er.async_get(hass).async_get("sensor.extension_102_missed_calls")
    assert entity is not None
    assert entity.config_subentry_id == _subentries(account)["102"].subentry_id
    await wait_until(lambda: extension_of(account, "102").connected)
    assert hass.states.get("sensor.extension_102_missed_calls").state == "4"


async def test_migration_run_twice_changes_nothing(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Run again over its own result, the migration adds nothing."""
    _v1_entry(hass, simulator, "101")
    _v1_entry(hass, simulator, "102")
    await migration.async_migrate_integration(hass)
    [account] = hass.config_entries.async_entries(DOMAIN)
    subentries = dict(account.subentries)

    await migration.async_migrate_integration(hass)

    assert hass.config_entries.async_entries(DOMAIN) == [account]
    assert dict(account.subentries) == subentries
