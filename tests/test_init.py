"""Setting up, losing and unloading an extension's entry."""

import asyncio
from collections.abc import Generator
import logging
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    CONF_TOKEN,
    EVENT_HOMEASSISTANT_STOP,
    EVENT_STATE_CHANGED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.mango_office import connection
from custom_components.mango_office.connection import BLIP_GRACE
from custom_components.mango_office.const import CONF_BASE_URL, DOMAIN
from mango_simulator import MangoSimulator
from mango_simulator.wire import CODE_EXTENSION_NOT_FOUND

from .conftest import (
    EXTENSION,
    TOKEN,
    extension_of,
    extension_subentry,
    wait_connected,
    wait_for_state,
    wait_until,
)


async def test_setup_provisions_registers_and_unload_unregisters(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The entry provisions its extension, registers it live, and unregisters on unload."""
    assert init_integration.state is ConfigEntryState.LOADED
    create = simulator.requests_to("users/create")[-1]
    assert create.params == {"EXTENSION": EXTENSION}
    assert create.token == TOKEN
    assert simulator.is_registered(EXTENSION)

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert not simulator.is_registered(EXTENSION)
    assert simulator.requests_to("session/unregister")[-1].params == {
        "EXTENSION": EXTENSION
    }
    assert simulator.open_websockets == 0
    # While unloaded the service keeps the extension's calls as missed.
    await simulator.incoming_missed(EXTENSION)
    assert len(simulator.missed(EXTENSION)) == 2


async def test_a_first_connection_logs_nothing_above_debug(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Set-up is quiet: no "connected again" for a connection that was never lost."""
    caplog.set_level(logging.DEBUG, logger="custom_components.mango_office")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_connected(hass)

    assert [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.mango_office")
        and record.levelno > logging.DEBUG
    ] == []


async def test_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Each entry is one device: the extension."""
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.unique_id}_101"), init_integration.entry_id
    )
    assert device is not None
    assert device.name == "Extension 101"
    assert device.manufacturer == "MANGO OFFICE"
    assert device.model == "Virtual PBX extension"
    assert device.config_entry_id == init_integration.entry_id


async def test_stopping_home_assistant_unregisters(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """On shutdown the extension is unregistered, so the service keeps what follows."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    # The websocket's close alone unregisters in the simulator; the request
    # follows the close handshake.
    request = await simulator.wait_for_request("session/unregister")
    assert request.params == {"EXTENSION": EXTENSION}
    assert not simulator.is_registered(EXTENSION)


async def test_service_unreachable_retries_setup(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A service that fails is retried later (ConfigEntryNotReady)."""
    simulator.fail_next("session/ping", count=1, mode="500")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "HTTP 500" in str(mock_config_entry.reason)


async def test_extension_connects_in_the_background(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Setup does not wait for the channels: a refused websocket is retried by the channel."""
    simulator.refuse_websockets(1)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.extension_101_call_state").state == STATE_UNAVAILABLE
    await wait_connected(hass, seconds=10)


async def test_rejected_token_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A token the service rejects at setup asks the user for a new one."""
    simulator.revoke_token(TOKEN)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


async def test_extension_removed_from_pbx_is_a_repair_issue(
    hass: HomeAssistant, simulator: MangoSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An extension the PBX no longer has is a repair issue; the account's others work."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id="account",
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry("101"), extension_subentry("109")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_connected(hass)

    assert entry.state is ConfigEntryState.LOADED
    await wait_until(
        lambda: (
            len([i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN])
            == 1
        )
    )
    issues = [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    assert issues[0].translation_key == "extension_refused"
    assert issues[0].translation_placeholders is not None
    assert issues[0].translation_placeholders["extension"] == "109"
    assert issues[0].translation_placeholders["code"] == str(CODE_EXTENSION_NOT_FOUND)
    assert issues[0].is_fixable
    assert simulator.is_registered("101")
    refused = [r for r in caplog.records if "refused extension 109" in r.getMessage()]
    assert [r.levelno for r in refused] == [logging.ERROR]


async def test_a_start_that_meets_a_server_error_costs_nothing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first connection meets a server error: no repair issue, the channel gets through."""
    caplog.set_level(logging.DEBUG, logger="custom_components.mango_office")
    simulator.provision(EXTENSION)
    simulator.fail_next("channel", mode="500")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_connected(hass)

    assert "Connecting extension 101 failed" in caplog.text
    assert not simulator.requests_to("users/create")
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]


async def test_connection_lost_and_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dropped channel makes the entities unavailable, logs once each way, and recovers."""
    caplog.set_level(logging.INFO, logger="custom_components.mango_office")
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.05
    simulator.refuse_websockets(0.5)

    await simulator.drop_websockets()
    await wait_connected(hass, connected=False)
    assert hass.states.get("sensor.extension_101_call_state").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.extension_101_connection").state == "off"

    await wait_connected(hass)
    assert hass.states.get("sensor.extension_101_call_state").state == "idle"
    lost = [r for r in caplog.records if "lost its connection" in r.getMessage()]
    back = [
        r for r in caplog.records if "connected to MANGO OFFICE again" in r.getMessage()
    ]
    assert [r.levelno for r in lost] == [logging.INFO]
    assert [r.levelno for r in back] == [logging.INFO]
    # Several refused attempts in between, none of them logged above debug.
    assert len(simulator.requests_to("channel")) > 2
    assert TOKEN not in caplog.text


# Two seconds of grace in real time: the channel is back well within them.
GRACE = 2.0


@pytest.mark.blip_grace
@pytest.mark.usefixtures("short_grace")
async def test_a_blip_shows_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A channel back within seconds changes no state and logs nothing above debug; the gap's calls arrive."""
    caplog.set_level(logging.DEBUG, logger="custom_components.mango_office")
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.05
    first_line = len(caplog.records)
    changes = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        changes.append(event.data["entity_id"])

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, changed)
    simulator.refuse_websockets(0.5)
    await simulator.drop_websockets()
    await simulator.incoming_missed(
        EXTENSION
    )  # rings and ends while the channel is away
    await wait_until(lambda: len(simulator.requests_to("channel")) > 2)
    await wait_for_state(hass, "sensor.extension_101_missed_calls", "1")
    # Past the grace, what came back stays: the blip's timer is gone.
    await asyncio.sleep(GRACE + 0.2)
    unsubscribe()

    assert hass.states.get("binary_sensor.extension_101_connection").state == "on"
    # Only what the missed call itself changed: no unavailable state, nothing else.
    assert set(changes) <= {
        "sensor.extension_101_missed_calls",
        "sensor.extension_101_last_caller",
        "event.extension_101_call",
        "todo.extension_101_calls_to_return",
    }
    assert "event.extension_101_call" in changes
    assert all(
        record.levelno <= logging.DEBUG
        for record in caplog.records[first_line:]
        if record.name.startswith("custom_components.mango_office")
    )


