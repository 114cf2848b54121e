"""Bus events and event entities: calls, recordings, IVR calls and route results."""

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from mango_simulator import MangoSimulator

from .conftest import (
    CALLER,
    CALLER_NAME,
    EXTENSION,
    extension_of,
    wait_connected,
    wait_until,
)
from .helpers import push_call

CALL_EVENT = "event.extension_101_call"

# The IVR and route-result entities are disabled by default; these tests need them.
pytestmark = pytest.mark.usefixtures("entity_registry_enabled_by_default")


async def test_answered_call_and_its_recording(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Every /call message is a bus event; the entity shows each kind of news."""
    calls = async_capture_events(hass, "mango_office_call")
    records = async_capture_events(hass, "mango_office_record")
    ids = await simulator.incoming_answered(EXTENSION, duration=42)
    await wait_until(lambda: len(records) == 2)

    device = device_registry.async_get_device_by_identifier(
        ("mango_office", f"{init_integration.unique_id}_101"), init_integration.entry_id
    )
    assert [event.data["event_type"] for event in calls] == [
        "incoming",
        "answered",
        "ended",
    ]
    assert [event.data["state"] for event in calls] == [
        "appeared",
        "connected",
        "disconnected",
    ]
    ended = calls[-1].data
    assert ended["config_entry_id"] == init_integration.entry_id
    assert ended["device_id"] == device.id
    assert ended["extension"] == EXTENSION
    assert ended["replayed"] is False
    assert ended["call_id"] == ids["call_id"]
    assert ended["entry_id"] == ids["entry_id"]
    assert ended["direction"] == "in"
    assert ended["caller_number"] == CALLER
    assert ended["caller_name"] == CALLER_NAME
    assert ended["callee_number"] == EXTENSION
    # Hung up as soon as answered: whole seconds apart, 0 or 1 (see NO_TALK).
    assert ended["duration"] in (0, 1)
    assert ended["disconnect_reason"] == 1100
    assert ended["outcome"] == "normal"
    assert [event.data["outcome"] for event in calls[:-1]] == [None, None]

    state = hass.states.get(CALL_EVENT)
    assert state.attributes["event_type"] == "ended"
    assert state.attributes["caller_name"] == CALLER_NAME
    assert "config_entry_id" not in state.attributes

    assert [event.data["event_type"] for event in records] == [None, "available"]
    available = records[-1].data
    assert available["record_id"] == ids["record_id"]
    assert available["call_id"] == ids["call_id"]
    assert available["status"] == "available"
    assert available["duration"] == 42
    assert f"/records/{ids['record_id']}.wav?" in available["url"]
    recording = hass.states.get("event.extension_101_recording")
    assert recording.attributes["event_type"] == "available"
    assert recording.attributes["url"] == available["url"]


async def test_missed_call_event(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call nobody answered ends as missed."""
    calls = async_capture_events(hass, "mango_office_call")
    await simulator.incoming_missed(EXTENSION)
    await wait_until(lambda: len(calls) == 2)

    assert [event.data["event_type"] for event in calls] == ["incoming", "missed"]
    assert calls[-1].data["disconnect_reason"] == 1110
    assert calls[-1].data["outcome"] == "ended_by_caller"
    assert calls[-1].data["duration"] is None
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"
    assert hass.states.get(CALL_EVENT).attributes["outcome"] == "ended_by_caller"


@pytest.mark.parametrize("simulator", ["vpbx"], indirect=True)
async def test_a_call_and_its_recording_in_the_vpbx_spellings(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """No direction, TitleCase states, numbers as strings, a recording told by its id only."""
    calls = async_capture_events(hass, "mango_office_call")
    records = async_capture_events(hass, "mango_office_record")
    ids = await simulator.incoming_answered(EXTENSION, duration=42)
    await wait_until(
        lambda: any(event.data["event_type"] == "available" for event in records)
    )

    assert [event.data["event_type"] for event in calls] == [
        "incoming",
        "answered",
        "ended",
    ]
    ended = calls[-1].data
    assert ended["direction"] == "in"
    assert ended["caller_number"] == CALLER
    assert ended["caller_name"] == CALLER_NAME
    assert ended["callee_number"] == EXTENSION
    assert ended["disconnect_reason"] == 1100
    assert ended["outcome"] == "normal"
    available = records[-1].data
    assert available["event_type"] == "available"
    assert available["record_id"] == ids["record_id"]
    # Fetched by id: the push carried none.
    assert f"/records/{ids['record_id']}.wav?" in available["url"]
    assert len(simulator.requests_to("record")) == 1
    recording = hass.states.get("event.extension_101_recording")
    assert recording.attributes["url"] == available["url"]


@pytest.mark.parametrize("simulator", ["vpbx"], indirect=True)
async def test_a_recording_whose_link_fails_is_still_news(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The link of a finished recording cannot be had now: the news comes without it."""
    records = async_capture_events(hass, "mango_office_record")
    simulator.fail_next("record", mode="500")
    ids = await simulator.incoming_answered(EXTENSION, duration=42)
    await wait_until(
        lambda: any(event.data["event_type"] == "available" for event in records)
    )

    available = records[-1].data
    assert available["record_id"] == ids["record_id"]
    assert available["url"] is None
    recording = hass.states.get("event.extension_101_recording")
    assert recording.attributes["event_type"] == "available"
    assert recording.attributes["url"] is None


async def test_hold_is_a_bus_event_only(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Going on hold has no event type of its own; the bus event still tells."""
    calls = async_capture_events(hass, "mango_office_call")
    await push_call(simulator, "c1", 1, "CONNECTED")
    await wait_until(lambda: len(calls) == 2)
    await push_call(simulator, "c1", 2, "ONHOLD")
    await wait_until(lambda: len(calls) == 3)

    # First seen already talking: its appearance and its answer are news each.
    assert [event.data["event_type"] for event in calls] == [
        "incoming",
        "answered",
        None,
    ]
    assert [event.data["state"] for event in calls] == [
        "connected",
        "connected",
        "on_hold",
    ]
    assert calls[-1].data["state"] == "on_hold"
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "answered"


async def test_ivr_and_route_result(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An IVR call appears; routing it reports success or failure."""
    ivr = async_capture_events(hass, "mango_office_ivr")
    results = async_capture_events(hass, "mango_office_route_result")
    ids = await simulator.incoming_via_ivr(caller="+74951234567", line="+74957654321")
    await wait_until(lambda: len(ivr) == 1)

    assert ids["extension"] == EXTENSION
    appeared = ivr[0].data
    assert appeared["event_type"] == "appeared"
    assert appeared["call_id"] == ids["call_id"]
    assert appeared["caller_number"] == CALLER
    assert appeared["caller_name"] == CALLER_NAME
    assert appeared["callee_number"] == "+74957654321"
    assert appeared["line_number"] == "+74957654321"
    assert (
        hass.states.get("event.mango_office_account_ivr_call").attributes["call_id"]
        == ids["call_id"]
    )
    # Once, on the account's own device, not on an extension's.
    entity = er.async_get(hass).async_get("event.mango_office_account_ivr_call")
    assert entity is not None
    assert entity.config_subentry_id is None
    device = dr.async_get(hass).async_get(str(entity.device_id))
    assert device is not None
    assert device.name == "MANGO OFFICE account"
    assert device.config_subentry_id is None
    assert hass.states.get("event.extension_101_ivr_call") is None

    request_id = await extension_of(init_integration).client.route(
        ids["call_id"], "102"
    )
    await wait_until(lambda: len(results) == 1)
    success = results[0].data
    assert success["event_type"] == "success"
    assert success["request_id"] == request_id
    assert success["result"] == 0
    assert success["to"] == "102"
    route_result = hass.states.get("event.mango_office_account_route_result")
    assert route_result.attributes["event_type"] == "success"

    other = await simulator.incoming_via_ivr()
    await extension_of(init_integration).client.route(other["call_id"], "+79990000000")
    await wait_until(lambda: len(results) == 2)
    assert results[1].data["event_type"] == "failure"
    assert results[1].data["result"] != 0
    assert (
        hass.states.get("event.mango_office_account_route_result").attributes[
            "event_type"
        ]
        == "failure"
    )


async def test_replayed_news_that_is_still_news(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """After a restart, a missed call shows on the entity; its ringing does not."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await simulator.incoming_missed(EXTENSION)
    await simulator.incoming_via_ivr()
    calls = async_capture_events(hass, "mango_office_call")
    ivr = async_capture_events(hass, "mango_office_ivr")
    shown: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        callback(
            lambda event: (
                shown.append(event.data["new_state"].attributes.get("event_type"))
                if event.data["entity_id"] == CALL_EVENT
                else None
            )
        ),
    )

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_until(lambda: extension_of(init_integration).connected)
    await hass.async_block_till_done()

    assert [event.data["replayed"] for event in calls + ivr] == [True, True, True]
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "missed"
    assert hass.states.get(CALL_EVENT).attributes["replayed"] is True
    assert "incoming" not in shown
    assert hass.states.get("event.mango_office_account_ivr_call").state in (
        "unknown",
        "unavailable",
    )


async def test_news_from_an_absence_shows_the_latest_and_only_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The call entity shows the absence's latest news; a later reconnect shows it no more."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await push_call(simulator, "first", 1, "APPEARED")
    await push_call(simulator, "first", 2, "DISCONNECTED", disconnect_reason=1110)
    await push_call(simulator, "talked", 3, "APPEARED")
    await push_call(simulator, "talked", 4, "CONNECTED")
    await push_call(simulator, "talked", 5, "DISCONNECTED", disconnect_reason=1100)
    await push_call(simulator, "last", 6, "APPEARED")
    await push_call(simulator, "last", 7, "DISCONNECTED", disconnect_reason=1110)

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_until(lambda: extension_of(init_integration).connected)
    await hass.async_block_till_done()
    shown = hass.states.get(CALL_EVENT)
    assert shown.attributes["event_type"] == "missed"
    assert shown.attributes["call_id"] == "last"

    # Away and back with nothing new: the entity shows the same news, not again.
    simulator.refuse_websockets(0.3)
    await simulator.drop_websockets()
    await wait_connected(hass, connected=False)
    await wait_connected(hass)
    await hass.async_block_till_done()
    again = hass.states.get(CALL_EVENT)
    assert again.state == shown.state
    assert again.attributes == shown.attributes
