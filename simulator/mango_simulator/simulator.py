"""The aiohttp server: the API, the websockets, the missed store and the faults."""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
import contextlib
from dataclasses import dataclass, field
import hashlib
import hmac
import itertools
import json
import logging
from pathlib import Path
import secrets
import time
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, hdrs, web
from yarl import URL

from . import audio
from .dialect import DIALECTS, SERVER_CLIENT, VPBX, result_code, to_vpbx
from .telephony import DEFAULT_LINE, Telephony
from .wire import (
    API_PREFIX,
    CODE_CHANNEL_NOT_OPEN,
    CODE_EXTENSION_NOT_FOUND,
    CODE_INVALID_PARAMETERS,
    CODE_INVALID_TOKEN,
    CODE_NO_MORE_EVENTS,
    CODE_RECORD_NOT_FOUND,
    CODE_SERVER_ERROR,
    CODE_USER_EXISTS,
    CODE_USER_NOT_CREATED,
    PARAM_CALL_ID,
    PARAM_CHANNEL,
    PARAM_DESTINATION_NUMBER,
    PARAM_EXTENSION,
    PARAM_LIMIT,
    PARAM_METHOD,
    PARAM_RECORD_ID,
    PARAM_TO_NUMBER,
    PATH_CALLBACK,
    PATH_CHANNEL,
    PATH_PING,
    PATH_RECORD,
    PATH_REGISTER,
    PATH_ROUTE,
    PATH_ROUTE_ASYNC,
    PATH_TRANSFER,
    PATH_UNREGISTER,
    PATH_USERS_CREATE,
    ApiError,
    envelope,
)

_LOGGER = logging.getLogger(__name__)

