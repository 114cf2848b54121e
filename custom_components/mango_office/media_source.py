"""Recordings in the Media panel: MANGO OFFICE → account → extension → day → calls.

Every call of the history is listed, titled with its time, direction, the
other party and how it went; a call with a recording plays. The audio comes
through the integration's view (views.py), on a path Home Assistant signs.
Titles are in the server's language: the Media panel does not say whose
browser asks.
"""

from datetime import date, timedelta
from typing import Final, override
from urllib.parse import quote, unquote

from homeassistant.components.media_player import BrowseError, MediaClass, MediaType
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .account import MangoConfigEntry
from .const import ACCOUNT_TITLE, DOMAIN
from .coordinator import MangoCoordinator
from .history import HistoryCall, Recording
from .views import mime_type_of, recording_path
from .words import Words, async_load_words, day_text, talk_time, who

# The Media panel's list is one page: a busy day shows its latest calls.
MAX_CALLS_A_DAY: Final = 500


async def async_get_media_source(hass: HomeAssistant) -> MangoMediaSource:
    """The recordings of every MANGO OFFICE account."""
    return MangoMediaSource(hass)


def identifier(*parts: str) -> str:
    """An item's identifier: its path of ids, each quoted, so any id fits."""
    return "/".join(quote(part, safe="") for part in parts)


def playable(call: HistoryCall) -> Recording | None:
    """The recording a call plays: its latest one that is ready."""
    return next((item for item in reversed(call.recordings) if item.ready), None)


class MangoMediaSource(MediaSource):
    """Browses the calls of each extension by day; resolves a call to its recording."""

    name = ACCOUNT_TITLE

    def __init__(self, hass: HomeAssistant) -> None:
        """Serve the recordings of the accounts loaded at the time of asking."""
        super().__init__(DOMAIN)
        self.hass = hass

    @override
    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """The view's path to a call's recording, and the audio's type."""
        parts = _parts(item.identifier)
        if len(parts) != 4:
            raise _unknown(Unresolvable, item)
        entry_id, subentry_id, _, entry_id_of_call = parts
        coordinator = self._coordinator(entry_id, subentry_id)
        call = (
            None
            if coordinator is None
            else coordinator.records.history.get(entry_id_of_call)
        )
        if call is None:
            raise _unknown(Unresolvable, item)
        if (recording := playable(call)) is None:
            raise Unresolvable(
                translation_domain=DOMAIN,
                translation_key="media_not_ready"
                if call.recordings
                else "media_no_recording",
            )
        return PlayMedia(
            recording_path(entry_id, subentry_id, recording.record_id),
            mime_type_of(recording.url),
        )

    @override
    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """The accounts, an account's extensions, an extension's days, a day's calls."""
        parts = _parts(item.identifier)
        if not parts:
            return _folder(
                "",
                self.name or ACCOUNT_TITLE,
                [
                    _folder(identifier(entry.entry_id), entry.title)
                    for entry in self._entries()
                ],
            )
        entry = next(
            (entry for entry in self._entries() if entry.entry_id == parts[0]), None
        )
        if entry is None:
            raise _unknown(BrowseError, item)
        if len(parts) == 1:
            return _folder(
                identifier(entry.entry_id),
                entry.title,
                [
                    _folder(
                        identifier(entry.entry_id, subentry_id),
                        entry.subentries[subentry_id].title,
                    )
                    for subentry_id, coordinator in sorted(
                        entry.runtime_data.coordinators.items(),
                        key=lambda pair: pair[1].extension,
                    )
                    if subentry_id in entry.subentries
                ],
            )
        coordinator = entry.runtime_data.coordinators.get(parts[1])
        if coordinator is None or len(parts) > 3:
            raise _unknown(BrowseError, item)
        words = await async_load_words(self.hass)
        if len(parts) == 2:
            return self._days(entry, coordinator, words)
        try:
            day = date.fromisoformat(parts[2])
        except ValueError:
            raise _unknown(BrowseError, item) from None
        return self._calls(entry, coordinator, day, words)

    def _days(
        self,
        entry: MangoConfigEntry,
        coordinator: MangoCoordinator,
        words: Words,
    ) -> BrowseMediaSource:
        days = sorted(
            {
                dt_util.as_local(call.started_at).date()
                for call in coordinator.records.history.calls.values()
            },
            reverse=True,
        )
        return _folder(
            identifier(entry.entry_id, coordinator.subentry_id),
            entry.subentries[coordinator.subentry_id].title,
            [
                _folder(
                    identifier(
                        entry.entry_id, coordinator.subentry_id, day.isoformat()
                    ),
                    _day_title(day, words, self.hass.config.language),
                )
                for day in days
            ],
        )

    def _calls(
        self,
        entry: MangoConfigEntry,
        coordinator: MangoCoordinator,
        day: date,
        words: Words,
    ) -> BrowseMediaSource:
        calls = [
            call
            for call in reversed(list(coordinator.records.history.calls.values()))
            if dt_util.as_local(call.started_at).date() == day
        ][:MAX_CALLS_A_DAY]
        return _folder(
            identifier(entry.entry_id, coordinator.subentry_id, day.isoformat()),
            _day_title(day, words, self.hass.config.language),
            [
                BrowseMediaSource(
                    domain=DOMAIN,
                    identifier=identifier(
                        entry.entry_id,
                        coordinator.subentry_id,
                        day.isoformat(),
                        call.entry_id,
                    ),
                    media_class=MediaClass.TRACK,
                    media_content_type=MediaType.MUSIC,
                    title=call_title(call, words),
                    can_play=playable(call) is not None,
                    can_expand=False,
                )
                for call in calls
            ],
            # Tracks: the frontend lists them, a play button on those that play.
            children_class=MediaClass.TRACK,
        )

    def _entries(self) -> list[MangoConfigEntry]:
        return [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.state is ConfigEntryState.LOADED
        ]

    def _coordinator(self, entry_id: str, subentry_id: str) -> MangoCoordinator | None:
        entry = next(
            (entry for entry in self._entries() if entry.entry_id == entry_id), None
        )
        return (
            None if entry is None else entry.runtime_data.coordinators.get(subentry_id)
        )


