"""Faults: dropped, refused and stalled websockets, failing requests, odd frames, quirks."""

import asyncio

import aiohttp
import pytest

from mango_simulator import MangoSimulator

from .conftest import TOKEN, Client, FakeClock, eventually, nothing_more, receive

CALL = {"routeKey": "/call", "data": {"call_id": "c1", "seq": 1}}


async def test_drop_websockets(client: Client, sim: MangoSimulator) -> None:
    """Every websocket is closed at once and its users are unregistered."""
    ws101, _ = await client.connect("101")
    ws102, _ = await client.connect("102")
    await sim.drop_websockets()

    assert not sim.is_registered("101")
    assert not sim.is_registered("102")
    for ws in (ws101, ws102):
        frame = await ws.receive(timeout=2)
        assert frame.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
    await sim.push("101", CALL)
    assert sim.missed("101") == [CALL]
    await eventually(lambda: sim.open_websockets == 0)


async def test_refuse_websockets(client: Client, sim: MangoSimulator) -> None:
    """Upgrades answer 503 while refused; the same URL works afterwards."""
    sim.provision("101")
    url = await client.channel("101")
    sim.refuse_websockets(0.2)
    with pytest.raises(aiohttp.WSServerHandshakeError) as error:
        await client.open(url)
    assert error.value.status == 503

    await asyncio.sleep(0.25)
    assert not (await client.open(url)).closed
    sim.refuse_websockets(30)
    sim.refuse_websockets(0)
    assert not (await client.open(await client.channel("101"))).closed


async def test_fail_next_500(client: Client, sim: MangoSimulator) -> None:
    """The next `count` requests to the path fail with 500, then it works again."""
    sim.fail_next("/v1/session/ping/", count=2)
    for _ in range(2):
        status, body = await client.get("session/ping")
        assert (status, body["Result"]["code"]) == (500, 500)
    assert await client.get("session/ping") == (
        200,
        {"Result": {"code": 0, "message": "OK"}},
    )
    assert len(sim.requests_to("session/ping")) == 3


async def test_fail_next_does_not_act(client: Client, sim: MangoSimulator) -> None:
    """A failed request has no effect."""
    sim.fail_next("users/create")
    status, _ = await client.post("users/create", EXTENSION="101")

    assert status == 500
    assert sim.users == set()


async def test_fail_next_malformed(client: Client, sim: MangoSimulator) -> None:
    """The "malformed" fault answers 200 with a body that is not JSON."""
    sim.fail_next("channel", mode="malformed")
    async with client.session.get(
        f"{sim.base_url}/v1/channel/",
        params={"EXTENSION": "101"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ContentTypeError):
            await response.json()


async def test_fail_next_timeout_hangs_until_stop(sim: MangoSimulator) -> None:
    """The "timeout" fault outlasts the client's timeout; stop() still ends promptly."""
    sim.fail_next("session/ping", mode="timeout")
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=0.2)
    ) as session:
        with pytest.raises(TimeoutError):
            await session.get(
                f"{sim.base_url}/v1/session/ping",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sim.stop()
    assert loop.time() - started < 1.0


async def test_fail_next_timeout_answers_after_hang_seconds(
    socket_enabled: None,
) -> None:
    """Without stop() the hanging request ends after hang_seconds with 504."""
    sim = MangoSimulator(tokens={TOKEN}, hang_seconds=0.1)
    await sim.start()
    try:
        sim.fail_next("session/ping", mode="timeout")
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{sim.base_url}/v1/session/ping",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response,
        ):
            assert response.status == 504
    finally:
        await sim.stop()


