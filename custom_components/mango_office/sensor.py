"""Sensors of an extension: its call state, its last caller and its missed calls."""

from collections.abc import Callable
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
from homeassistant.core import HomeAssistant
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
)
from .coordinator import (
    CALL_STATES,
    LastCaller,
    MangoConfigEntry,
    MangoCoordinator,
    Topic,
)
from .entity import MangoEntity

# Push only: the entities read what the coordinator was told.
PARALLEL_UPDATES = 0

_NO_CALL = dict.fromkeys(
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
_NO_LAST_CALLER = dict.fromkeys(
    (ATTR_NAME, ATTR_TIME, ATTR_ANSWERED, ATTR_DURATION, ATTR_CALL_ID)
)


@dataclass(frozen=True, kw_only=True)
class MangoSensorEntityDescription(SensorEntityDescription):
    """A sensor that reads the extension's data."""

    value_fn: Callable[[MangoCoordinator], StateType]
    attributes_fn: Callable[[MangoCoordinator], dict[str, Any]]
    topic: Topic
    """What changes the sensor's state."""


def _call_state_attributes(coordinator: MangoCoordinator) -> dict[str, Any]:
    if (call := coordinator.current_call) is None:
        return _NO_CALL
    return call.attributes()


def _last_caller_attributes(coordinator: MangoCoordinator) -> dict[str, Any]:
    if (last := coordinator.last_caller) is None:
        return _NO_LAST_CALLER
    return {
        ATTR_NAME: coordinator.phonebook.name_of(last.number),
        ATTR_TIME: last.time.isoformat(),
        ATTR_ANSWERED: last.answered,
        ATTR_DURATION: last.duration,
        ATTR_CALL_ID: last.call_id,
    }


CALL_STATE = MangoSensorEntityDescription(
    key="call_state",
    translation_key="call_state",
    device_class=SensorDeviceClass.ENUM,
    options=CALL_STATES,
    value_fn=lambda coordinator: coordinator.call_state,
    attributes_fn=_call_state_attributes,
    topic=Topic.CALLS,
)

LAST_CALLER = MangoSensorEntityDescription(
    key="last_caller",
    translation_key="last_caller",
    value_fn=lambda coordinator: (
        coordinator.last_caller.number if coordinator.last_caller else None
    ),
    attributes_fn=_last_caller_attributes,
    topic=Topic.LAST_CALLER,
)

MISSED_CALLS = MangoSensorEntityDescription(
    key="missed_calls",
    translation_key="missed_calls",
    state_class=SensorStateClass.TOTAL_INCREASING,
    value_fn=lambda coordinator: coordinator.missed_calls or 0,
    attributes_fn=lambda coordinator: {},
    topic=Topic.MISSED_CALLS,
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
            MangoSensor(coordinator, CALL_STATE),
            MangoLastCallerSensor(coordinator, LAST_CALLER),
            MangoMissedCallsSensor(coordinator, MISSED_CALLS),
        ]
    )


class MangoSensor(MangoEntity, SensorEntity):
    """A sensor that shows part of the extension's data."""

    entity_description: MangoSensorEntityDescription

    def __init__(
        self, coordinator: MangoCoordinator, description: MangoSensorEntityDescription
    ) -> None:
        """Follow the one topic that changes the sensor."""
        super().__init__(coordinator, description)
        self.topics = (description.topic,)

    @override
    def _refresh(self) -> object:
        description = self.entity_description
        self._attr_native_value = description.value_fn(self.coordinator)
        attributes = description.attributes_fn(self.coordinator)
        self._attr_extra_state_attributes = attributes
        return (self._attr_native_value, attributes)


class MangoLastCallerSensor(MangoSensor, RestoreEntity):
    """The last incoming caller, kept across restarts."""

    @override
    async def async_added_to_hass(self) -> None:
        """Show the caller from before the restart until a new one calls."""
        if (last := await self.async_get_last_state()) is not None and (
            last.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
        ):
            attributes = last.attributes
            time = dt_util.parse_datetime(str(attributes.get(ATTR_TIME)))
            if time is not None and (call_id := attributes.get(ATTR_CALL_ID)):
                duration = attributes.get(ATTR_DURATION)
                self.coordinator.async_restore(
                    last_caller=LastCaller(
                        call_id=str(call_id),
                        number=last.state,
                        time=time,
                        answered=attributes.get(ATTR_ANSWERED) is True,
                        duration=duration if isinstance(duration, int) else None,
                    )
                )
        await super().async_added_to_hass()


class MangoMissedCallsSensor(MangoSensor, RestoreSensor):
    """Counts incoming calls nobody answered, across restarts.

    A group call that another member answered is not missed. Calls missed
    while Home Assistant was away count too, once the service hands them over.
    """

    @override
    async def async_added_to_hass(self) -> None:
        """Carry on from the count before the restart."""
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(
            last.native_value, int | float
        ):
            self.coordinator.async_restore(missed_calls=int(last.native_value))
        await super().async_added_to_hass()
