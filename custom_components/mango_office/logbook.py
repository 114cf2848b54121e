"""Describe MANGO OFFICE events in the logbook."""

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import (
    ATTR_CALLEE_NAME,
    ATTR_CALLEE_NUMBER,
    ATTR_CALLER_NAME,
    ATTR_CALLER_NUMBER,
    ATTR_DEVICE_ID,
    ATTR_EVENT_TYPE,
    ATTR_EXTENSION,
    ATTR_RESULT,
    ATTR_STATE,
    ATTR_STATUS,
    ATTR_TO,
    CALL_ANSWERED,
    CALL_ENDED,
    CALL_INCOMING,
    CALL_MISSED,
    CALL_OUTGOING,
    DOMAIN,
    EVENT_CALL,
    EVENT_IVR,
    EVENT_RECORD,
    EVENT_ROUTE_RESULT,
    RECORDING_AVAILABLE,
    ROUTE_SUCCESS,
)


def _who(data: Mapping[str, Any], name_key: str, number_key: str) -> str:
    name, number = data.get(name_key), data.get(number_key)
    if name and number:
        return f"{name} ({number})"
    return str(name or number or "an unknown number")


def _describe_call(data: Mapping[str, Any]) -> str:
    caller = _who(data, ATTR_CALLER_NAME, ATTR_CALLER_NUMBER)
    callee = _who(data, ATTR_CALLEE_NAME, ATTR_CALLEE_NUMBER)
    return {
        CALL_INCOMING: f"incoming call from {caller}",
        CALL_OUTGOING: f"calling {callee}",
        CALL_ANSWERED: f"call between {caller} and {callee} answered",
        CALL_MISSED: f"missed a call from {caller}",
        CALL_ENDED: f"call between {caller} and {callee} ended",
    }.get(
        data.get(ATTR_EVENT_TYPE) or "",
        f"call {str(data.get(ATTR_STATE) or '').replace('_', ' ')}".strip(),
    )


def _describe(event: Event) -> str:
    data = event.data
    if event.event_type == EVENT_CALL:
        return _describe_call(data)
    if event.event_type == EVENT_RECORD:
        if data.get(ATTR_EVENT_TYPE) == RECORDING_AVAILABLE:
            return "recording available"
        return f"recording {str(data.get(ATTR_STATUS) or 'in progress').lower()}"
    if event.event_type == EVENT_IVR:
        return f"call from {_who(data, ATTR_CALLER_NAME, ATTR_CALLER_NUMBER)} waiting in the IVR"
    if data.get(ATTR_EVENT_TYPE) == ROUTE_SUCCESS:
        return f"call routed to {data.get(ATTR_TO)}"
    return (
        f"routing a call to {data.get(ATTR_TO)} failed (result {data.get(ATTR_RESULT)})"
    )


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the bus events of MANGO OFFICE."""

    device_registry = dr.async_get(hass)

    @callback
    def async_describe(event: Event) -> dict[str, str]:
        # The device's name is translated (and may be the user's own).
        device = device_registry.async_get(event.data.get(ATTR_DEVICE_ID) or "")
        return {
            LOGBOOK_ENTRY_NAME: (device.name_by_user or device.name)
            if device and device.name
            else f"Extension {event.data.get(ATTR_EXTENSION)}",
            LOGBOOK_ENTRY_MESSAGE: _describe(event),
        }

    for event_type in (EVENT_CALL, EVENT_RECORD, EVENT_IVR, EVENT_ROUTE_RESULT):
        async_describe_event(DOMAIN, event_type, async_describe)
