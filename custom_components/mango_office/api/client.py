"""Async client for the requests of MANGO OFFICE's server-client API."""

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from http import HTTPStatus
import math
from typing import Any, Final, Literal
import uuid

import aiohttp
from yarl import URL

from . import wire
from .errors import (
    MangoApiError,
    MangoAuthError,
    MangoConnectionError,
    MangoProtocolError,
    MangoRateLimitError,
)
from .fields import LINK, Fields, decode_json
from .pacing import CALLBACK, CONNECT, ROUTE, TRANSFER, Pacer

REQUEST_TIMEOUT: Final = 10.0
# The vendor allows a register call a minute to gather missed events.
REGISTER_TIMEOUT: Final = 60.0
DEFAULT_MISSED_EVENTS_LIMIT: Final = 100
# Requests and answers kept for diagnostics, and how much of each answer.
RECENT_EXCHANGES: Final = 20
RECENT_BODY_LENGTH: Final = 2000
# Far more than a batch of missed events takes; a bigger answer is refused.
MAX_ANSWER_SIZE: Final = 4 * 1024 * 1024
# A Retry-After longer than this is taken as this.
MAX_RETRY_AFTER: Final = 3600.0


class TransferMethod(StrEnum):
    """How a call is handed over."""

    BLIND = "blind"
    CONSULTATIVE = "consultative"


_TRANSFER_METHOD_ON_WIRE: Final = {
    TransferMethod.BLIND: wire.TRANSFER_METHOD_BLIND,
    TransferMethod.CONSULTATIVE: wire.TRANSFER_METHOD_CONSULTATIVE,
}