def call_title(call: HistoryCall, words: Words) -> str:
    """E.g. "14:02 · incoming · Ivan Petrov · 3:25" (in the words given)."""
    if call.outcome is None:
        how = words("media_in_progress")
    elif call.talk_time is not None:
        how = talk_time(call.talk_time)
    else:
        how = words(f"media_outcome_{call.outcome}")
    parts = [
        dt_util.as_local(call.started_at).strftime("%H:%M"),
        words(f"media_direction_{call.direction}"),
        who(call, words),
        how,
    ]
    if call.recordings and playable(call) is None:
        parts.append(words("media_recording_not_ready"))
    return " · ".join(parts)


def _day_title(day: date, words: Words, language: str) -> str:
    dated = day_text(day, language)
    today = dt_util.now().date()
    if day == today:
        return words("media_today", date=dated)
    if day == today - timedelta(days=1):
        return words("media_yesterday", date=dated)
    return dated


def _folder(
    item_id: str,
    title: str,
    children: list[BrowseMediaSource] | None = None,
    *,
    children_class: MediaClass = MediaClass.DIRECTORY,
) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=item_id or None,
        media_class=MediaClass.DIRECTORY,
        media_content_type=MediaType.MUSIC,
        title=title,
        can_play=False,
        can_expand=True,
        children=children,
        children_media_class=children_class,
    )


def _parts(item_id: str | None) -> list[str]:
    return [unquote(part) for part in item_id.split("/")] if item_id else []


def _unknown[E: HomeAssistantError](error: type[E], item: MediaSourceItem) -> E:
    return error(
        translation_domain=DOMAIN,
        translation_key="media_unknown",
        translation_placeholders={"item": item.identifier},
    )
