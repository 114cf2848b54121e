"""The actions of MANGO OFFICE, run against the simulator: callback, transfer, route, get_record."""

import asyncio
from collections.abc import Awaitable, Callable
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import ANY

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigSubentry
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID, CONF_TOKEN
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
import voluptuous as vol

from custom_components.mango_office import services
from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import (
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_FORMER_ENTRY_ID,
    CONF_PHONEBOOK,
    DOMAIN,
    EVENT_CALL,
    EVENT_IVR,
    EVENT_RECORD,
    EVENT_ROUTE_RESULT,
)
from custom_components.mango_office.coordinator import MangoCoordinator
from custom_components.mango_office.history import OUTCOMES
from mango_simulator import MangoSimulator

from .conftest import (
    CALLER,
    CALLER_NAME,
    EXTENSION,
    TOKEN,
    extension_of,
    extension_subentry,
    wait_for_state,
)
from .helpers import push_call

INTEGRATION = Path(services.__file__).parent
CALL_STATE = "sensor.extension_101_call_state"
ROUTE_RESULT = "event.mango_office_account_route_result"
MOBILE = "+79161234567"

SCHEMAS: dict[str, vol.Schema] = {
    services.SERVICE_CALLBACK: services.CALLBACK_SCHEMA,
    services.SERVICE_FIND_CONTACT: services.CALLBACK_SCHEMA,
    services.SERVICE_TRANSFER: services.TRANSFER_SCHEMA,
    services.SERVICE_ROUTE: services.ROUTE_SCHEMA,
    services.SERVICE_GET_RECORD: services.GET_RECORD_SCHEMA,
    services.SERVICE_GET_CALLS: services.GET_CALLS_SCHEMA,
}


def _translations(name: str) -> dict[str, Any]:
    path = INTEGRATION / name
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _placeholders(message: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", message))


def assert_translated(
    err: HomeAssistantError, key: str, placeholders: dict[str, str] | None = None
) -> None:
    """Check an error's translation key and placeholders, and that its message uses exactly those."""
    assert err.translation_domain == DOMAIN
    assert err.translation_key == key
    assert (err.translation_placeholders or {}) == (placeholders or {})
    for name in ("strings.json", "translations/ru.json"):
        message = _translations(name)["exceptions"][key]["message"]
        assert _placeholders(message) == set(placeholders or {}), name


async def wait_until(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Let the event loop run until a condition holds, or fail after some seconds."""
    async with asyncio.timeout(seconds):
        # Polling: the conditions read state that has no hook to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def first(events: list[Event], **wanted: Any) -> Event | None:
    """The first captured event whose data has these values."""
    return next(
        (
            event
            for event in events
            if all(event.data.get(key) == value for key, value in wanted.items())
        ),
        None,
    )


async def wait_for_event(
    events: list[Event], seconds: float = 5.0, **wanted: Any
) -> Event:
    """Wait until a captured event has these values, and return it."""
    await wait_until(lambda: first(events, **wanted) is not None, seconds)
    event = first(events, **wanted)
    assert event is not None
    return event


async def set_phonebook(
    hass: HomeAssistant, entry: MockConfigEntry, phonebook: dict[str, str]
) -> None:
    """Give the entry a new phonebook, as the options flow does."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PHONEBOOK: phonebook}
    )
    await hass.async_block_till_done()


async def start_talking(hass: HomeAssistant, simulator: MangoSimulator) -> str:
    """Have extension 101 answer a call that lasts until it is transferred; return its call id."""
    simulator.start_scenario(
        "incoming_answered", extension=EXTENSION, talk_seconds=None, record=False
    )
    await wait_for_state(hass, CALL_STATE, "talking")
    [call_id] = simulator.active_calls(EXTENSION)
    state = hass.states.get(CALL_STATE)
    assert state is not None
    assert state.attributes["call_id"] == call_id
    return call_id


async def add_second_entry(
    hass: HomeAssistant, simulator: MangoSimulator
) -> MangoCoordinator:
    """Add extension 102 to the account of 101, as "Add extension" does."""
    [entry] = hass.config_entries.async_entries(DOMAIN)
    hass.config_entries.async_add_subentry(
        entry, ConfigSubentry(**extension_subentry("102"))
    )
    await simulator.wait_registered("102")
    await wait_until(lambda: extension_of(entry, "102").connected)
    await hass.async_block_till_done()
    return extension_of(entry, "102")


# -- callback ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("8 (916) 123-45-67", MOBILE),
        ("+7 916 123 45 67", MOBILE),
        ("9161234567", MOBILE),
        ("8.916.123.45.67", MOBILE),
        ("0079161234567", MOBILE),
        ("102", "102"),
        ("Ivan", CALLER),
        ("ivan petrov", CALLER),
        ("  IVAN  ", CALLER),
    ],
)
async def test_callback(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    number: str,
    expected: str,
) -> None:
    """Any usual way of writing a number, or a phonebook name, rings 101 and dials the number."""
    calls = async_capture_events(hass, EVENT_CALL)

    response = await hass.services.async_call(
        DOMAIN,
        services.SERVICE_CALLBACK,
        {"number": number},
        blocking=True,
        return_response=True,
    )

    request = simulator.requests_to("callback")[-1]
    assert request.method == "POST"
    assert request.token == TOKEN
    assert request.params == {
        "COMMAND_ID": ANY,
        "EXTENSION": EXTENSION,
        "DESTINATION_NUMBER": expected,
    }
    assert response is not None
    assert response["number"] == expected
    call_id = response["call_id"]
    assert isinstance(call_id, str)
    assert call_id
    # The call id is the one the extension's calls then come with.
    event = await wait_for_event(calls, call_id=call_id, event_type="outgoing")
    assert event.data["callee_number"] == expected


