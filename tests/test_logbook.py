"""The activity log: the call event entity's rows, and one row a call that names the other party."""

from collections.abc import Callable
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import logbook
from homeassistant.components.recorder import Recorder
from homeassistant.const import EVENT_LOGBOOK_ENTRY, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, translation
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
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
from .helpers import NO_TALK, TIMESTAMP, push_call

CALL_EVENT = "event.extension_101_call"
MISSED_CALLS = "sensor.extension_101_missed_calls"
INTEGRATION = Path(__file__).parent.parent / "custom_components" / "mango_office"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    disable_translations_once: None,
    recorder_mock: Recorder,
    enable_custom_integrations: None,
) -> None:
    """The recorder's database, and a translation cache of each test's own, before Home Assistant starts.

    The test session's shared cache may hold the Russian strings another module loaded, which
    would hide how a change of the server's language loads them.
    """


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
    assert _messages(rows) in [
        [f"Call to +7 916 123-45-67, {talk}"] for talk in NO_TALK
    ]


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

    assert _messages(rows) in [
        [
            "Call from Ivan Petrov answered elsewhere",
            f"Answered call from +7 916 123-45-67, {talk}",
        ]
        for talk in NO_TALK
    ]


async def test_in_the_servers_language_and_told_later(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """In the server's language once its strings are in; a call told later says when it rang.

    Home Assistant does not load the integration's strings in a new language of
    the server by itself: the first row asks for them and is English.
    """
    await _setup_logbook(hass)
    start = dt_util.utcnow() - timedelta(seconds=1)
    await hass.config.async_update(language="ru")
    for rows_seen in (1, 2):
        await simulator.incoming_missed(EXTENSION)
        await wait_for_state(hass, MISSED_CALLS, str(rows_seen))
        # The strings the first row asked for are loaded in the background.
        await wait_until(lambda: translation.async_translations_loaded(hass, {DOMAIN}))
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await push_call(simulator, "away", 1, "APPEARED")
    await push_call(simulator, "away", 2, "DISCONNECTED", disconnect_reason=1110)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_connected(hass)
    await wait_for_state(hass, MISSED_CALLS, "3")

    rows = await _rows(hass, hass_ws_client, start, [CALL_EVENT])

    # When the call rang (its first message's time, days ago), not when it was told.
    rang = dt_util.as_local(dt_util.utc_from_timestamp(TIMESTAMP + 1))
    assert _messages(rows) == [
        "Missed call from Ivan Petrov",
        "Пропущенный звонок: Ivan Petrov",
        f"Пропущенный звонок: Ivan Petrov (в {rang:%d.%m.%Y %H:%M}, сообщено позже)",
    ]


async def test_a_row_without_the_call_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """With the Call entity gone from the registry the row still comes, under the extension's name.

    As Home Assistant's own logbook_entry: no entity_id at all rather than a null one.
    """
    rows = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    entity_registry.async_remove(CALL_EVENT)
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, MISSED_CALLS, "1")

    assert [row.data for row in rows] == [
        {
            "name": "Extension 101",
            "message": "Missed call from Ivan Petrov",
            "domain": DOMAIN,
        }
    ]


@pytest.mark.parametrize("language", ["strings.json", "translations/ru.json"])
@pytest.mark.parametrize("direction", ["in", "out", "internal"])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_call_that_ended_has_its_words(
    language: str, direction: str, outcome: str
) -> None:
    """Each way a call can end, either way, names the other party; an answer says how long."""
    strings = _strings(language)
    call = _ended_call(
        direction, outcome, talk_time=205 if outcome == OUTCOME_ANSWERED else None
    )

    message = activity_message(call, _words(strings), "en", replayed=False)

    assert "+7 495 123-45-67" in message
    assert ("3:25" in message) == (outcome == OUTCOME_ANSWERED)
    if direction == "internal" and outcome != OUTCOME_ANSWERED:
        # No direction of its own to say it by: the history's word for how it went.
        assert message.endswith(strings[f"media_outcome_{outcome}"]["message"])


def test_told_later_the_same_day_says_the_time_only(
    freezer: FrozenDateTimeFactory,
) -> None:
    """A call told later that rang today needs no date."""
    freezer.move_to("2026-12-03T12:00:00+00:00")
    rang = dt_util.utcnow() - timedelta(hours=2)
    call = _ended_call("in", "missed", name="Ivan Petrov", started_at=rang)

    message = activity_message(
        call, _words(_strings("strings.json")), "en", replayed=True
    )

    assert message == (
        f"Missed call from Ivan Petrov (at {dt_util.as_local(rang):%H:%M}, told later)"
    )


def _ended_call(
    direction: str,
    outcome: str,
    *,
    name: str | None = None,
    talk_time: int | None = None,
    started_at: datetime | None = None,
) -> HistoryCall:
    """A call with +7 495 123-45-67 that ended so."""
    started_at = started_at or dt_util.utcnow()
    return HistoryCall(
        entry_id="e1",
        direction=direction,
        number="+74951234567",
        name=name,
        started_at=started_at,
        answered_at=None,
        ended_at=started_at,
        talk_time=talk_time,
        outcome=outcome,
        transfers=(),
        recordings=(),
        legs=("c1",),
    )


def _strings(file: str) -> dict[str, Any]:
    """The integration's own messages in one of its translation files."""
    strings: dict[str, Any] = json.loads((INTEGRATION / file).read_text())["exceptions"]
    return strings


def _words(strings: dict[str, Any]) -> Callable[..., str]:
    return lambda key, **values: strings[key]["message"].format(**values)


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
