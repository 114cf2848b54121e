"""Home Assistant's side of one extension's push channel.

The path of a message: the channel (api/) parses it and drops repeats and
stale ones; the coordinator hands a ``/call`` event to the call tracker
(calls.py), fires the bus events that payloads.py builds, and publishes a
new ``MangoData``; each entity writes only when what it shows changed.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .api import (
    CallEvent,
    ChannelState,
    IvrEvent,
    MangoChannel,
    MangoClient,
    MangoError,
    PushEvent,
    RecordEvent,
    RouteResultEvent,
    SummaryEvent,
)
from .calls import CallTracker, ExtensionCalls
from .const import CONF_EXTENSION, CONF_PHONEBOOK, LOGGER
from .payloads import (
    Notification,
    call_notification,
    ivr_notification,
    record_notification,
    route_result_notification,
)
from .phonebook import Phonebook
from .storage import CallsStore

type MangoConfigEntry = ConfigEntry[MangoCoordinator]

# Calls whose end was lost are forgotten this often; nothing is sent.
PRUNE_INTERVAL: Final = timedelta(minutes=1)
# A connection back within this long was a blip: the entities stay as they
# are, and only the debug log tells.
BLIP_GRACE: Final = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MangoData:
    """What the entities of an extension show; a new one for every change."""

    calls: ExtensionCalls
    phonebook: Phonebook
    news: tuple[Notification, ...] = ()
    """What just happened, for the event entities: each one is shown."""
    caught_up: tuple[Notification, ...] = ()
    """The latest news of each kind and type from while the entities were unavailable."""


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
        client: MangoClient,
        device_id: str,
        *,
        tracker: CallTracker,
        store: CallsStore,
    ) -> None:
        """Set up the channel; nothing is sent until it is connected."""
        self.extension: str = entry.data[CONF_EXTENSION]
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"MANGO OFFICE extension {self.extension}",
        )
        self.client = client
        self.device_id = device_id
        self.entry_data = entry.data
        """The settings this coordinator was made with."""
        self._tracker = tracker
        self._store = store
        self.channel = MangoChannel(
            client,
            self.extension,
            on_event=self._handle_event,
            on_state=self._handle_state,
            last_seqs=tracker.last_seqs(),
        )
        self._source = {
            "config_entry_id": entry.entry_id,
            "device_id": device_id,
            "extension": self.extension,
        }
        # Unavailable until the channel is live and every missed event is in.
        self.last_update_success = False
        self.data = MangoData(
            calls=tracker.snapshot,
            phonebook=Phonebook(entry.options.get(CONF_PHONEBOOK, {})),
        )
        self._held: dict[tuple[str, str], Notification] = {}
        self._live = False
        """Whether the channel is connected and every missed event is in."""
        self._unavailable_later: CALLBACK_TYPE | None = None
        self._lost = False

    @property
    def connected(self) -> bool:
        """Whether the channel is live and the entities show it."""
        return self.last_update_success

    @callback
    def async_start(self) -> None:
        """Start delivering, once the entities are there to show it."""
        entry = self.config_entry
        entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._prune,
                PRUNE_INTERVAL,
                name=f"{self.name} prune",
                cancel_on_shutdown=True,
            )
        )
        entry.async_on_unload(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_stop)
        )
        entry.async_create_background_task(
            self.hass, self.channel.run(), name=f"{self.name} push channel"
        )

    async def _async_stop(self, _: Event) -> None:
        await self.async_shutdown()

    async def async_shutdown(self) -> None:
        """Close the channel (delivering what it still holds), then save once.

        Unloading and Home Assistant stopping both come here; the channel's
        close waits for the first one to finish.
        """
        await super().async_shutdown()
        await self.channel.close()
        self._cancel_unavailable_later()
        await self._store.async_close()

    @callback
    def async_set_phonebook(self, entries: Mapping[str, str]) -> None:
        """Use a new phonebook from now on, without touching the connection."""
        phonebook = Phonebook(entries)
        self._tracker.set_phonebook(phonebook)
        self._publish(phonebook=phonebook)

    @callback
    def _handle_state(self, state: ChannelState) -> None:
        if state is ChannelState.CONNECTED:
            self._live = True
            self._cancel_unavailable_later()
            if self._lost:
                self._lost = False
                LOGGER.info(
                    "Extension %s is connected to MANGO OFFICE again", self.extension
                )
            self._tracker.prune(dt_util.utcnow())
            self._store.schedule_save()
            caught_up = tuple(self._held.values())
            self._held.clear()
            self.async_set_updated_data(self._data(caught_up=caught_up))
            return
        self._live = False
        if state is ChannelState.AUTH_FAILED:
            self._cancel_unavailable_later()
            self._become_unavailable()
            LOGGER.error(
                "MANGO OFFICE rejected the token of extension %s", self.extension
            )
            self.config_entry.async_start_reauth(self.hass)
        elif (
            state is ChannelState.DISCONNECTED
            and self.last_update_success
            and self._unavailable_later is None
        ):
            self._unavailable_later = async_call_later(
                self.hass,
                BLIP_GRACE,
                HassJob(self._become_unavailable, cancel_on_shutdown=True),
            )

    @callback
    def _become_unavailable(self, _: datetime | None = None) -> None:
        self._unavailable_later = None
        if not self.last_update_success:
            return
        # Once when it goes, once when it comes back: the retries in
        # between are the channel's business.
        self._lost = True
        LOGGER.info(
            "Extension %s lost its connection to MANGO OFFICE; retrying",
            self.extension,
        )
        self.last_update_success = False
        self.async_update_listeners()

    def _cancel_unavailable_later(self) -> None:
        if self._unavailable_later is not None:
            self._unavailable_later()
            self._unavailable_later = None

    @callback
    def _handle_event(self, event: PushEvent, replayed: bool) -> None:
        news: list[Notification]
        match event:
            case CallEvent():
                news = [
                    call_notification(item, replayed=replayed)
                    for item in self._tracker.handle(
                        event, now=dt_util.utcnow(), replayed=replayed
                    )
                ]
                self._store.schedule_save()
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
                news = [record_notification(event, replayed=replayed)]
            case IvrEvent():
                news = [ivr_notification(event, self.data.phonebook, replayed=replayed)]
            case RouteResultEvent():
                news = [route_result_notification(event, replayed=replayed)]
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
        self._deliver([record_notification(replace(event, url=url), replayed=replayed)])

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
