"""Recordings in the Media panel: browsed and resolved through media_source's own API, played through the view."""

from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any

from homeassistant.components import media_source
from homeassistant.components.media_player import BrowseError, MediaClass
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.mango_office.history import OUTCOMES, HistoryCall, Recording
from custom_components.mango_office.media_source import call_title, identifier, playable
from mango_simulator import MangoSimulator

from .conftest import CALLER_NAME, EXTENSION, extension_of, wait_until
from .helpers import NO_TALK, push_call

ROOT = "media-source://mango_office"


@pytest.fixture
async def media(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """The account, with Home Assistant's media sources set up."""
    assert await async_setup_component(hass, "media_source", {})
    await hass.async_block_till_done()
    return init_integration


def day_id(entry: MockConfigEntry, day: date | None = None) -> str:
    """The media id of a day of extension 101 (today by default)."""
    day = day or dt_util.now().date()
    return f"{ROOT}/{identifier(entry.entry_id, extension_of(entry).subentry_id, day.isoformat())}"


def local_time(call: HistoryCall | None) -> str:
    """When a call started, as its title says it."""
    assert call is not None
    return dt_util.as_local(call.started_at).strftime("%H:%M")


async def recorded_call(
    simulator: MangoSimulator, entry: MockConfigEntry, seconds: int = 9
) -> dict[str, str]:
    """An answered call with a recording that is ready, in the history."""
    ids = await simulator.incoming_answered(EXTENSION, duration=seconds)
    history = extension_of(entry).records.history
    await wait_until(
        lambda: (
            (call := history.get(ids["entry_id"])) is not None
            and playable(call) is not None
        )
    )
    return ids


async def test_browse_account_extension_day_calls(
    hass: HomeAssistant, media: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """MANGO OFFICE → the account → Extension 101 → today → its calls, newest first."""
    recorded = await recorded_call(simulator, media)
    missed = await simulator.incoming_missed(EXTENSION, caller="+74950000002")
    await wait_until(
        lambda: (
            extension_of(media).records.history.get(missed["entry_id"]) is not None
            and extension_of(media).records.history.get(missed["entry_id"]).outcome
            is not None
        )
    )

    root = await media_source.async_browse_media(hass, ROOT)
    assert root.title == "MANGO OFFICE"
    assert [child.title for child in root.children] == ["MANGO OFFICE"]

    account = await media_source.async_browse_media(
        hass, root.children[0].media_content_id
    )
    assert [child.title for child in account.children] == ["Extension 101"]

    extension = await media_source.async_browse_media(
        hass, account.children[0].media_content_id
    )
    today = dt_util.now().date()
    assert [child.title for child in extension.children] == [
        f"Today, {today.isoformat()}"
    ]
    assert extension.children[0].media_content_id == day_id(media)

    day = await media_source.async_browse_media(hass, day_id(media))
    titles = [child.title for child in day.children]
    assert len(titles) == 2
    history = extension_of(media).records.history
    assert titles in [
        [
            f"{local_time(history.get(missed['entry_id']))} · incoming · +7 495 000-00-02 · missed",
            f"{local_time(history.get(recorded['entry_id']))} · incoming · {CALLER_NAME} · {talk}",
        ]
        for talk in NO_TALK
    ]
    assert [child.can_play for child in day.children] == [False, True]
    # Listed as tracks: a play button where there is something to play.
    assert day.children_media_class == MediaClass.TRACK
    assert extension.children_media_class == MediaClass.DIRECTORY
    assert not any(child.can_expand for child in day.children)
    assert day.children[1].media_content_id.endswith(recorded["entry_id"])


async def test_resolve_and_play_with_range(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    media: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """The frontend's resolve gives a signed path to the view; it plays, and seeks."""
    await recorded_call(simulator, media)
    day = await media_source.async_browse_media(hass, day_id(media))
    ws = await hass_ws_client()

    await ws.send_json_auto_id(
        {
            "type": "media_source/resolve_media",
            "media_content_id": day.children[0].media_content_id,
        }
    )
    answer = await ws.receive_json()

    assert answer["success"], answer
    url = answer["result"]["url"]
    assert url.startswith(f"/api/mango_office/recording/{media.entry_id}/")
    assert "authSig=" in url
    assert answer["result"]["mime_type"] == "audio/x-wav"
    client = await hass_client_no_auth()
    response = await client.get(url, headers={"Range": "bytes=8-15"})
    assert response.status == HTTPStatus.PARTIAL_CONTENT
    assert await response.read() == b"WAVEfmt "
    assert (await client.get(url.split("?")[0])).status == HTTPStatus.UNAUTHORIZED


async def test_a_recording_not_ready_yet(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    media: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """Still being prepared: not playable, said in the title, on resolve and by the view."""
    simulator.record_delay = 60
    simulator.start_scenario("incoming_answered", extension=EXTENSION, duration=9)
    history = extension_of(media).records.history
    await wait_until(lambda: any(call.recordings for call in history.calls.values()))
    call = next(iter(history.calls.values()))

    day = await media_source.async_browse_media(hass, day_id(media))
    assert any(
        day.children[0].title.endswith(f" · {talk} · recording not ready yet")
        for talk in NO_TALK
    )
    assert not day.children[0].can_play
    with pytest.raises(media_source.Unresolvable) as raised:
        await media_source.async_resolve_media(
            hass, day.children[0].media_content_id, None
        )
    assert str(raised.value).startswith("MANGO OFFICE is still preparing the recording")

    path = f"/api/mango_office/recording/{media.entry_id}/{extension_of(media).subentry_id}/{call.recordings[0].record_id}"
    response = await (await hass_client()).get(path)
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"] == "60"
    assert await response.text() == "The recording is not ready yet"
    assert simulator.requests_to("record") == []


async def test_a_call_without_a_recording(
    hass: HomeAssistant, media: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A missed call is listed but does not play."""
    ids = await simulator.incoming_missed(EXTENSION)
    await wait_until(
        lambda: (
            (call := extension_of(media).records.history.get(ids["entry_id"]))
            is not None
            and call.outcome is not None
        )
    )
    day = await media_source.async_browse_media(hass, day_id(media))

    with pytest.raises(media_source.Unresolvable, match="This call has no recording"):
        await media_source.async_resolve_media(
            hass, day.children[0].media_content_id, None
        )


@pytest.mark.parametrize(
    "path",
    ["nope", "{entry}/nope", "{entry}/{sub}/not-a-day", "{entry}/{sub}/2026-01-01/x/y"],
)
async def test_browse_what_is_not_there(
    hass: HomeAssistant, media: MockConfigEntry, path: str
) -> None:
    """An unknown account, extension or day is a translated browse error."""
    item = path.format(entry=media.entry_id, sub=extension_of(media).subentry_id)
    with pytest.raises(BrowseError, match="not among the calls of MANGO OFFICE"):
        await media_source.async_browse_media(hass, f"{ROOT}/{item}")


@pytest.mark.parametrize(
    "path",
    [
        "",
        "nope",
        "{entry}/{sub}/2026-01-01",
        "{entry}/nope/2026-01-01/x",
        "{entry}/{sub}/2026-01-01/x",
    ],
)
async def test_resolve_what_is_not_there(
    hass: HomeAssistant, media: MockConfigEntry, path: str
) -> None:
    """Only a call of the history resolves; anything else is a translated error."""
    item = path.format(entry=media.entry_id, sub=extension_of(media).subentry_id)
    with pytest.raises(media_source.Unresolvable, match="not among the calls"):
        await media_source.async_resolve_media(
            hass, f"{ROOT}/{item}" if item else ROOT, None
        )


async def test_in_russian(
    hass: HomeAssistant, media: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """With the server's language Russian: the day and the call in Russian."""
    await recorded_call(simulator, media)
    hass.config.language = "ru"

    extension = await media_source.async_browse_media(
        hass, day_id(media).rsplit("/", 1)[0]
    )
    day = await media_source.async_browse_media(hass, day_id(media))

    assert extension.children[0].title == (
        f"Сегодня, {dt_util.now().date().strftime('%d.%m.%Y')}"
    )
    assert " · входящий · " in day.children[0].title


async def test_an_empty_account_and_an_unloaded_one(
    hass: HomeAssistant, media: MockConfigEntry
) -> None:
    """No calls: an extension with no days; an unloaded account is not listed."""
    extension = await media_source.async_browse_media(
        hass, day_id(media).rsplit("/", 1)[0]
    )
    assert extension.children == []

    await hass.config_entries.async_unload(media.entry_id)
    root = await media_source.async_browse_media(hass, ROOT)
    assert root.children == []


def _call(**changes: Any) -> HistoryCall:
    started = datetime(2026, 12, 2, 11, 2, tzinfo=UTC)
    call = HistoryCall(
        entry_id="e1",
        direction="out",
        number="+74951234567",
        name=None,
        started_at=started,
        answered_at=started,
        ended_at=started + timedelta(hours=1, seconds=65),
        talk_time=3665,
        outcome="answered",
        transfers=(),
        recordings=(),
        legs=("c1",),
    )
    return call.__class__(
        **{**{f: getattr(call, f) for f in call.__slots__}, **changes}
    )


async def test_call_titles(hass: HomeAssistant) -> None:
    """Who (name, number, hidden), how it went (talk, outcome, going on), in local time."""
    await hass.config.async_set_time_zone("Europe/Moscow")
    words = {
        "media_direction_out": "outgoing",
        "media_direction_in": "incoming",
        "media_hidden_number": "hidden number",
        "media_in_progress": "in progress",
        "media_recording_not_ready": "recording not ready yet",
        **{f"media_outcome_{outcome}": outcome for outcome in OUTCOMES},
    }

    def say(key: str, **values: str) -> str:
        return words[key]

    assert call_title(_call(), say) == "14:02 · outgoing · +7 495 123-45-67 · 1:01:05"
    assert (
        call_title(
            _call(number=None, direction="in", outcome=None, talk_time=None), say
        )
        == "14:02 · incoming · hidden number · in progress"
    )
    ready = Recording(record_id="r1", url=None, duration=9, ready=True)
    pending = Recording(record_id="r2", url=None, duration=9, ready=False)
    assert (
        call_title(
            _call(name="Ivan", talk_time=None, outcome="busy", recordings=(pending,)),
            say,
        )
        == "14:02 · outgoing · Ivan · busy · recording not ready yet"
    )
    assert playable(_call(recordings=(ready, pending))) == ready
    assert playable(_call(recordings=(pending,))) is None


async def test_older_days(
    hass: HomeAssistant, media: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Calls of other days: yesterday says so; older days are their date alone."""
    today = dt_util.start_of_local_day()
    for call_id, when in (
        ("c1", today - timedelta(hours=12)),
        ("c2", today - timedelta(days=30)),
    ):
        stamp = int(when.timestamp())
        await push_call(simulator, call_id, 1, "APPEARED", timestamp=stamp)
        await push_call(
            simulator,
            call_id,
            2,
            "DISCONNECTED",
            timestamp=stamp,
            disconnect_reason=1110,
        )
    await wait_until(lambda: len(extension_of(media).records.history.calls) == 2)

    extension = await media_source.async_browse_media(
        hass, day_id(media).rsplit("/", 1)[0]
    )

    assert [child.title for child in extension.children] == [
        f"Yesterday, {(today - timedelta(hours=12)).date().isoformat()}",
        (today - timedelta(days=30)).date().isoformat(),
    ]
