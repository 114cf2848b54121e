"""Every entity of an extension: names, classes, categories, unique ids and idle states."""

from collections.abc import Generator
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


@pytest.fixture(params=[Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR])
def platform(request: pytest.FixtureRequest) -> Generator[Platform]:
    """Set up one platform at a time, as the snapshot helper wants."""
    with patch("custom_components.mango_office.PLATFORMS", [request.param]):
        yield request.param


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "platform")
async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The platform's entities, as the registry and the state machine have them."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
