"""Actions of the MANGO OFFICE integration: callback, find_contact, transfer, route, get_record and get_calls."""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType
import voluptuous as vol

from .account import MangoConfigEntry
from .api import CallState, TransferMethod
from .const import (
    ATTR_CALL_ID,
    ATTR_DEVICE_ID,
    ATTR_NAME,
    ATTR_RECORD_ID,
    ATTR_REQUEST_ID,
    ATTR_TO,
    ATTR_URL,
    DOMAIN,
)
from .coordinator import MangoCoordinator
from .helpers import action_errors
from .history import MAX_HISTORY, OUTCOMES, HistoryCall
from .phonebook import normalize_number

SERVICE_CALLBACK: Final = "callback"
SERVICE_TRANSFER: Final = "transfer"
SERVICE_ROUTE: Final = "route"
SERVICE_GET_RECORD: Final = "get_record"
SERVICE_FIND_CONTACT: Final = "find_contact"
SERVICE_GET_CALLS: Final = "get_calls"

ATTR_NUMBER: Final = "number"
ATTR_METHOD: Final = "method"
ATTR_SINCE: Final = "since"
ATTR_OUTCOME: Final = "outcome"
ATTR_LIMIT: Final = "limit"

_ENTRY_SCHEMA = vol.Schema(
    {
        vol.Exclusive(ATTR_DEVICE_ID, "extension"): cv.string,
        vol.Exclusive(ATTR_CONFIG_ENTRY_ID, "extension"): cv.string,
    }
)
CALLBACK_SCHEMA = _ENTRY_SCHEMA.extend({vol.Required(ATTR_NUMBER): cv.string})
TRANSFER_SCHEMA = _ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_TO): cv.string,
        vol.Optional(ATTR_CALL_ID): cv.string,
        vol.Optional(ATTR_METHOD, default=TransferMethod.BLIND): vol.Coerce(
            TransferMethod
        ),
    }
)
ROUTE_SCHEMA = _ENTRY_SCHEMA.extend(
    {vol.Required(ATTR_CALL_ID): cv.string, vol.Required(ATTR_TO): cv.string}
)
GET_RECORD_SCHEMA = _ENTRY_SCHEMA.extend({vol.Required(ATTR_RECORD_ID): cv.string})
GET_CALLS_SCHEMA = _ENTRY_SCHEMA.extend(
    {
        vol.Optional(ATTR_SINCE): cv.datetime,
        vol.Optional(ATTR_OUTCOME): vol.All(cv.ensure_list, [vol.In(OUTCOMES)]),
        vol.Optional(ATTR_LIMIT, default=20): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_HISTORY)
        ),
    }
)


def loaded_coordinators(hass: HomeAssistant) -> list[MangoCoordinator]:
    """Every extension of every account that is set up."""
    entries: list[MangoConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return [
        coordinator
        for entry in entries
        for coordinator in entry.runtime_data.coordinators.values()
    ]


def _coordinator(hass: HomeAssistant, call: ServiceCall) -> MangoCoordinator:
    """Return the extension an action is for: its device, else the only one meant.

    A config entry id names an account, or the 0.1 entry an extension was
    migrated from (which keeps meaning that extension).
    """
    coordinators = loaded_coordinators(hass)
    if (device_id := call.data.get(ATTR_DEVICE_ID)) is not None:
        if named := [c for c in coordinators if c.device_id == device_id]:
            return named[0]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device_id": device_id},
        )
    if (entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID)) is not None:
        if former := [c for c in coordinators if c.former_entry_id == entry_id]:
            return former[0]
        # Not found or not loaded: Home Assistant's own errors say so.
        async_get_config_entry(hass, DOMAIN, entry_id)
        coordinators = [c for c in coordinators if c.config_entry.entry_id == entry_id]
    if len(coordinators) == 1:
        return coordinators[0]
    if not coordinators:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_extension"
        )
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="extension_needed",
        translation_placeholders={
            "extensions": ", ".join(sorted(c.extension for c in coordinators))
        },
    )


def resolve_number(coordinator: MangoCoordinator, text: str) -> str:
    """Turn what the user said into a number: a number in any usual form, or a phonebook name."""
    if (number := normalize_number(text)) is not None:
        return number
    matches = coordinator.data.phonebook.numbers_named(text)
    if len(matches) == 1:
        return next(iter(matches))
    if not matches:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_number",
            translation_placeholders={"number": text},
        )
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="ambiguous_name",
        translation_placeholders={
            "name": text,
            "matches": _describe_matches(matches),
        },
    )


def _describe_matches(matches: Mapping[str, str]) -> str:
    """List the entries a name matched, so the user can pick one.

    A name given to several numbers ("Ivan Petrov" mobile and office) is
    told apart by its number: saying the name again would not help.
    """
    counts = Counter(matches.values())
    return ", ".join(
        sorted(
            name if counts[name] == 1 else f"{name} ({number})"
            for number, name in matches.items()
        )
    )


@dataclass(frozen=True, slots=True)
class PlacedCallback:
    """A callback the service accepted."""

    call_id: str | None
    number: str
    name: str | None
    """The number's name in the phonebook."""


async def async_place_callback(
    coordinator: MangoCoordinator, text: str
) -> PlacedCallback:
    """Ring the extension's phone, then connect it to a number or a phonebook name.

    The action and the voice intent both call this, so both send the same request.
    """
    number = resolve_number(coordinator, text)
    async with action_errors(coordinator.hass, coordinator.config_entry):
        call_id = await coordinator.client.callback(coordinator.extension, number)
    return PlacedCallback(call_id, number, coordinator.data.phonebook.name_of(number))


