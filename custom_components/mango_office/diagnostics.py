"""Diagnostics for MANGO OFFICE: what the extension sees, without keys or numbers."""

from dataclasses import asdict
from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant

from .const import (
    ATTR_CALLEE_NUMBER,
    ATTR_CALLER_NUMBER,
    ATTR_LINE_NUMBER,
    CONF_BASE_URL,
    CONF_PHONEBOOK,
)
from .coordinator import MangoConfigEntry

TO_REDACT: Final = {
    CONF_TOKEN,
    CONF_BASE_URL,
    CONF_PHONEBOOK,
    "unique_id",
    "url",
    # Numbers and names of the people on the calls.
    "number",
    "extension",
    "caller",
    "callee",
    ATTR_CALLER_NUMBER,
    ATTR_CALLEE_NUMBER,
    ATTR_LINE_NUMBER,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: MangoConfigEntry
) -> dict[str, Any]:
    """Return the entry, the channel's state and the calls in progress."""
    coordinator = entry.runtime_data
    data = coordinator.data
    return async_redact_data(
        {
            "entry": entry.as_dict(),
            "channel": {
                "state": coordinator.channel.state.value,
                "connected": coordinator.connected,
            },
            "phonebook_entries": len(entry.options.get(CONF_PHONEBOOK, {})),
            "call_state": data.call_state,
            "calls": [asdict(leg) for leg in data.calls.values()],
            "last_caller": asdict(data.last_caller) if data.last_caller else None,
        },
        TO_REDACT,
    )