async def test_fail_for_fails_every_request_until_it_ends(
    client: Client, sim: MangoSimulator
) -> None:
    """An outage fails every request to its path, taking the modes in turn, then ends."""
    sim.hang_seconds = 0.01
    sim.fail_for("/v1/session/ping/", 30, ["500", "malformed", "timeout"])
    sim.fail_next("session/ping", mode="timeout")
    statuses = []
    for _ in range(5):
        async with client.session.get(
            f"{sim.base_url}/v1/session/ping",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response:
            statuses.append(response.status)
    # fail_next's request first, then the outage's modes in turn.
    assert statuses == [504, 500, 200, 504, 500]
    assert (await client.post("users/create", EXTENSION="101"))[0] == 200

    sim.fail_for("session/ping", 0)
    assert (await client.get("session/ping"))[0] == 200


async def test_fail_for_ends_by_itself(
    client: Client, sim: MangoSimulator, clock: FakeClock
) -> None:
    """Once its seconds have passed on the simulator's clock, the path answers again."""
    sim.fail_for("session/ping", 60)
    assert (await client.get("session/ping"))[0] == 500
    clock.advance(59)
    assert (await client.get("session/ping"))[0] == 500
    clock.advance(1)
    assert (await client.get("session/ping"))[0] == 200
    assert (await client.get("session/ping"))[0] == 200


def test_fail_next_rejects_bad_arguments() -> None:
    """Unknown modes and counts below 1 are refused."""
    sim = MangoSimulator()
    with pytest.raises(ValueError, match="mode"):
        sim.fail_next("session/ping", mode="slow")
    with pytest.raises(ValueError, match="count"):
        sim.fail_next("session/ping", count=0)
    with pytest.raises(ValueError, match="mode"):
        sim.fail_for("session/ping", 1, ["500", "slow"])
    with pytest.raises(ValueError, match="mode"):
        sim.fail_for("session/ping", 1, [])


async def test_binary_frames(client: Client, sim: MangoSimulator) -> None:
    """Binary frames arrive as sent, in order with the text ones."""
    ws, _ = await client.connect("101")
    await sim.push_bytes("101", b"\xff\xfe not UTF-8")
    await sim.push("101", CALL)

    frame = await ws.receive(timeout=2)
    assert (frame.type, frame.data) == (aiohttp.WSMsgType.BINARY, b"\xff\xfe not UTF-8")
    assert await receive(ws) == CALL
    with pytest.raises(LookupError):
        await sim.push_bytes("102", b"x")


async def test_binary_frames_held_by_a_stall(
    client: Client, sim: MangoSimulator
) -> None:
    """A stall holds binary frames back like text ones; they are never stored as missed."""
    ws, _ = await client.connect("101")
    sim.stall_websockets(True)
    await sim.push_bytes("101", b"\x00\x01")
    await sim.push_bytes("101", b"\x02")
    sim.stall_websockets(False)

    assert (await ws.receive(timeout=2)).data == b"\x00\x01"
    assert (await ws.receive(timeout=2)).data == b"\x02"
    assert sim.missed("101") == []


async def test_malformed_and_unknown_frames(
    client: Client, sim: MangoSimulator
) -> None:
    """The odd frames arrive as text; the websocket keeps working after them."""
    ws, _ = await client.connect("101")
    await sim.send_malformed("101")
    await sim.send_unknown("101")
    await sim.push_raw("101", "plain text")
    await sim.push("101", CALL)

    malformed = await ws.receive(timeout=2)
    assert malformed.type is aiohttp.WSMsgType.TEXT
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON error
        malformed.json()
    unknown = await receive(ws)
    assert unknown["routeKey"] not in {"/call", "/record", "/ivr", "/route_result"}
    assert (await ws.receive(timeout=2)).data == "plain text"
    assert await receive(ws) == CALL


async def test_raw_frames_reach_an_unregistered_open_websocket(
    client: Client, sim: MangoSimulator
) -> None:
    """Before register, raw frames go to the newest websocket issued to the user."""
    sim.provision("101")
    ws = await client.open(await client.channel("101"))
    await sim.send_malformed("101")

    assert (await ws.receive(timeout=2)).type is aiohttp.WSMsgType.TEXT
    with pytest.raises(LookupError):
        await sim.send_unknown("102")


async def test_stalled_websocket_answers_no_ping_and_holds_frames(
    client: Client, sim: MangoSimulator
) -> None:
    """Stalled: no PONG and no frame; resumed: the held frames follow in order."""
    ws, _ = await client.connect("101", autoping=False)
    await ws.ping(b"1")
    assert (await ws.receive(timeout=2)).type is aiohttp.WSMsgType.PONG

    sim.stall_websockets(True)
    await ws.ping(b"2")
    await sim.push("101", CALL)
    await nothing_more(ws, 0.2)
    assert sim.is_registered("101")
    assert sim.missed("101") == []

    sim.stall_websockets(False)
    assert await receive(ws) == CALL
    await ws.ping(b"3")
    pong = await ws.receive(timeout=2)
    assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"3")


async def test_frames_held_by_a_stall_are_stored_when_the_socket_closes(
    client: Client, sim: MangoSimulator
) -> None:
    """A client that gives up on a stalled socket finds the frames in the missed store."""
    ws, url = await client.connect("101")
    sim.stall_websockets(True)
    await sim.push("101", CALL)
    await ws.close()
    await sim.wait_unregistered("101")

    assert sim.missed("101") == [CALL]
    sim.stall_websockets(False)
    ws, _ = await client.connect("101")
    _, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert body["Result"]["code"] == 115  # the old channel is closed


async def test_duplicate_live_into_missed(client: Client, sim: MangoSimulator) -> None:
    """With the quirk on, live pushes also come back from session/register/."""
    ws, url = await client.connect("101")
    sim.duplicate_live_into_missed(True)
    await sim.push("101", CALL)

    assert await receive(ws) == CALL
    _, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert (body["Result"]["code"], body["events"]) == (0, [CALL])

    sim.duplicate_live_into_missed(False)
    await sim.push("101", CALL)
    assert await receive(ws) == CALL
    assert sim.missed("101") == []


async def test_revoke_token(client: Client, sim: MangoSimulator) -> None:
    """A revoked token gets 401 and its websockets close; other tokens are unaffected."""
    ws, _ = await client.connect("101")
    sim.add_token("other")
    sim.revoke_token(TOKEN)

    assert not sim.is_registered("101")
    frame = await ws.receive(timeout=2)
    assert frame.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
    status, body = await client.get("session/ping")
    assert (status, body["Result"]["code"]) == (401, 103)
    assert (await client.call("GET", "session/ping", token="other"))[0] == 200
