"""Event entities: an extension's calls and recordings; the account's IVR calls and route results."""

from dataclasses import dataclass
from typing import override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .account import ACCOUNT_EVENT_KEYS, MangoAccount, MangoConfigEntry
from .calls import CALL_ANSWERED, CALL_ENDED, CALL_EVENT_TYPES, CALL_MISSED
from .const import (
    CALL_EVENT_KEY,
    EVENT_CALL,
    EVENT_IVR,
    EVENT_RECORD,
    EVENT_ROUTE_RESULT,
    IVR_APPEARED,
    RECORDING_AVAILABLE,
    ROUTE_FAILURE,
    ROUTE_SUCCESS,
)
from .coordinator import MangoData
from .entity import MangoEntity
from .payloads import Notification

# Push only: the entities read what the coordinator was told.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MangoEventEntityDescription(EventEntityDescription):
    """An event entity fed by one kind of push message."""

    kind: str
    """The bus event whose news this entity shows."""
    replayed_types: frozenset[str]
    """Event types still worth showing when they come late, replayed."""


EVENTS: tuple[MangoEventEntityDescription, ...] = (
    MangoEventEntityDescription(
        key=CALL_EVENT_KEY,
        translation_key="call",
        event_types=CALL_EVENT_TYPES,
        kind=EVENT_CALL,
        # A ringing phone from hours ago is no news; a missed call is.
        replayed_types=frozenset({CALL_ANSWERED, CALL_MISSED, CALL_ENDED}),
    ),
    MangoEventEntityDescription(
        key="recording",
        translation_key="recording",
        event_types=[RECORDING_AVAILABLE],
        kind=EVENT_RECORD,
        replayed_types=frozenset({RECORDING_AVAILABLE}),
    ),
    MangoEventEntityDescription(
        key="ivr",
        translation_key="ivr",
        event_types=[IVR_APPEARED],
        kind=EVENT_IVR,
        # A caller who waited in the IVR while nobody listened is gone by now.
        replayed_types=frozenset(),
        # Only for those who route calls themselves (see the route action).
        entity_registry_enabled_default=False,
    ),
    MangoEventEntityDescription(
        key="route_result",
        translation_key="route_result",
        event_types=[ROUTE_SUCCESS, ROUTE_FAILURE],
        kind=EVENT_ROUTE_RESULT,
        replayed_types=frozenset({ROUTE_SUCCESS, ROUTE_FAILURE}),
        entity_registry_enabled_default=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MangoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the event entities of an extension."""
    account = entry.runtime_data
    async_add_entities(
        MangoAccountEventEntity(account, description)
        for description in EVENTS
        if description.key in ACCOUNT_EVENT_KEYS
    )
    account.async_add_entities_with(
        lambda coordinator: async_add_entities(
            (
                MangoEventEntity(coordinator, description)
                for description in EVENTS
                if description.key not in ACCOUNT_EVENT_KEYS
            ),
            config_subentry_id=coordinator.subentry_id,
        )
    )


class MangoEventEntity(MangoEntity, EventEntity):
    """Shows the latest news of one kind; the bus event carries every message.

    Of the news that came while it was unavailable (replayed after an
    absence) it shows only the latest, once the channel is live again.
    """

    entity_description: MangoEventEntityDescription
    _data_seen: MangoData | None = None
    _last: Notification | None = None

    @property
    @override
    def available(self) -> bool:
        """Always: it shows what last happened, which a lost connection does not change.

        Going unavailable and back would write that happening into the
        activity log again (and a fresh one an "Unknown").
        """
        return True

    @override
    async def async_added_to_hass(self) -> None:
        """Show only what happens from now on."""
        self._data_seen = self.coordinator.data
        await super().async_added_to_hass()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        data = self.coordinator.data
        if data is not self._data_seen:
            self._data_seen = data
            for notification in data.news:
                if self._is_news(notification):
                    self._trigger(notification)
            if late := [n for n in data.caught_up if self._is_worth_showing_late(n)]:
                self._trigger(late[-1])
        super()._handle_coordinator_update()

    def _is_news(self, notification: Notification) -> bool:
        """Its kind, with something to say, and not said already by another leg."""
        return (
            notification.kind == self.entity_description.kind
            and notification.event_type is not None
            and not notification.repeat
        )

    def _is_worth_showing_late(self, notification: Notification) -> bool:
        return self._is_news(notification) and (
            not notification.replayed
            or notification.event_type in self.entity_description.replayed_types
        )

    def _trigger(self, notification: Notification) -> None:
        assert notification.event_type is not None
        self._last = notification
        self._trigger_event(notification.event_type, notification.entity_attributes())
        self._written_available = self.available
        self._written = notification
        self.async_write_ha_state()

    @override
    def _show(self) -> object:
        return self._last


class MangoAccountEventEntity(EventEntity):
    """The account's news of one kind, from whichever extension's channel brought it.

    The service sends an IVR call (and a route result) to one extension's
    channel only: it shows once, on the account's device.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: MangoEventEntityDescription

    def __init__(
        self, account: MangoAccount, description: MangoEventEntityDescription
    ) -> None:
        """Name the entity after its description, on the account's device."""
        self._account = account
        self.entity_description = description
        self._attr_unique_id = f"{account.entry.unique_id}_{description.key}"
        self._attr_device_info = account.device_info

    @override
    async def async_added_to_hass(self) -> None:
        """Listen to every extension's channel."""
        await super().async_added_to_hass()
        self.async_on_remove(self._account.async_listen_news(self._news))

    @callback
    def _news(self, notification: Notification) -> None:
        description = self.entity_description
        if (
            notification.kind != description.kind
            or notification.event_type is None
            or (
                notification.replayed
                and notification.event_type not in description.replayed_types
            )
        ):
            return
        self._trigger_event(notification.event_type, notification.entity_attributes())
        self.async_write_ha_state()
