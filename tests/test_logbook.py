"""The activity log: one line per call happening, from the call event entity."""

from datetime import timedelta
from unittest.mock import patch

from homeassistant.components import logbook
from homeassistant.components.recorder import Recorder
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.mango_office.const import DOMAIN
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, wait_until

CALL_EVENT = "event.extension_101_call"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder's database must be prepared before Home Assistant starts."""


async def test_one_line_per_call_happening(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A missed call reads as two lines, "Incoming" and "Missed", and no copy of them.

    The event entities' first state (they never go unavailable) adds no "Unknown" line.

    The lines are the call event entity's: the frontend translates their event type and
    shows the entity's icon. The integration describes no bus event of its own, which would repeat
    each line in English.
    """
    await _setup_logbook(hass)
    # Since before the entry was set up: a fresh entity adds no line of its own.
    start = dt_util.utcnow() - timedelta(minutes=1)
    await simulator.incoming_missed(EXTENSION)
    await wait_until(
        lambda: hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"
    )
    await async_wait_recording_done(hass)
    client = await hass_ws_client()

    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "entity_ids": [CALL_EVENT],
        }
    )
    calls = (await client.receive_json())["result"]
    await client.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": start.isoformat()}
    )
    everything = (await client.receive_json())["result"]

    assert [line["attributes"]["event_type"] for line in calls] == [
        "incoming",
        "missed",
    ]
    assert [
        line
        for line in everything
        if line.get("entity_id", "").startswith("event.")
        and line["state"] == STATE_UNKNOWN
    ] == []
    assert [line for line in everything if line.get("domain") == DOMAIN] == []


async def test_a_callback_is_one_line_per_happening(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Its two legs each start, answer and end; the activity log tells the call once."""
    await _setup_logbook(hass)
    start = dt_util.utcnow() - timedelta(seconds=1)
    ids = await simulator.outgoing_callback(
        EXTENSION, destination="+79161234567", talk_seconds=0
    )
    await wait_until(
        lambda: (
            hass.states.get(CALL_EVENT).attributes["call_id"] == ids["call_id"]
            and hass.states.get(CALL_EVENT).attributes["event_type"] == "ended"
        )
    )
    await async_wait_recording_done(hass)
    client = await hass_ws_client()

    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "entity_ids": [CALL_EVENT],
        }
    )
    lines = (await client.receive_json())["result"]

    assert [line["attributes"]["event_type"] for line in lines] == [
        "outgoing",
        "answered",
        "ended",
    ]


async def _setup_logbook(hass: HomeAssistant) -> None:
    # The frontend needs a 270 MB package the test requirements leave out; the logbook
    # only adds its panel to it.
    hass.config.components.add("frontend")
    with patch.object(logbook.frontend, "async_register_built_in_panel"):
        assert await async_setup_component(hass, "logbook", {})
