"""Home Assistant's side of one extension's push channel.

The path of a message: the channel (api/) parses it and drops repeats and
stale ones; the coordinator hands a ``/call`` event to the call tracker
(calls.py, kept by storage.py with the call history), fires the bus events
that payloads.py builds (and, when a call is over, its activity log row:
activity.py), and publishes a new ``MangoData``; each entity writes only
when what it shows changed.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .activity import ActivityLog
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
from .calls import ExtensionCalls
from .connection import ConnectionWatch
from .const import CONF_EXTENSION, CONF_FORMER_ENTRY_ID, LOGGER
from .history import ReturnItem
from .issues import async_clear_refused, async_raise_refused
from .payloads import (
    HeldNews,
    Notification,
    call_notification,
    event_source,
    ivr_notification,
    record_notification,
    route_result_notification,
)
from .phonebook import Phonebook
from .storage import ExtensionRecords

if TYPE_CHECKING:
    from .account import MangoConfigEntry


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
        records: ExtensionRecords,
        *,
        phonebook: Phonebook,
        device_id: str,
        unique_id: str,
        on_account_news: Callable[[Notification, dict[str, Any]], None],
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
        self.unique_id = unique_id
        self.former_entry_id: str | None = subentry.data.get(CONF_FORMER_ENTRY_ID)
        """The 0.1 entry this extension was, which actions still accept."""
        self.records = records
        self._on_account_news = on_account_news
        self.channel = MangoChannel(
            client,
            self.extension,
            on_event=self._handle_event,
            on_state=self._handle_state,
            last_seqs=records.tracker.last_seqs(),
        )
        # A migrated extension's events name the entry it was, as before.
        self._source = event_source(
            self.former_entry_id or entry.entry_id, device_id, self.extension
        )
        # Unavailable until the channel is live and every missed event is in.
        self.last_update_success = False
        self.data = MangoData(
            calls=records.tracker.snapshot,
            phonebook=phonebook,
            to_return=records.calls_to_return.items,
        )
        self._held = HeldNews()
        self._activity = ActivityLog(hass, subentry.title, unique_id)
        self._live = False
        """Whether the channel is connected and every missed event is in."""
        self._connection = ConnectionWatch(
            hass, self.extension, self._become_unavailable
        )

    @property
    def connected(self) -> bool:
        """Whether the channel is live and the entities show it."""
        return self.last_update_success

    @callback
    def async_start(self) -> None:
        """Start delivering, once the entities are there to show it."""
        self.config_entry.async_create_background_task(
            self.hass, self._async_run(), name=f"{self.name} push channel"
        )

    async def _async_run(self) -> None:
        """Connect (provisioning only if refused: the account's pace makes every request count).

        An extension the service refuses to provision is a repair issue; the others go on.
        """
        try:
            await self.channel.connect_or_provision()
        except MangoApiError as err:
            async_raise_refused(
                self.hass, self.config_entry, self.subentry_id, self.extension, err.code
            )
            return
        except MangoError as err:
            # The channel retries on its own, and says what it was.
            LOGGER.debug("Connecting extension %s failed: %s", self.extension, err)
        async_clear_refused(self.hass, self.config_entry.entry_id, self.subentry_id)
        await self.channel.run()

    async def async_shutdown(self) -> None:
        """Close the channel (delivering what it still holds), then save once.

        Unloading, removing the extension and Home Assistant stopping all come
        here; the channel's close waits for the first one to finish, and
        stops a first connection (or provisioning) under way.
        """
        await super().async_shutdown()
        await self.channel.close()
        self._connection.cancel()
        await self.records.async_close()

    async def async_remove(self) -> None:
        """Stop for good: the extension was removed, so are its saved calls."""
        await self.async_shutdown()
        await self.records.async_remove()
        async_clear_refused(self.hass, self.config_entry.entry_id, self.subentry_id)

    @callback
    def async_set_phonebook(self, entries: Mapping[str, str]) -> None:
        """Use a new phonebook from now on, without touching the connection."""
        phonebook = Phonebook(entries)
        self.records.set_phonebook(phonebook)
        self._publish(phonebook=phonebook)

    @callback
    def _handle_state(self, state: ChannelState) -> None:
        if state is ChannelState.CONNECTED:
            self._live = True
            self._connection.connected()
            self.records.prune(dt_util.utcnow())
            self.async_set_updated_data(self._data(caught_up=self._held.take()))
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
                items, call = self.records.handle_call(
                    event, now=dt_util.utcnow(), replayed=replayed
                )
                self._deliver([call_notification(i, replayed=replayed) for i in items])
                # After the news: the call's row follows the Call entity's own.
                self._activity.async_log(items, call, replayed=replayed)
                return
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
                self.records.remember_recording(event)
                news = [record_notification(event, replayed=replayed)]
            case IvrEvent() | RouteResultEvent():
                # The account's news: it comes on one extension's channel,
                # which its bus event names.
                self._on_account_news(
                    ivr_notification(event, self.data.phonebook, replayed=replayed)
                    if isinstance(event, IvrEvent)
                    else route_result_notification(event, replayed=replayed),
                    self._source,
                )
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
        self.records.remember_recording(event)
        self._deliver([record_notification(event, replayed=replayed)])

    @callback
    def async_show_now(self) -> None:
        """Show what the user changed in the records at once, connected or not."""
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
        self._held.hold(news)

    @callback
    def async_prune(self, now: datetime) -> None:
        """Forget calls whose end never arrived, so call_state cannot get stuck."""
        if self.records.prune(now):
            LOGGER.debug(
                "Extension %s: forgot calls whose end never came", self.extension
            )
            self._publish()

    def _data(
        self,
        *,
        phonebook: Phonebook | None = None,
        news: tuple[Notification, ...] = (),
        caught_up: tuple[Notification, ...] = (),
    ) -> MangoData:
        return MangoData(
            calls=self.records.tracker.snapshot,
            phonebook=phonebook or self.data.phonebook,
            to_return=self.records.calls_to_return.items,
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
