"""Where an extension's calls survive a restart: Home Assistant's Store, saved in batches."""

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store

from .api import CallEvent, RecordEvent
from .calls import CallNews, CallTracker, StoredCalls, restore_tracker
from .const import DOMAIN, LOGGER
from .history import (
    CallHistory,
    CallsToReturn,
    HistoryCall,
    StoredHistory,
    history_as_dict,
    restore_history,
)
from .phonebook import Phonebook

# Saved this long after a change (and always when the entry unloads or Home
# Assistant stops): one write for a burst of messages.
SAVE_DELAY: Final = 10.0
STORAGE_VERSION: Final = 1


class _BatchedStore[T: Mapping[str, Any]]:
    """One of an extension's files: saved in batches, once more at the end."""

    def __init__(self, hass: HomeAssistant, key: str) -> None:
        self._store: Store[T] = Store(hass, STORAGE_VERSION, key)
        self._save_pending = False
        self._closed = False

    async def _async_load_checked(self, what: str) -> object:
        """What was saved; nothing when the file cannot be read."""
        try:
            return await self._store.async_load()
        except (HomeAssistantError, NotImplementedError, ValueError) as err:
            LOGGER.warning("Ignoring the saved %s: %s", what, err)
            return None

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

    def _data_to_save(self) -> T:
        self._save_pending = False
        return self._as_dict()

    @abstractmethod
    def _as_dict(self) -> T:
        """What is saved now."""


class CallsStore(_BatchedStore[StoredCalls]):
    """The saved calls, missed-call count and last caller of one extension."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, subentry_id: str | None = None
    ) -> None:
        """Use `.storage/mango_office.<entry id>.<subentry id>` (0.1 kept them by entry)."""
        key = f"{DOMAIN}.{entry_id}"
        super().__init__(hass, key if subentry_id is None else f"{key}.{subentry_id}")
        self._tracker: CallTracker | None = None

    async def async_load(self, extension: str, phonebook: Phonebook) -> CallTracker:
        """Take back the tracker as it was saved; it is saved from then on."""
        stored = await self._async_load_checked(f"calls of extension {extension}")
        self._tracker = restore_tracker(extension, phonebook, stored)
        return self._tracker

    async def async_load_raw(self) -> StoredCalls | None:
        """What was saved, as it was: the migration moves it to another key."""
        return await self._store.async_load()

    async def async_save_raw(self, data: StoredCalls) -> None:
        """Save what another key held."""
        await self._store.async_save(data)

    def _as_dict(self) -> StoredCalls:
        assert self._tracker is not None
        return self._tracker.as_dict()


class HistoryStore(_BatchedStore[StoredHistory]):
    """The call history and the calls to return of one extension, kept and saved."""

    history: CallHistory
    calls_to_return: CallsToReturn

    def __init__(self, hass: HomeAssistant, entry_id: str, subentry_id: str) -> None:
        """Use `.storage/mango_office.<entry id>.<subentry id>.history`."""
        super().__init__(hass, f"{DOMAIN}.{entry_id}.{subentry_id}.history")

    async def async_load(self, extension: str) -> None:
        """Take back the history and the list as they were saved."""
        stored = await self._async_load_checked(
            f"call history of extension {extension}"
        )
        self.history, self.calls_to_return = restore_history(extension, stored)

    def remember(self, event: CallEvent, news: Sequence[CallNews]) -> HistoryCall:
        """Write a call event into the history; an ended call may change the list."""
        call = self.history.handle(event, news)
        self.calls_to_return.handle(call)
        self.schedule_save()
        return call

    def remember_recording(self, event: RecordEvent) -> None:
        """Keep what the service tells of a recording of a call in the history."""
        if self.history.add_recording(event) is not None:
            self.schedule_save()

    def set_to_return(
        self, completed: Mapping[str, bool], deleted: Iterable[str]
    ) -> None:
        """The user ticked, unticked or deleted items of the calls to return."""
        for uid, done in completed.items():
            self.calls_to_return.set_completed(uid, done)
        self.calls_to_return.delete(deleted)
        self.schedule_save()

    def set_phonebook(self, phonebook: Phonebook) -> None:
        """Name the numbers the phonebook now knows."""
        self.history.set_phonebook(phonebook)
        self.calls_to_return.set_phonebook(phonebook)
        self.schedule_save()

    def prune(self, now: datetime) -> None:
        """Forget the calls too old to keep."""
        if self.history.prune(now):
            self.schedule_save()

    def _as_dict(self) -> StoredHistory:
        return history_as_dict(self.history, self.calls_to_return)


class ExtensionRecords:
    """What an extension keeps of its calls: the calls now, their history, the calls to return.

    Each change is saved a little later; the tracker and the history each
    have a file of their own.
    """

    tracker: CallTracker

    def __init__(self, hass: HomeAssistant, entry_id: str, subentry_id: str) -> None:
        """Nothing is read until loaded."""
        self._calls = CallsStore(hass, entry_id, subentry_id)
        self._history = HistoryStore(hass, entry_id, subentry_id)

    async def async_load(self, extension: str, phonebook: Phonebook) -> None:
        """Take back what was saved."""
        self.tracker = await self._calls.async_load(extension, phonebook)
        await self._history.async_load(extension)

    @property
    def history(self) -> CallHistory:
        """The calls after they happened."""
        return self._history.history

    @property
    def calls_to_return(self) -> CallsToReturn:
        """The missed calls nobody has returned yet."""
        return self._history.calls_to_return

    def handle_call(
        self, event: CallEvent, *, now: datetime, replayed: bool
    ) -> tuple[list[CallNews], HistoryCall]:
        """Follow a call event; what it changed for the extension's call, and the call in the history."""
        news = self.tracker.handle(event, now=now, replayed=replayed)
        self._calls.schedule_save()
        return news, self._history.remember(event, news)

    def remember_recording(self, event: RecordEvent) -> None:
        """Keep a recording with its call."""
        self._history.remember_recording(event)

    def set_to_return(
        self, completed: Mapping[str, bool], deleted: Iterable[str]
    ) -> None:
        """The user ticked, unticked or deleted items of the calls to return."""
        self._history.set_to_return(completed, deleted)

    def set_phonebook(self, phonebook: Phonebook) -> None:
        """Name the numbers the phonebook now knows, in every record."""
        self.tracker.set_phonebook(phonebook)
        self._history.set_phonebook(phonebook)

    def prune(self, now: datetime) -> bool:
        """Forget calls whose end never came and calls too old to keep; whether a current one went."""
        forgot = self.tracker.prune(now)
        if forgot:
            self._calls.schedule_save()
        self._history.prune(now)
        return forgot

    async def async_close(self) -> None:
        """Save now, once."""
        await self._calls.async_close()
        await self._history.async_close()

    async def async_remove(self) -> None:
        """Forget everything saved, with the extension."""
        await self._calls.async_remove()
        await self._history.async_remove()
