"""The integration's own words in the server's language: media titles, to-do items, log rows.

They live in the "exceptions" part of strings.json, the part whose keys an
integration names freely. The Media panel, the to-do list and the activity
log do not say whose browser asks, so they read as the server is set up.
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import translation
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .history import HistoryCall
from .phonebook import display_number

type Words = Callable[..., str]
"""A message by key, filled in with the values given."""

_MESSAGE: Final = "component." + DOMAIN + ".exceptions.{}.message"
# A day as the server's language writes dates (numbers only: no month names to translate).
DATE_FORMAT: Final = "%Y-%m-%d"
DATE_FORMATS: Final = {"ru": "%d.%m.%Y"}


async def async_load_words(hass: HomeAssistant) -> Words:
    """The messages in the server's language, loaded if need be."""
    return _words(
        await translation.async_get_translations(
            hass, hass.config.language, "exceptions", {DOMAIN}
        )
    )


@callback
def cached_words(hass: HomeAssistant) -> Words:
    """As async_load_words, without waiting.

    Home Assistant loads a new language of the server only for what asks for
    it: until the integration's strings in it are loaded (asked for here),
    its words are English.
    """
    strings = translation.async_get_cached_translations(
        hass, hass.config.language, "exceptions", DOMAIN
    )
    if not strings:
        hass.async_create_background_task(
            translation.async_load_integrations(hass, {DOMAIN}),
            f"{DOMAIN} strings in {hass.config.language}",
        )
        strings = translation.async_get_cached_translations(
            hass, "en", "exceptions", DOMAIN
        )
    return _words(strings)


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


def day_text(day: date, language: str) -> str:
    """A day as the server's language writes it: "2026-12-03", "03.12.2026"."""
    return day.strftime(DATE_FORMATS.get(language.partition("-")[0], DATE_FORMAT))


def moment_text(moment: datetime, language: str) -> str:
    """The local time, "14:02"; with its day before it when that is not today."""
    local = dt_util.as_local(moment)
    if local.date() == dt_util.now().date():
        return local.strftime("%H:%M")
    return f"{day_text(local.date(), language)} {local:%H:%M}"
