"""Event entities: calls, recordings, IVR calls and route results of an extension."""

from dataclasses import dataclass
from typing import override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    ATTR_REPLAYED,
    CALL_ANSWERED,
    CALL_ENDED,
    CALL_EVENT_TYPES,
    CALL_MISSED,
    EVENT_CALL,
    EVENT_IVR,
    EVENT_RECORD,
    EVENT_ROUTE_RESULT,
    IVR_APPEARED,
    RECORDING_AVAILABLE,
    ROUTE_FAILURE,
    ROUTE_SUCCESS,
)
from .coordinator import MangoConfigEntry, MangoNotification
from .entity import MangoEntity

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
        key="call",
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
    async_add_entities(
        MangoEventEntity(entry.runtime_data, description) for description in EVENTS
    )


class MangoEventEntity(MangoEntity, EventEntity):
    """Shows the latest news of one kind; the bus event carries every message.

    Of the news replayed after an absence it shows only the latest, once
    the channel is live again.
    """

    entity_description: MangoEventEntityDescription
    _replayed: MangoNotification | None = None
    _last: MangoNotification | None = None

    @override
    async def async_added_to_hass(self) -> None:
        """Listen for the extension's news."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_event_listener(
                self.entity_description.kind, self._handle
            )
        )

    @callback
    def _handle(self, notification: MangoNotification) -> None:
        if (event_type := notification.event_type) is None:
            return
        if notification.replayed:
            # Shown when the drain is over: only the latest matters then.
            if event_type in self.entity_description.replayed_types:
                self._replayed = notification
            return
        self._show(notification)
        self._shown = (self.available, notification)
        self.async_write_ha_state()

    def _show(self, notification: MangoNotification) -> None:
        assert notification.event_type is not None
        self._last = notification
        self._trigger_event(
            notification.event_type,
            {**notification.attributes, ATTR_REPLAYED: notification.replayed},
        )

    @override
    def _refresh(self) -> object:
        # Back from an absence: the latest of the news that came meanwhile.
        if self.coordinator.connected and (replayed := self._replayed) is not None:
            self._replayed = None
            self._show(replayed)
        return self._last
