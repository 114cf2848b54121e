"""The connection sensor."""

from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion


@pytest.fixture(autouse=True)
def only_binary_sensors() -> None:
    """Set up the binary sensor platform alone."""
    with patch("custom_components.mango_office.PLATFORMS", [Platform.BINARY_SENSOR]):
        yield


async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """A diagnostic connectivity sensor, on while the channel is live."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