async def test_callback_without_response(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The response is optional: a script may just make the call."""
    response = await hass.services.async_call(
        DOMAIN, services.SERVICE_CALLBACK, {"number": MOBILE}, blocking=True
    )

    assert response is None
    assert simulator.requests_to("callback")[-1].params["DESTINATION_NUMBER"] == MOBILE


async def test_callback_unknown_name(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Text that is neither a number nor a name in the phonebook is refused before any request."""
    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_CALLBACK, {"number": "Maria"}, blocking=True
        )

    assert_translated(exc_info.value, "unknown_number", {"number": "Maria"})
    assert simulator.requests_to("callback") == []


async def test_callback_ambiguous_name(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A first name two entries share is refused; the whole name still works."""
    await set_phonebook(
        hass, init_integration, {CALLER: CALLER_NAME, MOBILE: "Ivan Sidorov"}
    )

    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_CALLBACK, {"number": "Ivan"}, blocking=True
        )

    assert_translated(
        exc_info.value,
        "ambiguous_name",
        {"name": "Ivan", "matches": "Ivan Petrov, Ivan Sidorov"},
    )
    assert simulator.requests_to("callback") == []

    response = await hass.services.async_call(
        DOMAIN,
        services.SERVICE_CALLBACK,
        {"number": "Ivan Sidorov"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["number"] == MOBILE
    assert simulator.requests_to("callback")[-1].params["DESTINATION_NUMBER"] == MOBILE


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("Ivan", [(CALLER, CALLER_NAME), (MOBILE, "Ivan Sidorov")]),
        ("Sidorov", [(MOBILE, "Ivan Sidorov")]),
        ("8 (495) 123-45-67", [(CALLER, CALLER_NAME)]),
        ("+7 999 000-00-00", [("+79990000000", None)]),
        ("Boris", []),
    ],
    ids=["several", "one", "a known number", "an unknown number", "none"],
)
async def test_find_contact(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    text: str,
    matches: list[tuple[str, str | None]],
) -> None:
    """find_contact answers every match as callback would find it, calls nobody, raises nothing."""
    await set_phonebook(
        hass, init_integration, {CALLER: CALLER_NAME, MOBILE: "Ivan Sidorov"}
    )

    response = await hass.services.async_call(
        DOMAIN,
        services.SERVICE_FIND_CONTACT,
        {"number": text},
        blocking=True,
        return_response=True,
    )

    assert response == {
        "matches": [{"number": number, "name": name} for number, name in matches]
    }
    assert simulator.requests_to("callback") == []


async def test_callback_same_name_twice(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Two numbers under one name are told apart by their numbers, the only way to pick one."""
    await set_phonebook(
        hass,
        init_integration,
        {CALLER: CALLER_NAME, MOBILE: CALLER_NAME, "103": "Ivanov Olga"},
    )

    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_CALLBACK, {"number": "Ivan"}, blocking=True
        )

    assert_translated(
        exc_info.value,
        "ambiguous_name",
        {
            "name": "Ivan",
            "matches": f"Ivan Petrov ({CALLER}), Ivan Petrov ({MOBILE})",
        },
    )
    assert simulator.requests_to("callback") == []


