"""Home Assistant's side of one extension's push channel.

The path of a message: the channel (api/) parses it and drops repeats and
stale ones; the coordinator hands a ``/call`` event to the call tracker
(calls.py), fires the bus events that payloads.py builds, and publishes a
new ``MangoData``; each entity writes only when what it shows changed.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

import aiohttp
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .api import (
    CallEvent,
    ChannelState,
    IvrEvent,
    MangoApiError,
    MangoChannel,
    MangoClient,
    MangoError,
    PushEvent,
    RecordEvent,
    RouteResultEvent,
    SummaryEvent,
)
from .calls import CallTracker, ExtensionCalls
from .connection import ConnectionWatch
from .const import (
    ACCOUNT_MODEL,
    ACCOUNT_MODELS,
    CONF_EXTENSION,
    CONF_FORMER_ENTRY_ID,
    CONF_FORMER_UNIQUE_ID,
    CONF_PHONEBOOK,
    DOMAIN,
    LOGGER,
    MANUFACTURER,
    MODEL,
    MODELS,
    SUBENTRY_EXTENSION,
)
from .history import ReturnItem
from .issues import async_clear_refused, async_raise_refused
from .payloads import (
    Notification,
    call_notification,
    ivr_notification,
    record_notification,
    route_result_notification,
)
from .phonebook import Phonebook
from .session import CHANNEL_REQUESTS_PER_SECOND, START_COST, RequestPacer
from .storage import CallsStore, HistoryStore

type MangoConfigEntry = ConfigEntry[MangoAccount]

# Calls whose end was lost are forgotten this often; nothing is sent.
PRUNE_INTERVAL: Final = timedelta(minutes=1)
# The event entities of the account's device (IVR calls, route results).
ACCOUNT_EVENT_KEYS: Final = ("ivr", "route_result")


@dataclass(frozen=True, slots=True, kw_only=True)
class MangoData:
    """What the entities of an extension show; a new one for every change."""

    calls: ExtensionCalls
    phonebook: Phonebook
    to_return: Sequence[ReturnItem] = ()
    """The calls to return, the latest first; the same object until it changes."""
    news: tuple[Notification, ...] = ()
    """What just happened, for the event entities: each one is shown."""
    caught_up: tuple[Notification, ...] = ()
    """The latest news of each kind and type from while the entities were unavailable."""


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


class MangoCoordinator(DataUpdateCoordinator[MangoData]):
    """Follows one extension through its push channel; nothing is polled.

    Events the service kept while nobody listened arrive first, marked
    replayed: they update the calls and fire their bus events while the
    entities stay unavailable; once the last one is in, every entity writes
    once, so a long absence costs a handful of state changes.
    """

    config_entry: MangoConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: MangoConfigEntry,
        subentry: ConfigSubentry,
        client: MangoClient,
        device_id: str,
        *,
        tracker: CallTracker,
        store: CallsStore,
        history: HistoryStore,
        on_account_news: Callable[[Notification], None],
        pacer: RequestPacer,
    ) -> None:
        """Set up the channel; nothing is sent until it is started."""
        self.extension: str = subentry.data[CONF_EXTENSION]
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"MANGO OFFICE extension {self.extension}",
        )
        self.client = client
        self.device_id = device_id
        self.subentry_id = subentry.subentry_id
        self.subentry_data = subentry.data
        """The settings this coordinator was made with."""
        self.unique_id = extension_unique_id(entry, subentry)
        self.former_entry_id: str | None = subentry.data.get(CONF_FORMER_ENTRY_ID)
        """The 0.1 entry this extension was, which actions still accept."""
        self._tracker = tracker
        self._store = store
        self._history_store = history
        self.history = history.history
        """The calls after they happened."""
        self.calls_to_return = history.calls_to_return
        self._on_account_news = on_account_news
        self._pacer = pacer
        self.channel = MangoChannel(
            client,
            self.extension,
            on_event=self._handle_event,
            on_state=self._handle_state,
            last_seqs=tracker.last_seqs(),
        )
        self._source = {
            # A migrated extension's events name the entry it was, as before.
            "config_entry_id": subentry.data.get(CONF_FORMER_ENTRY_ID, entry.entry_id),
            "device_id": device_id,
            "extension": self.extension,
        }
        # Unavailable until the channel is live and every missed event is in.
        self.last_update_success = False
        self.data = MangoData(
            calls=tracker.snapshot,
            phonebook=Phonebook(entry.options.get(CONF_PHONEBOOK, {})),
            to_return=history.calls_to_return.items,
        )
        self._held: dict[tuple[str, str], Notification] = {}
        self._live = False
        """Whether the channel is connected and every missed event is in."""
        self._connection = ConnectionWatch(
            hass, self.extension, self._become_unavailable
        )
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._task: asyncio.Task[None] | None = None
        self._provisioning = False

    @property
    def connected(self) -> bool:
        """Whether the channel is live and the entities show it."""
        return self.last_update_success

    @callback
    def async_start(self) -> None:
        """Start delivering, once the entities are there to show it."""
        self._unsubscribe.append(
            async_track_time_interval(
                self.hass,
                self._prune,
                PRUNE_INTERVAL,
                name=f"{self.name} prune",
                cancel_on_shutdown=True,
            )
        )
        self._task = self.config_entry.async_create_background_task(
            self.hass, self._async_run(), name=f"{self.name} push channel"
        )

    async def _async_run(self) -> None:
        """Provision the extension, then deliver until closed.

        Provisioning again is harmless, and brings back an extension the
        account's administrator removed from the integration. An extension
        the service refuses is a repair issue; the others go on.
        """
        self._provisioning = True
        try:
            # The account's extensions start a few a second, within the vendor's limit.
            await self._pacer.wait(START_COST)
            await self.client.create_user(self.extension)
        except MangoApiError as err:
            async_raise_refused(
                self.hass, self.config_entry, self.subentry_id, self.extension, err.code
            )
            return
        except MangoError as err:
            # The channel retries on its own, and says what it was.
            LOGGER.debug("Provisioning extension %s failed: %s", self.extension, err)
        finally:
            self._provisioning = False
        async_clear_refused(self.hass, self.config_entry.entry_id, self.subentry_id)
        await self.channel.run()

    async def async_shutdown(self) -> None:
        """Close the channel (delivering what it still holds), then save once.

        Unloading, removing the extension and Home Assistant stopping all come
        here; the channel's close waits for the first one to finish.
        """
        await super().async_shutdown()
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._task is not None and self._provisioning:
            # Nothing is open yet: stop before the channel opens anything.
            self._task.cancel()
        await self.channel.close()
        self._connection.cancel()
        await self._store.async_close()
        await self._history_store.async_close()

    async def async_remove(self) -> None:
        """Stop for good: the extension was removed, so are its saved calls."""
        await self.async_shutdown()
        await self._store.async_remove()
        await self._history_store.async_remove()
        async_clear_refused(self.hass, self.config_entry.entry_id, self.subentry_id)

    @callback
    def async_set_phonebook(self, entries: Mapping[str, str]) -> None:
        """Use a new phonebook from now on, without touching the connection."""
        phonebook = Phonebook(entries)
        self._tracker.set_phonebook(phonebook)
        self._history_store.set_phonebook(phonebook)
        self._publish(phonebook=phonebook)

    @callback
    def _handle_state(self, state: ChannelState) -> None:
        if state is ChannelState.CONNECTED:
            self._live = True
            self._connection.connected()
            self._tracker.prune(dt_util.utcnow())
            self._store.schedule_save()
            caught_up = tuple(self._held.values())
            self._held.clear()
            self.async_set_updated_data(self._data(caught_up=caught_up))
            return
        self._live = False
        if state is ChannelState.AUTH_FAILED:
            self._connection.lost()
            LOGGER.error(
                "MANGO OFFICE rejected the token of extension %s", self.extension
            )
            self.config_entry.async_start_reauth(self.hass)
        elif state is ChannelState.DISCONNECTED:
            self._connection.disconnected(shown=self.last_update_success)

    def _become_unavailable(self) -> bool:
        if not self.last_update_success:
            return False
        self.last_update_success = False
        self.async_update_listeners()
        return True

    @callback
    def _handle_event(self, event: PushEvent, replayed: bool) -> None:
        news: list[Notification]
        match event:
            case CallEvent():
                items = self._tracker.handle(
                    event, now=dt_util.utcnow(), replayed=replayed
                )
                self._store.schedule_save()
                self._history_store.remember(event, items)
                news = [call_notification(item, replayed=replayed) for item in items]
            case RecordEvent(url=None) if event.available:
                # The VPBX API tells a finished recording by its id: the link
                # comes on request, and the news with it.
                self.config_entry.async_create_background_task(
                    self.hass,
                    self._async_record_with_link(event, replayed),
                    name=f"{self.name} recording link",
                )
                return
            case RecordEvent():
                self._history_store.remember_recording(event)
                news = [record_notification(event, replayed=replayed)]
            case IvrEvent() | RouteResultEvent():
                # The account's news: it comes on one extension's channel,
                # which its bus event names, and shows on the account's device.
                notification = (
                    ivr_notification(event, self.data.phonebook, replayed=replayed)
                    if isinstance(event, IvrEvent)
                    else route_result_notification(event, replayed=replayed)
                )
                self.hass.bus.async_fire(
                    notification.kind, notification.bus_data(self._source)
                )
                self._on_account_news(notification)
                return
            case SummaryEvent():
                # The legs told the call as it went; its summary adds nothing shown.
                return
        self._deliver(news)

    async def _async_record_with_link(self, event: RecordEvent, replayed: bool) -> None:
        try:
            url = await self.client.get_record_url(event.record_id)
        except MangoError as err:
            # Still news: get_record can fetch the link later.
            LOGGER.debug("No link yet for recording %s: %s", event.record_id, err)
            url = None
        event = replace(event, url=url)
        self._history_store.remember_recording(event)
        self._deliver([record_notification(event, replayed=replayed)])

    @callback
    def async_set_to_return(
        self,
        *,
        completed: Mapping[str, bool] | None = None,
        deleted: Sequence[str] = (),
    ) -> None:
        """The user ticked, unticked or deleted items of the calls to return."""
        self._history_store.set_to_return(completed or {}, deleted)
        # Shown at once, connected or not: the list is kept here.
        self.data = self._data()
        self.async_update_listeners()

    def _deliver(self, news: list[Notification]) -> None:
        """Fire the bus events, then show the news, or keep it while not live."""
        fire = self.hass.bus.async_fire
        for notification in news:
            fire(notification.kind, notification.bus_data(self._source))
        if self._live:
            self.async_set_updated_data(self._data(news=tuple(news)))
            return
        # The entities catch up once the channel is live again.
        for notification in news:
            if notification.event_type is not None:
                key = (notification.kind, notification.event_type)
                self._held.pop(key, None)
                self._held[key] = notification

    @callback
    def _prune(self, now: datetime) -> None:
        """Forget calls whose end never arrived, so call_state cannot get stuck."""
        if self._tracker.prune(now):
            LOGGER.debug(
                "Extension %s: forgot calls whose end never came", self.extension
            )
            self._store.schedule_save()
            self._publish()
        self._history_store.prune(now)

    def _data(
        self,
        *,
        phonebook: Phonebook | None = None,
        news: tuple[Notification, ...] = (),
        caught_up: tuple[Notification, ...] = (),
    ) -> MangoData:
        return MangoData(
            calls=self._tracker.snapshot,
            phonebook=phonebook or self.data.phonebook,
            to_return=self.calls_to_return.items,
            news=news,
            caught_up=caught_up,
        )

    def _publish(self, *, phonebook: Phonebook | None = None) -> None:
        """Show a change that carries no news; kept for later while not live."""
        data = self._data(phonebook=phonebook)
        if self._live:
            self.async_set_updated_data(data)
        else:
            self.data = data


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
        self._pacer = RequestPacer(CHANNEL_REQUESTS_PER_SECOND)
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
    def _account_news(self, notification: Notification) -> None:
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
        store = CallsStore(hass, entry.entry_id, subentry.subentry_id)
        tracker = await store.async_load(
            extension, Phonebook(entry.options.get(CONF_PHONEBOOK, {}))
        )
        history = HistoryStore(hass, entry.entry_id, subentry.subentry_id)
        await history.async_load(extension)
        coordinator = MangoCoordinator(
            hass,
            entry,
            subentry,
            self.client,
            device.id,
            tracker=tracker,
            store=store,
            history=history,
            on_account_news=self._account_news,
            pacer=self._pacer,
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
