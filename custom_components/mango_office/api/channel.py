"""The push channel of one extension: a websocket plus the missed-events store behind it."""

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from enum import StrEnum
import json
import logging
import random
from typing import Final

import aiohttp

from .client import (
    DEFAULT_MISSED_EVENTS_LIMIT,
    REQUEST_TIMEOUT,
    MangoClient,
    MissedEventsBatch,
)
from .errors import MangoAuthError, MangoConnectionError, MangoError, MangoProtocolError
from .models import (
    CallEvent,
    IvrEvent,
    PushEvent,
    RecordEvent,
    RouteResultEvent,
    parse_message,
)

_LOGGER = logging.getLogger(__name__)

RETRY_MINIMUM: Final = 1.0
RETRY_MAXIMUM: Final = 300.0
# A websocket quiet for this long gets a ping; quiet for twice as long, it is
# taken for dead. 2 x 20 s stays inside the minute the vendor allows.
PING_AFTER: Final = 20.0
# Enough message ids to cover the overlap of a reconnect many times over.
RECENT_MESSAGES: Final = 4096

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


class MangoChannel:
    """Delivers every push message of one extension, once and in order.

    ``connect`` opens the websocket and registers the extension on it;
    ``run`` delivers the events the service stored while nobody listened
    (with ``replayed=True``), then the live ones, and reconnects with
    backoff whenever the connection drops. Messages that arrive both as
    missed and live are delivered once, and a call event older than one
    already delivered for that call is dropped.
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
    ) -> None:
        """Prepare the channel; nothing is sent before connect or run."""
        self.client = client
        self.extension = extension
        self.state = ChannelState.DISCONNECTED
        self._on_event = on_event
        self._on_state = on_state
        self._missed_events_limit = missed_events_limit
        self._retry_minimum = retry_minimum
        self._retry_maximum = retry_maximum
        self._ping_after = ping_after
        self._websocket: aiohttp.ClientWebSocketResponse | None = None
        self._channel_url: str | None = None
        self._first_batch: MissedEventsBatch | None = None
        self._registered = False
        self._closing = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._delivered: OrderedDict[Hashable, None] = OrderedDict()
        self._last_seq: OrderedDict[str, int] = OrderedDict()
        self._warned_about_bad_message = False

    def __repr__(self) -> str:
        """Name the extension and the state."""
        return f"{type(self).__name__}(extension={self.extension!r}, state={self.state.value!r})"

    async def connect(self) -> None:
        """Open a websocket and register the extension on it.

        Raises MangoAuthError when the token is rejected, another MangoError
        when the service cannot be used now.
        """
        self._set_state(ChannelState.CONNECTING)
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
            batch = await self.client.register(
                self.extension, url, limit=self._missed_events_limit
            )
        except BaseException:
            await websocket.close()
            raise
        self._websocket = websocket
        self._channel_url = url
        self._first_batch = batch
        self._registered = True

    async def run(self) -> None:
        """Deliver events until close(), reconnecting whenever the connection drops.

        Returns when closed, or when the token is rejected (state AUTH_FAILED).
        """
        self._run_task = asyncio.current_task()
        attempt = 0
        try:
            while not self._closing.is_set():
                try:
                    if self._websocket is None:
                        await self.connect()
                    attempt = 0
                    await self._deliver_missed_events()
                    self._set_state(ChannelState.CONNECTED)
                    await self._listen()
                except MangoAuthError as err:
                    _LOGGER.debug("Channel of extension %s: %s", self.extension, err)
                    await self._close_websocket()
                    # The service has ended the session along with the token;
                    # close() has nothing to unregister, and no token to do it with.
                    self._registered = False
                    self._set_state(ChannelState.AUTH_FAILED)
                    return
                except MangoError as err:
                    _LOGGER.debug(
                        "Channel of extension %s stopped: %s", self.extension, err
                    )
                await self._close_websocket()
                self._set_state(ChannelState.DISCONNECTED)
                # Full jitter: many clients dropped at once come back spread out.
                delay = random.uniform(  # noqa: S311 - jitter, not secrecy
                    0, min(self._retry_maximum, self._retry_minimum * 2**attempt)
                )
                attempt += 1
                try:
                    async with asyncio.timeout(delay):
                        await self._closing.wait()
                except TimeoutError:
                    pass
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

    async def close(self) -> None:
        """Close the websocket, then unregister, so the service keeps events as missed.

        Idempotent, and leaves nothing running.
        """
        if self._closing.is_set():
            return
        self._closing.set()
        if (task := self._run_task) is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait({task})
        await self._close_websocket()
        if self._registered:
            try:
                await self.client.unregister(self.extension)
            except MangoError as err:
                _LOGGER.debug(
                    "Unregistering extension %s failed: %s", self.extension, err
                )
        self._set_state(ChannelState.CLOSED)

    async def _deliver_missed_events(self) -> None:
        batch, self._first_batch = self._first_batch, None
        while batch is not None:
            for message in batch.messages:
                self._deliver(message, replayed=True)
            if not batch.more or self._channel_url is None:
                return
            batch = await self.client.register(
                self.extension, self._channel_url, limit=self._missed_events_limit
            )

    async def _listen(self) -> None:
        websocket = self._websocket
        assert websocket is not None
        awaiting_pong = False
        try:
            while True:
                try:
                    message = await websocket.receive(timeout=self._ping_after)
                except TimeoutError:
                    if awaiting_pong:
                        raise MangoConnectionError(
                            "websocket stopped answering"
                        ) from None
                    await websocket.ping()
                    awaiting_pong = True
                    continue
                awaiting_pong = False
                match message.type:
                    case aiohttp.WSMsgType.TEXT:
                        self._deliver_frame(message.data)
                    case aiohttp.WSMsgType.BINARY:
                        self._deliver_frame(message.data)
                    case aiohttp.WSMsgType.PING:
                        await websocket.pong(message.data)
                    case aiohttp.WSMsgType.PONG:
                        pass
                    case _:
                        raise MangoConnectionError(
                            f"websocket closed ({message.type.name})"
                        )
        except (aiohttp.ClientError, ConnectionError) as err:
            raise MangoConnectionError(
                f"websocket failed: {type(err).__name__}"
            ) from err

    def _deliver_frame(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            self._skip("a frame that is not JSON", frame)
            return
        self._deliver(message, replayed=False)

    def _deliver(self, message: object, *, replayed: bool) -> None:
        try:
            event = parse_message(message)
        except MangoProtocolError as err:
            self._skip(str(err), message)
            return
        if event is None:
            self._skip("a message of an unknown kind", message)
            return
        if not self._is_new(event):
            return
        try:
            self._on_event(event, replayed)
        except Exception:
            # A bug in a handler must not cost the connection.
            _LOGGER.exception(
                "Error handling a %s of extension %s",
                type(event).__name__,
                self.extension,
            )

    def _skip(self, reason: str, message: object) -> None:
        # One warning tells the user; a misbehaving service would otherwise
        # fill the log with one line a frame.
        if not self._warned_about_bad_message:
            self._warned_about_bad_message = True
            _LOGGER.warning(
                "Skipped a message for extension %s: %s (further ones are logged at debug level)",
                self.extension,
                reason,
            )
        _LOGGER.debug(
            "Skipped message for extension %s (%s): %.500r",
            self.extension,
            reason,
            message,
        )

    def _is_new(self, event: PushEvent) -> bool:
        """Whether the event is neither a repeat nor older than what was delivered."""
        key: Hashable
        match event:
            case CallEvent(call_id=call_id, seq=int() as seq):
                last_seq = self._last_seq.get(call_id)
                if last_seq is not None and seq <= last_seq:
                    return False
                self._last_seq[call_id] = seq
                self._last_seq.move_to_end(call_id)
                if len(self._last_seq) > RECENT_MESSAGES:
                    self._last_seq.popitem(last=False)
                return True
            case CallEvent():
                key = ("call", event.call_id, event.state, event.timestamp)
            case RecordEvent():
                key = ("record", event.record_id, event.status)
            case IvrEvent():
                key = ("ivr", event.call_id, event.status)
            case RouteResultEvent():
                key = ("route_result", event.request_id)
        if key in self._delivered:
            return False
        self._delivered[key] = None
        if len(self._delivered) > RECENT_MESSAGES:
            self._delivered.popitem(last=False)
        return True

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
            self._on_state(state)
