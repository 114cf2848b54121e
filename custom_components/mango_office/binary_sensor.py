"""The connection of an extension's push channel."""

from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .account import MangoConfigEntry
from .entity import MangoEntity

# Push only: the entities read what the coordinator was told.
PARALLEL_UPDATES = 0

CONNECTION = BinarySensorEntityDescription(
    key="connection",
    translation_key="connection",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MangoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the connection sensor of an extension."""
    entry.runtime_data.async_add_entities_with(
        lambda coordinator: async_add_entities(
            [MangoConnectionSensor(coordinator, CONNECTION)],
            config_subentry_id=coordinator.subentry_id,
        )
    )


class MangoConnectionSensor(MangoEntity, BinarySensorEntity):
    """Whether the extension's channel is live. Always available: it is what tells."""

    @property
    @override
    def available(self) -> bool:
        """Stay available, to say that the rest is not."""
        return True

    @override
    def _show(self) -> object:
        self._attr_is_on = self.coordinator.connected
        return self._attr_is_on
