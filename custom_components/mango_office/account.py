"""One account's extensions: one client, a coordinator and a device for each (subentry)."""

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.event import async_track_time_interval

from .api import MangoClient
from .const import (
    ACCOUNT_MODEL,
    ACCOUNT_MODELS,
    CONF_EXTENSION,
    CONF_FORMER_UNIQUE_ID,
    CONF_PHONEBOOK,
    DOMAIN,
    MANUFACTURER,
    MODEL,
    MODELS,
    SUBENTRY_EXTENSION,
)
from .coordinator import MangoCoordinator
from .payloads import Notification
from .phonebook import Phonebook
from .storage import ExtensionRecords

type MangoConfigEntry = ConfigEntry[MangoAccount]

# The event entities of the account's device (IVR calls, route results).
ACCOUNT_EVENT_KEYS: Final = ("ivr", "route_result")
# Calls whose end was lost are forgotten this often; nothing is sent.
PRUNE_INTERVAL: Final = timedelta(minutes=1)


def extension_unique_id(entry: ConfigEntry, subentry: ConfigSubentry) -> str:
    """The id an extension's device and entities are made from.

    It is the account's digest and the number, as 0.1 made it for its entry;
    an extension migrated from an entry with an older key keeps that entry's.
    """
    if former := subentry.data.get(CONF_FORMER_UNIQUE_ID):
        return str(former)
    return f"{entry.unique_id}_{subentry.data[CONF_EXTENSION]}"


def device_info(
    unique_id: str, extension: str, language: str | None = None
) -> dr.DeviceInfo:
    """Describe the device that stands for one extension (its model in `language`)."""
    return dr.DeviceInfo(
        identifiers={(DOMAIN, unique_id)},
        manufacturer=MANUFACTURER,
        model=MODELS.get((language or "").split("-")[0], MODEL),
        # What the actions' device selector picks, in any language.
        model_id=SUBENTRY_EXTENSION,
        translation_key="extension",
        translation_placeholders={"extension": extension},
    )


def account_device_info(
    entry: ConfigEntry, language: str | None = None
) -> dr.DeviceInfo:
    """Describe the account's own device (no subentry's)."""
    return dr.DeviceInfo(
        identifiers={(DOMAIN, str(entry.unique_id))},
        manufacturer=MANUFACTURER,
        model=ACCOUNT_MODELS.get((language or "").split("-")[0], ACCOUNT_MODEL),
        model_id="account",
        translation_key="account",
    )