# -- transfer ----------------------------------------------------------------


async def test_transfer_current_call(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Without call_id, the extension's current conversation is transferred, blind by default."""
    call_id = await start_talking(hass, simulator)

    response = await hass.services.async_call(
        DOMAIN, services.SERVICE_TRANSFER, {"to": "102"}, blocking=True
    )

    assert response is None
    request = simulator.requests_to("transfer")[-1]
    assert request.method == "POST"
    assert request.params == {
        "COMMAND_ID": ANY,
        "CALL_ID": call_id,
        "TO_NUMBER": "102",
        "METHOD": "blind",
        "INITIATOR": EXTENSION,
    }
    # The call leaves extension 101.
    await wait_for_state(hass, CALL_STATE, "idle")


async def test_transfer_consultative_by_name(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A consultative transfer goes out as METHOD "hold"; the target may be a phonebook name."""
    await set_phonebook(hass, init_integration, {CALLER: CALLER_NAME, "103": "Olga"})
    call_id = await start_talking(hass, simulator)

    await hass.services.async_call(
        DOMAIN,
        services.SERVICE_TRANSFER,
        {"to": "olga", "method": "consultative"},
        blocking=True,
    )

    assert simulator.requests_to("transfer")[-1].params == {
        "COMMAND_ID": ANY,
        "CALL_ID": call_id,
        "TO_NUMBER": "103",
        "METHOD": "hold",
        "INITIATOR": EXTENSION,
    }
    await wait_for_state(hass, CALL_STATE, "idle")


async def test_transfer_call_on_hold(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call on hold is the current conversation too."""
    simulator.start_scenario(
        "hold_and_resume", extension=EXTENSION, hold_seconds=60.0, talk_seconds=0.0
    )
    await wait_for_state(hass, CALL_STATE, "on_hold")
    [call_id] = simulator.active_calls(EXTENSION)

    await hass.services.async_call(
        DOMAIN,
        services.SERVICE_TRANSFER,
        {"to": "8 916 123-45-67"},
        blocking=True,
    )

    assert simulator.requests_to("transfer")[-1].params == {
        "COMMAND_ID": ANY,
        "CALL_ID": call_id,
        "TO_NUMBER": MOBILE,
        "METHOD": "blind",
        "INITIATOR": EXTENSION,
    }
    await wait_for_state(hass, CALL_STATE, "idle")


async def test_transfer_named_call(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An explicit call_id is used as it is, whatever the extension is doing."""
    call_id = await start_talking(hass, simulator)

    await hass.services.async_call(
        DOMAIN,
        services.SERVICE_TRANSFER,
        {"to": "102", "call_id": call_id, "method": "blind"},
        blocking=True,
    )

    assert simulator.requests_to("transfer")[-1].params == {
        "COMMAND_ID": ANY,
        "CALL_ID": call_id,
        "TO_NUMBER": "102",
        "METHOD": "blind",
        "INITIATOR": EXTENSION,
    }


async def test_transfer_without_a_call(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """With nothing going on and no call_id there is nothing to transfer."""
    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_TRANSFER, {"to": "102"}, blocking=True
        )

    assert_translated(exc_info.value, "no_active_call", {"extension": EXTENSION})
    assert simulator.requests_to("transfer") == []


async def test_transfer_while_ringing(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call that only rings is no conversation to transfer."""
    await push_call(simulator, "ringing-1", 1, "APPEARED")
    await wait_for_state(hass, CALL_STATE, "ringing")

    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_TRANSFER, {"to": "102"}, blocking=True
        )

    assert_translated(exc_info.value, "no_active_call", {"extension": EXTENSION})
    assert simulator.requests_to("transfer") == []


async def test_transfer_of_an_ended_call(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The service's refusal names its result code (112: the call is not active)."""
    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_TRANSFER,
            {"to": "102", "call_id": "gone"},
            blocking=True,
        )

    assert not isinstance(exc_info.value, ServiceValidationError)
    assert_translated(
        exc_info.value, "api_error", {"code": "112", "message": "Call not found"}
    )


async def test_transfer_method_is_checked(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Only blind and consultative are methods."""
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_TRANSFER,
            {"to": "102", "call_id": "x", "method": "hold"},
            blocking=True,
        )
    assert simulator.requests_to("transfer") == []


# -- route -------------------------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_route(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call waiting in the IVR is routed; the result arrives as a bus event and on the event entity.

    The route-result entity is disabled by default (only call routers need
    it); here it is enabled, as such a user would.
    """
    ivr = async_capture_events(hass, EVENT_IVR)
    results = async_capture_events(hass, EVENT_ROUTE_RESULT)
    await simulator.incoming_via_ivr()
    call_id = (await wait_for_event(ivr, event_type="appeared")).data["call_id"]

    response = await hass.services.async_call(
        DOMAIN,
        services.SERVICE_ROUTE,
        {"call_id": call_id, "to": "102"},
        blocking=True,
        return_response=True,
    )

    request = simulator.requests_to("route/async")[-1]
    assert request.method == "POST"
    assert request.params == {"COMMAND_ID": ANY, "CALL_ID": call_id, "TO_NUMBER": "102"}
    assert response is not None
    assert set(response) == {"request_id"}
    request_id = response["request_id"]
    assert isinstance(request_id, str)
    assert request_id

    event = await wait_for_event(results, request_id=request_id)
    device_id = extension_of(init_integration).device_id
    assert event.data == {
        "config_entry_id": init_integration.entry_id,
        "device_id": device_id,
        "extension": EXTENSION,
        "event_type": "success",
        "replayed": False,
        "request_id": request_id,
        "call_id": call_id,
        "to": "102",
        "result": 0,
        "message": "OK",
        "time": event.data["time"],
    }
    await wait_until(
        lambda: (
            (state := hass.states.get(ROUTE_RESULT)) is not None
            and state.attributes.get("request_id") == request_id
        )
    )
    state = hass.states.get(ROUTE_RESULT)
    assert state is not None
    assert state.attributes["event_type"] == "success"
    assert state.attributes["to"] == "102"
    assert state.attributes["call_id"] == call_id
    assert state.attributes["replayed"] is False


async def test_actions_past_the_rate_say_when_to_try_again(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Route allows one request per 2 s: the second waits its turn, the third is told when to retry."""
    ids = await simulator.incoming_via_ivr()

    def route() -> Awaitable[Any]:
        return hass.services.async_call(
            DOMAIN,
            services.SERVICE_ROUTE,
            {"call_id": ids["call_id"], "to": "102"},
            blocking=True,
            return_response=True,
        )

    outcomes = await asyncio.gather(route(), route(), route(), return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, HomeAssistantError)]
    assert len(refused) == 1
    assert refused[0].translation_key == "rate_limited"
    assert 1 <= int(refused[0].translation_placeholders["seconds"]) <= 4
    assert "try again in" in str(refused[0])
    # Two went out, never a burst the service refuses.
    assert len(simulator.requests_to("route/async")) == 2


async def test_route_by_name(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The employee may be named by their phonebook name."""
    await set_phonebook(
        hass, init_integration, {CALLER: CALLER_NAME, "102": "Maria Ivanova"}
    )
    ids = await simulator.incoming_via_ivr()

    response = await hass.services.async_call(
        DOMAIN,
        services.SERVICE_ROUTE,
        {"call_id": ids["call_id"], "to": "Maria"},
        blocking=True,
        return_response=True,
    )

    assert response is not None
    assert simulator.requests_to("route/async")[-1].params == {
        "COMMAND_ID": ANY,
        "CALL_ID": ids["call_id"],
        "TO_NUMBER": "102",
    }


@pytest.mark.parametrize("to", ["+7 916 123-45-67", "89161234567", "Ivan"])
async def test_route_needs_extension(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    to: str,
) -> None:
    """A phone number (written out, or behind a name) is no extension to route to."""
    ids = await simulator.incoming_via_ivr()

    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_ROUTE,
            {"call_id": ids["call_id"], "to": to},
            blocking=True,
            return_response=True,
        )

    assert_translated(exc_info.value, "route_needs_extension", {"to": to})
    assert simulator.requests_to("route/async") == []


# -- get_record --------------------------------------------------------------


async def test_get_record(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The record_id of a recording event gives the recording's link."""
    records = async_capture_events(hass, EVENT_RECORD)
    await simulator.incoming_answered(EXTENSION)
    event = await wait_for_event(records, event_type="available")
    record_id = event.data["record_id"]

    response = await hass.services.async_call(
        DOMAIN,
        services.SERVICE_GET_RECORD,
        {"record_id": record_id},
        blocking=True,
        return_response=True,
    )

    request = simulator.requests_to("record")[-1]
    assert request.method == "GET"
    assert request.params == {"RECORD_ID": record_id}
    assert response == {"url": f"{simulator.url}/records/{record_id}.mp3"}


async def test_get_record_unknown(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An unknown recording is the service's refusal, with its result code."""
    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_GET_RECORD,
            {"record_id": "no-such-record"},
            blocking=True,
            return_response=True,
        )

    err = exc_info.value
    assert not isinstance(err, ServiceValidationError)
    assert_translated(err, "api_error", {"code": "113", "message": "Record not found"})
    assert "113" in str(err)
    assert simulator.requests_to("record")[-1].params == {"RECORD_ID": "no-such-record"}


# -- failures of the service -------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", "v1/callback failed on the server: HTTP 500"),
        ("malformed", "v1/callback answered HTTP 200 without a JSON object"),
    ],
)
async def test_cannot_connect(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    mode: str,
    error: str,
) -> None:
    """A service that fails or answers nonsense is a connection error, not the user's."""
    simulator.fail_next("callback", mode=mode)

    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_CALLBACK, {"number": MOBILE}, blocking=True
        )

    assert not isinstance(exc_info.value, ServiceValidationError)
    assert_translated(exc_info.value, "cannot_connect", {"error": error})
    assert init_integration.state is ConfigEntryState.LOADED
    # The next request goes through again.
    await hass.services.async_call(
        DOMAIN, services.SERVICE_CALLBACK, {"number": MOBILE}, blocking=True
    )


async def test_auth_failed(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A rejected token fails the action and asks the user for a new one."""
    simulator.revoke_token(TOKEN)

    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_GET_RECORD,
            {"record_id": "any"},
            blocking=True,
            return_response=True,
        )

    assert not isinstance(exc_info.value, ServiceValidationError)
    assert_translated(exc_info.value, "auth_failed")
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [
        (flow["handler"], flow["context"]["source"], flow["context"]["entry_id"])
        for flow in flows
    ] == [(DOMAIN, SOURCE_REAUTH, init_integration.entry_id)]


async def test_auth_failed_starts_reauth_itself(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The action starts the reauth flow itself, while the push channel still looks fine."""
    # The key stops working, but the open websocket stays up.
    simulator._tokens.discard(TOKEN)

    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_CALLBACK, {"number": MOBILE}, blocking=True
        )

    assert_translated(exc_info.value, "auth_failed")
    await hass.async_block_till_done()
    assert simulator.is_registered(EXTENSION)
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == SOURCE_REAUTH
    assert flow["context"]["entry_id"] == init_integration.entry_id


# -- which extension ---------------------------------------------------------


async def test_two_extensions_need_a_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """With two extensions the action must be told which one (by device); then it uses that one."""
    second = await add_second_entry(hass, simulator)

    for data in ({}, {ATTR_CONFIG_ENTRY_ID: init_integration.entry_id}):
        with pytest.raises(ServiceValidationError) as exc_info:
            await hass.services.async_call(
                DOMAIN,
                services.SERVICE_CALLBACK,
                {"number": MOBILE, **data},
                blocking=True,
            )
        # Our message, which names the extensions and the field to fill in.
        assert exc_info.value.translation_domain == DOMAIN
        assert exc_info.value.translation_key == "extension_needed"
        assert exc_info.value.translation_placeholders == {"extensions": "101, 102"}
    assert simulator.requests_to("callback") == []

    first = extension_of(init_integration)
    for device_id, extension in ((second.device_id, "102"), (first.device_id, "101")):
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_CALLBACK,
            {ATTR_DEVICE_ID: device_id, "number": "Ivan"},
            blocking=True,
        )
        # One phonebook for the account.
        assert simulator.requests_to("callback")[-1].params == {
            "COMMAND_ID": ANY,
            "EXTENSION": extension,
            "DESTINATION_NUMBER": CALLER,
        }

    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN,
            services.SERVICE_CALLBACK,
            {ATTR_DEVICE_ID: "no-such-device", "number": MOBILE},
            blocking=True,
        )
    assert exc_info.value.translation_key == "unknown_device"


