"""The activity log: the call event entity's rows, and one row a call that names the other party."""

from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY, patch

from homeassistant.components import logbook
from homeassistant.components.recorder import Recorder
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.mango_office.activity import activity_message
from custom_components.mango_office.const import DOMAIN
from custom_components.mango_office.history import (
    OUTCOME_ANSWERED,
    OUTCOMES,
    HistoryCall,
)
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, wait_connected, wait_for_state, wait_until
from .helpers import TIMESTAMP, push_call

CALL_EVENT = "event.extension_101_call"
MISSED_CALLS = "sensor.extension_101_missed_calls"
INTEGRATION = Path(__file__).parent.parent / "custom_components" / "mango_office"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder's database must be prepared before Home Assistant starts."""


async def test_a_missed_call_names_who_called(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The call event entity's rows ("Incoming", "Missed") and one row that names the caller.

    The event entities' first state (they never go unavailable) adds no "Unknown" row.
    """
    await _setup_logbook(hass)
    # Since before the entry was set up: a fresh entity adds no row of its own.
    start = dt_util.utcnow() - timedelta(minutes=1)
    await simulator.incoming_missed(EXTENSION)
    await wait_until(
        lambda: hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"
    )

    rows = await _rows(hass, hass_ws_client, start, [CALL_EVENT])
    everything = await _rows(hass, hass_ws_client, start)

    assert _event_types(rows) == ["incoming", "missed"]
    assert _messages(rows) == ["Missed call from Ivan Petrov"]
    assert [row for row in everything if row.get("domain") == DOMAIN] == [
        {
            "name": "Extension 101",
            "message": "Missed call from Ivan Petrov",
            "domain": DOMAIN,
            "entity_id": CALL_EVENT,
            "when": ANY,
        }
    ]
    assert [
        row
        for row in everything
        if row.get("entity_id", "").startswith("event.")
        and row.get("state") == STATE_UNKNOWN
    ] == []


async def test_a_callback_is_one_row_per_happening(
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
    await _wait_ended(hass, ids["call_id"])

    rows = await _rows(hass, hass_ws_client, start, [CALL_EVENT])

    assert _event_types(rows) == ["outgoing", "answered", "ended"]
    assert _messages(rows) == ["Call to +7 916 123-45-67, 0:00"]


async def test_answered_elsewhere_and_answered_here(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A group call another member took, then a call answered here: how each went."""
    await _setup_logbook(hass)
    start = dt_util.utcnow() - timedelta(seconds=1)
    await simulator.group_answered_elsewhere(EXTENSION)
    ids = await simulator.incoming_answered(
        EXTENSION, caller="+79161234567", record=False
    )
    await _wait_ended(hass, ids["call_id"])

    rows = await _rows(hass, hass_ws_client, start, [CALL_EVENT])

    assert _messages(rows) == [
        "Call from Ivan Petrov answered elsewhere",
        "Answered call from +7 916 123-45-67, 0:00",
    ]


async def test_in_the_servers_language_and_told_later(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """In Russian once the server speaks it; a call told after an absence says when it was."""
    await _setup_logbook(hass)
    start = dt_util.utcnow() - timedelta(seconds=1)
    await hass.config.async_update(language="ru")
    # As Home Assistant's own listener does when its language changes.
    await translation.async_load_integrations(hass, {DOMAIN})
    await simulator.incoming_missed(EXTENSION)
    await wait_until(
        lambda: hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"
    )
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await push_call(simulator, "away", 1, "APPEARED")
    await push_call(simulator, "away", 2, "DISCONNECTED", disconnect_reason=1110)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_connected(hass)
    await wait_for_state(hass, MISSED_CALLS, "2")

    rows = await _rows(hass, hass_ws_client, start, [CALL_EVENT])

    # When the call rang (its first message's time), not when it was told.
    at = dt_util.as_local(dt_util.utc_from_timestamp(TIMESTAMP + 1)).strftime("%H:%M")
    assert _messages(rows) == [
        "Пропущенный звонок: Ivan Petrov",
        f"Пропущенный звонок: Ivan Petrov (в {at}, сообщено позже)",
    ]


@pytest.mark.parametrize("language", ["strings.json", "translations/ru.json"])
@pytest.mark.parametrize("direction", ["in", "out", "internal"])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_call_that_ended_has_its_words(
    language: str, direction: str, outcome: str
) -> None:
    """Each way a call can end, either way, names the other party; an answer says how long."""
    strings = json.loads((INTEGRATION / language).read_text())["exceptions"]
    call = HistoryCall(
        entry_id="e1",
        direction=direction,
        number="+74951234567",
        name=None,
        started_at=dt_util.utcnow(),
        answered_at=None,
        ended_at=dt_util.utcnow(),
        talk_time=205 if outcome == OUTCOME_ANSWERED else None,
        outcome=outcome,
        transfers=(),
        recordings=(),
        legs=("c1",),
    )

    message = activity_message(
        call,
        lambda key, **values: strings[key]["message"].format(**values),
        replayed=False,
    )

    assert "+7 495 123-45-67" in message
    assert ("3:25" in message) == (outcome == OUTCOME_ANSWERED)
    if direction == "internal" and outcome != OUTCOME_ANSWERED:
        # No direction of its own to say it by: the history's word for how it went.
        assert message.endswith(strings[f"media_outcome_{outcome}"]["message"])


async def _rows(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    start: datetime,
    entity_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    await async_wait_recording_done(hass)
    client = await hass_ws_client()
    request: dict[str, Any] = {
        "type": "logbook/get_events",
        "start_time": start.isoformat(),
    }
    if entity_ids:
        request["entity_ids"] = entity_ids
    await client.send_json_auto_id(request)
    result: list[dict[str, Any]] = (await client.receive_json())["result"]
    return result


async def _wait_ended(hass: HomeAssistant, call_id: str) -> None:
    """Until the Call entity shows that call's end."""
    await wait_until(
        lambda: (
            hass.states.get(CALL_EVENT).attributes["call_id"] == call_id
            and hass.states.get(CALL_EVENT).attributes["event_type"] == "ended"
        )
    )


def _event_types(rows: list[dict[str, Any]]) -> list[str]:
    """The call event entity's own rows: its event types."""
    return [row["attributes"]["event_type"] for row in rows if "state" in row]


def _messages(rows: list[dict[str, Any]]) -> list[str]:
    """The rows the integration wrote."""
    return [row["message"] for row in rows if row.get("domain") == DOMAIN]


async def _setup_logbook(hass: HomeAssistant) -> None:
    # The frontend needs a 270 MB package the test requirements leave out; the logbook
    # only adds its panel to it.
    hass.config.components.add("frontend")
    with patch.object(logbook.frontend, "async_register_built_in_panel"):
        assert await async_setup_component(hass, "logbook", {})
