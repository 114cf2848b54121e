"""Sensors of an extension: its call state, its last caller and its missed calls."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_ANSWERED,
    ATTR_ANSWERED_AT,
    ATTR_CALL_ID,
    ATTR_CALLEE_NAME,
    ATTR_CALLEE_NUMBER,
    ATTR_CALLER_NAME,
    ATTR_CALLER_NUMBER,
    ATTR_DIRECTION,
    ATTR_DURATION,
    ATTR_ENTRY_ID,
    ATTR_LINE_NUMBER,
    ATTR_NAME,
    ATTR_STARTED_AT,
    ATTR_TIME,
    CALL_MISSED,
    EVENT_CALL,
)
from .coordinator import (
    CALL_STATES,
    ExtensionData,
    LastCaller,
    MangoConfigEntry,
    MangoCoordinator,
    MangoNotification,
    notification_signal,
)
from .entity import MangoEntity

# Push only: the entities read what the coordinator was told.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MangoSensorEntityDescription(SensorEntityDescription):
    """A sensor that reads the extension's data."""

    value_fn: Callable[[ExtensionData], StateType]
    attributes_fn: Callable[[MangoCoordinator, ExtensionData], Mapping[str, Any]]


def _call_state_attributes(
    coordinator: MangoCoordinator, data: ExtensionData
) -> Mapping[str, Any]:
    call = data.current_call
    if call is None:
        return dict.fromkeys(
            (
                ATTR_CALL_ID,
                ATTR_ENTRY_ID,
                ATTR_DIRECTION,
                ATTR_CALLER_NUMBER,
                ATTR_CALLER_NAME,
                ATTR_CALLEE_NUMBER,
                ATTR_CALLEE_NAME,
                ATTR_LINE_NUMBER,
                ATTR_STARTED_AT,
                ATTR_ANSWERED_AT,
            )
        )
    return {
        ATTR_CALL_ID: call.call_id,
        ATTR_ENTRY_ID: call.entry_id,
        ATTR_DIRECTION: call.direction.value,
        **coordinator.party_attributes(call.caller, call.callee),
        ATTR_LINE_NUMBER: call.line_number,
        ATTR_STARTED_AT: call.started_at.isoformat(),
        ATTR_ANSWERED_AT: call.answered_at.isoformat() if call.answered_at else None,
    }


def _last_caller_attributes(
    coordinator: MangoCoordinator, data: ExtensionData
) -> Mapping[str, Any]:
    if (last := data.last_caller) is None:
        return dict.fromkeys(
            (ATTR_NAME, ATTR_TIME, ATTR_ANSWERED, ATTR_DURATION, ATTR_CALL_ID)
        )
    return {
        ATTR_NAME: coordinator.phonebook.name_of(last.number),
        ATTR_TIME: last.time.isoformat(),
        ATTR_ANSWERED: last.answered,
        ATTR_DURATION: last.duration,
        ATTR_CALL_ID: last.call_id,
    }


SENSORS: tuple[MangoSensorEntityDescription, ...] = (
    MangoSensorEntityDescription(
        key="call_state",
        translation_key="call_state",
        device_class=SensorDeviceClass.ENUM,
        options=CALL_STATES,
        value_fn=lambda data: data.call_state,
        attributes_fn=_call_state_attributes,
    ),
)

LAST_CALLER = MangoSensorEntityDescription(
    key="last_caller",
    translation_key="last_caller",
    value_fn=lambda data: data.last_caller.number if data.last_caller else None,
    attributes_fn=_last_caller_attributes,
)

MISSED_CALLS = SensorEntityDescription(
    key="missed_calls",
    translation_key="missed_calls",
    state_class=SensorStateClass.TOTAL_INCREASING,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MangoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of an extension."""
    coordinator = entry.runtime_data
    async_add_entities(
        [
            *(MangoSensor(coordinator, description) for description in SENSORS),
            MangoLastCallerSensor(coordinator, LAST_CALLER),
            MangoMissedCallsSensor(coordinator, MISSED_CALLS),
        ]
    )


class MangoSensor(MangoEntity, SensorEntity):
    """A sensor that shows part of the extension's data."""

    entity_description: MangoSensorEntityDescription

    @property
    @override
    def native_value(self) -> StateType:
        """Read the state from the extension's data."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Read the details from the extension's data."""
        return self.entity_description.attributes_fn(
            self.coordinator, self.coordinator.data
        )


class MangoLastCallerSensor(MangoSensor, RestoreEntity):
    """The last incoming caller, kept across restarts."""

    @override
    async def async_added_to_hass(self) -> None:
        """Show the caller from before the restart until a new one calls."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is None or last.state in (
            STATE_UNKNOWN,
            STATE_UNAVAILABLE,
        ):
            return
        attributes = last.attributes
        time = dt_util.parse_datetime(str(attributes.get(ATTR_TIME)))
        if time is None or not (call_id := attributes.get(ATTR_CALL_ID)):
            return
        duration = attributes.get(ATTR_DURATION)
        self.coordinator.async_restore_last_caller(
            LastCaller(
                call_id=str(call_id),
                number=last.state,
                time=time,
                answered=attributes.get(ATTR_ANSWERED) is True,
                duration=duration if isinstance(duration, int) else None,
            )
        )


class MangoMissedCallsSensor(MangoEntity, RestoreSensor):
    """Counts incoming calls nobody answered, across restarts.

    A group call that another member answered is not missed. Calls missed
    while Home Assistant was away count too, once the service hands them over.
    """

    _attr_native_value = 0

    @override
    async def async_added_to_hass(self) -> None:
        """Carry on from the count before the restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(
            last.native_value, int | float
        ):
            self._attr_native_value = int(last.native_value)
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                notification_signal(self.coordinator.config_entry),
                self._count,
            )
        )

    @callback
    def _count(self, notification: MangoNotification) -> None:
        if notification.kind == EVENT_CALL and notification.event_type == CALL_MISSED:
            self._attr_native_value = int(self._attr_native_value or 0) + 1
            self.async_write_ha_state()
