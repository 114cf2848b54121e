"""Fixtures shared by the MANGO OFFICE tests: a real simulator on 127.0.0.1 and an entry on it."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
from unittest.mock import PropertyMock, patch

from homeassistant.const import CONF_TOKEN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import (
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_PHONEBOOK,
    DOMAIN,
)
from mango_simulator import MangoSimulator

TOKEN = "test-token-4f9c2e"
EXTENSION = "101"
CALLER = "+74951234567"
CALLER_NAME = "Ivan Petrov"
LINE = "+74957654321"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant find custom_components/mango_office in every test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable the entities that are disabled by default, as HA core's fixture does."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialize snapshots the way Home Assistant's own tests do."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[MangoSimulator]:
    """A MANGO OFFICE simulator on a free port of 127.0.0.1, with no delays."""
    sim = MangoSimulator(tokens={TOKEN}, extensions={"101", "102", "103"}, seed=1)
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


@pytest.fixture
def mock_config_entry(simulator: MangoSimulator) -> MockConfigEntry:
    """An entry for extension 101 on the simulator, with a one-line phonebook."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Mango Office {EXTENSION}",
        unique_id=f"{account_key(TOKEN)}_{EXTENSION}",
        data={
            CONF_TOKEN: TOKEN,
            CONF_EXTENSION: EXTENSION,
            CONF_BASE_URL: simulator.base_url,
        },
        options={CONF_PHONEBOOK: {CALLER: CALLER_NAME}},
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> MockConfigEntry:
    """The entry, set up and live: registered on the simulator with its missed events drained."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await simulator.wait_registered(EXTENSION)
    await wait_until(lambda: mock_config_entry.runtime_data.connected)
    await hass.async_block_till_done()
    return mock_config_entry


async def wait_until(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Let the event loop run until a condition holds, or fail after some seconds."""
    async with asyncio.timeout(seconds):
        # Nothing announces most of these conditions; a short poll is simplest.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def wait_connected(hass: HomeAssistant, connected: bool = True) -> None:
    """Wait until extension 101's connection sensor says so."""
    await wait_for_state(
        hass, "binary_sensor.extension_101_connection", "on" if connected else "off"
    )


async def wait_for_state(
    hass: HomeAssistant, entity_id: str, state: str, seconds: float = 5.0
) -> None:
    """Let the event loop run until an entity has a state, or fail after some seconds."""
    reached = asyncio.Event()

    @callback
    def _check(event: Event[EventStateChangedData]) -> None:
        if (
            new_state := event.data["new_state"]
        ) is not None and new_state.state == state:
            reached.set()

    unsubscribe = async_track_state_change_event(hass, entity_id, _check)
    try:
        if (current := hass.states.get(entity_id)) is None or current.state != state:
            async with asyncio.timeout(seconds):
                await reached.wait()
    finally:
        unsubscribe()
