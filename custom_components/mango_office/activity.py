"""The activity log's row for a call once it is over: "Missed call from Ivan Petrov".

An event entity's own rows can only say its event type ("Call · Missed"):
Home Assistant's logbook shows no other attribute of it. So each call,
once its last leg ended, writes one row of its own, on the extension's
Call event entity, that names the other party.
"""

from collections.abc import Sequence
from typing import Final

from homeassistant.const import (
    ATTR_DOMAIN,
    ATTR_ENTITY_ID,
    ATTR_NAME,
    EVENT_LOGBOOK_ENTRY,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .calls import CALL_ENDED, CALL_MISSED, CallNews
from .const import ATTR_MESSAGE, CALL_EVENT_KEY, DOMAIN
from .history import HistoryCall
from .words import Words, cached_words, talk_time, who

_ENDINGS: Final = frozenset({CALL_MISSED, CALL_ENDED})


def call_is_over(news: Sequence[CallNews]) -> bool:
    """Whether this news ends the call itself, not just one of its legs."""
    return any(item.event_type in _ENDINGS and not item.repeat for item in news)


def activity_message(call: HistoryCall, words: Words, *, replayed: bool) -> str:
    """What the activity log says of a call that is over."""
    party = who(call, words)
    duration = "" if call.talk_time is None else talk_time(call.talk_time)
    if call.direction in ("in", "out"):
        message = words(
            f"activity_{call.direction}_{call.outcome}", who=party, duration=duration
        )
    else:
        message = words(
            "activity_internal",
            who=party,
            how=duration or words(f"media_outcome_{call.outcome}"),
        )
    if replayed:
        # The row is written when the service told it, maybe hours later.
        at = dt_util.as_local(call.started_at).strftime("%H:%M")
        message = words("activity_told_later", message=message, time=at)
    return message


@callback
def async_log_call(
    hass: HomeAssistant,
    call: HistoryCall,
    *,
    name: str,
    unique_id: str,
    replayed: bool,
) -> None:
    """Write the row (a logbook_entry) on the Call event entity of extension `unique_id`."""
    hass.bus.async_fire(
        EVENT_LOGBOOK_ENTRY,
        {
            ATTR_NAME: name,
            ATTR_MESSAGE: activity_message(call, cached_words(hass), replayed=replayed),
            ATTR_DOMAIN: DOMAIN,
            ATTR_ENTITY_ID: er.async_get(hass).async_get_entity_id(
                Platform.EVENT, DOMAIN, f"{unique_id}_{CALL_EVENT_KEY}"
            ),
        },
    )
