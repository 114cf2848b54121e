"""Delivery a user can trust: hostile frames, restarts mid-call, reloads, and what HA is given."""

import asyncio
from datetime import timedelta
import json
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.mango_office.calls import MAX_CALLS
from custom_components.mango_office.storage import SAVE_DELAY
from mango_simulator import MangoSimulator

from .conftest import (
    EXTENSION,
    extension_of,
    wait_connected,
    wait_for_state,
    wait_until,
)
from .helpers import push_call

CALL_STATE = "sensor.extension_101_call_state"
LAST_CALLER = "sensor.extension_101_last_caller"
MISSED_CALLS = "sensor.extension_101_missed_calls"
CONNECTION = "binary_sensor.extension_101_connection"
CALL_EVENT = "event.extension_101_call"


def _types(events: list[Any], call_id: str) -> list[str | None]:
    return [e.data["event_type"] for e in events if e.data["call_id"] == call_id]


def _assert_encodable(hass: HomeAssistant, events: list[Any]) -> None:
    """Everything the integration gave HA can be written by HA's JSON encoder."""
    for state in hass.states.async_all():
        if state.entity_id.startswith(("sensor.extension_101", "event.extension_101")):
            assert len(state.state) <= 255
            json_bytes(dict(state.attributes))
    for event in events:
        json_bytes(event.data)


