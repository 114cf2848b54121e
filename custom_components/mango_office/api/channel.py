"""The push channel of one extension: a websocket plus the missed-events store behind it."""

import asyncio
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import logging
import random
import struct
import time
from typing import Any, Final

import aiohttp

from .client import (
    DEFAULT_MISSED_EVENTS_LIMIT,
    REQUEST_TIMEOUT,
    MangoClient,
    MissedEventsBatch,
)
from .errors import (
    MangoApiError,
    MangoAuthError,
    MangoConnectionError,
    MangoError,
    MangoProtocolError,
)
from .fields import decode_json
from .models import (
    CallEvent,
    IvrEvent,
    PushEvent,
    RecordEvent,
    RouteResultEvent,
    SummaryEvent,
    parse_message,
)
from .redact import redact_message

_LOGGER = logging.getLogger(__name__)

RETRY_MINIMUM: Final = 1.0
# Back within a minute of the service, and no more than two tries a minute
# once an outage has lasted (see retry_delay).
RETRY_MAXIMUM: Final = 60.0
# A websocket quiet for this long gets a ping; quiet for twice as long, it is
# taken for dead. 2 x 20 s stays inside the minute the vendor allows.
PING_AFTER: Final = 20.0
# How long close() waits for the service to finish the close handshake (and
# so for the frames it sent before it), and for a register request in flight
# (whose batch of missed events the service hands out only once); a service
# that hangs longer is cut short.
CLOSE_TIMEOUT: Final = 5.0
REGISTER_GRACE: Final = 1.0
# Enough message ids to cover the overlap of a reconnect many times over.
RECENT_MESSAGES: Final = 4096
# Missed events: how many batches one drain takes at most (a million
# events at the default LIMIT), and how often it lets Home Assistant run.
MAX_MISSED_BATCHES: Final = 10_000
YIELD_EVERY: Final = 100
# Live frames kept while the missed events cannot be taken (a drain failed).
MAX_HELD_FRAMES: Final = 10_000
# Raw frames kept for diagnostics, and how much of each.
RECENT_FRAMES: Final = 20
RECENT_FRAME_LENGTH: Final = 2000

_CLOSE_NORMAL: Final = struct.pack("!H", aiohttp.WSCloseCode.OK)

type EventCallback = Callable[[PushEvent, bool], None]
type StateCallback = Callable[[ChannelState], None]


class ChannelState(StrEnum):
    """Where the channel stands."""

    CONNECTING = "connecting"
    """Opening the websocket, registering, and taking the missed events."""
    CONNECTED = "connected"
    """Live: every missed event is delivered, new ones arrive as they happen."""
    DISCONNECTED = "disconnected"
    """Lost, and trying again."""
    AUTH_FAILED = "auth_failed"
    """The token was rejected; the channel has given up."""
    CLOSED = "closed"


class SkipReason(StrEnum):
    """Why a message was not delivered."""

    NOT_JSON = "not_json"
    MALFORMED = "malformed"
    UNKNOWN_KIND = "unknown_kind"


@dataclass(slots=True)
class ChannelStats:
    """What the channel has seen, for diagnostics."""

    frames_received: int = 0
    delivered: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    duplicates_dropped: int = 0
    stale_dropped: int = 0
    handler_errors: int = 0
    reconnects: int = 0
    unexpected_errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    recent_frames: deque[tuple[float, str | bytes]] = field(
        default_factory=lambda: deque(maxlen=RECENT_FRAMES)
    )