@pytest.fixture
def short_grace() -> Generator[None]:
    """A grace the test can wait out in real time."""
    with patch.object(connection, "BLIP_GRACE", GRACE):
        yield


@pytest.mark.blip_grace
async def test_an_outage_longer_than_a_blip_shows(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Past the grace the entities go unavailable, until the channel is back."""
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.05
    simulator.refuse_websockets(3600)
    await simulator.drop_websockets()
    await wait_until(lambda: channel.state == "disconnected")
    assert hass.states.get("binary_sensor.extension_101_connection").state == "on"

    freezer.tick(BLIP_GRACE + 1)
    async_fire_time_changed(hass)
    await wait_connected(hass, connected=False)
    assert hass.states.get("sensor.extension_101_call_state").state == STATE_UNAVAILABLE

    simulator.refuse_websockets(0)
    await wait_connected(hass, seconds=10)
    assert hass.states.get("sensor.extension_101_call_state").state == "idle"


@pytest.mark.blip_grace
@pytest.mark.usefixtures("short_grace")
async def test_an_outage_after_a_blip_still_shows(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A blip that passed leaves nothing behind: the next long outage shows as usual."""
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.05
    channels = len(simulator.requests_to("channel"))
    await simulator.drop_websockets()
    await wait_until(
        lambda: (
            len(simulator.requests_to("channel")) > channels
            and channel.state == "connected"
        )
    )

    simulator.refuse_websockets(3600)
    await simulator.drop_websockets()
    await wait_until(lambda: channel.state == "disconnected")
    assert hass.states.get("binary_sensor.extension_101_connection").state == "on"
    await wait_connected(hass, connected=False, seconds=GRACE + 3)


@pytest.mark.blip_grace
async def test_unloading_during_a_blip_says_nothing_later(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry unloaded while its connection is away logs no "lost" once the grace is over."""
    caplog.set_level(logging.INFO, logger="custom_components.mango_office")
    channel = extension_of(init_integration).channel
    simulator.refuse_websockets(3600)
    await simulator.drop_websockets()
    await wait_until(lambda: channel.state == "disconnected")

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    freezer.tick(BLIP_GRACE + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert "lost its connection" not in caplog.text


async def test_token_revoked_while_running_starts_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token revoked while connected, refused again later, stops the channel and asks for a new one."""
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.01
    channel._auth_confirm_after = 0.1
    simulator.revoke_token(TOKEN)
    await wait_connected(hass, connected=False)
    await wait_until(hass.config_entries.flow.async_progress)
    assert [
        record.levelno
        for record in caplog.records
        if "rejected the token of extension 101" in record.getMessage()
    ] == [logging.ERROR]

    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    requests = len(simulator.requests)
    await asyncio.sleep(0.2)
    assert len(simulator.requests) == requests, "a rejected token must not be retried"


async def test_missed_events_while_away_are_replayed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Calls while unloaded count and fire replayed events, but never show as ringing."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await simulator.incoming_missed(EXTENSION)
    await simulator.incoming_answered(EXTENSION, record=False)
    shown: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        callback(
            lambda event: (
                shown.append(event.data["new_state"].state)
                if event.data["entity_id"] == "sensor.extension_101_call_state"
                and event.data["new_state"] is not None
                else None
            )
        ),
    )
    calls = async_capture_events(hass, "mango_office_call")

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_connected(hass)
    await wait_for_state(hass, "sensor.extension_101_missed_calls", "1")
    await hass.async_block_till_done()

    assert set(shown) <= {"idle", STATE_UNAVAILABLE}
    assert [event.data["event_type"] for event in calls] == [
        "incoming",
        "missed",
        "incoming",
        "answered",
        "ended",
    ]
    assert all(event.data["replayed"] for event in calls)
    last_caller = hass.states.get("sensor.extension_101_last_caller")
    assert last_caller.attributes["answered"] is True


async def test_ivr_and_route_entities_are_disabled_by_default(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Only those who route calls themselves need them; their bus events fire anyway."""
    for entity_id in (
        "event.mango_office_account_ivr_call",
        "event.mango_office_account_route_result",
    ):
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(entity_id) is None
    assert hass.states.get("event.extension_101_call") is not None


async def test_device_name_in_russian(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The device's name follows Home Assistant's language."""
    hass.config.language = "ru"
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)

    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{mock_config_entry.unique_id}_101"), mock_config_entry.entry_id
    )
    assert device is not None
    assert device.name == "Внутренний номер 101"
