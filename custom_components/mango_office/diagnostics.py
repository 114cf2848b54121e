"""Diagnostics for MANGO OFFICE: what the account's extensions see, without keys or numbers.

The wire format is a reconstruction (api/wire.py), so a bug report carries
what is needed to correct it: the counters of what the channel skipped and
why, and the latest raw frames and request/answer pairs, redacted.
"""

from collections import Counter
from dataclasses import asdict
from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .account import MangoConfigEntry
from .api.redact import redact_free_text, redact_message, redact_raw
from .const import (
    ATTR_CALLEE_NUMBER,
    ATTR_CALLER_NUMBER,
    ATTR_LINE_NUMBER,
    CONF_BASE_URL,
    CONF_FORMER_ENTRY_ID,
    CONF_FORMER_UNIQUE_ID,
    CONF_PHONEBOOK,
)
from .coordinator import MangoCoordinator

PROBE: Final = (
    "From Home Assistant's configuration folder: python -m "
    "custom_components.mango_office.api.probe --extension <extension> "
    "(the README's Troubleshooting says more)"
)
TO_REDACT: Final = {
    CONF_TOKEN,
    CONF_BASE_URL,
    CONF_PHONEBOOK,
    "unique_id",
    "title",
    CONF_FORMER_ENTRY_ID,
    CONF_FORMER_UNIQUE_ID,
    "url",
    # Numbers and names of the people on the calls.
    "number",
    "extension",
    "caller",
    "callee",
    "caller_number",
    "callee_number",
    "caller_name",
    "callee_name",
    ATTR_CALLER_NUMBER,
    ATTR_CALLEE_NUMBER,
    ATTR_LINE_NUMBER,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: MangoConfigEntry
) -> dict[str, Any]:
    """Return the account, and each extension's channel, counters and calls in progress."""
    account = entry.runtime_data
    secrets = (entry.data[CONF_TOKEN],)
    return async_redact_data(
        {
            "entry": entry.as_dict(),
            # Where the wire format needs correcting, the probe brings the evidence.
            "probe": PROBE,
            "phonebook_entries": len(entry.options.get(CONF_PHONEBOOK, {})),
            "recent_requests": [
                redact_message(exchange, secrets)
                | {"response": redact_raw(exchange.get("response", ""), secrets)}
                for exchange in account.client.recent_exchanges
            ],
            "extensions": [
                _extension(coordinator, secrets)
                for coordinator in account.coordinators.values()
            ],
        },
        TO_REDACT,
    )


def _extension(
    coordinator: MangoCoordinator, secrets: tuple[str, ...]
) -> dict[str, Any]:
    channel = coordinator.channel
    calls = coordinator.data.calls
    history = coordinator.records.history
    stats = channel.stats
    return {
        "subentry_id": coordinator.subentry_id,
        "channel": {
            "state": channel.state.value,
            "connected": coordinator.connected,
            "frames_received": stats.frames_received,
            "delivered": stats.delivered,
            "skipped": dict(stats.skipped),
            "duplicates_dropped": stats.duplicates_dropped,
            "stale_dropped": stats.stale_dropped,
            "handler_errors": stats.handler_errors,
            "reconnects": stats.reconnects,
            "unexpected_errors": stats.unexpected_errors,
            "last_error": None
            if stats.last_error is None
            else redact_free_text(stats.last_error, secrets),
            "last_error_at": None
            if stats.last_error_at is None
            else stats.last_error_at.isoformat(),
            "recent_frames": [
                {
                    "time": dt_util.utc_from_timestamp(time).isoformat(),
                    "frame": redact_raw(frame, secrets),
                }
                for time, frame in stats.recent_frames
            ],
        },
        "call_state": calls.call_state,
        "calls": [asdict(call) for call in calls.calls.values()],
        "missed_calls": calls.missed_calls,
        "last_caller": asdict(calls.last_caller) if calls.last_caller else None,
        # Counts only: the history's numbers are the user's business.
        "history": {
            "calls": len(history.calls),
            "outcomes": dict(
                Counter(
                    call.outcome or "in_progress" for call in history.calls.values()
                )
            ),
            "recordings": sum(len(call.recordings) for call in history.calls.values()),
        },
        "calls_to_return": {
            "open": len(coordinator.records.calls_to_return.open_items()),
            "all": len(coordinator.records.calls_to_return.items),
        },
    }
