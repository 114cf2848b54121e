"""Base entity for the MANGO OFFICE integration."""

from typing import override

from homeassistant.core import callback
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .account import device_info
from .coordinator import MangoCoordinator


class MangoEntity(CoordinatorEntity[MangoCoordinator]):
    """An entity of one extension, available while its channel is connected.

    Every message updates the coordinator's data, and messages come by the
    thousand: an entity writes its state only when what it shows (or its
    availability) differs from what it last wrote.
    """

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: MangoCoordinator, description: EntityDescription
    ) -> None:
        """Name the entity after its description, on the extension's device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.unique_id}_{description.key}"
        self._attr_device_info = device_info(
            coordinator.unique_id,
            coordinator.extension,
            coordinator.hass.config.language,
        )
        self._written: object = None
        self._written_available: bool | None = None

    def _show(self) -> object:
        """Set what to show from the coordinator's data; return it, to compare."""
        return None

    @override
    async def async_added_to_hass(self) -> None:
        """Work out the first state, which Home Assistant writes itself."""
        await super().async_added_to_hass()
        self._written_available = self.available
        self._written = self._show()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        available = self.available
        shown = self._show()
        if available is not self._written_available or shown != self._written:
            self._written_available = available
            self._written = shown
            self.async_write_ha_state()

    @override
    async def async_update(self) -> None:
        """Nothing to fetch: the channel pushes every change."""
