"""When an extension's entities show that its connection is lost.

A channel back within BLIP_GRACE was a blip: nothing shows, and only the
channel's debug lines tell. Past it the entities go unavailable, and the
loss is logged once at info level, and once more when the channel is back:
the retries in between are the channel's business.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Final

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import LOGGER

BLIP_GRACE: Final = 10.0


class ConnectionWatch:
    """Turns the channel's ups and downs into one loss and one return, as users see them."""

    def __init__(
        self, hass: HomeAssistant, extension: str, hide: Callable[[], bool]
    ) -> None:
        """`hide` makes the entities unavailable; it says whether they were available."""
        self._hass = hass
        self._extension = extension
        self._hide = hide
        self._later: CALLBACK_TYPE | None = None
        self._lost = False

    @callback
    def connected(self) -> None:
        """The channel is live again: a blip is forgotten, a loss ends."""
        self.cancel()
        if self._lost:
            self._lost = False
            LOGGER.info(
                "Extension %s is connected to MANGO OFFICE again", self._extension
            )

    @callback
    def disconnected(self, shown: bool) -> None:
        """The channel went; `shown`: the entities still show it connected."""
        if shown and self._later is None:
            self._later = async_call_later(
                self._hass,
                BLIP_GRACE,
                HassJob(self._lose, cancel_on_shutdown=True),
            )

    @callback
    def lost(self) -> None:
        """The channel will not come back by itself (the key was refused): show it now."""
        self.cancel()
        self._lose()

    def cancel(self) -> None:
        """Forget a loss that has not shown yet."""
        if self._later is not None:
            self._later()
            self._later = None

    @callback
    def _lose(self, _: datetime | None = None) -> None:
        self._later = None
        if self._hide():
            self._lost = True
            LOGGER.info(
                "Extension %s lost its connection to MANGO OFFICE; retrying",
                self._extension,
            )
