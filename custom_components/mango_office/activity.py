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

from .calls import CALL_ENDED, CALL_MISSED, CallNews
from .const import ATTR_MESSAGE, CALL_EVENT_KEY, DOMAIN
from .history import HistoryCall
from .words import Words, cached_words, moment_text, talk_time, who

_ENDINGS: Final = frozenset({CALL_MISSED, CALL_ENDED})


def call_is_over(news: Sequence[CallNews]) -> bool:
    """Whether this news ends the call itself, not just one of its legs."""
    return any(item.event_type in _ENDINGS and not item.repeat for item in news)


def activity_message(
    call: HistoryCall, words: Words, language: str, *, replayed: bool
) -> str:
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
        # The row is written when the service told it, maybe days later.
        at = moment_text(call.started_at, language)
        message = words("activity_told_later", message=message, time=at)
    return message


class ActivityLog:
    """Writes each call of one extension into the activity log once it is over."""

    def __init__(self, hass: HomeAssistant, name: str, unique_id: str) -> None:
        """Rows named `name`, on the Call event entity of the extension `unique_id`."""
        self._hass = hass
        self._name = name
        self._unique_id = unique_id

    @callback
    def async_log(
        self, news: Sequence[CallNews], call: HistoryCall, *, replayed: bool
    ) -> None:
        """Write the call's row (a logbook_entry) if this news ended it."""
        if not call_is_over(news):
            return
        hass = self._hass
        entry = {
            ATTR_NAME: self._name,
            ATTR_MESSAGE: activity_message(
                call, cached_words(hass), hass.config.language, replayed=replayed
            ),
            ATTR_DOMAIN: DOMAIN,
        }
        if entity_id := er.async_get(hass).async_get_entity_id(
            Platform.EVENT, DOMAIN, f"{self._unique_id}_{CALL_EVENT_KEY}"
        ):
            entry[ATTR_ENTITY_ID] = entity_id
        hass.bus.async_fire(EVENT_LOGBOOK_ENTRY, entry)