async def test_a_migrated_entry_id_still_names_its_extension(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """The id of a 0.1 entry keeps meaning the extension it stood for."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[
            extension_subentry("101"),
            {
                **extension_subentry("102"),
                "data": {CONF_EXTENSION: "102", CONF_FORMER_ENTRY_ID: "old-102"},
            },
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await simulator.wait_registered("102")

    await hass.services.async_call(
        DOMAIN,
        services.SERVICE_CALLBACK,
        {ATTR_CONFIG_ENTRY_ID: "old-102", "number": MOBILE},
        blocking=True,
    )
    assert simulator.requests_to("callback")[-1].params == {
        "COMMAND_ID": ANY,
        "EXTENSION": "102",
        "DESTINATION_NUMBER": MOBILE,
    }


async def test_bad_config_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """An unknown entry, another integration's, or one not loaded is refused with HA's own keys."""
    other = MockConfigEntry(domain="other_domain", title="Other")
    other.add_to_hass(hass)
    unloaded = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id="another account",
        data={CONF_TOKEN: "other-key-7731", CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry("103")],
    )
    unloaded.add_to_hass(hass)

    for entry_id, key in (
        ("no-such-entry", "service_config_entry_not_found"),
        (other.entry_id, "service_config_entry_wrong_domain"),
        (unloaded.entry_id, "service_config_entry_not_loaded"),
    ):
        with pytest.raises(ServiceValidationError) as exc_info:
            await hass.services.async_call(
                DOMAIN,
                services.SERVICE_GET_RECORD,
                {ATTR_CONFIG_ENTRY_ID: entry_id, "record_id": "x"},
                blocking=True,
                return_response=True,
            )
        assert exc_info.value.translation_domain == "homeassistant"
        assert exc_info.value.translation_key == key
    assert simulator.requests_to("record") == []


async def test_no_entry_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Once the only extension is unloaded, the actions say so instead of failing oddly."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)

    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            DOMAIN, services.SERVICE_TRANSFER, {"to": "102"}, blocking=True
        )

    assert exc_info.value.translation_domain == DOMAIN
    assert exc_info.value.translation_key == "no_extension"


# -- descriptions ------------------------------------------------------------


async def test_services_registered(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Exactly the six actions are registered, those with answers as such."""
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == set(SCHEMAS)
    assert {
        name: registered[name].supports_response.value for name in sorted(registered)
    } == {
        "callback": "optional",
        "find_contact": "only",
        "get_calls": "only",
        "get_record": "only",
        "route": "optional",
        "transfer": "none",
    }
    for name, schema in SCHEMAS.items():
        assert registered[name].schema is schema


def test_services_yaml_matches_schemas() -> None:
    """services.yaml describes every field of every schema, required and default alike.

    The extension is required in the editor: with two it must be named
    (get_calls without one lists every extension's calls).
    """
    described = load_yaml_dict(str(INTEGRATION / "services.yaml"))
    assert set(described) == set(SCHEMAS)
    for name, schema in SCHEMAS.items():
        fields = described[name]["fields"]
        keys = {str(key): key for key in schema.schema}
        assert set(fields) == set(keys), name
        for field, key in keys.items():
            spec = fields[field]
            # The editor always asks for the extension; YAML may leave it out
            # while only one is set up.
            required = isinstance(key, vol.Required) or (
                field == ATTR_DEVICE_ID and name != services.SERVICE_GET_CALLS
            )
            assert bool(spec.get("required")) == required, (name, field)
            assert "selector" in spec, (name, field)
            if key.default is not vol.UNDEFINED:
                assert str(spec.get("default")) == str(key.default()), (name, field)
            else:
                assert "default" not in spec, (name, field)
    # The method selector offers exactly what the schema takes.
    options = described["transfer"]["fields"]["method"]["selector"]["select"]["options"]
    assert options == [method.value for method in services.TransferMethod]
    outcomes = described["get_calls"]["fields"]["outcome"]["selector"]["select"]
    assert outcomes["options"] == OUTCOMES


@pytest.mark.parametrize("name", ["strings.json", "translations/ru.json"])
def test_services_translated(name: str) -> None:
    """Every action and field has a name and a description, every method option a label."""
    described = load_yaml_dict(str(INTEGRATION / "services.yaml"))
    translations = _translations(name)
    assert set(translations["services"]) == set(described)
    for service, spec in described.items():
        text = translations["services"][service]
        assert text["name"].strip(), (service, name)
        assert text["description"].strip(), (service, name)
        assert set(text["fields"]) == set(spec["fields"]), (service, name)
        for field, field_text in text["fields"].items():
            assert field_text["name"].strip(), (service, field, name)
            assert field_text["description"].strip(), (service, field, name)
    labels = translations["selector"]["transfer_method"]["options"]
    assert set(labels) == {method.value for method in services.TransferMethod}
    assert all(label.strip() for label in labels.values())


def test_translations_agree() -> None:
    """en.json is strings.json; ru.json has the same keys and placeholders, in Russian."""
    strings = _translations("strings.json")
    english = _translations("translations/en.json")
    russian = _translations("translations/ru.json")
    assert english == strings
    for section in ("exceptions", "services", "selector"):
        assert _shape(russian[section]) == _shape(strings[section]), section
    for key, text in strings["exceptions"].items():
        assert _placeholders(russian["exceptions"][key]["message"]) == _placeholders(
            text["message"]
        ), key
    for service, text in russian["services"].items():
        assert re.search("[\u0400-\u04ff]", text["name"]), service
        assert text["name"] != strings["services"][service]["name"], service


def _shape(value: Any) -> Any:
    """The keys of nested dicts, without the texts."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return None
