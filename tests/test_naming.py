"""Who the cards and the call entity name: the other party, once per happening."""

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.mango_office.const import CONF_PHONEBOOK
from mango_simulator import MangoSimulator

from .conftest import (
    CALLER,
    CALLER_NAME,
    EXTENSION,
    extension_of,
    wait_connected,
    wait_for_state,
    wait_until,
)

CALL_STATE = "sensor.extension_101_call_state"
CALL_EVENT = "event.extension_101_call"
# The demo's phonebook names the extension itself too.
PHONEBOOK = {CALLER: CALLER_NAME, EXTENSION: "Reception"}


def _follow(hass: HomeAssistant, entity_id: str, *attributes: str) -> list[tuple]:
    """Every state an entity writes, with some of its attributes."""
    shown: list[tuple] = []

    @callback
    def _record(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            shown.append((new.state, *(new.attributes.get(a) for a in attributes)))

    async_track_state_change_event(hass, entity_id, _record)
    return shown


async def test_a_callback_shows_the_person_called(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """While the callback dials and talks, the card's party is the number called.

    Both legs go from the extension to the number: the caller is the extension
    itself ("Reception · 101"), which is not who the user talks to.
    """
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_PHONEBOOK: PHONEBOOK}
    )
    await hass.async_block_till_done()
    shown = _follow(hass, CALL_STATE, "name", "number", "caller_name")
    await simulator.outgoing_callback(EXTENSION, destination=CALLER, talk_seconds=0)
    await wait_for_state(hass, CALL_STATE, "idle")

    during = [item for item in shown if item[0] != "idle"]
    assert {state for state, *_ in during} == {"dialing", "talking"}
    assert {(name, number) for _, name, number, _ in during} == {(CALLER_NAME, CALLER)}
    # The caller's keys still say who placed it.
    assert {caller for *_, caller in during} == {"Reception"}
    assert shown[-1] == ("idle", None, None, None)


async def test_an_incoming_call_shows_the_caller(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An incoming call's party is whoever calls."""
    shown = _follow(hass, CALL_STATE, "name", "number")
    await simulator.incoming_answered(EXTENSION, caller=CALLER, talk_seconds=0)
    await wait_for_state(hass, CALL_STATE, "idle")

    assert ("ringing", CALLER_NAME, CALLER) in shown
    assert ("talking", CALLER_NAME, CALLER) in shown


async def test_a_callback_happens_once_on_the_call_entity(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Two legs, one call: the entity starts, answers and ends it once; the bus tells each leg."""
    calls = async_capture_events(hass, "mango_office_call")
    shown = _follow(hass, CALL_EVENT, "event_type", "call_id")
    ids = await simulator.outgoing_callback(
        EXTENSION, destination=CALLER, talk_seconds=0
    )
    await wait_until(lambda: len(calls) == 6)
    await hass.async_block_till_done()

    assert [item[1] for item in shown] == ["outgoing", "answered", "ended"]
    # It ends when the last leg does: the user's own.
    assert shown[-1][2] == ids["call_id"]
    assert sorted(event.data["event_type"] for event in calls) == sorted(
        ["outgoing", "answered"] * 2 + ["ended"] * 2
    )


async def test_a_busy_callback_ends_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The number is busy: the call started once and ended once."""
    shown = _follow(hass, CALL_EVENT, "event_type")
    calls = async_capture_events(hass, "mango_office_call")
    await simulator.outgoing_callback(EXTENSION, destination=CALLER, busy=True)
    await wait_until(lambda: len(calls) == 5)
    await hass.async_block_till_done()

    assert [event_type for _, event_type in shown] == ["outgoing", "answered", "ended"]


async def test_the_call_entity_stays_available_without_the_channel(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """It shows what last happened, which an outage does not change: nothing to write.

    Unavailable and back, it would write that happening into the activity log again.
    """
    await simulator.incoming_missed(EXTENSION)
    await wait_until(
        lambda: hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"
    )
    channel = extension_of(init_integration).channel
    channel._retry_minimum = channel._retry_maximum = 0.05
    shown = _follow(hass, CALL_EVENT)
    before = hass.states.get(CALL_EVENT).state
    simulator.refuse_websockets(0.5)

    await simulator.drop_websockets()
    await wait_connected(hass, connected=False)
    assert hass.states.get(CALL_STATE).state == STATE_UNAVAILABLE
    assert hass.states.get(CALL_EVENT).state == before
    await wait_connected(hass)
    await hass.async_block_till_done()

    assert shown == []