class MangoChannel:
    """Delivers every push message of one extension, once and in order.

    ``connect`` opens the websocket and registers the extension on it;
    ``run`` delivers the events the service stored while nobody listened
    (with ``replayed=True``), then the live ones, and reconnects with
    backoff whenever the connection drops or anything else goes wrong.
    Messages that arrive both as missed and live are delivered once, and a
    call event older than one already delivered for that call is dropped.
    ``close`` ends the websocket with a close handshake, delivering every
    frame the service sent before it, then unregisters.
    """

    def __init__(
        self,
        client: MangoClient,
        extension: str,
        *,
        on_event: EventCallback,
        on_state: StateCallback | None = None,
        missed_events_limit: int = DEFAULT_MISSED_EVENTS_LIMIT,
        retry_minimum: float = RETRY_MINIMUM,
        retry_maximum: float = RETRY_MAXIMUM,
        ping_after: float = PING_AFTER,
        last_seqs: Mapping[str, int] | None = None,
        auth_confirm_after: float = MangoAuthError.confirm_after,
    ) -> None:
        """Prepare the channel; nothing is sent before connect or run.

        ``last_seqs`` carries the latest seq of each call delivered before a
        restart, so that an older event of those calls is still dropped.
        ``auth_confirm_after`` is how long a key refused while running gets
        before a second refusal ends the channel (state AUTH_FAILED).
        """
        self.client = client
        self.extension = extension
        self.state = ChannelState.DISCONNECTED
        self.stats = ChannelStats()
        self._on_event = on_event
        self._on_state = on_state
        self._missed_events_limit = missed_events_limit
        self._retry_minimum = retry_minimum
        self._retry_maximum = retry_maximum
        self._ping_after = ping_after
        self._auth_confirm_after = auth_confirm_after
        self._websocket: aiohttp.ClientWebSocketResponse | None = None
        self._channel_url: str | None = None
        self._first_batch: MissedEventsBatch | None = None
        self._registered = False
        # What close() may wait for rather than cut short.
        self._listening = False
        self._registering = False
        self._closing = asyncio.Event()
        self._closed = asyncio.Event()
        # Ends a backoff early: the channel closing, or the service back.
        self._wake = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        # The task in connect_or_provision(), which close() stops as it stops run().
        self._connecting_task: asyncio.Task[Any] | None = None
        # The watchdog of the websocket: set _dead when it stopped answering.
        self._watchdog: asyncio.TimerHandle | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._dead = False
        self._activity = 0
        self._delivered: OrderedDict[Hashable, None] = OrderedDict()
        self._last_seq: OrderedDict[str, int] = OrderedDict(last_seqs or {})
        self._last_message: OrderedDict[str, Hashable] = OrderedDict()
        self._warned_about_bad_message = False
        self._held: list[str | bytes] = []
        """Live frames that came while a drain failed, for the next connection."""

    def __repr__(self) -> str:
        """Name the extension and the state."""
        return f"{type(self).__name__}(extension={self.extension!r}, state={self.state.value!r})"

    async def connect(self) -> None:
        """Open a websocket and register the extension on it.

        Raises MangoAuthError when the token is rejected, another MangoError
        when the service cannot be used now.
        """
        self._set_state(ChannelState.CONNECTING)
        # A few of the account's channels at a time, each request in its turn.
        async with self.client.pacer.connecting():
            url = await self.client.get_channel(self.extension)
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    websocket = await self.client.session.ws_connect(
                        url, autoping=False, heartbeat=None
                    )
            except (TimeoutError, aiohttp.ClientError) as err:
                raise MangoConnectionError(
                    f"websocket failed: {type(err).__name__}"
                ) from err
            try:
                batch = await self._register(url)
            except BaseException:
                await websocket.close()
                raise
        self._websocket = websocket
        self._channel_url = url
        self._first_batch = batch
        self._registered = True

    async def connect_or_provision(self) -> None:
        """Connect; an extension the service refuses is provisioned, for run() to connect.

        The service refuses an extension nobody provisioned, or one its
        administrator removed. Raises MangoApiError when it refuses to
        provision it too, another MangoError when it cannot be used now.
        """
        self._connecting_task = asyncio.current_task()
        try:
            await self.connect()
        except MangoApiError:
            await self.client.create_user(self.extension)
        finally:
            self._connecting_task = None

    async def run(self) -> None:
        """Deliver events until close(), reconnecting whenever the connection drops.

        Returns when closed, or when the token is rejected twice, the second
        time at least ``auth_confirm_after`` seconds after the first (state
        AUTH_FAILED).
        Nothing else ends it: an unexpected error is logged (the first one
        with its traceback) and handled like a lost connection.
        """
        self._run_task = asyncio.current_task()
        attempt = 0
        # A refused key while running is taken for bad only when refused again
        # later: the VPBX API blocks a key for minutes after invalid requests.
        confirming = False
        try:
            while not self._closing.is_set():
                # What the service asked to wait (Retry-After), at least.
                asked = 0.0
                try:
                    if self._websocket is None:
                        await self.connect()
                        # Through after a failure: the service is back for
                        # the account's other channels too.
                        if attempt:
                            self.client.pacer.back()
                    attempt = 0
                    confirming = False
                    await self._serve()
                except MangoAuthError as err:
                    _LOGGER.debug("Channel of extension %s: %s", self.extension, err)
                    self._record_error(err)
                    await self._close_websocket()
                    if confirming:
                        # The service has ended the session along with the token;
                        # close() has nothing to unregister, and no token to do it with.
                        self._registered = False
                        self._set_state(ChannelState.AUTH_FAILED)
                        return
                    confirming = True
                    asked = self._auth_confirm_after
                except MangoError as err:
                    self._record_error(err)
                    if isinstance(err, MangoConnectionError):
                        asked = err.retry_after or 0.0
                    _LOGGER.debug(
                        "Channel of extension %s stopped: %s", self.extension, err
                    )
                except Exception as err:  # noqa: BLE001 - nothing may end delivery; logged below
                    # Backoff grows with every such error, connected or not,
                    # so that a bug that strikes on every message cannot spin.
                    attempt = self._unexpected(err)
                # What the service sent before it saw the close is delivered
                # on the next connection, not lost with this one.
                await self._hold_what_arrived()
                await self._close_websocket()
                if self._closing.is_set():
                    break
                self._set_state(ChannelState.DISCONNECTED)
                await self._back_off(attempt, asked)
                attempt += 1
                if self._closing.is_set():
                    break
                self.stats.reconnects += 1
        except asyncio.CancelledError:
            # close() cancels run() to cut a request or a wait short; that ends
            # run() with a return, as documented, and leaves the caller's task
            # going. Any other cancellation goes on.
            task = asyncio.current_task()
            if not self._closing.is_set() or task is None or task.uncancel() > 0:
                raise
        finally:
            self._run_task = None
            await self._close_websocket()

    async def _back_off(self, attempt: int, asked: float) -> None:
        """Wait before the next try, at least what the service asked (in full)."""
        delay = max(self.retry_delay(attempt), asked)
        self._wake.clear()
        # The first of the account's channels through wakes the others.
        await self.client.pacer.backoff(delay, self._wake, early=not asked)

    def _unexpected(self, err: Exception) -> int:
        """Log an error nobody foresaw (the first with its traceback); return how many so far."""
        self._record_error(err)
        self.stats.unexpected_errors += 1
        _LOGGER.log(
            logging.ERROR if self.stats.unexpected_errors == 1 else logging.DEBUG,
            "Unexpected error in the channel of extension %s; reconnecting",
            self.extension,
            exc_info=err,
        )
        return self.stats.unexpected_errors

    async def _serve(self) -> None:
        """Drain the missed events, then deliver the live ones until the end."""
        # Frames that came live while the last drain failed are older than
        # what the service kept since it lost the websocket.
        self._deliver_held()
        try:
            await self._deliver_missed_events()
        except Exception:
            await self._hold_what_arrived()
            raise
        if not self._closing.is_set():
            self._set_state(ChannelState.CONNECTED)
        await self._listen()

    def retry_delay(self, attempt: int) -> float:
        """How long to wait before the attempt-th retry (from 0)."""
        # Equal jitter: many clients dropped at once come back spread out,
        # yet none tries more often than every half of the ceiling.
        # Capped: 2**1024 is past a float, which a long outage would reach.
        ceiling = min(self._retry_maximum, self._retry_minimum * 2 ** min(attempt, 64))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy

    async def close(self) -> None:
        """Close the websocket, then unregister, so the service keeps events as missed.

        Every frame the service sent before it answered the close handshake
        is delivered first. Idempotent, and leaves nothing running.
        """
        if self._closing.is_set():
            await self._closed.wait()
            return
        self._closing.set()
        self._wake.set()
        try:
            if (
                task := self._run_task or self._connecting_task
            ) is not None and task is not asyncio.current_task():
                await self._stop(task)
            await self._close_websocket()
            # Frames held back for after a drain that never came: late, but
            # better than lost.
            self._deliver_held()
            if self._registered:
                self._registered = False
                try:
                    await self.client.unregister(self.extension)
                except MangoError as err:
                    _LOGGER.debug(
                        "Unregistering extension %s failed: %s", self.extension, err
                    )
            self._set_state(ChannelState.CLOSED)
        finally:
            self._closed.set()

    async def _stop(self, task: asyncio.Task[None]) -> None:
        """Let run() end on its own where cutting it short would lose messages."""
        websocket = self._websocket
        wait = 0.0
        if self._listening and websocket is not None and not websocket.closed:
            try:
                # Sent as a frame so that run() goes on reading (and
                # delivering) until the service answers the handshake;
                # aiohttp's close() would read and discard those frames.
                await websocket.send_frame(_CLOSE_NORMAL, aiohttp.WSMsgType.CLOSE)
                wait = CLOSE_TIMEOUT
            except aiohttp.ClientError, ConnectionError:
                pass
        elif self._registering:
            wait = REGISTER_GRACE
        if wait:
            await asyncio.wait({task}, timeout=wait)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})

    async def _register(self, url: str, *, more: bool = False) -> MissedEventsBatch:
        self._registering = True
        try:
            return await self.client.register(
                self.extension, url, limit=self._missed_events_limit, more=more
            )
        finally:
            self._registering = False

    async def _deliver_missed_events(self) -> None:
        batch, self._first_batch = self._first_batch, None
        batches = 0
        while batch is not None:
            delivered = self.stats.delivered
            for number, message in enumerate(batch.messages, start=1):
                self._deliver(message, replayed=True)
                if not number % YIELD_EVERY:
                    # A batch far past LIMIT must not hold up Home Assistant.
                    await asyncio.sleep(0)
            batches += 1
            if (
                not batch.more
                or self._channel_url is None
                or self._closing.is_set()
                # A service that hands out nothing new, or never stops,
                # must not keep the extension offline.
                or self.stats.delivered == delivered
                or batches >= MAX_MISSED_BATCHES
            ):
                return
            batch = await self._register(self._channel_url, more=True)

    async def _hold_what_arrived(self) -> None:
        """Take the frames a websocket already holds, through a close handshake."""
        websocket = self._websocket
        if websocket is None or websocket.closed:
            return
        try:
            await websocket.send_frame(_CLOSE_NORMAL, aiohttp.WSMsgType.CLOSE)
            while len(self._held) < MAX_HELD_FRAMES:
                message = await websocket.receive(timeout=CLOSE_TIMEOUT)
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self._held.append(message.data)
                elif message.type is not aiohttp.WSMsgType.PING:
                    return
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as err:
            _LOGGER.debug(
                "Extension %s: the websocket ended its handshake badly: %s",
                self.extension,
                err,
            )

    def _deliver_held(self) -> None:
        held, self._held = self._held, []
        for frame in held:
            self._deliver_frame(frame)

    async def _listen(self) -> None:
        websocket = self._websocket
        assert websocket is not None
        self._listening = True
        self._dead = False
        # One timer per quiet period, not one per message.
        self._watchdog = asyncio.get_running_loop().call_later(
            self._ping_after, self._watch, websocket, self._activity, False
        )
        try:
            if self._closing.is_set():
                # close() came while registering: hand over what the service
                # sent since, through the handshake.
                await websocket.send_frame(_CLOSE_NORMAL, aiohttp.WSMsgType.CLOSE)
            while True:
                message = await websocket.receive()
                self._activity += 1
                match message.type:
                    case aiohttp.WSMsgType.TEXT | aiohttp.WSMsgType.BINARY:
                        self._deliver_frame(message.data)
                    case aiohttp.WSMsgType.PING:
                        await websocket.pong(message.data)
                    case aiohttp.WSMsgType.PONG:
                        pass
                    case _ if self._closing.is_set():
                        return  # the close handshake is done
                    case _:
                        raise MangoConnectionError(
                            f"websocket closed ({message.type.name})"
                        )
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._dead and task is not None and task.uncancel() == 0:
                raise MangoConnectionError("websocket stopped answering") from None
            raise
        except (aiohttp.ClientError, ConnectionError) as err:
            raise MangoConnectionError(
                f"websocket failed: {type(err).__name__}"
            ) from err
        finally:
            self._listening = False
            self._stop_watchdog()

    def _watch(
        self,
        websocket: aiohttp.ClientWebSocketResponse,
        activity: int,
        pinged: bool,
    ) -> None:
        """Ping a quiet websocket; after a second quiet period, take it for dead."""
        loop = asyncio.get_running_loop()
        if self._activity != activity:
            pinged = False
        elif not pinged:
            pinged = True
            self._ping_task = loop.create_task(self._ping(websocket))
        else:
            self._dead = True
            if self._run_task is not None:
                self._run_task.cancel()
            return
        self._watchdog = loop.call_later(
            self._ping_after, self._watch, websocket, self._activity, pinged
        )

    async def _ping(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await websocket.ping()
        except (aiohttp.ClientError, ConnectionError) as err:
            _LOGGER.debug("Ping of extension %s failed: %s", self.extension, err)

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None

    def _deliver_frame(self, frame: str | bytes) -> None:
        stats = self.stats
        stats.frames_received += 1
        stats.recent_frames.append((time.time(), frame[:RECENT_FRAME_LENGTH]))
        try:
            message = decode_json(frame)
        except MangoProtocolError:
            self._skip(SkipReason.NOT_JSON, "a frame that is not JSON", frame)
            return
        self._deliver(message, replayed=False)

    def _deliver(self, message: object, *, replayed: bool) -> None:
        try:
            event = parse_message(message)
        except MangoProtocolError as err:
            self._skip(SkipReason.MALFORMED, str(err), message)
            return
        if event is None:
            self._skip(SkipReason.UNKNOWN_KIND, "a message of an unknown kind", message)
            return
        if not self._is_new(event):
            return
        self.stats.delivered += 1
        try:
            self._on_event(event, replayed)
        except Exception:
            # A bug in a handler must not cost the connection.
            self.stats.handler_errors += 1
            _LOGGER.exception(
                "Error handling a %s of extension %s",
                type(event).__name__,
                self.extension,
            )

    def _skip(self, reason: SkipReason, detail: str, message: object) -> None:
        self.stats.skipped[reason] += 1
        # One warning tells the user; a misbehaving service would otherwise
        # fill the log with one line a frame.
        if not self._warned_about_bad_message:
            self._warned_about_bad_message = True
            _LOGGER.warning(
                "Skipped a message for extension %s: %s (further ones are logged at debug level)",
                self.extension,
                detail,
            )
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(
                "Skipped message for extension %s (%s): %s",
                self.extension,
                detail,
                repr(redact_message(message))[:500],
            )

    def _is_new(self, event: PushEvent) -> bool:
        """Whether the event is neither a repeat nor older than what was delivered."""
        key: Hashable
        match event:
            case CallEvent(call_id=call_id, seq=int() as seq):
                last_seq = self._last_seq.get(call_id)
                if last_seq is not None and seq <= last_seq:
                    if seq == last_seq:
                        self.stats.duplicates_dropped += 1
                    else:
                        self.stats.stale_dropped += 1
                    return False
                _remember(self._last_seq, call_id, seq)
                return True
            case CallEvent(call_id=call_id):
                # Without seq only a repeat of the call's previous message
                # tells a duplicate: a call may well talk again after a hold.
                key = (event.state, event.timestamp, event.disconnect_reason)
                if self._last_message.get(call_id) == key:
                    self.stats.duplicates_dropped += 1
                    return False
                _remember(self._last_message, call_id, key)
                return True
            case RecordEvent():
                key = ("record", event.record_id, event.status)
            case IvrEvent():
                key = ("ivr", event.call_id, event.status)
            case RouteResultEvent():
                key = ("route_result", event.request_id)
            case SummaryEvent():
                key = ("summary", event.entry_id)
        if key in self._delivered:
            self.stats.duplicates_dropped += 1
            return False
        _remember(self._delivered, key, None)
        return True

    def _record_error(self, err: BaseException) -> None:
        self.stats.last_error = f"{type(err).__name__}: {err}"[:500]
        self.stats.last_error_at = datetime.now(UTC)

    async def _close_websocket(self) -> None:
        websocket, self._websocket = self._websocket, None
        self._channel_url = None
        if websocket is not None:
            await websocket.close()

    def _set_state(self, state: ChannelState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                # As with events: a bug in a handler must not cost the connection.
                self.stats.handler_errors += 1
                _LOGGER.exception(
                    "Error handling state %s of extension %s", state, self.extension
                )


def _remember[K, V](memory: OrderedDict[K, V], key: K, value: V) -> None:
    """Keep a key as the newest, forgetting the oldest past RECENT_MESSAGES."""
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > RECENT_MESSAGES:
        memory.popitem(last=False)
