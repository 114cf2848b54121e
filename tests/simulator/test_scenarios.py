"""Call scenarios: the pushes each one sends, in order, with PROTOCOL.md's fields."""

import asyncio
from typing import Any

import aiohttp
import pytest

from mango_simulator import MangoSimulator

from .conftest import START, Client, nothing_more, receive, receive_many

CALL_FIELDS = {
    "call_id",
    "entry_id",
    "seq",
    "timestamp",
    "call_state",
    "direction",
    "from",
    "to",
}


def calls(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(call_id, call_state) of each /call message."""
    return [
        (message["data"]["call_id"], message["data"]["call_state"])
        for message in messages
        if message["routeKey"] == "/call"
    ]


def check_call_events(messages: list[dict[str, Any]]) -> None:
    """Every /call message has the documented fields; seq grows per call_id."""
    last_seq: dict[str, int] = {}
    for message in messages:
        if message["routeKey"] != "/call":
            continue
        data = message["data"]
        assert set(data) >= CALL_FIELDS, data
        assert data["timestamp"] == int(START)
        assert data["direction"] in {"in", "out", "internal"}
        assert data["seq"] > last_seq.get(data["call_id"], 0)
        last_seq[data["call_id"]] = data["seq"]
        if data["call_state"] == "DISCONNECTED":
            assert isinstance(data["disconnect_reason"], int)
            assert isinstance(data["is_group_disconnect"], bool)
        else:
            assert "disconnect_reason" not in data


async def test_incoming_answered(client: Client, sim: MangoSimulator) -> None:
    """APPEARED, CONNECTED, DISCONNECTED 1100, then /record PROCESSING and AVAILABLE."""
    ws, _ = await client.connect("101")
    ids = await sim.incoming_answered("101", caller="+74950000001", line="+74957654321")
    messages = await receive_many(ws, 5)

    check_call_events(messages)
    assert calls(messages) == [
        (ids["call_id"], "APPEARED"),
        (ids["call_id"], "CONNECTED"),
        (ids["call_id"], "DISCONNECTED"),
    ]
    first = messages[0]["data"]
    assert first == {
        "call_id": ids["call_id"],
        "entry_id": ids["entry_id"],
        "seq": 1,
        "timestamp": int(START),
        "call_state": "APPEARED",
        "direction": "in",
        "from": {"number": "+74950000001"},
        "to": {"extension": "101"},
        "line_number": "+74957654321",
    }
    assert [message["data"]["seq"] for message in messages[:3]] == [1, 2, 3]
    assert messages[2]["data"]["disconnect_reason"] == 1100
    assert messages[2]["data"]["is_group_disconnect"] is False
    processing, available = (message["data"] for message in messages[3:])
    assert [messages[3]["routeKey"], messages[4]["routeKey"]] == ["/record", "/record"]
    assert processing["status"] == "PROCESSING"
    assert "url" not in processing
    assert available["status"] == "AVAILABLE"
    for data in (processing, available):
        assert data["record_id"] == ids["record_id"]
        assert data["call_id"] == ids["call_id"]
        assert data["entry_id"] == ids["entry_id"]
        assert data["duration"] > 6
        assert data["timestamp"] == int(START)
    async with client.session.get(available["url"]) as response:
        assert response.status == 200
        assert response.content_type == "audio/wav"
        assert (await response.read()).startswith(b"RIFF")


async def test_incoming_answered_without_a_recording(
    client: Client, sim: MangoSimulator
) -> None:
    """No /record push without recording, nor for calls of 6 seconds or less."""
    ws, _ = await client.connect("101")
    first = await sim.incoming_answered("101", record=False)
    second = await sim.incoming_answered("101", duration=6)

    assert "record_id" not in first
    assert "record_id" not in second
    assert [message["routeKey"] for message in await receive_many(ws, 6)] == [
        "/call"
    ] * 6
    await nothing_more(ws)


async def test_record_available_only_after_the_delay(
    client: Client, sim: MangoSimulator
) -> None:
    """The AVAILABLE push waits for record_delay; record answers 113 until then."""
    ws, _ = await client.connect("101")
    sim.record_delay = 0.3
    scenario = asyncio.create_task(sim.incoming_answered("101"))
    messages = await receive_many(ws, 4)
    record_id = messages[3]["data"]["record_id"]
    assert messages[3]["data"]["status"] == "PROCESSING"
    status, body = await client.get("record", RECORD_ID=record_id)
    assert (status, body["Result"]["code"]) == (404, 113)

    await nothing_more(ws, 0.1)
    assert (await receive(ws))["data"]["status"] == "AVAILABLE"
    assert (await scenario)["record_id"] == record_id
    status, body = await client.get("record", RECORD_ID=record_id)
    assert status == 200
    assert body["url"].startswith(f"{sim.url}/records/{record_id}.wav?")


@pytest.mark.parametrize("reason", [1110, 1111])
async def test_incoming_missed(
    client: Client, sim: MangoSimulator, reason: int
) -> None:
    """APPEARED, then DISCONNECTED with the reason: ended by caller or no answer."""
    ws, _ = await client.connect("101")
    ids = await sim.incoming_missed("101", caller="+74950000002", reason=reason)
    messages = await receive_many(ws, 2)

    check_call_events(messages)
    assert calls(messages) == [
        (ids["call_id"], "APPEARED"),
        (ids["call_id"], "DISCONNECTED"),
    ]
    assert messages[1]["data"]["disconnect_reason"] == reason
    assert messages[1]["data"]["is_group_disconnect"] is False
    assert messages[1]["data"]["from"] == {"number": "+74950000002"}
    await nothing_more(ws)


async def test_group_answered_elsewhere(client: Client, sim: MangoSimulator) -> None:
    """The ringing member gets a group disconnect; the one who answered a normal call."""
    ws101, _ = await client.connect("101")
    ws102, _ = await client.connect("102")
    ids = await sim.group_answered_elsewhere("101", answered_by="102")
    mine = await receive_many(ws101, 2)
    theirs = await receive_many(ws102, 3)

    check_call_events(mine + theirs)
    assert calls(mine) == [
        (ids["call_id"], "APPEARED"),
        (ids["call_id"], "DISCONNECTED"),
    ]
    assert mine[1]["data"]["is_group_disconnect"] is True
    assert calls(theirs) == [
        (ids["answered_call_id"], "APPEARED"),
        (ids["answered_call_id"], "CONNECTED"),
        (ids["answered_call_id"], "DISCONNECTED"),
    ]
    assert theirs[2]["data"]["is_group_disconnect"] is False
    assert {message["data"]["entry_id"] for message in mine + theirs} == {
        ids["entry_id"]
    }
    with pytest.raises(ValueError, match="another extension"):
        await sim.group_answered_elsewhere("101", answered_by="101")


async def test_outgoing_callback(client: Client, sim: MangoSimulator) -> None:
    """The user's phone rings and connects first, then the destination's leg does."""
    ws, _ = await client.connect("101")
    ids = await sim.outgoing_callback("101", destination="+74959999999")
    messages = await receive_many(ws, 6)

    check_call_events(messages)
    mine, dialled = ids["call_id"], ids["destination_call_id"]
    assert calls(messages) == [
        (mine, "APPEARED"),
        (mine, "CONNECTED"),
        (dialled, "APPEARED"),
        (dialled, "CONNECTED"),
        (dialled, "DISCONNECTED"),
        (mine, "DISCONNECTED"),
    ]
    for message in messages:
        assert message["data"]["direction"] == "out"
        assert message["data"]["from"] == {"extension": "101"}
        assert message["data"]["to"] == {"number": "+74959999999"}
        assert message["data"]["entry_id"] == ids["entry_id"]


async def test_outgoing_callback_busy(client: Client, sim: MangoSimulator) -> None:
    """A busy destination ends its leg with 1121."""
    ws, _ = await client.connect("101")
    ids = await sim.outgoing_callback("101", busy=True)
    messages = await receive_many(ws, 5)

    assert calls(messages)[-2:] == [
        (ids["destination_call_id"], "DISCONNECTED"),
        (ids["call_id"], "DISCONNECTED"),
    ]
    assert messages[3]["data"]["disconnect_reason"] == 1121


async def test_incoming_via_ivr_goes_to_one_registered_user(
    client: Client, sim: MangoSimulator
) -> None:
    """The /ivr push goes to a user with an open session, never to the others."""
    sim.provision("102")
    ws, _ = await client.connect("101")
    ids = await sim.incoming_via_ivr(caller="+74950000003", line="+74950000000")
    message = await receive(ws)

    assert ids["extension"] == "101"
    assert message == {
        "routeKey": "/ivr",
        "data": {
            "call_id": ids["call_id"],
            "entry_id": ids["entry_id"],
            "status": "APPEARED",
            "from": {"number": "+74950000003"},
            "to": {"number": "+74950000000"},
            "line_number": "+74950000000",
            "timestamp": int(START),
        },
    }
    assert sim.missed("102") == []


async def test_incoming_via_ivr_stored_when_nobody_is_registered(
    sim: MangoSimulator,
) -> None:
    """With no session open the /ivr push is stored for one provisioned user."""
    ids = await sim.incoming_via_ivr()
    assert "extension" not in ids

    sim.provision("102")
    ids = await sim.incoming_via_ivr()
    assert ids["extension"] == "102"
    assert [message["routeKey"] for message in sim.missed("102")] == ["/ivr"]


async def test_hold_and_resume(client: Client, sim: MangoSimulator) -> None:
    """APPEARED, CONNECTED, ONHOLD, CONNECTED, DISCONNECTED."""
    ws, _ = await client.connect("101")
    ids = await sim.hold_and_resume("101")
    messages = await receive_many(ws, 5)

    check_call_events(messages)
    assert [state for _, state in calls(messages)] == [
        "APPEARED",
        "CONNECTED",
        "ONHOLD",
        "CONNECTED",
        "DISCONNECTED",
    ]
    assert {call_id for call_id, _ in calls(messages)} == {ids["call_id"]}


@pytest.mark.parametrize("answered", [True, False])
async def test_internal_call(
    client: Client, sim: MangoSimulator, answered: bool
) -> None:
    """Both legs are internal; unanswered ones end with 1111 / 1110."""
    ws101, _ = await client.connect("101")
    ws102, _ = await client.connect("102")
    ids = await sim.internal_call("101", "102", answered=answered)
    count = 3 if answered else 2
    mine = await receive_many(ws101, count)
    theirs = await receive_many(ws102, count)

    check_call_events(mine + theirs)
    for message in mine + theirs:
        assert message["data"]["direction"] == "internal"
        assert message["data"]["from"] == {"extension": "101"}
        assert message["data"]["to"] == {"extension": "102"}
        assert "line_number" not in message["data"]
    assert {call_id for call_id, _ in calls(mine)} == {ids["call_id"]}
    assert {call_id for call_id, _ in calls(theirs)} == {ids["to_call_id"]}
    if not answered:
        assert mine[-1]["data"]["disconnect_reason"] == 1111
        assert theirs[-1]["data"]["disconnect_reason"] == 1110


async def test_a_call_can_last_until_hung_up(
    client: Client, sim: MangoSimulator
) -> None:
    """talk_seconds=None keeps the call CONNECTED until hang_up."""
    ws, _ = await client.connect("101")
    scenario = asyncio.create_task(
        sim.incoming_answered("101", talk_seconds=None, record=False)
    )
    messages = await receive_many(ws, 2)
    call_id = messages[0]["data"]["call_id"]
    assert sim.active_calls("101") == [call_id]
    await nothing_more(ws)

    await sim.hang_up(call_id, reason=1120)
    hangup = await receive(ws)
    assert (hangup["data"]["call_state"], hangup["data"]["disconnect_reason"]) == (
        "DISCONNECTED",
        1120,
    )
    assert (await scenario)["call_id"] == call_id
    assert sim.active_calls() == []
    with pytest.raises(KeyError):
        await sim.hang_up("unknown")


async def test_step_delay_spaces_the_steps(client: Client, sim: MangoSimulator) -> None:
    """With step_delay the steps of a call are apart in time."""
    ws, _ = await client.connect("101")
    sim.step_delay = 0.1
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sim.incoming_missed("101")

    assert loop.time() - started >= 0.1
    assert len(await receive_many(ws, 2)) == 2


async def test_scenario_for_an_unprovisioned_user_pushes_nothing(
    client: Client, sim: MangoSimulator
) -> None:
    """Calls of users not created in the integration are ignored by the service."""
    ws, _ = await client.connect("101")
    await sim.incoming_answered("103")

    await nothing_more(ws)
    assert sim.missed("103") == []


async def test_scenarios_while_not_registered_are_stored(
    client: Client, sim: MangoSimulator
) -> None:
    """Every push of a scenario lands in the missed store, and register returns them."""
    sim.provision("101")
    ids = await sim.incoming_answered("101")
    url = await client.channel("101")
    await client.open(url)
    _, body = await client.post(
        "session/register/", EXTENSION="101", CHANNEL=url, LIMIT=3
    )
    events = body["events"]
    _, body = await client.post(
        "session/register/", EXTENSION="101", CHANNEL=url, LIMIT=3
    )
    events += body["events"]

    assert calls(events) == [
        (ids["call_id"], "APPEARED"),
        (ids["call_id"], "CONNECTED"),
        (ids["call_id"], "DISCONNECTED"),
    ]
    assert [event["routeKey"] for event in events[3:]] == ["/record", "/record"]


async def test_records_url_for_unknown_record_is_404(
    client: Client, sim: MangoSimulator
) -> None:
    """Unknown recordings are not served; record answers 113 with HTTP 404."""
    sim.record_link_ttl = 60
    link = sim._record_file_url("unknown")
    async with client.session.get(link) as response:
        assert response.status == 404
    status, body = await client.get("record", RECORD_ID="unknown")
    assert (status, body["Result"]["code"]) == (404, 113)
    status, body = await client.get("record")
    assert (status, body["Result"]["code"]) == (400, 100)


async def test_websocket_frames_are_text(client: Client, sim: MangoSimulator) -> None:
    """Each push is one text frame."""
    ws, _ = await client.connect("101")
    await sim.incoming_missed("101")

    frame = await ws.receive(timeout=2)
    assert frame.type is aiohttp.WSMsgType.TEXT


async def test_internal_call_needs_two_extensions(sim: MangoSimulator) -> None:
    """A call from an extension to itself is refused."""
    with pytest.raises(ValueError, match="another extension"):
        await sim.internal_call("101", "101")
