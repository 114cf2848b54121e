"""The sensors of an extension, driven by the simulator's calls."""

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from mango_simulator import MangoSimulator

from .conftest import CALLER, CALLER_NAME, EXTENSION, wait_for_state
from .helpers import push_call

CALL_STATE = "sensor.extension_101_call_state"
LAST_CALLER = "sensor.extension_101_last_caller"
MISSED_CALLS = "sensor.extension_101_missed_calls"


def _follow_states(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Collect the states an entity goes through, each change of state once."""
    shown: list[str] = []

    @callback
    def _record(event: Event[EventStateChangedData]) -> None:
        if (new_state := event.data["new_state"]) is not None and (
            not shown or shown[-1] != new_state.state
        ):
            shown.append(new_state.state)

    async_track_state_change_event(hass, entity_id, _record)
    return shown


async def test_incoming_call_rings_talks_and_ends(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An answered incoming call: ringing, talking, then idle, with its details."""
    await push_call(simulator, "c1", 1, "APPEARED")
    await wait_for_state(hass, CALL_STATE, "ringing")
    state = hass.states.get(CALL_STATE)
    assert state.attributes["call_id"] == "c1"
    assert state.attributes["entry_id"] == "entry-c1"
    assert state.attributes["direction"] == "in"
    # The service wrote the number without "+"; it is shown in one form.
    assert state.attributes["caller_number"] == CALLER
    assert state.attributes["caller_name"] == CALLER_NAME
    assert state.attributes["callee_number"] == EXTENSION
    assert state.attributes["callee_name"] is None
    assert state.attributes["line_number"] == "74957654321"
    assert state.attributes["started_at"] == "2026-09-21T14:13:21+00:00"
    assert state.attributes["answered_at"] is None
    last = hass.states.get(LAST_CALLER)
    assert last.state == CALLER
    assert last.attributes["name"] == CALLER_NAME
    assert last.attributes["answered"] is False

    await push_call(simulator, "c1", 2, "CONNECTED")
    await wait_for_state(hass, CALL_STATE, "talking")
    assert (
        hass.states.get(CALL_STATE).attributes["answered_at"]
        == "2026-09-21T14:13:22+00:00"
    )

    await push_call(simulator, "c1", 62, "DISCONNECTED", disconnect_reason=1100)
    await wait_for_state(hass, CALL_STATE, "idle")
    assert hass.states.get(CALL_STATE).attributes["call_id"] is None
    last = hass.states.get(LAST_CALLER)
    assert last.attributes["answered"] is True
    assert last.attributes["duration"] == 60
    assert last.attributes["call_id"] == "c1"
    assert hass.states.get(MISSED_CALLS).state == "0"


async def test_missed_call_counts(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An incoming call nobody answered counts as missed."""
    await simulator.incoming_missed(EXTENSION, caller="+79161234567")
    await wait_for_state(hass, MISSED_CALLS, "1")
    last = hass.states.get(LAST_CALLER)
    assert last.state == "+79161234567"
    assert last.attributes["answered"] is False
    assert last.attributes["name"] is None
    assert last.attributes["duration"] is None

    await simulator.incoming_missed(EXTENSION, reason=1111)
    await wait_for_state(hass, MISSED_CALLS, "2")
    assert hass.states.get(CALL_STATE).state == "idle"


async def test_group_call_answered_elsewhere_is_not_missed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """When another member of the group answers, this extension missed nothing."""
    calls = async_capture_events(hass, "mango_office_call")
    await simulator.group_answered_elsewhere(EXTENSION, answered_by="102")
    await hass.async_block_till_done()

    assert [event.data["event_type"] for event in calls] == ["incoming", "ended"]
    assert hass.states.get(MISSED_CALLS).state == "0"
    assert hass.states.get(CALL_STATE).state == "idle"


async def test_outgoing_callback_dials_then_talks(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A callback rings the user's own phone first: dialing, then talking."""
    shown = _follow_states(hass, CALL_STATE)
    await simulator.outgoing_callback(
        EXTENSION, destination="+79161234567", talk_seconds=0
    )
    await wait_for_state(hass, CALL_STATE, "idle")

    assert shown == ["dialing", "talking", "idle"]
    # Our own outgoing calls are nobody's last caller.
    assert hass.states.get(LAST_CALLER).state == "unknown"


async def test_hold_and_resume(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call put on hold shows on_hold, then talking again."""
    shown = _follow_states(hass, CALL_STATE)
    await simulator.hold_and_resume(EXTENSION)
    await wait_for_state(hass, CALL_STATE, "idle")

    assert shown == ["ringing", "talking", "on_hold", "talking", "idle"]


async def test_transfer_leaves_the_extension_idle(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A consultative transfer holds our leg, then hands the call over."""
    task = simulator.start_scenario(
        "incoming_answered", extension=EXTENSION, talk_seconds=None
    )
    await wait_for_state(hass, CALL_STATE, "talking")
    call_id = hass.states.get(CALL_STATE).attributes["call_id"]

    await simulator.transfer(call_id, "102", "hold", talk_seconds=0)
    await wait_for_state(hass, CALL_STATE, "idle")
    await task
    assert hass.states.get(MISSED_CALLS).state == "0"


async def test_the_most_important_call_shows(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Talking on one line outranks a second call ringing."""
    await push_call(simulator, "talk", 1, "CONNECTED")
    await wait_for_state(hass, CALL_STATE, "talking")
    await push_call(
        simulator, "second", 1, "APPEARED", caller={"number": "+79990000000"}
    )
    # The second caller is the last one who called...
    await wait_for_state(hass, LAST_CALLER, "+79990000000")

    # ...but the conversation is what the call state shows.
    state = hass.states.get(CALL_STATE)
    assert state.state == "talking"
    assert state.attributes["call_id"] == "talk"

    await push_call(simulator, "talk", 2, "DISCONNECTED")
    await wait_for_state(hass, CALL_STATE, "ringing")
    assert hass.states.get(CALL_STATE).attributes["call_id"] == "second"


async def test_internal_call_direction(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An internal call is ringing for the callee and dialing for the caller."""
    await push_call(
        simulator,
        "in",
        1,
        "APPEARED",
        direction="internal",
        caller={"extension": "102"},
        callee={"extension": EXTENSION},
    )
    await wait_for_state(hass, CALL_STATE, "ringing")
    assert hass.states.get(LAST_CALLER).state == "102"
    await push_call(simulator, "in", 2, "DISCONNECTED")
    await wait_for_state(hass, CALL_STATE, "idle")

    await push_call(
        simulator,
        "out",
        1,
        "APPEARED",
        direction="internal",
        caller={"extension": EXTENSION},
        callee={"extension": "102"},
    )
    await wait_for_state(hass, CALL_STATE, "dialing")


async def test_call_whose_end_was_lost_is_forgotten(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A ringing call whose end never arrives stops showing after ten minutes."""
    await push_call(
        simulator, "lost", 1, "APPEARED", timestamp=int(freezer().timestamp())
    )
    await wait_for_state(hass, CALL_STATE, "ringing")

    freezer.tick(300)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CALL_STATE).state == "ringing"

    freezer.tick(400)
    async_fire_time_changed(hass)
    await wait_for_state(hass, CALL_STATE, "idle")


async def test_call_whose_end_was_lost_goes_in_the_eleventh_minute(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Calls are checked every minute: a call ringing for ten minutes goes in the next one."""
    await push_call(
        simulator, "lost", 1, "APPEARED", timestamp=int(freezer().timestamp())
    )
    await wait_for_state(hass, CALL_STATE, "ringing")

    freezer.tick(599)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CALL_STATE).state == "ringing"

    freezer.tick(62)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CALL_STATE).state == "idle"


async def test_missed_calls_survive_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """The missed-calls count carries on from where it was."""
    _save_calls(hass_storage, mock_config_entry, {"missed_calls": 5})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await simulator.wait_registered(EXTENSION)
    await wait_for_state(hass, MISSED_CALLS, "5")

    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, MISSED_CALLS, "6")


async def test_phonebook_change_applies_without_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A new phonebook names the current call at once; the connection stays up."""
    await push_call(simulator, "c1", 1, "APPEARED", caller={"number": "89161234567"})
    await wait_for_state(hass, CALL_STATE, "ringing")
    assert hass.states.get(CALL_STATE).attributes["caller_name"] is None
    channels = len(simulator.requests_to("channel"))

    hass.config_entries.async_update_entry(
        init_integration, options={"phonebook": {"+79161234567": "Anna"}}
    )
    await hass.async_block_till_done()

    assert hass.states.get(CALL_STATE).attributes["caller_name"] == "Anna"
    assert hass.states.get(LAST_CALLER).attributes["name"] == "Anna"
    assert len(simulator.requests_to("channel")) == channels


async def test_call_first_seen_at_its_end_is_not_missed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call that began before a reload may have been answered: it only ends."""
    calls = async_capture_events(hass, "mango_office_call")
    await push_call(simulator, "earlier", 40, "DISCONNECTED", disconnect_reason=1100)
    await push_call(simulator, "next", 1, "APPEARED")
    await wait_for_state(hass, CALL_STATE, "ringing")

    assert [event.data["event_type"] for event in calls] == ["ended", "incoming"]
    assert hass.states.get(MISSED_CALLS).state == "0"
    assert hass.states.get(LAST_CALLER).attributes["call_id"] == "next"


async def test_last_caller_survives_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """The last caller from before the restart shows until someone new calls."""
    _save_calls(
        hass_storage,
        mock_config_entry,
        {
            "last_caller": {
                "call_id": "before",
                "number": "+79161234567",
                "time": "2026-11-20T09:30:00+00:00",
                "answered": True,
                "duration": 75,
            }
        },
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_for_state(hass, LAST_CALLER, "+79161234567")

    restored = hass.states.get(LAST_CALLER).attributes
    assert restored["call_id"] == "before"
    assert restored["time"] == "2026-11-20T09:30:00+00:00"
    assert restored["answered"] is True
    assert restored["duration"] == 75

    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, LAST_CALLER, CALLER)
    assert hass.states.get(LAST_CALLER).attributes["answered"] is False


def _save_calls(
    hass_storage: dict[str, Any], entry: MockConfigEntry, data: dict[str, Any]
) -> None:
    """Leave what an earlier run saved in .storage/mango_office.<entry id>."""
    [subentry_id] = entry.subentries
    hass_storage[f"mango_office.{entry.entry_id}.{subentry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"mango_office.{entry.entry_id}.{subentry_id}",
        "data": {"calls": [], "missed_calls": 0, "last_caller": None, **data},
    }
