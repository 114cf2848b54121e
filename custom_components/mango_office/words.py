"""The integration's own words in the server's language: media titles, to-do items, log rows.

They live in the "exceptions" part of strings.json, the part whose keys an
integration names freely. The Media panel, the to-do list and the activity
log do not say whose browser asks, so they read as the server is set up.
"""

from collections.abc import Callable
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import translation

from .const import DOMAIN
from .history import HistoryCall
from .phonebook import display_number

type Words = Callable[..., str]
"""A message by key, filled in with the values given."""

_MESSAGE: Final = "component." + DOMAIN + ".exceptions.{}.message"


async def async_load_words(hass: HomeAssistant) -> Words:
    """The messages in the server's language, loaded if need be."""
    return _words(
        await translation.async_get_translations(
            hass, hass.config.language, "exceptions", {DOMAIN}
        )
    )


@callback
def cached_words(hass: HomeAssistant) -> Words:
    """As async_load_words, without waiting: English until a new language is loaded."""
    return _words(
        translation.async_get_cached_translations(
            hass, hass.config.language, "exceptions", DOMAIN
        )
        or translation.async_get_cached_translations(hass, "en", "exceptions", DOMAIN)
    )


def _words(strings: dict[str, str]) -> Words:
    return lambda key, **values: strings[_MESSAGE.format(key)].format(**values)


def who(call: HistoryCall, words: Words) -> str:
    """The other party of a call: the phonebook's name, else the number."""
    if call.name is not None:
        return call.name
    if call.number is not None:
        return display_number(call.number)
    return words("media_hidden_number")


def talk_time(seconds: int) -> str:
    """E.g. "3:25", or "1:02:03" past an hour."""
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"
