"""Base entity for the MANGO OFFICE integration."""

from typing import override

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN, MANUFACTURER, MODEL, MODELS
from .coordinator import MangoCoordinator, Topic


def device_info(
    unique_id: str, extension: str, language: str | None = None
) -> DeviceInfo:
    """Describe the device that stands for one extension (its model in `language`)."""
    return DeviceInfo(
        identifiers={(DOMAIN, unique_id)},
        manufacturer=MANUFACTURER,
        model=MODELS.get((language or "").split("-")[0], MODEL),
        translation_key="extension",
        translation_placeholders={"extension": extension},
    )


class MangoEntity(Entity):
    """An entity of one extension, available while its channel is connected.

    It listens to the topics of the coordinator that change what it shows,
    and writes its state only when that state (or its availability) is
    different from what it last wrote: messages come by the thousand.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    topics: tuple[Topic, ...] = ()
    """What the entity shows; the connection (availability) is always one."""

    def __init__(
        self, coordinator: MangoCoordinator, description: EntityDescription
    ) -> None:
        """Name the entity after its description, on the extension's device."""
        self.coordinator = coordinator
        self.entity_description = description
        entry = coordinator.config_entry
        assert entry.unique_id is not None
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = device_info(
            entry.unique_id, coordinator.extension, coordinator.hass.config.language
        )
        self._shown: object = None

    @property
    @override
    def available(self) -> bool:
        """Whether what the entity shows is live."""
        return self.coordinator.connected

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the coordinator's topics; the first state is written by HA itself."""
        await super().async_added_to_hass()
        for topic in (*self.topics, Topic.CONNECTION):
            self.async_on_remove(
                self.coordinator.async_add_listener(topic, self._handle_update)
            )
        self._shown = (self.available, self._refresh())

    def _refresh(self) -> object:
        """Read what to show from the coordinator; return a key of it to compare."""
        return None

    @callback
    def _handle_update(self) -> None:
        shown = (self.available, self._refresh())
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()