def new_command_id() -> str:
    """Make an id for a command (callback, route, transfer): its result names it."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class MissedEventsBatch:
    """One answer of session/register: a batch of missed messages, oldest first."""

    messages: Sequence[Any]
    """Raw push messages; parse them with parse_message."""

    more: bool
    """Whether asking again may return more."""


class MangoClient:
    """One account's access to the server-client API.

    The aiohttp session is the caller's: the client never closes it. Its
    requests keep within the service's rates (see pacing.py); clients of one
    account should share one Pacer.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        *,
        base_url: str = wire.DEFAULT_BASE_URL,
        request_timeout: float = REQUEST_TIMEOUT,
        pacer: Pacer | None = None,
    ) -> None:
        """Keep what every request needs."""
        self.session = session
        self.pacer = pacer or Pacer()
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._request_timeout = request_timeout
        self.recent_exchanges: deque[dict[str, Any]] = deque(maxlen=RECENT_EXCHANGES)
        """The latest requests and what came back, without the token."""

    def __repr__(self) -> str:
        """Name the service, never the token."""
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def create_user(self, extension: str) -> None:
        """Provision an extension, so that the service follows its calls.

        Provisioning an extension that already is counts as success.
        """
        try:
            await self._request(
                "POST",
                wire.PATH_USERS_CREATE,
                {wire.PARAM_EXTENSION: extension},
                pace=CONNECT,
            )
        except MangoApiError as err:
            if err.code != wire.RESULT_USER_EXISTS:
                raise

    async def get_channel(self, extension: str) -> str:
        """Return the URL of a new websocket for the extension's pushes."""
        payload = await self._request(
            "GET", wire.PATH_CHANNEL, {wire.PARAM_EXTENSION: extension}, pace=CONNECT
        )
        return payload.required_text(wire.KEY_URL, LINK)

    async def register(
        self,
        extension: str,
        channel: str,
        *,
        limit: int = DEFAULT_MISSED_EVENTS_LIMIT,
        more: bool = False,
    ) -> MissedEventsBatch:
        """Register the extension on an open websocket, and take a batch of missed events.

        Call it again (with ``more``) while the batch says there are more: each
        call hands out the next batch of what was stored while nobody was
        registered. The first call connects, and waits for its turn in the
        account's rate; a further one does not (see pacing.py).
        """
        payload = await self._request(
            "POST",
            wire.PATH_SESSION_REGISTER,
            {
                wire.PARAM_EXTENSION: extension,
                wire.PARAM_CHANNEL: channel,
                wire.PARAM_LIMIT: limit,
            },
            request_timeout=REGISTER_TIMEOUT,
            success_codes=wire.RESULT_SUCCESS_CODES
            | {wire.RESULT_NO_MORE_MISSED_EVENTS},
            pace=None if more else CONNECT,
        )
        messages = payload.get(wire.KEY_EVENTS) or []
        if not isinstance(messages, list):
            raise MangoProtocolError(f"{wire.KEY_EVENTS} is not a list")
        code = _result_code(payload)
        return MissedEventsBatch(
            messages=messages,
            more=code in wire.RESULT_SUCCESS_CODES and bool(messages),
        )

    async def unregister(self, extension: str) -> None:
        """End the extension's websocket session; the service stores its events as missed again."""
        await self._request(
            "POST", wire.PATH_SESSION_UNREGISTER, {wire.PARAM_EXTENSION: extension}
        )

    async def ping(self) -> None:
        """Check that the service answers, and accepts the token."""
        await self._request("GET", wire.PATH_SESSION_PING)

    async def callback(
        self, extension: str, destination: str, *, command_id: str | None = None
    ) -> str | None:
        """Ring the extension's phone, then connect it to the destination.

        The command carries `command_id` (a new one if not given). Returns the
        call id when the service tells it.
        """
        payload = await self._request(
            "POST",
            wire.PATH_CALLBACK,
            {
                wire.PARAM_COMMAND_ID: command_id or new_command_id(),
                wire.PARAM_EXTENSION: extension,
                wire.PARAM_DESTINATION_NUMBER: destination,
            },
            pace=CALLBACK,
        )
        return payload.text(wire.KEY_CALL_ID)

    async def route(
        self, call_id: str, to_number: str, *, command_id: str | None = None
    ) -> str:
        """Send a call (one waiting in the IVR) to an employee's extension.

        Returns the request id, or the command's id where the answer has none
        (as the VPBX API's have not); the outcome arrives later as a route
        result push that names one or the other.
        """
        command_id = command_id or new_command_id()
        payload = await self._request(
            "POST",
            wire.PATH_ROUTE_ASYNC,
            {
                wire.PARAM_COMMAND_ID: command_id,
                wire.PARAM_CALL_ID: call_id,
                wire.PARAM_TO_NUMBER: to_number,
            },
            pace=ROUTE,
        )
        return payload.text(wire.KEY_REQUEST_ID) or command_id

    async def transfer(
        self,
        call_id: str,
        to_number: str,
        method: TransferMethod = TransferMethod.BLIND,
        *,
        initiator: str | None = None,
        command_id: str | None = None,
    ) -> None:
        """Hand a call over to another number or extension.

        `initiator` is the extension that transfers (the VPBX API asks for it).
        """
        params = {
            wire.PARAM_COMMAND_ID: command_id or new_command_id(),
            wire.PARAM_CALL_ID: call_id,
            wire.PARAM_TO_NUMBER: to_number,
            wire.PARAM_METHOD: _TRANSFER_METHOD_ON_WIRE[method],
        }
        if initiator is not None:
            params[wire.PARAM_INITIATOR] = initiator
        await self._request("POST", wire.PATH_TRANSFER, params, pace=TRANSFER)

    async def get_record_url(self, record_id: str) -> str:
        """Return the link to a call's recording."""
        payload = await self._request(
            "GET", wire.PATH_RECORD, {wire.PARAM_RECORD_ID: record_id}
        )
        return payload.required_text(wire.KEY_URL, LINK)

    async def _request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        request_timeout: float | None = None,
        success_codes: frozenset[int] = wire.RESULT_SUCCESS_CODES,
        pace: str | None = None,
    ) -> Fields:
        """Send one request, in its turn, and return the answer's payload.

        The token travels in a header only, so that neither URLs nor errors
        can carry it.
        """
        await self.pacer.turn(pace)
        try:
            return await self._exchange(
                method, path, params, request_timeout, success_codes
            )
        finally:
            if pace is None or pace == CONNECT:
                self.pacer.answered()

    async def _exchange(
        self,
        method: Literal["GET", "POST"],
        path: str,
        params: Mapping[str, str | int] | None,
        request_timeout: float | None,
        success_codes: frozenset[int],
    ) -> Fields:
        url = URL(f"{self.base_url}/{path}")
        headers = {wire.AUTH_HEADER: f"{wire.AUTH_SCHEME} {self._token}"}
        query = {key: str(value) for key, value in (params or {}).items()}
        exchange: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(),
            "request": f"{method} {path}",
            "params": query,
        }
        self.recent_exchanges.append(exchange)
        try:
            async with self.session.request(
                method,
                url,
                headers=headers,
                params=query if method == "GET" else None,
                json=params if method == "POST" else None,
                timeout=aiohttp.ClientTimeout(
                    total=request_timeout or self._request_timeout
                ),
            ) as response:
                status = response.status
                retry_after = _retry_after(
                    response.headers.get(wire.HEADER_RETRY_AFTER)
                )
                body = await _read_at_most(response, MAX_ANSWER_SIZE + 1)
        except TimeoutError as err:
            exchange["error"] = "timeout"
            raise MangoConnectionError(f"{path} timed out") from err
        except aiohttp.ClientError as err:
            exchange["error"] = type(err).__name__
            raise MangoConnectionError(f"{path} failed: {type(err).__name__}") from err
        exchange["status"] = status
        exchange["response"] = body[:RECENT_BODY_LENGTH].decode(errors="replace")

        if status in wire.RETRY_AFTER_STATUSES and retry_after is not None:
            self.pacer.hold(retry_after)
        if status == wire.RATE_LIMITED_STATUS:
            raise MangoRateLimitError(
                f"{path} was refused: too many requests", retry_after=retry_after
            )
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise MangoConnectionError(
                f"{path} failed on the server: HTTP {status}", retry_after=retry_after
            )
        if len(body) > MAX_ANSWER_SIZE:
            raise MangoProtocolError(
                f"{path} answered more than {MAX_ANSWER_SIZE} bytes"
            )
        try:
            payload = decode_json(body)
        except MangoProtocolError:
            payload = None
        if status in wire.AUTH_HTTP_STATUSES:
            if payload is None:
                # A proxy's or a rate limiter's page, not the service's word.
                raise MangoConnectionError(f"{path} was refused: HTTP {status}")
            raise MangoAuthError(
                f"{path} was refused: the token was rejected", status=status
            )
        if not isinstance(payload, Mapping):
            raise MangoProtocolError(
                f"{path} answered HTTP {status} without a JSON object"
            )

        fields = Fields(payload)
        code = _result_code(fields)
        if code in wire.AUTH_RESULT_CODES:
            raise MangoAuthError(f"{path} was refused: the token was rejected")
        if code not in success_codes:
            raise MangoApiError(code, _result_message(fields))
        return fields


async def _read_at_most(response: aiohttp.ClientResponse, size: int) -> bytes:
    """Read an answer, stopping once it is longer than size."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) >= size:
            break
    return bytes(body)


def _retry_after(value: str | None) -> float | None:
    """Read Retry-After: seconds, or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except TypeError, ValueError, IndexError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _result_code(payload: Fields) -> int:
    if (result := payload.mapping(wire.KEY_RESULT)) is None or (
        code := Fields(result).integer(wire.KEY_CODE)
    ) is None:
        raise MangoProtocolError(f"answer has no {wire.KEY_RESULT} code")
    return code


def _result_message(payload: Fields) -> str:
    result = payload.mapping(wire.KEY_RESULT) or {}
    return Fields(result).message(wire.KEY_MESSAGE) or ""
