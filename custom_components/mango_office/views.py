"""Recordings played through Home Assistant: the browser never sees the key or the vendor's link.

MANGO OFFICE hands out a recording's link; such links expire. The view plays
the link it has (the freshest it fetched, else the one the service pushed,
kept in the call history) and asks the service for a fresh one when that
fails, as core's reolink asks its cameras. It passes Range requests on, so
players can seek, and answers HEAD as GET without the audio.
"""

from collections.abc import Mapping
from http import HTTPStatus
import mimetypes
from typing import Final
from urllib.parse import quote

import aiohttp
from aiohttp import hdrs, web
from homeassistant.components.http import HomeAssistantView
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from yarl import URL

from .account import MangoConfigEntry
from .api import MangoApiError, MangoError
from .const import DOMAIN, LOGGER
from .coordinator import MangoCoordinator

# What MANGO OFFICE records calls in, when its answer does not say.
DEFAULT_MIME_TYPE: Final = "audio/mpeg"
CHUNK_SIZE: Final = 64 * 1024
# A slow link may start slowly, but a stalled one ends the answer.
LINK_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=30)
# Fresh links kept, newest last: a player asks for several ranges in a row.
KEPT_LINKS: Final = 100
# Seconds after which a recording still being prepared is worth asking for again.
NOT_READY_RETRY: Final = 60
# Headers a player needs to seek: passed both ways, nothing else.
REQUEST_HEADERS: Final = (hdrs.RANGE, hdrs.IF_RANGE)
ANSWER_HEADERS: Final = (
    hdrs.CONTENT_LENGTH,
    hdrs.CONTENT_RANGE,
    hdrs.ACCEPT_RANGES,
    hdrs.ETAG,
    hdrs.LAST_MODIFIED,
)
# What a working link answers: the audio, part of it, or "no such part".
LINK_WORKS: Final = frozenset(
    {
        HTTPStatus.OK,
        HTTPStatus.PARTIAL_CONTENT,
        HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
    }
)


def recording_path(entry_id: str, subentry_id: str, record_id: str) -> str:
    """The view's path for one recording; query-free, so that Home Assistant can sign it."""
    return RecordingView.url.format(
        entry_id=entry_id, subentry_id=subentry_id, record_id=quote(record_id, safe="")
    )


def mime_type_of(link: str | None) -> str:
    """The audio's type as the link's name tells it."""
    if link is not None:
        guessed, _ = mimetypes.guess_type(URL(link).path)
        if guessed is not None and guessed.startswith("audio/"):
            return guessed
    return DEFAULT_MIME_TYPE


class RecordingView(HomeAssistantView):
    """Streams a recording to a signed-in user (or a signed path), with Range."""

    requires_auth = True
    url = "/api/mango_office/recording/{entry_id}/{subentry_id}/{record_id}"
    name = f"api:{DOMAIN}:recording"

    def __init__(self, hass: HomeAssistant) -> None:
        """Keep no link yet."""
        self.hass = hass
        self._links: dict[tuple[str, str], str] = {}

    async def get(
        self, request: web.Request, entry_id: str, subentry_id: str, record_id: str
    ) -> web.StreamResponse:
        """Play the recording: by the kept link, else (or when it fails) by a fresh one."""
        coordinator = self._coordinator(entry_id, subentry_id)
        if coordinator is None:
            return _text(HTTPStatus.NOT_FOUND, "No such extension")
        found = coordinator.records.history.recording(record_id)
        if found is not None and not found[1].ready:
            # The service can take over five minutes at busy hours.
            return web.Response(
                status=HTTPStatus.SERVICE_UNAVAILABLE,
                text="The recording is not ready yet",
                headers={hdrs.RETRY_AFTER: str(NOT_READY_RETRY)},
            )
        key = (entry_id, record_id)
        session = coordinator.config_entry.runtime_data.session
        headers = {
            name: request.headers[name]
            for name in REQUEST_HEADERS
            if name in request.headers
        }
        link = self._links.get(key) or (found[1].url if found else None)
        fresh = False
        while True:
            if link is None:
                try:
                    link = await coordinator.client.get_record_url(record_id)
                except MangoApiError as err:
                    LOGGER.debug("Recording %s is gone: %s", record_id, err)
                    return _text(
                        HTTPStatus.NOT_FOUND,
                        f"MANGO OFFICE no longer has this recording (result code {err.code})",
                    )
                except MangoError as err:
                    LOGGER.debug("No link to recording %s: %s", record_id, err)
                    return _text(HTTPStatus.BAD_GATEWAY, "MANGO OFFICE did not answer")
                fresh = True
                self._keep(key, link)
            try:
                upstream = await session.get(
                    link, headers=headers, timeout=LINK_TIMEOUT
                )
            except (aiohttp.ClientError, TimeoutError) as err:
                failure = type(err).__name__
            else:
                if upstream.status in LINK_WORKS:
                    return await _relay(request, upstream, link)
                failure = f"HTTP {upstream.status}"
                upstream.release()
            # The link is never logged: it may be all it takes to fetch the audio.
            LOGGER.debug("The link to recording %s failed: %s", record_id, failure)
            self._links.pop(key, None)
            if fresh:
                return _text(
                    HTTPStatus.BAD_GATEWAY, "The recording could not be fetched"
                )
            link = None

    async def head(
        self, request: web.Request, entry_id: str, subentry_id: str, record_id: str
    ) -> web.StreamResponse:
        """What GET answers, without the audio: some DLNA renderers ask so before they play.

        The link is still asked with GET: a signed link may be good for GET alone.
        """
        return await self.get(request, entry_id, subentry_id, record_id)

    def _coordinator(self, entry_id: str, subentry_id: str) -> MangoCoordinator | None:
        entry: MangoConfigEntry | None = self.hass.config_entries.async_get_entry(
            entry_id
        )
        if (
            entry is None
            or entry.domain != DOMAIN
            or entry.state is not ConfigEntryState.LOADED
        ):
            return None
        return entry.runtime_data.coordinators.get(subentry_id)

    def _keep(self, key: tuple[str, str], link: str) -> None:
        self._links.pop(key, None)
        self._links[key] = link
        if len(self._links) > KEPT_LINKS:
            del self._links[next(iter(self._links))]


async def _relay(
    request: web.Request, upstream: aiohttp.ClientResponse, link: str
) -> web.StreamResponse:
    """Pass the link's answer on in chunks, with what seeking needs."""
    headers: Mapping[str, str] = {
        name: upstream.headers[name]
        for name in ANSWER_HEADERS
        if name in upstream.headers
    }
    response = web.StreamResponse(status=upstream.status, headers=headers)
    response.content_type = (
        upstream.content_type
        if upstream.content_type.startswith("audio/")
        else mime_type_of(link)
    )
    try:
        await response.prepare(request)
        if request.method != hdrs.METH_HEAD:
            async for chunk in upstream.content.iter_chunked(CHUNK_SIZE):
                await response.write(chunk)
        await response.write_eof()
    except (aiohttp.ClientError, TimeoutError, ConnectionResetError) as err:
        # The player went away (it does when it seeks), or the link stalled.
        LOGGER.debug("Playing a recording stopped: %s", type(err).__name__)
    finally:
        upstream.release()
    return response


def _text(status: HTTPStatus, text: str) -> web.Response:
    return web.Response(status=status, text=text)
