"""Recordings: real audio behind signed links that expire, served with Range, and gone when deleted."""

import array
import io
import wave

import aiohttp
import pytest

from mango_simulator import MangoSimulator, audio

from .conftest import Client, FakeClock, receive_many


async def recorded(client: Client, sim: MangoSimulator, seconds: int = 9) -> str:
    """A call with a recording of `seconds`; its link from the AVAILABLE push."""
    ws, _ = await client.connect("101")
    await sim.incoming_answered("101", duration=seconds)
    available = (await receive_many(ws, 5))[4]["data"]
    assert available["status"] == "AVAILABLE"
    return str(available["url"])


async def fetch(
    client: Client, url: str, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """GET a link: status, headers and body."""
    async with client.session.get(url, headers=headers) as response:
        return response.status, dict(response.headers), await response.read()


async def test_a_recording_is_speech_like_audio_of_its_length(
    client: Client, sim: MangoSimulator
) -> None:
    """The link gives a WAV file (8 kHz mono) as long as the push says, and not silence."""
    url = await recorded(client, sim, seconds=9)

    status, headers, body = await fetch(client, url)

    assert status == 200
    assert headers["Content-Type"] == "audio/wav"
    assert headers["Accept-Ranges"] == "bytes"
    with wave.open(io.BytesIO(body)) as recording:
        assert (recording.getframerate(), recording.getnchannels()) == (8000, 1)
        assert recording.getnframes() == 9 * 8000
        samples = array.array("h", recording.readframes(recording.getnframes()))
    assert max(samples) > 5000
    # Speech has pauses: a good share of quiet samples, and sound around them.
    quiet = sum(1 for sample in samples if abs(sample) < 100)
    assert 0.1 < quiet / len(samples) < 0.7


@pytest.mark.parametrize(
    ("wanted", "content_range", "length"),
    [
        ("bytes=0-99", "bytes 0-99/144044", 100),
        ("bytes=100000-", "bytes 100000-144043/144044", 44044),
        ("bytes=-44", "bytes 144000-144043/144044", 44),
        ("bytes=144000-999999", "bytes 144000-144043/144044", 44),
    ],
)
async def test_range_requests(
    client: Client,
    sim: MangoSimulator,
    wanted: str,
    content_range: str,
    length: int,
) -> None:
    """A Range answers 206 with that part and Content-Range, as storage services do."""
    url = await recorded(client, sim, seconds=9)
    _, _, whole = await fetch(client, url)

    status, headers, body = await fetch(client, url, Range=wanted)

    assert status == 206
    assert headers["Content-Range"] == content_range
    assert len(body) == length
    start = int(content_range.split()[1].split("-", maxsplit=1)[0])
    assert body == whole[start : start + length]


@pytest.mark.parametrize("wanted", ["bytes=144044-", "bytes=zzz"])
async def test_unsatisfiable_range(
    client: Client, sim: MangoSimulator, wanted: str
) -> None:
    """A range past the end (or unreadable) answers 416 with the size."""
    url = await recorded(client, sim, seconds=9)

    status, headers, _ = await fetch(client, url, Range=wanted)

    assert status == 416
    assert headers["Content-Range"] == "bytes */144044"


async def test_a_link_expires_and_record_gives_a_fresh_one(
    client: Client, sim: MangoSimulator, clock: FakeClock
) -> None:
    """Past record_link_ttl a link answers 403; GET record gives one that works."""
    sim.record_link_ttl = 60
    url = await recorded(client, sim)
    record_id = url.split("/records/")[1].split(".")[0]
    clock.advance(61)

    assert (await fetch(client, url))[0] == 403
    status, body = await client.get("record", RECORD_ID=record_id)
    assert status == 200
    assert body["url"] != url
    assert (await fetch(client, body["url"]))[0] == 200


async def test_links_expired_at_once_and_forged(
    client: Client, sim: MangoSimulator
) -> None:
    """expire_record_links ends every link given so far; a changed link never works."""
    url = await recorded(client, sim)
    forged = url.replace("expires=", "expires=9")
    assert (await fetch(client, forged))[0] == 403
    assert (await fetch(client, url.split("?")[0]))[0] == 403

    sim.expire_record_links()

    assert (await fetch(client, url))[0] == 403


async def test_a_deleted_recording_is_gone(client: Client, sim: MangoSimulator) -> None:
    """After delete_record: record answers 113 and a fresh-looking link 404."""
    url = await recorded(client, sim)
    record_id = url.split("/records/")[1].split(".")[0]

    sim.delete_record(record_id)

    assert (await fetch(client, url))[0] == 404
    status, body = await client.get("record", RECORD_ID=record_id)
    assert (status, body["Result"]["code"]) == (404, 113)
    with pytest.raises(KeyError):
        sim.delete_record(record_id)


async def test_records_over_the_control_interface(
    client: Client, sim: MangoSimulator
) -> None:
    """Links expire, recordings go and the links' lifetime changes over HTTP too."""
    url = await recorded(client, sim)
    record_id = url.split("/records/")[1].split(".")[0]
    control = f"{sim.url}/_simulator"

    async with client.session.post(
        f"{control}/config", json={"record_link_ttl": 5}
    ) as response:
        assert response.status == 200
    assert sim.record_link_ttl == 5
    async with client.session.post(
        f"{control}/faults", json={"expire_record_links": True}
    ) as response:
        assert response.status == 200
    assert (await fetch(client, url))[0] == 403
    for status in (200, 400):
        async with client.session.post(
            f"{control}/faults", json={"delete_record": record_id}
        ) as response:
            assert response.status == status
    assert (await client.get("record", RECORD_ID=record_id))[0] == 404


async def test_the_clip_is_made_once() -> None:
    """The audio is made on first use and kept; any length repeats it."""
    assert audio.speech_like_pcm() is audio.speech_like_pcm()
    one = audio.wav(audio.speech_like_pcm(), 1)
    assert len(one) == 44 + 8000 * 2
    assert len(audio.wav(audio.speech_like_pcm(), 0)) == len(one)


async def test_head_has_the_size(client: Client, sim: MangoSimulator) -> None:
    """HEAD tells the length without the audio, as players ask first."""
    url = await recorded(client, sim, seconds=9)
    async with client.session.head(url) as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == "144044"


async def test_vpbx_record_by_id(socket_enabled: None, clock: FakeClock) -> None:
    """In the VPBX dialect the link is fetched by id: it works the same."""
    sim = MangoSimulator(
        tokens={"t"}, extensions={"101"}, clock=clock, seed=2, dialect="vpbx"
    )
    await sim.start()
    try:
        sim.provision("101")
        ids = await sim.incoming_answered("101", duration=8)
        async with aiohttp.ClientSession() as session:
            async with session.get(
                f"{sim.base_url}/v1/record",
                params={"RECORD_ID": ids["record_id"]},
                headers={"Authorization": "Bearer t"},
            ) as response:
                url = (await response.json())["url"]
            async with session.get(url, headers={"Range": "bytes=0-3"}) as response:
                assert (response.status, await response.read()) == (206, b"RIFF")
    finally:
        await sim.stop()
