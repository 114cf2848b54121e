"""Where an extension's calls in progress survive a restart: Home Assistant's Store."""

from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store

from .calls import CallTracker, StoredCalls, restore_tracker
from .const import DOMAIN, LOGGER
from .phonebook import Phonebook

# Saved this long after a change (and always when the entry unloads or Home
# Assistant stops): one write for a burst of messages.
SAVE_DELAY: Final = 10.0
STORAGE_VERSION: Final = 1


class CallsStore:
    """The saved calls, missed-call count and last caller of one extension."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, subentry_id: str | None = None
    ) -> None:
        """Use `.storage/mango_office.<entry id>.<subentry id>` (0.1 kept them by entry)."""
        key = f"{DOMAIN}.{entry_id}"
        self._store: Store[StoredCalls] = Store(
            hass,
            STORAGE_VERSION,
            key if subentry_id is None else f"{key}.{subentry_id}",
        )
        self._tracker: CallTracker | None = None
        self._save_pending = False
        self._closed = False

    async def async_load(self, extension: str, phonebook: Phonebook) -> CallTracker:
        """Take back the tracker as it was saved; it is saved from then on."""
        try:
            stored: object = await self._store.async_load()
        except (HomeAssistantError, NotImplementedError, ValueError) as err:
            LOGGER.warning(
                "Ignoring the saved calls of extension %s: %s", extension, err
            )
            stored = None
        self._tracker = restore_tracker(extension, phonebook, stored)
        return self._tracker

    def schedule_save(self) -> None:
        """Save a little later; one timer per save, not one per message."""
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    async def async_close(self) -> None:
        """Save now, once: unloading and Home Assistant stopping may both ask."""
        if not self._closed:
            self._closed = True
            await self._store.async_save(self._data_to_save())

    async def async_remove(self) -> None:
        """Forget what was saved, with the extension."""
        await self._store.async_remove()

    async def async_load_raw(self) -> StoredCalls | None:
        """What was saved, as it was: the migration moves it to another key."""
        return await self._store.async_load()

    async def async_save_raw(self, data: StoredCalls) -> None:
        """Save what another key held."""
        await self._store.async_save(data)

    def _data_to_save(self) -> StoredCalls:
        self._save_pending = False
        assert self._tracker is not None
        return self._tracker.as_dict()
