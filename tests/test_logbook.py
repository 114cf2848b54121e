"""Logbook lines for the bus events."""

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.const import DOMAIN
from custom_components.mango_office.logbook import async_describe_events


@pytest.fixture
def describe(hass: HomeAssistant) -> Callable[[str, dict[str, Any]], dict[str, str]]:
    """Return how the logbook would describe one event."""
    describers: dict[str, Callable[[Event], dict[str, str]]] = {}
    async_describe_events(
        hass, lambda domain, event_type, fn: describers.__setitem__(event_type, fn)
    )
    assert set(describers) == {
        "mango_office_call",
        "mango_office_record",
        "mango_office_ivr",
        "mango_office_route_result",
    }
    return lambda event_type, data: describers[event_type](
        Event(event_type, {"extension": "101", **data})
    )


@pytest.mark.parametrize(
    ("event_type", "data", "message"),
    [
        (
            "mango_office_call",
            {
                "event_type": "incoming",
                "caller_number": "+74951234567",
                "caller_name": "Ivan",
            },
            "incoming call from Ivan (+74951234567)",
        ),
        (
            "mango_office_call",
            {"event_type": "outgoing", "callee_number": "+79161234567"},
            "calling +79161234567",
        ),
        (
            "mango_office_call",
            {
                "event_type": "answered",
                "caller_number": "+7495",
                "callee_number": "101",
            },
            "call between +7495 and 101 answered",
        ),
        (
            "mango_office_call",
            {"event_type": "missed"},
            "missed a call from an unknown number",
        ),
        (
            "mango_office_call",
            {"event_type": "ended", "caller_name": "Ivan", "callee_number": "101"},
            "call between Ivan and 101 ended",
        ),
        ("mango_office_call", {"event_type": None, "state": "on_hold"}, "call on hold"),
        ("mango_office_record", {"event_type": "available"}, "recording available"),
        (
            "mango_office_record",
            {"event_type": None, "status": "processing"},
            "recording processing",
        ),
        (
            "mango_office_ivr",
            {"event_type": "appeared", "caller_number": "+74951234567"},
            "call from +74951234567 waiting in the IVR",
        ),
        (
            "mango_office_route_result",
            {"event_type": "success", "to": "102"},
            "call routed to 102",
        ),
        (
            "mango_office_route_result",
            {"event_type": "failure", "to": "102", "result": 1},
            "routing a call to 102 failed (result 1)",
        ),
    ],
)
def test_describe(
    describe: Callable[[str, dict[str, Any]], dict[str, str]],
    event_type: str,
    data: dict[str, Any],
    message: str,
) -> None:
    """Each event reads as a short sentence under the extension's name."""
    assert describe(event_type, data) == {"name": "Extension 101", "message": message}


async def test_named_after_the_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Lines carry the device's name: translated, or the one the user gave it."""
    describers: dict[str, Callable[[Event], dict[str, str]]] = {}
    async_describe_events(
        hass, lambda domain, event_type, fn: describers.__setitem__(event_type, fn)
    )
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, init_integration.unique_id), init_integration.entry_id
    )
    assert device is not None
    event = Event("mango_office_call", {"device_id": device.id, "event_type": "missed"})

    assert describers["mango_office_call"](event)["name"] == "Extension 101"
    device_registry.async_update_device(device.id, name_by_user="Front desk")
    assert describers["mango_office_call"](event)["name"] == "Front desk"