class MangoAccount:
    """One account: one client, and a coordinator for each extension (subentry).

    Extensions come and go while the others stay connected: the platforms
    hand over how they add an extension's entities, and a new extension gets
    its device and entities at once.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: MangoConfigEntry,
        client: MangoClient,
        session: aiohttp.ClientSession,
    ) -> None:
        """Start with no extension."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.session = session
        self.entry_data = entry.data
        """The settings the account was set up with."""
        self.coordinators: dict[str, MangoCoordinator] = {}
        """By subentry id."""
        self.device_info = account_device_info(entry, hass.config.language)
        """The account's own device: IVR calls and route results show there."""
        self._adders: list[Callable[[MangoCoordinator], None]] = []
        self._news_listeners: list[Callable[[Notification], None]] = []
        self._started = False

    @callback
    def async_add_entities_with(
        self, adder: Callable[[MangoCoordinator], None]
    ) -> None:
        """Add a platform's entities for each extension, now and when one is added."""
        self._adders.append(adder)
        for coordinator in self.coordinators.values():
            adder(coordinator)

    @callback
    def async_listen_news(
        self, listener: Callable[[Notification], None]
    ) -> CALLBACK_TYPE:
        """Hear the account's news (IVR calls, route results) from every extension."""
        self._news_listeners.append(listener)
        return lambda: self._news_listeners.remove(listener)

    @callback
    def _account_news(self, notification: Notification, source: dict[str, Any]) -> None:
        """Fire the bus event, which names the extension, and show it on the account's device."""
        self.hass.bus.async_fire(notification.kind, notification.bus_data(source))
        for listener in self._news_listeners:
            listener(notification)

    async def async_prepare(self, subentry: ConfigSubentry) -> MangoCoordinator:
        """Make an extension's coordinator and device; nothing is sent yet."""
        hass, entry = self.hass, self.entry
        extension = subentry.data[CONF_EXTENSION]
        unique_id = extension_unique_id(entry, subentry)
        device_registry = dr.async_get(hass)
        device = device_registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry.subentry_id,
            **device_info(unique_id, extension, hass.config.language),
        )
        # Reconfigured to another extension: the old one's device goes, with its entities.
        for stale in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
            if (
                stale.config_subentry_id == subentry.subentry_id
                and stale.id != device.id
            ):
                device_registry.async_remove_device(stale.id)
        # 0.1 showed the account's news on each extension; now the account's device does.
        entity_registry = er.async_get(hass)
        for key in ACCOUNT_EVENT_KEYS:
            if entity_id := entity_registry.async_get_entity_id(
                Platform.EVENT, DOMAIN, f"{unique_id}_{key}"
            ):
                entity_registry.async_remove(entity_id)
        phonebook = Phonebook(entry.options.get(CONF_PHONEBOOK, {}))
        records = ExtensionRecords(hass, entry.entry_id, subentry.subentry_id)
        await records.async_load(extension, phonebook)
        coordinator = MangoCoordinator(
            hass,
            entry,
            subentry,
            self.client,
            records,
            phonebook=phonebook,
            device_id=device.id,
            unique_id=unique_id,
            on_account_news=self._account_news,
        )
        self.coordinators[subentry.subentry_id] = coordinator
        return coordinator

    @callback
    def async_start(self) -> None:
        """Start every extension in the background, once the platforms are set up."""
        self._started = True
        self.entry.async_on_unload(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_stop)
        )
        self.entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._async_prune,
                PRUNE_INTERVAL,
                name=f"{self.entry.title} prune",
                cancel_on_shutdown=True,
            )
        )
        for coordinator in self.coordinators.values():
            coordinator.async_start()

    async def async_sync(self) -> None:
        """Follow the subentries: start the new extensions, stop the removed ones.

        An extension whose settings changed starts over; the others are not touched.
        """
        subentries = self.entry.get_subentries_of_type(SUBENTRY_EXTENSION)
        wanted = {subentry.subentry_id: subentry for subentry in subentries}
        for subentry_id, coordinator in list(self.coordinators.items()):
            subentry = wanted.get(subentry_id)
            if subentry is None or subentry.data != coordinator.subentry_data:
                del self.coordinators[subentry_id]
                await coordinator.async_remove()
        for subentry in subentries:
            if subentry.subentry_id not in self.coordinators:
                coordinator = await self.async_prepare(subentry)
                for adder in self._adders:
                    adder(coordinator)
                if self._started:
                    coordinator.async_start()

    async def async_retry(self, subentry_id: str) -> None:
        """Start one extension over (after the service refused it); the others stay."""
        if (coordinator := self.coordinators.pop(subentry_id, None)) is not None:
            await coordinator.async_shutdown()
        await self.async_sync()

    @callback
    def async_set_phonebook(self, entries: Mapping[str, str]) -> None:
        """Use a new phonebook in every extension, without touching the connections."""
        for coordinator in self.coordinators.values():
            coordinator.async_set_phonebook(entries)

    @callback
    def _async_prune(self, now: datetime) -> None:
        """Forget the calls whose end never came, so that no call_state gets stuck."""
        for coordinator in self.coordinators.values():
            coordinator.async_prune(now)

    async def _async_stop(self, _: Event) -> None:
        await self.async_shutdown()

    async def async_shutdown(self) -> None:
        """Close every channel at once, then the session."""
        await asyncio.gather(
            *(
                coordinator.async_shutdown()
                for coordinator in self.coordinators.values()
            )
        )
        await self.session.close()
