"""Sensors of an extension: its call state, its last caller and its missed calls."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .account import MangoConfigEntry
from .calls import CALL_STATES
from .coordinator import MangoData
from .entity import MangoEntity
from .payloads import call_attributes, call_key, last_caller_attributes

# Push only: the entities read what the coordinator was told.
PARALLEL_UPDATES = 0

_NOTHING_YET: Final = object()


@dataclass(frozen=True, kw_only=True)
class MangoSensorEntityDescription(SensorEntityDescription):
    """A sensor that reads the extension's data.

    ``source_fn`` picks the part of the data the sensor shows: while it is
    the same, the state and attributes are not worked out again.
    """

    source_fn: Callable[[MangoData], object]
    value_fn: Callable[[MangoData], StateType]
    attributes_fn: Callable[[MangoData], dict[str, Any]] = lambda data: {}


SENSORS: tuple[MangoSensorEntityDescription, ...] = (
    MangoSensorEntityDescription(
        key="call_state",
        translation_key="call_state",
        device_class=SensorDeviceClass.ENUM,
        options=CALL_STATES,
        source_fn=lambda data: call_key(data.calls.current_call),
        value_fn=lambda data: data.calls.call_state,
        attributes_fn=lambda data: call_attributes(data.calls.current_call),
    ),
    MangoSensorEntityDescription(
        key="last_caller",
        translation_key="last_caller",
        source_fn=lambda data: (data.calls.last_caller, data.phonebook),
        value_fn=lambda data: (
            data.calls.last_caller.number if data.calls.last_caller else None
        ),
        attributes_fn=lambda data: last_caller_attributes(
            data.calls.last_caller, data.phonebook
        ),
    ),
    MangoSensorEntityDescription(
        key="missed_calls",
        translation_key="missed_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        source_fn=lambda data: data.calls.missed_calls,
        value_fn=lambda data: data.calls.missed_calls,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MangoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of an extension."""
    entry.runtime_data.async_add_entities_with(
        lambda coordinator: async_add_entities(
            (MangoSensor(coordinator, description) for description in SENSORS),
            config_subentry_id=coordinator.subentry_id,
        )
    )


class MangoSensor(MangoEntity, SensorEntity):
    """A sensor that shows part of the extension's data."""

    entity_description: MangoSensorEntityDescription
    _source: object = _NOTHING_YET

    @override
    def _show(self) -> object:
        data = self.coordinator.data
        source = self.entity_description.source_fn(data)
        if source != self._source:
            self._source = source
            description = self.entity_description
            self._attr_native_value = description.value_fn(data)
            self._attr_extra_state_attributes = description.attributes_fn(data)
        return source
