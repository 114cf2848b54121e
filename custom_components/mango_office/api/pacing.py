"""Keeps one account's requests within the service's documented rates.

The VPBX API allows 10 requests a second per account, callback 4 a second,
route and transfer one per 2 seconds, and answers HTTP 429 past them. An
action (callback, route, transfer) waits for its turn within its own rate and
the general one, or, when its turn is not near, is refused with
MangoRateLimitError saying when to try again: never a burst that the service
would refuse.

An account's channels connect as one: a few at a time (MAX_CONNECTING), each
API request of a connection (users/create, channel/, the first
session/register/) waiting for its turn within the general rate, so that a
hundred extensions starting, or coming back after an outage, never send more
than 10 a second; an action goes before them. Such a request counts from
when its answer came, and until then as one in flight: the service received
it in between, so however late a request goes out or arrives, the service
never sees more than 10 in a second. A request of no kind (the set-up's
ping, a drain's further batch, unregister) goes at once but counts the same
way. The websocket is the push
server's, not a request of the API, and one follows each channel/. The first
channel through after a failure wakes the others from their backoff: the
service is back for all of them. A drain's further batches of missed events
count but wait only for what the service asked (Retry-After): a drain cut
short costs more than one over the rate.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
import time
from typing import Final

from . import wire
from .errors import MangoRateLimitError

GENERAL: Final = "general"
CALLBACK: Final = "callback"
ROUTE: Final = "route"
TRANSFER: Final = "transfer"
# The requests that connect a channel: in the general rate, never refused.
CONNECT: Final = "connect"
DEFAULT_RATES: Final[Mapping[str, tuple[int, float]]] = {
    GENERAL: wire.RATE_GENERAL,
    CALLBACK: wire.RATE_CALLBACK,
    ROUTE: wire.RATE_ROUTE,
    TRANSFER: wire.RATE_TRANSFER,
}
# Longer than this, and the caller hears when to try again instead.
DEFAULT_MAX_WAIT: Final = 2.0
# Channels of one account connecting at once: enough to keep the general rate
# busy, few enough that nothing else of the account waits behind many of them.
MAX_CONNECTING: Final = 3


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
        self._connecting = asyncio.Semaphore(MAX_CONNECTING)
        self._in_flight = 0
        self._answer = asyncio.Event()
        # What each channel backing off waits on; set when the service is back.
        self._backing_off: set[asyncio.Event] = set()

    def hold(self, seconds: float) -> None:
        """Send nothing for so long (the service's Retry-After)."""
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    async def turn(self, kind: str | None = None) -> None:
        """Wait for a request's turn: its own kind's, then the general one.

        A request of no kind (a drain's further batch, unregister) waits only
        for a Retry-After; a CONNECT request waits for its general turn,
        however long, and its sender calls answered() when it is done. Raises
        MangoRateLimitError when an action would wait longer than max_wait.
        """
        if kind == CONNECT and GENERAL in self._rates:
            await self._take_as_it_goes()
            return
        if kind is None or kind == CONNECT:
            if (wait := self._hold_until - self._clock()) > 0:
                await self._sleep(wait)
            if GENERAL in self._rates:
                # In flight until answered, so that the requests waiting their
                # turn count it: it never waits for one of its own.
                self._in_flight += 1
            return
        if kind in self._rates:
            await self._take(kind)
        if GENERAL in self._rates:
            await self._take(GENERAL)

    @asynccontextmanager
    async def connecting(self) -> AsyncIterator[None]:
        """Hold one of the account's few places for a channel connecting."""
        async with self._connecting:
            yield

    def back(self) -> None:
        """A channel got through after a failure: the others stop backing off."""
        for wake in self._backing_off:
            wake.set()

    async def backoff(
        self, seconds: float, wake: asyncio.Event, *, early: bool = True
    ) -> None:
        """Wait so long before a channel tries again, or until `wake` is set.

        The channel may set it (when it closes); so does back(), if `early`.
        """
        if early:
            self._backing_off.add(wake)
        try:
            async with asyncio.timeout(seconds):
                await wake.wait()
        except TimeoutError:
            pass
        finally:
            self._backing_off.discard(wake)

    def answered(self) -> None:
        """A CONNECT request, or one of no kind, is done (answered or not): it counts from now."""
        if (general := self._sent.get(GENERAL)) is None:
            return
        self._in_flight -= 1
        now = self._clock()
        general.append(max(now, general[-1]) if general else now)
        self._answer.set()

    async def _take_as_it_goes(self) -> None:
        """Wait until the general rate has room for one more in flight, and take it."""
        limit, seconds = self._rates[GENERAL]
        sent = self._sent[GENERAL]
        while True:
            now = self._clock()
            recent = [at for at in sent if at > now - seconds]
            if (hold := self._hold_until - now) <= 0 and len(
                recent
            ) + self._in_flight < limit:
                self._in_flight += 1
                return
            if hold > 0 or recent:
                await self._sleep(max(hold, min(recent, default=now) + seconds - now))
            else:
                self._answer.clear()
                await self._answer.wait()

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
