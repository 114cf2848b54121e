"""Keeps one account's requests within the service's documented rates.

The VPBX API allows 10 requests a second per account, callback 4 a second,
route and transfer one per 2 seconds, and answers HTTP 429 past them. An
action (callback, route, transfer) waits for its turn within its own rate and
the general one, or, when its turn is not near, is refused with
MangoRateLimitError saying when to try again: never a burst that the service
would refuse. The channel's own requests (connecting, draining missed events)
count towards the general rate but wait only for what the service asked
(Retry-After): they are few, except in a reconnect storm, which the channel's
backoff prevents, and a drain cut short costs more than one over the rate.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
import time
from typing import Final

from . import wire
from .errors import MangoRateLimitError

GENERAL: Final = "general"
CALLBACK: Final = "callback"
ROUTE: Final = "route"
TRANSFER: Final = "transfer"
DEFAULT_RATES: Final[Mapping[str, tuple[int, float]]] = {
    GENERAL: wire.RATE_GENERAL,
    CALLBACK: wire.RATE_CALLBACK,
    ROUTE: wire.RATE_ROUTE,
    TRANSFER: wire.RATE_TRANSFER,
}
# Longer than this, and the caller hears when to try again instead.
DEFAULT_MAX_WAIT: Final = 2.0


class Pacer:
    """The turns of one account's requests; share one between its clients."""

    def __init__(
        self,
        rates: Mapping[str, tuple[int, float]] = DEFAULT_RATES,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Pace by `rates`: for each kind of request (GENERAL for all), (requests, seconds)."""
        self._rates = dict(rates)
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        # When each kind's latest requests went (or will go), oldest first.
        self._sent: dict[str, deque[float]] = {
            kind: deque(maxlen=count) for kind, (count, _) in self._rates.items()
        }
        self._hold_until = 0.0

    def hold(self, seconds: float) -> None:
        """Send nothing for so long (the service's Retry-After)."""
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    async def turn(self, kind: str | None = None) -> None:
        """Wait for a request's turn: its own kind's, then the general one.

        A request of no kind (the channel's) waits only for a Retry-After.
        Raises MangoRateLimitError when an action would wait longer than
        max_wait.
        """
        if kind is None:
            if (wait := self._hold_until - self._clock()) > 0:
                await self._sleep(wait)
            if (general := self._sent.get(GENERAL)) is not None:
                now = self._clock()
                general.append(max(now, general[-1]) if general else now)
            return
        if kind in self._rates:
            await self._take(kind)
        if GENERAL in self._rates:
            await self._take(GENERAL)

    async def _take(self, kind: str) -> None:
        seconds = self._rates[kind][1]
        sent = self._sent[kind]
        now = self._clock()
        # In order: no request overtakes one that waits for its turn.
        at = max(now, self._hold_until, sent[-1] if sent else now)
        if len(sent) == sent.maxlen:
            at = max(at, sent[0] + seconds)
        if (wait := at - now) > self._max_wait:
            raise MangoRateLimitError(
                f"too many {kind} requests; try again in {wait:.1f} s",
                retry_after=wait,
            )
        sent.append(at)
        if wait > 0:
            await self._sleep(wait)
