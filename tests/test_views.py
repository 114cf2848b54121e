"""Playing a recording through Home Assistant's view, over real HTTP to the simulator."""

from datetime import timedelta
from http import HTTPStatus
from unittest.mock import patch

from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.mango_office import views
from custom_components.mango_office.views import mime_type_of, recording_path
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, TOKEN, extension_of, wait_until

SECONDS = 9
SIZE = 44 + SECONDS * 8000 * 2  # the simulator's WAV: header and 8 kHz 16-bit mono
SEEN_BY_A_PLAYER = ("Content-Type", "Content-Length", "Accept-Ranges")


async def record(
    simulator: MangoSimulator, entry: MockConfigEntry, seconds: int = SECONDS
) -> str:
    """A recorded call of extension 101, ready in the history; the view's path to its recording."""
    ids = await simulator.incoming_answered(EXTENSION, duration=seconds)
    history = extension_of(entry).records.history
    await wait_until(
        lambda: (
            (found := history.recording(ids["record_id"])) is not None
            and found[1].ready
        )
    )
    return recording_path(
        entry.entry_id, extension_of(entry).subentry_id, ids["record_id"]
    )


async def test_plays_the_recording(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """The audio comes through whole, with its type and size; the key and the link stay home."""
    path = await record(simulator, init_integration)
    client = await hass_client()

    response = await client.get(path)

    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["Accept-Ranges"] == "bytes"
    body = await response.read()
    assert body.startswith(b"RIFF")
    assert len(body) == SIZE
    for header in response.headers.values():
        assert TOKEN not in header
        assert simulator.url not in header


async def test_head_says_what_get_would_without_the_audio(
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """A renderer that asks with HEAD first learns the type and size; nothing else comes."""
    path = await record(simulator, init_integration)
    client = await hass_client()
    played = await client.get(path)
    await played.read()

    response = await client.head(path)

    assert response.status == HTTPStatus.OK
    assert {name: response.headers[name] for name in SEEN_BY_A_PLAYER} == {
        name: played.headers[name] for name in SEEN_BY_A_PLAYER
    }
    assert await response.read() == b""
    # The connection carries the next request: no audio was left on it.
    assert (await client.get(path)).status == HTTPStatus.OK


@pytest.mark.parametrize(
    "seek",
    [
        ("bytes=0-", HTTPStatus.PARTIAL_CONTENT, f"bytes 0-{SIZE - 1}/{SIZE}", SIZE),
        ("bytes=100-199", HTTPStatus.PARTIAL_CONTENT, f"bytes 100-199/{SIZE}", 100),
        (
            "bytes=-44",
            HTTPStatus.PARTIAL_CONTENT,
            f"bytes {SIZE - 44}-{SIZE - 1}/{SIZE}",
            44,
        ),
        (
            f"bytes={SIZE}-",
            HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
            f"bytes */{SIZE}",
            0,
        ),
    ],
)
async def test_seeking(
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    seek: tuple[str, HTTPStatus, str, int],
) -> None:
    """Range goes to the link and its answer comes back: players can seek."""
    wanted, status, content_range, length = seek
    path = await record(simulator, init_integration)
    client = await hass_client()
    whole = await (await client.get(path)).read()

    response = await client.get(path, headers={"Range": wanted})

    assert response.status == status
    assert response.headers["Content-Range"] == content_range
    body = await response.read()
    assert len(body) == length
    start = int(content_range.split()[1].split("-", maxsplit=1)[0]) if length else 0
    assert body == whole[start : start + length]


async def test_a_fresh_link_only_when_the_kept_one_fails(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """The link the service pushed plays; once it expires a fresh one is asked for, once."""
    path = await record(simulator, init_integration)
    client = await hass_client()
    asked = len(simulator.requests_to("record"))

    for wanted in ("bytes=0-", "bytes=1000-", "bytes=5000-5999"):
        response = await client.get(path, headers={"Range": wanted})
        assert response.status == HTTPStatus.PARTIAL_CONTENT
        await response.read()
    assert len(simulator.requests_to("record")) == asked

    simulator.expire_record_links()
    for _ in range(3):
        response = await client.get(path, headers={"Range": "bytes=5000-5999"})
        assert response.status == HTTPStatus.PARTIAL_CONTENT
        assert len(await response.read()) == 1000
    assert len(simulator.requests_to("record")) == asked + 1


async def test_a_recording_the_service_no_longer_has(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """Gone at the service: 404, saying so with the vendor's result code."""
    path = await record(simulator, init_integration)
    client = await hass_client()
    assert (await client.get(path)).status == HTTPStatus.OK
    simulator.delete_record(path.rsplit("/", 1)[1])

    response = await client.get(path)

    assert response.status == HTTPStatus.NOT_FOUND
    assert "no longer has this recording (result code 113)" in await response.text()


async def test_the_service_away_or_every_link_failing(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """No link to be had, or a fresh link that fails too: 502, and no endless retries."""
    path = await record(simulator, init_integration)
    client = await hass_client()
    simulator.expire_record_links()
    simulator.fail_next("record", mode="500")

    response = await client.get(path)
    assert response.status == HTTPStatus.BAD_GATEWAY
    assert await response.text() == "MANGO OFFICE did not answer"

    simulator.record_link_ttl = -10  # every link is born expired
    asked = len(simulator.requests_to("record"))
    response = await client.get(path)
    assert response.status == HTTPStatus.BAD_GATEWAY
    assert await response.text() == "The recording could not be fetched"
    assert len(simulator.requests_to("record")) == asked + 1


async def test_an_unreachable_link(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """A kept link whose host is away fails like an expired one; so does asking anew."""
    path = await record(simulator, init_integration)
    client = await hass_client()
    assert (await client.get(path)).status == HTTPStatus.OK
    await simulator.stop()

    response = await client.get(path)

    assert response.status == HTTPStatus.BAD_GATEWAY
    assert await response.text() == "MANGO OFFICE did not answer"


async def test_only_for_signed_in_users_or_signed_paths(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """Without a login the view refuses; a path Home Assistant signed plays."""
    path = await record(simulator, init_integration)
    client = await hass_client_no_auth()
    assert (await client.get(path)).status == HTTPStatus.UNAUTHORIZED

    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    signed = async_sign_path(
        hass, path, timedelta(minutes=5), refresh_token_id=refresh_token.id
    )

    response = await client.get(signed)
    assert response.status == HTTPStatus.OK
    assert len(await response.read()) == SIZE


@pytest.mark.parametrize("which", ["entry", "extension", "not loaded"])
async def test_unknown_account_or_extension(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    which: str,
) -> None:
    """A path to no loaded account's extension is 404, and asks the service nothing."""
    entry_id, subentry_id = (
        init_integration.entry_id,
        extension_of(init_integration).subentry_id,
    )
    if which == "entry":
        entry_id = "nope"
    elif which == "extension":
        subentry_id = "nope"
    else:
        await hass.config_entries.async_unload(entry_id)
    client = await hass_client()

    response = await client.get(recording_path(entry_id, subentry_id, "r1"))

    assert response.status == HTTPStatus.NOT_FOUND
    assert simulator.requests_to("record") == []


@pytest.mark.parametrize("simulator", ["vpbx"], indirect=True)
async def test_plays_in_the_vpbx_spellings(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """Where recordings are told by id only, the view fetches the link the same way."""
    path = await record(simulator, init_integration)
    client = await hass_client()

    response = await client.get(path, headers={"Range": "bytes=0-3"})

    assert response.status == HTTPStatus.PARTIAL_CONTENT
    assert await response.read() == b"RIFF"


async def test_a_player_that_goes_away(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """A player that stops reading (as when it seeks) ends the relay quietly."""
    path = await record(simulator, init_integration, seconds=180)
    client = await hass_client()

    response = await client.get(path)
    await response.content.readexactly(1024)
    response.close()
    response = await client.get(path, headers={"Range": "bytes=0-3"})

    assert await response.read() == b"RIFF"


def test_mime_type_of_a_link() -> None:
    """The audio's type follows the link's name; MP3 when it says nothing."""
    assert mime_type_of("https://rec.example/r/1.wav?sig=x") == "audio/x-wav"
    assert mime_type_of("https://rec.example/r/1.mp3") == "audio/mpeg"
    assert mime_type_of("https://rec.example/r/1") == "audio/mpeg"
    assert mime_type_of("https://rec.example/r/1.html") == "audio/mpeg"
    assert mime_type_of(None) == "audio/mpeg"


async def test_few_links_are_kept(
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """Past the bound the oldest link is forgotten, and asked for again when needed."""
    first = await record(simulator, init_integration)
    second = await record(simulator, init_integration)
    client = await hass_client()
    simulator.expire_record_links()
    asked = len(simulator.requests_to("record"))

    with patch.object(views, "KEPT_LINKS", 1):
        for path in (first, second, second, first):
            assert (await client.get(path)).status == HTTPStatus.OK

    assert len(simulator.requests_to("record")) == asked + 3