MISSED_TTL: Final = 14 * 24 * 3600.0  # the vendor keeps missed events for 2 weeks
DEFAULT_LIMIT: Final = 100
FAULT_MODES: Final = frozenset({"500", "timeout", "malformed", "proxy403"})
# How long the server waits for a client to answer its close frame.
_WS_CLOSE_TIMEOUT: Final = 1.0
# How long a recording's link works (the vendor's links are signed and expire).
RECORD_LINK_TTL: Final = 3600.0
MALFORMED_FRAME: Final = '{"routeKey": "/call", "data": {"call_id": '
UNKNOWN_FRAME: Final = json.dumps(
    {"routeKey": "/simulator_unknown", "data": {"hello": 1}}
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One API request as the simulator received it."""

    method: str
    path: str  # e.g. "users/create": no "v1/", no trailing slash
    params: dict[str, Any]  # names as received
    token: str | None


@dataclass(eq=False)
class _Channel:
    """A websocket URL issued by channel/ to one extension; usable once."""

    channel_id: str
    extension: str
    token: str | None
    used: bool = False
    session: _Session | None = None


@dataclass(eq=False)
class _Frame:
    """A frame on its way to a websocket (kept back while websockets are stalled)."""

    extension: str
    text: str | bytes  # bytes go as a binary frame
    message: dict[str, Any] | None  # None for raw frames
    stored: bool  # already in the missed store (duplicate quirk)


@dataclass(eq=False)
class _Session:
    """One open websocket and the users registered on it."""

    ws: web.WebSocketResponse
    channel: _Channel
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: set[str] = field(default_factory=set)
    held: list[_Frame] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    closed: bool = False


@dataclass(eq=False)
class _User:
    """A provisioned user (users/create done) and their missed events."""

    extension: str
    missed: deque[tuple[float, dict[str, Any]]] = field(default_factory=deque)
    session: _Session | None = None


class _Params:
    """Request parameters: names in any case, values as int or str."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._values = {str(name).upper(): value for name, value in raw.items()}

    def text(self, name: str) -> str:
        value = self._values.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ApiError(CODE_INVALID_PARAMETERS, f"{name} is required")
        text = str(value).strip()
        if not text:
            raise ApiError(CODE_INVALID_PARAMETERS, f"{name} is required")
        return text

    def optional(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None else str(value)

    def number(self, name: str, default: int) -> int:
        if self._values.get(name) is None:
            return default
        try:
            value = int(self.text(name))
        except ValueError:
            raise ApiError(
                CODE_INVALID_PARAMETERS, f"{name} must be a number"
            ) from None
        if value < 1:
            raise ApiError(CODE_INVALID_PARAMETERS, f"{name} must be positive")
        return value


type _Handler = Callable[[web.Request, _Params], Awaitable[dict[str, Any]]]


def normalize_path(path: str) -> str:
    """Reduce "/api/v1/channel/" or "v1/channel" to the recorded form "channel"."""
    path = path.strip("/")
    for prefix in ("api/", API_PREFIX):
        path = path.removeprefix(prefix)
    return path.strip("/")


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class MangoSimulator(Telephony):
    """MANGO OFFICE's "Server-Client" API, simulated on a local aiohttp server."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("demo",),
        extensions: Iterable[str] = ("101", "102", "103"),
        step_delay: float = 0.0,
        record_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        missed_ttl: float = MISSED_TTL,
        hang_seconds: float = 120.0,
        dialect: str = SERVER_CLIENT,
        record_link_ttl: float = RECORD_LINK_TTL,
    ) -> None:
        """Configure the simulated account.

        Args:
            tokens: the integration keys the service accepts.
            extensions: the PBX's extensions (users/create accepts only these).
            step_delay: seconds between the steps of a call.
            record_delay: seconds before a recording becomes AVAILABLE.
            clock: unix time, for timestamps and the expiry of missed events.
            seed: makes ids and random choices reproducible.
            missed_ttl: how long missed events are kept.
            hang_seconds: how long a "timeout" fault hangs (at most; stop() ends it).
            dialect: "server-client" (the wire format as assumed), or "vpbx":
                frames and result codes in the VPBX API's spellings (dialect.py).
            record_link_ttl: seconds a recording's link works (by the clock).
        """
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}")
        super().__init__(
            extensions=extensions,
            step_delay=step_delay,
            record_delay=record_delay,
            clock=clock,
            seed=seed,
        )
        self._tokens = {str(token) for token in tokens}
        self._missed_ttl = missed_ttl
        self.hang_seconds = hang_seconds
        self.dialect = dialect
        self.record_link_ttl = record_link_ttl
        self._link_key = secrets.token_bytes(16)
        # Route request ids and the command ids the client sent with them.
        self._command_ids: dict[str, str] = {}
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        # Open websockets by channel id, oldest first.
        self._sessions: dict[str, _Session] = {}
        self.requests: list[RecordedRequest] = []
        self.request_times: list[float] = []
        """When each API request came (time.monotonic)."""
        self.websocket_times: list[float] = []
        """When each websocket upgrade came (time.monotonic)."""
        self._faults: dict[str, deque[str]] = {}
        # Outages by path: until when (by the clock), and the modes taken in turn.
        self._outages: dict[str, tuple[float, Iterator[str]]] = {}
        self._refuse_until = 0.0
        self._stalled = False
        self._duplicate_live = False
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._routes: dict[str, tuple[str, _Handler]] = {
            PATH_USERS_CREATE: ("POST", self._api_users_create),
            PATH_CHANNEL: ("GET", self._api_channel),
            PATH_REGISTER: ("POST", self._api_register),
            PATH_UNREGISTER: ("POST", self._api_unregister),
            PATH_PING: ("GET", self._api_ping),
            PATH_CALLBACK: ("POST", self._api_callback),
            PATH_ROUTE_ASYNC: ("POST", self._api_route_async),
            PATH_ROUTE: ("POST", self._api_route),
            PATH_RECORD: ("GET", self._api_record),
            PATH_TRANSFER: ("POST", self._api_transfer),
        }

    # -- life cycle ----------------------------------------------------------

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        routes: Iterable[web.AbstractRouteDef] = (),
    ) -> None:
        """Serve on host:port (port 0 picks a free one), with more routes if given.

        The control interface comes in that way: `routes=control.routes(sim)`.
        """
        if self._runner is not None:
            raise RuntimeError("The simulator is already running")
        self._stopping.clear()
        app = web.Application()
        app.router.add_route("*", "/api/{tail:.*}", self._handle_api)
        app.router.add_get("/ws/{channel_id}", self._handle_ws)
        app.router.add_get("/records/{name}", self._handle_record_file)
        app.add_routes(routes)
        # A short shutdown: stop() has already released every long request.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
        self._port = runner.addresses[0][1]
        _LOGGER.info(
            "MANGO OFFICE simulator on %s (API base %s)", self.url, self.base_url
        )

    async def stop(self) -> None:
        """Close every websocket and the server and end every task; idempotent."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        self._stopping.set()  # wakes scenarios and hanging requests
        await self._cancel_tasks()
        await asyncio.gather(
            *(self._close_session(session) for session in list(self._sessions.values()))
        )
        await runner.cleanup()
        _LOGGER.info("MANGO OFFICE simulator stopped")

    @property
    def url(self) -> str:
        """The server's root, e.g. http://127.0.0.1:8089."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """What a client uses as the API's base URL (the vendor's .../api)."""
        return f"{self.url}/api"

    # -- state for tests -----------------------------------------------------

    @property
    def users(self) -> set[str]:
        """The provisioned extensions."""
        return set(self._users)

    @property
    def open_websockets(self) -> int:
        """How many websockets are open."""
        return len(self._sessions)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests to one path (any spelling of it)."""
        wanted = normalize_path(path)
        return [request for request in self.requests if request.path == wanted]

    def peak_per_second(self, since: float = 0.0) -> int:
        """The most API requests in any one second from `since` on."""
        return peak_per_second([t for t in self.request_times if t >= since])

    def provision(self, extension: str) -> None:
        """Create a user as users/create does (no error if it exists).

        Raises:
            KeyError: the extension is not one of the PBX's.
        """
        extension = str(extension)
        if extension not in self._extensions:
            raise KeyError(extension)
        self._users.setdefault(extension, _User(extension))

    def save_state(self, path: Path) -> None:
        """Write the provisioned users and their missed events, for load_state()."""
        users = {
            user.extension: [[stored, message] for stored, message in user.missed]
            for user in self._users.values()
        }
        path.write_text(json.dumps({"users": users}, ensure_ascii=False))

    def load_state(self, path: Path) -> None:
        """Take back what save_state() wrote; a missing or unreadable file is no state.

        So a restarted service still hands over the events it stored while nobody
        was registered, as the vendor's does.
        """
        try:
            users = {
                str(extension): [(float(at), dict(message)) for at, message in missed]
                for extension, missed in json.loads(path.read_text())["users"].items()
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
            _LOGGER.info("No state taken from %s: %r", path, err)
            return
        for extension, missed in users.items():
            if extension in self._extensions:
                self._users.setdefault(extension, _User(extension)).missed.extend(
                    missed
                )

    def add_token(self, token: str) -> None:
        """Accept one more integration key."""
        self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        """Reject a key from now on and close the websockets opened with it."""
        self._tokens.discard(token)
        for session in list(self._sessions.values()):
            if session.channel.token == token:
                self._end_session(session)  # unregistered now, closed just after
                self._spawn(self._close_session(session, WSCloseCode.POLICY_VIOLATION))

    def is_registered(self, extension: str) -> bool:
        """Whether the user's pushes go live to a websocket."""
        user = self._users.get(str(extension))
        return user is not None and user.session is not None

    def missed(self, extension: str) -> list[dict[str, Any]]:
        """The user's stored (missed) messages, oldest first."""
        user = self._users.get(str(extension))
        if user is None:
            return []
        self._expire(user)
        return [json.loads(json.dumps(message)) for _, message in user.missed]

    async def wait_registered(self, extension: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the user is registered on a websocket."""
        await self._wait_until(lambda: self.is_registered(extension), timeout)

    async def wait_unregistered(self, extension: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the user is no longer registered."""
        await self._wait_until(lambda: not self.is_registered(extension), timeout)

    async def wait_for_request(
        self,
        path: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        """Wait until `count` requests to `path` arrived; return the last one."""
        await self._wait_until(lambda: len(self.requests_to(path)) >= count, timeout)
        return self.requests_to(path)[-1]

    @staticmethod
    async def _wait_until(condition: Callable[[], bool], seconds: float) -> None:
        async with asyncio.timeout(seconds):
            # Polling: these helpers watch any state without hooks in every path.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    # -- pushes --------------------------------------------------------------

    async def push(self, extension: str, message: dict[str, Any]) -> None:
        """Push a message: live to the registered websocket, else stored as missed."""
        await self._deliver(str(extension), message)

    async def push_raw(self, extension: str, text: str) -> None:
        """Send a raw text frame to the user's websocket (for malformed input).

        Raises:
            LookupError: the user has no open websocket.
        """
        session = self._session_of(str(extension))
        if session is None:
            raise LookupError(f"No open websocket for {extension}")
        await self._send(session, _Frame(str(extension), text, None, stored=False))

    async def push_bytes(self, extension: str, data: bytes) -> None:
        """Send a binary frame to the user's websocket (the API sends none).

        Raises:
            LookupError: the user has no open websocket.
        """
        session = self._session_of(str(extension))
        if session is None:
            raise LookupError(f"No open websocket for {extension}")
        await self._send(session, _Frame(str(extension), data, None, stored=False))

    def _session_of(self, extension: str) -> _Session | None:
        """The user's registered websocket, else the newest one issued to them."""
        user = self._users.get(extension)
        if user is not None and user.session is not None:
            return user.session
        candidates = [
            session
            for session in self._sessions.values()
            if session.channel.extension == extension and not session.closed
        ]
        return candidates[-1] if candidates else None

    async def _deliver(self, extension: str, message: dict[str, Any]) -> str:
        if self.dialect != VPBX:
            return await self._deliver_one(extension, message)
        outcome = "dropped"
        for spelt in to_vpbx(message, self._command_ids):
            outcome = await self._deliver_one(extension, spelt)
        return outcome

    async def _deliver_one(self, extension: str, message: dict[str, Any]) -> str:
        user = self._users.get(extension)
        if user is None:
            _LOGGER.info(
                "push %s dropped (user not created): %s", extension, _short(message)
            )
            return "dropped"
        session = user.session
        if session is not None:
            stored = self._duplicate_live
            if stored:
                self._store(user, message)
            frame = _Frame(extension, json.dumps(message), message, stored=stored)
            if await self._send(session, frame):
                _LOGGER.info("push %s live: %s", extension, _short(message))
                return "live"
            if stored:
                return "missed"
        self._store(user, message)
        _LOGGER.info("push %s stored as missed: %s", extension, _short(message))
        return "missed"

    async def _send(self, session: _Session, frame: _Frame) -> bool:
        """Send one frame in order; False if the websocket is gone."""
        async with session.lock:
            if session.closed:
                return False
            if self._stalled:
                session.held.append(frame)
                return True
            try:
                while session.held:
                    await _send_frame(session.ws, session.held[0])
                    session.held.pop(0)
                await _send_frame(session.ws, frame)
            except ConnectionError, RuntimeError:
                return False
            return True

    def _store(self, user: _User, message: dict[str, Any]) -> None:
        self._expire(user)
        user.missed.append((self._clock(), message))

    def _expire(self, user: _User) -> None:
        oldest = self._clock() - self._missed_ttl
        while user.missed and user.missed[0][0] < oldest:
            user.missed.popleft()

    def _ivr_recipient(self) -> str | None:
        registered = sorted(ext for ext, user in self._users.items() if user.session)
        if registered:
            return self._random.choice(registered)
        provisioned = sorted(self._users)
        return self._random.choice(provisioned) if provisioned else None

    def _record_file_url(self, record_id: str) -> str:
        return self._record_link(self.url, record_id)

    def _record_link(self, root: str, record_id: str) -> str:
        """A signed link that works for record_link_ttl, as a storage service's do."""
        expires = str(int(self._clock() + self.record_link_ttl))
        query = {"expires": expires, "signature": self._sign(record_id, expires)}
        return str(URL(f"{root}/records/{record_id}{audio.SUFFIX}").with_query(query))

    def _sign(self, record_id: str, expires: str) -> str:
        message = f"{record_id}:{expires}".encode()
        return hmac.new(self._link_key, message, hashlib.sha256).hexdigest()[:32]

    def expire_record_links(self) -> None:
        """Every recording link given so far stops working (HTTP 403); new ones work."""
        self._link_key = secrets.token_bytes(16)

    def delete_record(self, record_id: str) -> None:
        """The service no longer has a recording: no link, no file.

        Raises:
            KeyError: no such recording.
        """
        del self._records[record_id]

    # -- registration --------------------------------------------------------

    def _register(self, user: _User, session: _Session) -> None:
        if user.session is session:
            return
        self._unregister(user)
        user.session = session
        session.users.add(user.extension)
        _LOGGER.info(
            "user %s registered on websocket %s",
            user.extension,
            session.channel.channel_id,
        )

    def _unregister(self, user: _User) -> None:
        if user.session is None:
            return
        user.session.users.discard(user.extension)
        _LOGGER.info("user %s unregistered", user.extension)
        user.session = None

    def _end_session(self, session: _Session) -> None:
        """A websocket is gone: unregister its users and keep what it held back."""
        if session.closed:
            return
        session.closed = True
        self._sessions.pop(session.channel.channel_id, None)
        for extension in list(session.users):
            if (user := self._users.get(extension)) is not None:
                self._unregister(user)
        held, session.held = session.held, []
        for frame in held:
            user = self._users.get(frame.extension)
            if user is not None and frame.message is not None and not frame.stored:
                self._store(user, frame.message)

    async def _close_session(
        self, session: _Session, code: int = WSCloseCode.GOING_AWAY
    ) -> None:
        self._end_session(session)
        await session.ws.close(code=code, message=b"closed by the simulator")

    # -- faults --------------------------------------------------------------

    async def drop_websockets(self) -> None:
        """Close every websocket now; their users become unregistered."""
        await asyncio.gather(
            *(self._close_session(session) for session in list(self._sessions.values()))
        )

    def refuse_websockets(self, seconds: float) -> None:
        """Answer websocket upgrades with HTTP 503 for `seconds` (0 ends it)."""
        self._refuse_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def fail_next(self, path: str, count: int = 1, mode: str = "500") -> None:
        """Make the next `count` requests to `path` fail.

        Modes: "500" (HTTP 500, code 500), "timeout" (no answer until
        `hang_seconds` pass or stop()), "malformed" (HTTP 200, not JSON),
        "proxy403" (HTTP 403 with a proxy's HTML page, as a rate limit or a
        firewall in front of the service answers).
        """
        _check_modes([mode])
        if count < 1:
            raise ValueError("count must be positive")
        self._faults.setdefault(normalize_path(path), deque()).extend([mode] * count)

    def fail_for(
        self, path: str, seconds: float, modes: str | Iterable[str] = "500"
    ) -> None:
        """Make every request to `path` fail for `seconds` of the clock (0 ends it).

        With several modes the failing requests take them in turn (e.g.
        ["500", "timeout"]). Requests queued by fail_next fail first.
        """
        modes = [modes] if isinstance(modes, str) else list(modes)
        _check_modes(modes)
        path = normalize_path(path)
        if seconds <= 0:
            self._outages.pop(path, None)
            return
        self._outages[path] = (self._clock() + seconds, itertools.cycle(modes))

    async def outage(self, seconds: float) -> None:
        """Drop every websocket, and answer every request with HTTP 500 for `seconds`."""
        for path in self._routes:
            self.fail_for(path, seconds)
        self.refuse_websockets(seconds)
        await self.drop_websockets()

    async def send_malformed(self, extension: str) -> None:
        """Send a frame that is not JSON to the user's websocket."""
        await self.push_raw(extension, MALFORMED_FRAME)

    async def ping_websocket(self, extension: str, data: bytes) -> list[bytes]:
        """Send a PING to the user's websocket; returns the list its PONGs land in."""
        session = self._session_of(str(extension))
        if session is None:
            raise LookupError(f"No open websocket for {extension}")
        await session.ws.ping(data)
        return session.pongs

    async def send_unknown(self, extension: str) -> None:
        """Send a frame with an unknown routeKey to the user's websocket."""
        await self.push_raw(extension, UNKNOWN_FRAME)

    def replace_handler(
        self, path: str, handler: Callable[[], Awaitable[dict[str, Any]]]
    ) -> None:
        """Answer one API path with a test's own handler (for hostile answers).

        The handler returns the answer's JSON object; a "Result" in it
        replaces the envelope of success.
        """
        method = self._routes[path][0]

        async def wrapped(request: web.Request, params: _Params) -> dict[str, Any]:
            return await handler()

        self._routes[path] = (method, wrapped)

    def stall_websockets(self, stalled: bool) -> None:
        """Keep websockets open but answer no PING and send no frame.

        Frames pushed meanwhile are held back: sent when the stall ends, or
        stored as missed if the websocket closes first.
        """
        self._stalled = stalled
        if not stalled:
            for session in list(self._sessions.values()):
                if session.held:
                    self._spawn(self._flush(session))

    async def _flush(self, session: _Session) -> None:
        async with session.lock:
            try:
                while session.held and not session.closed and not self._stalled:
                    await _send_frame(session.ws, session.held[0])
                    session.held.pop(0)
            except ConnectionError, RuntimeError:
                return

    def duplicate_live_into_missed(self, enabled: bool) -> None:
        """Quirk: live pushes also stay in the missed store."""
        self._duplicate_live = enabled

    # -- HTTP: the API -------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        token = _bearer(request.headers.get("Authorization"))
        params, parse_error = await _read_params(request)
        # Outside /api/v1/ the full path is recorded, so a test sees the mistake.
        path = normalize_path(tail) if tail.startswith(API_PREFIX) else request.path
        self.requests.append(RecordedRequest(request.method, path, params, token))
        self.request_times.append(time.monotonic())
        if (fault := self._take_fault(path)) is not None:
            return await self._fault_response(request, path, fault)
        try:
            result = await self._dispatch(request, path, token, params, parse_error)
        except ApiError as error:
            body = envelope(error.code, error.message)
            status = error.http_status
        else:
            body = {**envelope(), **result}
            status = 200
        if self.dialect == VPBX:
            body["Result"]["code"] = result_code(body["Result"]["code"])
        _LOGGER.info(
            "%s %s %s -> %s %s",
            request.method,
            path,
            _short(params),
            status,
            _short(body),
        )
        return web.json_response(body, status=status)

    async def _dispatch(
        self,
        request: web.Request,
        path: str,
        token: str | None,
        params: dict[str, Any],
        parse_error: str | None,
    ) -> dict[str, Any]:
        if token is None or token not in self._tokens:
            raise ApiError(CODE_INVALID_TOKEN)
        if (route := self._routes.get(path)) is None:
            raise ApiError(CODE_INVALID_PARAMETERS, "Unknown method", status=404)
        method, handler = route
        if request.method != method:
            raise ApiError(CODE_INVALID_PARAMETERS, f"Use {method}", status=405)
        if parse_error is not None:
            raise ApiError(CODE_INVALID_PARAMETERS, parse_error)
        return await handler(request, _Params(params))

    def _take_fault(self, path: str) -> str | None:
        if modes := self._faults.get(path):
            mode = modes.popleft()
            if not modes:
                del self._faults[path]
            return mode
        if (outage := self._outages.get(path)) is None:
            return None
        until, cycle = outage
        if self._clock() >= until:
            del self._outages[path]
            return None
        return next(cycle)

    async def _fault_response(
        self, request: web.Request, path: str, mode: str
    ) -> web.Response:
        _LOGGER.info("%s %s -> fault %s", request.method, path, mode)
        if mode == "malformed":
            return web.Response(
                status=200,
                text="<html><body>Bad gateway</body></html>",
                content_type="text/html",
            )
        if mode == "proxy403":
            return web.Response(
                status=403,
                text="<html><body>Access denied: rate limited</body></html>",
                content_type="text/html",
            )
        if mode == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)
            return web.json_response(
                envelope(CODE_SERVER_ERROR, "Timed out"), status=504
            )
        return web.json_response(envelope(CODE_SERVER_ERROR), status=500)

    def _user(self, params: _Params) -> _User:
        extension = params.text(PARAM_EXTENSION)
        user = self._users.get(extension)
        if user is None:
            raise ApiError(CODE_USER_NOT_CREATED)
        return user

    async def _api_users_create(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        extension = params.text(PARAM_EXTENSION)
        if extension not in self._extensions:
            raise ApiError(CODE_EXTENSION_NOT_FOUND)
        if extension in self._users:
            raise ApiError(CODE_USER_EXISTS)
        self._users[extension] = _User(extension)
        return {}

    async def _api_channel(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        user = self._user(params)
        channel_id = secrets.token_urlsafe(16)
        token = _bearer(request.headers.get("Authorization"))
        self._channels[channel_id] = _Channel(channel_id, user.extension, token)
        return {"url": f"ws://{request.host}/ws/{channel_id}"}

    async def _api_register(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        user = self._user(params)
        # The channel is matched by its id, so any spelling of the host works.
        channel_id = URL(params.text(PARAM_CHANNEL)).path.rstrip("/").rpartition("/")[2]
        limit = params.number(PARAM_LIMIT, DEFAULT_LIMIT)
        channel = self._channels.get(channel_id)
        if (
            channel is None
            or channel.extension != user.extension
            or channel.session is None
            or channel.session.closed
        ):
            raise ApiError(CODE_CHANNEL_NOT_OPEN)
        self._register(user, channel.session)
        self._expire(user)
        events = [user.missed.popleft()[1] for _ in range(min(limit, len(user.missed)))]
        if not events:
            return {**envelope(CODE_NO_MORE_EVENTS), "events": []}
        return {"events": events}

    async def _api_unregister(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        self._unregister(self._user(params))
        return {}

    async def _api_ping(self, request: web.Request, params: _Params) -> dict[str, Any]:
        return {}

    async def _api_callback(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        user = self._user(params)
        destination = params.text(PARAM_DESTINATION_NUMBER)
        leg = self._callback_leg(user.extension, destination, line=DEFAULT_LINE)
        self._spawn(
            self._run_callback(leg, self._default_talk(), busy=False, record=False)
        )
        return {"call_id": leg.call_id}

    async def _api_route_async(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        leg, result = self._route_request(
            params.text(PARAM_CALL_ID), params.text(PARAM_TO_NUMBER)
        )
        self._remember_command(params, result)
        self._spawn(self._route_follow_up(leg, result))
        # The VPBX API answers a command with its result code alone.
        return {} if self.dialect == VPBX else {"request_id": result["request_id"]}

    def _remember_command(self, params: _Params, result: dict[str, Any]) -> None:
        if (command_id := params.optional("COMMAND_ID")) is not None:
            self._command_ids[result["request_id"]] = command_id

    async def _api_route(self, request: web.Request, params: _Params) -> dict[str, Any]:
        leg, result = self._route_request(
            params.text(PARAM_CALL_ID), params.text(PARAM_TO_NUMBER)
        )
        self._remember_command(params, result)
        self._spawn(self._route_follow_up(leg, result))
        return dict(result)

    async def _api_transfer(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        method = params.text(PARAM_METHOD).lower()
        call_id = params.text(PARAM_CALL_ID)
        to_number = params.text(PARAM_TO_NUMBER)
        self._transferable(call_id, method)  # answer 100/112 now, not later
        self._spawn(self.transfer(call_id, to_number, method))
        return {}

    async def _api_record(
        self, request: web.Request, params: _Params
    ) -> dict[str, Any]:
        record_id = params.text(PARAM_RECORD_ID)
        if record_id not in self._records:
            raise ApiError(CODE_RECORD_NOT_FOUND)  # not ready yet, or gone
        return {"url": self._record_link(f"http://{request.host}", record_id)}

    # -- HTTP: websockets and files ------------------------------------------

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        self.websocket_times.append(time.monotonic())
        if time.monotonic() < self._refuse_until:
            _LOGGER.info("websocket refused (fault)")
            return web.json_response(
                envelope(CODE_SERVER_ERROR, "Service unavailable"), status=503
            )
        channel = self._channels.get(request.match_info["channel_id"])
        if channel is None or channel.used:
            return web.json_response(
                envelope(CODE_CHANNEL_NOT_OPEN, "Unknown or used channel"), status=404
            )
        channel.used = True
        # autoping off: PINGs are answered below, unless the sockets are stalled.
        ws = web.WebSocketResponse(autoping=False, timeout=_WS_CLOSE_TIMEOUT)
        await ws.prepare(request)
        session = _Session(ws, channel)
        channel.session = session
        self._sessions[channel.channel_id] = session
        _LOGGER.info("websocket %s open for %s", channel.channel_id, channel.extension)
        try:
            async for message in ws:
                if message.type is WSMsgType.PING and not self._stalled:
                    await ws.pong(message.data)
                elif message.type is WSMsgType.PONG:
                    session.pongs.append(message.data)
        finally:
            self._end_session(session)
            _LOGGER.info("websocket %s closed", channel.channel_id)
        return ws

    async def _handle_record_file(self, request: web.Request) -> web.StreamResponse:
        """A recording's audio, by a link that has not expired; Range requests work."""
        record_id = request.match_info["name"].removesuffix(audio.SUFFIX)
        expires = request.query.get("expires", "")
        signature = request.query.get("signature", "")
        if (
            not expires.isdigit()
            or int(expires) < self._clock()
            or not hmac.compare_digest(signature, self._sign(record_id, expires))
        ):
            _LOGGER.info("recording %s: link expired or forged", record_id)
            return web.Response(status=403, text="Link expired")
        if (seconds := self._records.get(record_id)) is None:
            return web.Response(status=404, text="No such recording")
        body = audio.wav(audio.speech_like_pcm(), seconds)
        headers = {hdrs.ACCEPT_RANGES: "bytes"}
        try:
            wanted = request.http_range
        except ValueError:
            wanted = slice(len(body), None)  # unreadable: not satisfiable
        if hdrs.RANGE not in request.headers:
            return web.Response(
                body=body, content_type=audio.CONTENT_TYPE, headers=headers
            )
        start, stop, _ = wanted.indices(len(body))
        if start >= stop:
            headers[hdrs.CONTENT_RANGE] = f"bytes */{len(body)}"
            return web.Response(status=416, headers=headers)
        headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{len(body)}"
        return web.Response(
            status=206,
            body=body[start:stop],
            content_type=audio.CONTENT_TYPE,
            headers=headers,
        )


def peak_per_second(times: Iterable[float]) -> int:
    """The most of `times` (seconds) within any window of one second."""
    ordered = sorted(times)
    peak = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def _check_modes(modes: list[str]) -> None:
    if not modes or not set(modes) <= FAULT_MODES:
        raise ValueError(f"mode must be one of {sorted(FAULT_MODES)}")


async def _send_frame(ws: web.WebSocketResponse, frame: _Frame) -> None:
    if isinstance(frame.text, bytes):
        await ws.send_bytes(frame.text)
    else:
        await ws.send_str(frame.text)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Query parameters for GET, the JSON body for POST; and what was wrong."""
    if request.method != "POST":
        return dict(request.query), None
    text = await request.text()
    if not text.strip():
        return {}, None
    try:
        body = json.loads(text)
    except ValueError:
        return {}, "The body is not JSON"
    if not isinstance(body, dict):
        return {}, "The body is not a JSON object"
    return body, None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else f"{text[:297]}..."