async def test_hostile_frames_do_not_end_delivery(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frames that break JSON decoders are skipped; the next call still rings."""
    calls = async_capture_events(hass, "mango_office_call")
    for frame in (
        "[" * 100_000,
        '{"a":' * 50_000,
        '{"routeKey": "/call", "data": {"call_id": "x", "call_state": "APPEARED", '
        '"seq": 1' + "0" * 5000 + "}}",
        '{"routeKey": "/call", "data": {"call_id": ["x"], "call_state": "APPEARED"}}',
        '{"routeKey": "/nothing", "data": {}}',
    ):
        await simulator.push_raw(EXTENSION, frame)
    await push_call(simulator, "after", 1, "APPEARED")

    await wait_for_state(hass, CALL_STATE, "ringing")
    assert hass.states.get(CONNECTION).state == "on"
    assert _types(calls, "after") == ["incoming"]
    warnings = [r for r in caplog.records if "Skipped a message" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    diagnostics = extension_of(init_integration).channel.stats
    # An integer past Python's 4,300 digits is refused by the JSON decoder itself.
    assert diagnostics.skipped == {"not_json": 3, "malformed": 1, "unknown_kind": 1}


async def test_garbage_fields_never_reach_states_or_events(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Huge or non-numeric numbers, lone surrogates and 65-bit integers are dropped."""
    calls = async_capture_events(hass, "mango_office_call")
    routes = async_capture_events(hass, "mango_office_route_result")
    await push_call(simulator, "huge", 1, "APPEARED", caller={"number": "7" * 500_000})
    await wait_for_state(hass, CALL_STATE, "ringing")
    assert hass.states.get(LAST_CALLER).state == STATE_UNKNOWN
    await push_call(simulator, "words", 1, "APPEARED", caller={"number": "drop table"})
    await simulator.push_raw(
        EXTENSION,
        '{"routeKey": "/call", "data": {"call_id": "sur", "seq": 1, '
        '"call_state": "APPEARED", "from": {"number": "\\ud800"}, '
        '"line_number": "\\udfff", "disconnect_reason": 36893488147419103232}}',
    )
    await simulator.push_raw(
        EXTENSION,
        '{"routeKey": "/route_result", "data": {"request_id": "r1", "result": 1, '
        '"message": "bad \\ud800 text", "timestamp": 1790000000}}',
    )
    await wait_until(lambda: len(routes) == 1 and len(calls) == 3)
    await hass.async_block_till_done()

    assert [e.data["caller_number"] for e in calls] == [None, None, None]
    assert calls[2].data["line_number"] is None
    assert calls[2].data["disconnect_reason"] is None
    assert routes[0].data["message"] is None
    _assert_encodable(hass, calls + routes)


async def test_call_legs_are_bounded_by_count(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A burst of calls that never end keeps at most MAX_CALLS legs."""
    for number in range(MAX_CALLS + 40):
        await push_call(simulator, f"junk{number}", 1, "APPEARED")
    await wait_until(
        lambda: (
            f"junk{MAX_CALLS + 39}" in extension_of(init_integration).data.calls.calls
        )
    )
    assert len(extension_of(init_integration).data.calls.calls) == MAX_CALLS
    assert "junk0" not in extension_of(init_integration).data.calls.calls


async def test_ivr_without_status_and_call_without_timestamp(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Optional fields left out do not cost the message, nor the channel."""
    ivr = async_capture_events(hass, "mango_office_ivr")
    calls = async_capture_events(hass, "mango_office_call")
    await simulator.push(
        EXTENSION,
        {
            "routeKey": "/ivr",
            "data": {"call_id": "i1", "from": {"number": "74951234567"}},
        },
    )
    await simulator.push(
        EXTENSION,
        {
            "routeKey": "/call",
            "data": {"call_id": "t1", "call_state": "APPEARED", "direction": "in"},
        },
    )
    await wait_for_state(hass, CALL_STATE, "ringing")
    await wait_until(lambda: len(ivr) == 1)

    assert ivr[0].data["status"] == ""
    assert ivr[0].data["time"] is None
    assert _types(calls, "t1") == ["incoming"]
    assert calls[0].data["time"]  # our clock stands in for the service's
    assert hass.states.get(CONNECTION).state == "on"


async def test_on_hold_outranks_a_second_call_ringing(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The call on hold is what matters while another one rings."""
    await push_call(simulator, "first", 1, "APPEARED")
    await push_call(simulator, "first", 2, "CONNECTED")
    await push_call(simulator, "first", 3, "ONHOLD")
    await wait_for_state(hass, CALL_STATE, "on_hold")
    await push_call(
        simulator, "second", 1, "APPEARED", caller={"number": "74990000000"}
    )
    await wait_until(
        lambda: "second" in extension_of(init_integration).data.calls.calls
    )
    await hass.async_block_till_done()

    state = hass.states.get(CALL_STATE)
    assert state.state == "on_hold"
    assert state.attributes["call_id"] == "first"


async def test_a_message_without_parties_keeps_the_known_numbers(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A later message that leaves out from and to does not blank the caller."""
    await push_call(simulator, "c1", 1, "APPEARED")
    await wait_for_state(hass, CALL_STATE, "ringing")
    await simulator.push(
        EXTENSION,
        {
            "routeKey": "/call",
            "data": {"call_id": "c1", "seq": 2, "call_state": "CONNECTED"},
        },
    )
    await wait_for_state(hass, CALL_STATE, "talking")

    attributes = hass.states.get(CALL_STATE).attributes
    assert attributes["caller_number"] == "+74951234567"
    assert attributes["caller_name"] == "Ivan Petrov"
    assert attributes["callee_number"] == EXTENSION


async def test_call_ringing_when_unloaded_and_unanswered_meanwhile_is_missed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The end of a call that rang before a reload counts as missed, and rings only once."""
    calls = async_capture_events(hass, "mango_office_call")
    await push_call(simulator, "away", 1, "APPEARED")
    await wait_for_state(hass, CALL_STATE, "ringing")

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await push_call(simulator, "away", 2, "DISCONNECTED", disconnect_reason=1110)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_connected(hass)
    await wait_for_state(hass, MISSED_CALLS, "1")
    await hass.async_block_till_done()

    assert _types(calls, "away") == ["incoming", "missed"]
    assert calls[-1].data["replayed"] is True
    assert hass.states.get(CALL_STATE).state == "idle"
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"


async def test_call_in_progress_survives_a_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """After a reload mid-call the call shows again, and goes on without a second incoming."""
    calls = async_capture_events(hass, "mango_office_call")
    await push_call(simulator, "long", 1, "APPEARED")
    await push_call(simulator, "long", 2, "CONNECTED")
    await wait_for_state(hass, CALL_STATE, "talking")

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await wait_connected(hass)
    await wait_for_state(hass, CALL_STATE, "talking")
    await push_call(simulator, "long", 3, "ONHOLD")
    await wait_for_state(hass, CALL_STATE, "on_hold")
    await push_call(simulator, "long", 4, "DISCONNECTED", disconnect_reason=1100)
    await wait_for_state(hass, CALL_STATE, "idle")

    assert _types(calls, "long") == ["incoming", "answered", None, "ended"]
    assert calls[-1].data["duration"] == 2
    assert hass.states.get(MISSED_CALLS).state == "0"


async def test_calls_in_progress_are_saved_in_batches(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A change is saved within ten seconds, a burst in one write, and every later one too."""
    [subentry_id] = init_integration.subentries
    key = f"mango_office.{init_integration.entry_id}.{subentry_id}"

    def saved_calls() -> list[str]:
        data = hass_storage.get(key, {}).get("data", {})
        return [call["call_id"] for call in data.get("calls", [])]

    await push_call(simulator, "first", 1, "APPEARED")
    await push_call(simulator, "first", 2, "CONNECTED")
    await wait_for_state(hass, CALL_STATE, "talking")
    assert saved_calls() == []
    freezer.tick(SAVE_DELAY + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert saved_calls() == ["first"]

    await push_call(simulator, "first", 3, "DISCONNECTED", disconnect_reason=1100)
    await push_call(simulator, "second", 1, "APPEARED")
    await wait_for_state(hass, CALL_STATE, "ringing")
    freezer.tick(SAVE_DELAY + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert saved_calls() == ["second"]


async def test_calls_forgotten_for_want_of_news_go_from_the_saved_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stale call is forgotten on disk too, within ten seconds, at start and while running."""
    [subentry_id] = mock_config_entry.subentries
    key = f"mango_office.{mock_config_entry.entry_id}.{subentry_id}"
    nine_hours_ago = (dt_util.utcnow() - timedelta(hours=9)).isoformat()
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "calls": [
                {
                    "call_id": "long_gone",
                    "entry_id": None,
                    "direction": "in",
                    "incoming": True,
                    "state": "connected",
                    "caller": [None, "+74951234567"],
                    "callee": [EXTENSION, None],
                    "line_number": None,
                    "started_at": nine_hours_ago,
                    "answered_at": nine_hours_ago,
                    "updated_at": nine_hours_ago,
                    "seq": 2,
                }
            ],
            "missed_calls": 0,
            "last_caller": None,
        },
    }

    def saved_calls() -> list[str]:
        return [call["call_id"] for call in hass_storage[key]["data"]["calls"]]

    caplog.set_level(logging.DEBUG, logger="custom_components.mango_office")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_connected(hass)
    assert hass.states.get(CALL_STATE).state == "idle"
    freezer.tick(SAVE_DELAY + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert saved_calls() == []

    await push_call(
        simulator, "lost", 1, "APPEARED", timestamp=int(freezer().timestamp())
    )
    await wait_for_state(hass, CALL_STATE, "ringing")
    freezer.tick(SAVE_DELAY + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert saved_calls() == ["lost"]

    # Nobody rings for ten minutes: the call is forgotten, and so saved.
    freezer.tick(11 * 60)
    async_fire_time_changed(hass)
    await wait_for_state(hass, CALL_STATE, "idle")
    assert "forgot calls whose end never came" in caplog.text
    freezer.tick(SAVE_DELAY + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert saved_calls() == []


async def test_call_first_seen_at_its_end_unanswered_is_missed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """With nothing known of a call, the service's reason "no answer" makes it missed."""
    calls = async_capture_events(hass, "mango_office_call")
    await push_call(simulator, "unknown", 5, "DISCONNECTED", disconnect_reason=1111)
    await wait_for_state(hass, MISSED_CALLS, "1")

    assert _types(calls, "unknown") == ["missed"]
    assert hass.states.get(LAST_CALLER).attributes["call_id"] == "unknown"


async def test_unloading_delivers_what_the_service_already_sent(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Messages sent live right before an unload are all fired, not cut off with the connection."""
    calls = async_capture_events(hass, "mango_office_call")
    sent = [f"late{number}" for number in range(50)]
    for call_id in sent:
        await push_call(simulator, call_id, 1, "DISCONNECTED", disconnect_reason=1100)

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert [event.data["call_id"] for event in calls] == sent
    assert simulator.missed(EXTENSION) == []


async def test_reloads_while_messages_flow_lose_and_repeat_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Every message pushed while the entry reloads again and again arrives exactly once."""
    calls = async_capture_events(hass, "mango_office_call")
    sent: list[str] = []

    async def pusher() -> None:
        for number in range(150):
            call_id = f"flow{number}"
            await push_call(
                simulator, call_id, 1, "DISCONNECTED", disconnect_reason=1100
            )
            sent.append(call_id)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(pusher())
    for _ in range(5):
        await asyncio.sleep(0.08)
        assert await hass.config_entries.async_reload(init_integration.entry_id)
    await task
    await wait_connected(hass)
    await wait_until(lambda: len(calls) >= len(sent))
    await hass.async_block_till_done()

    received = [event.data["call_id"] for event in calls]
    assert sorted(received) == sorted(sent)
    assert len(set(received)) == len(received)


async def test_diagnostics_counters_and_redaction(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Skipped and duplicate messages are counted; a skipped one's log hides URL queries."""
    caplog.set_level(logging.DEBUG, logger="custom_components.mango_office")
    await simulator.push(
        EXTENSION,
        {
            "routeKey": "/record",
            "data": {"call_id": "c1", "url": "https://rec.example/r.mp3?sig=SECRETSIG"},
        },
    )
    await push_call(simulator, "dup", 1, "APPEARED")
    await push_call(simulator, "dup", 1, "APPEARED")
    await push_call(simulator, "dup", 2, "CONNECTED")
    await wait_for_state(hass, CALL_STATE, "talking")
    stats = extension_of(init_integration).channel.stats

    assert stats.skipped == {"malformed": 1}
    assert stats.duplicates_dropped == 1
    assert stats.frames_received == 4
    ours = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.mango_office")
    )
    assert "Skipped message" in ours
    assert "REDACTED" in ours
    assert "SECRETSIG" not in ours
    frames = [json.loads(frame) for _, frame in stats.recent_frames]
    assert frames[-1]["data"]["call_state"] == "CONNECTED"


async def test_a_long_absence_shows_in_a_handful_of_state_changes(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Hundreds of replayed events: counters right, the last missed call shown, few writes."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    for number in range(200):
        await push_call(simulator, f"gone{number}", 1, "APPEARED")
        await push_call(
            simulator, f"gone{number}", 2, "DISCONNECTED", disconnect_reason=1111
        )
    calls = async_capture_events(hass, "mango_office_call")
    changes = async_capture_events(hass, "state_changed")

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_connected(hass)
    await hass.async_block_till_done()

    assert len(calls) == 400
    assert all(event.data["replayed"] for event in calls)
    ours = [
        event
        for event in changes
        if event.data["entity_id"].startswith(
            ("sensor.extension_101", "event.extension_101")
        )
    ]
    # Each entity: created unavailable, then its state once the drain is over.
    assert len(ours) <= 10
    assert hass.states.get(MISSED_CALLS).state == "200"
    assert hass.states.get(CALL_STATE).state == "idle"
    assert "ringing" not in {event.data["new_state"].state for event in ours}
    shown = hass.states.get(CALL_EVENT)
    assert shown.attributes["event_type"] == "missed"
    assert shown.attributes["call_id"] == "gone199"
    assert hass.states.get(LAST_CALLER).attributes["call_id"] == "gone199"