async def _async_callback(call: ServiceCall) -> ServiceResponse:
    """Ring the extension's phone, then connect it to the number."""
    placed = await async_place_callback(
        _coordinator(call.hass, call), call.data[ATTR_NUMBER]
    )
    return {
        ATTR_CALL_ID: placed.call_id,
        ATTR_NUMBER: placed.number,
        ATTR_NAME: placed.name,
    }


async def _async_find_contact(call: ServiceCall) -> ServiceResponse:
    """Who a number or name is in the phonebook: every match, and no match is no error.

    So a blueprint can ask before it calls, and answer without an error in the log.
    """
    coordinator = _coordinator(call.hass, call)
    text = call.data[ATTR_NUMBER]
    if (number := normalize_number(text)) is not None:
        matches = {number: coordinator.data.phonebook.name_of(number)}
    else:
        matches = dict(coordinator.data.phonebook.numbers_named(text))
    return {
        "matches": [
            {ATTR_NUMBER: number, ATTR_NAME: name} for number, name in matches.items()
        ]
    }


async def _async_transfer(call: ServiceCall) -> None:
    """Hand a call over, by default the extension's current conversation."""
    coordinator = _coordinator(call.hass, call)
    to = resolve_number(coordinator, call.data[ATTR_TO])
    if (call_id := call.data.get(ATTR_CALL_ID)) is None:
        current = coordinator.data.calls.current_call
        if current is None or current.state not in (
            CallState.CONNECTED,
            CallState.ON_HOLD,
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_active_call",
                translation_placeholders={"extension": coordinator.extension},
            )
        call_id = current.call_id
    async with action_errors(coordinator.hass, coordinator.config_entry):
        await coordinator.client.transfer(
            call_id, to, call.data[ATTR_METHOD], initiator=coordinator.extension
        )


async def _async_route(call: ServiceCall) -> ServiceResponse:
    """Send a call waiting in the IVR to an employee; the outcome comes as a route result."""
    coordinator = _coordinator(call.hass, call)
    to = resolve_number(coordinator, call.data[ATTR_TO])
    if to.startswith("+"):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="route_needs_extension",
            translation_placeholders={"to": call.data[ATTR_TO]},
        )
    async with action_errors(coordinator.hass, coordinator.config_entry):
        request_id = await coordinator.client.route(call.data[ATTR_CALL_ID], to)
    return {ATTR_REQUEST_ID: request_id}


async def _async_get_record(call: ServiceCall) -> ServiceResponse:
    """Return the link to a call's recording."""
    coordinator = _coordinator(call.hass, call)
    async with action_errors(coordinator.hass, coordinator.config_entry):
        url = await coordinator.client.get_record_url(call.data[ATTR_RECORD_ID])
    return {ATTR_URL: url}


async def _async_get_calls(call: ServiceCall) -> ServiceResponse:
    """Return the calls of one extension, or of every one, the latest first."""
    hass = call.hass
    if ATTR_DEVICE_ID in call.data or ATTR_CONFIG_ENTRY_ID in call.data:
        coordinators = [_coordinator(hass, call)]
    else:
        coordinators = loaded_coordinators(hass)
    since = call.data.get(ATTR_SINCE)
    if since is not None and since.tzinfo is None:
        # A time without a zone is the installation's.
        since = since.replace(tzinfo=dt_util.get_default_time_zone())
    return calls_response(
        coordinators, since, call.data.get(ATTR_OUTCOME), call.data[ATTR_LIMIT]
    )


def calls_response(
    coordinators: Iterable[MangoCoordinator],
    since: datetime | None,
    outcomes: Collection[str] | None,
    limit: int,
) -> JsonObjectType:
    """The calls of some extensions that pass the filters, the latest first."""
    calls = sorted(
        (
            (coordinator.extension, item)
            for coordinator in coordinators
            # Of the same second, the one heard of last comes first.
            for item in coordinator.records.history.latest_first()
            if (since is None or item.started_at >= since)
            and (outcomes is None or item.outcome in outcomes)
        ),
        key=lambda pair: pair[1].started_at,
        reverse=True,
    )
    return {
        "calls": [
            history_call_data(extension, item) for extension, item in calls[:limit]
        ]
    }


def history_call_data(extension: str, call: HistoryCall) -> dict[str, Any]:
    """One call of the history as response data (a recording's link: get_record)."""
    return {
        "extension": extension,
        "entry_id": call.entry_id,
        "direction": call.direction,
        "number": call.number,
        "name": call.name,
        "started_at": call.started_at.isoformat(),
        "answered_at": None
        if call.answered_at is None
        else call.answered_at.isoformat(),
        "ended_at": None if call.ended_at is None else call.ended_at.isoformat(),
        "talk_time": call.talk_time,
        "outcome": call.outcome,
        "transfers": list(call.transfers),
        "recordings": [
            {
                ATTR_RECORD_ID: recording.record_id,
                "duration": recording.duration,
                "ready": recording.ready,
            }
            for recording in call.recordings
        ],
    }


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CALLBACK,
        _async_callback,
        schema=CALLBACK_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_FIND_CONTACT,
        _async_find_contact,
        schema=CALLBACK_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_TRANSFER, _async_transfer, schema=TRANSFER_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ROUTE,
        _async_route,
        schema=ROUTE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_RECORD,
        _async_get_record,
        schema=GET_RECORD_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_CALLS,
        _async_get_calls,
        schema=GET_CALLS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
