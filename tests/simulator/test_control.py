"""The control interface under /_simulator/."""

from typing import Any

import aiohttp
import pytest

from mango_simulator import SCENARIOS, MangoSimulator

from .conftest import TOKEN, Client, eventually, receive, receive_many

CALL = {"routeKey": "/call", "data": {"call_id": "c1", "seq": 1}}


async def control(
    client: Client, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """One control request (no token needed)."""
    async with client.session.request(
        method, f"{client.sim.url}/_simulator/{path}", json=body
    ) as response:
        return response.status, await response.json()


async def test_requests(client: Client) -> None:
    """GET requests lists what the API received."""
    await client.post("users/create", EXTENSION="101")

    assert await control(client, "GET", "requests") == (
        200,
        [
            {
                "method": "POST",
                "path": "users/create",
                "params": {"EXTENSION": "101"},
                "token": TOKEN,
            }
        ],
    )


async def test_index(client: Client) -> None:
    """GET /_simulator/ lists the endpoints and every scenario with its summary."""
    status, body = await control(client, "GET", "")

    assert status == 200
    assert body["endpoints"][0].startswith("GET  /_simulator/ ")
    assert any(
        line.startswith("POST /_simulator/scenario") for line in body["endpoints"]
    )
    assert list(body["scenarios"]) == list(SCENARIOS)
    assert body["scenarios"]["incoming_missed"] == {
        "summary": "An external call to `extension` nobody answers: APPEARED, "
        "DISCONNECTED (`reason`).",
        "arguments": [
            "extension",
            "caller='+74951234567'",
            "line='+74957654321'",
            "reason=1110",
        ],
    }


async def test_without_control_routes(socket_enabled: None) -> None:
    """A simulator started without the control routes serves only the API."""
    sim = MangoSimulator()
    await sim.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{sim.url}/_simulator/state") as response,
        ):
            assert response.status == 404
    finally:
        await sim.stop()


async def test_state(client: Client, sim: MangoSimulator) -> None:
    """GET state shows users, registrations, missed counts and calls."""
    await client.connect("101")
    sim.provision("102")
    await sim.push("102", CALL)

    assert await control(client, "GET", "state") == (
        200,
        {
            "extensions": ["101", "102", "103"],
            "users": ["101", "102"],
            "registered": ["101"],
            "missed": {"101": 0, "102": 1},
            "websockets": 1,
            "active_calls": [],
        },
    )


async def test_push(client: Client, sim: MangoSimulator) -> None:
    """POST push sends a message or a raw frame to a user."""
    ws, _ = await client.connect("101")
    assert await control(
        client, "POST", "push", {"extension": "101", "message": CALL}
    ) == (
        200,
        {"extension": "101", "registered": True},
    )
    assert await receive(ws) == CALL
    status, _ = await control(
        client, "POST", "push", {"extension": 101, "raw": "{oops"}
    )
    assert status == 200
    assert (await ws.receive(timeout=2)).data == "{oops"
    status, _ = await control(
        client, "POST", "push", {"extension": "101", "binary": "/wABAg=="}
    )
    assert status == 200
    assert (await ws.receive(timeout=2)).data == b"\xff\x00\x01\x02"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"extension": "101"}, 400),
        ({"message": CALL}, 400),
        ([1], 400),
        ({"extension": "102", "raw": "x"}, 409),  # no websocket
        ({"extension": "101", "binary": "not base64!"}, 400),
    ],
)
async def test_push_errors(client: Client, body: Any, status: int) -> None:
    """Bad push requests answer 400, a raw frame for a user without websocket 409."""
    answer_status, answer = await control(client, "POST", "push", body)
    assert answer_status == status
    assert "error" in answer


async def test_scenario_waited(client: Client, sim: MangoSimulator) -> None:
    """POST scenario with wait runs it to the end and answers its ids."""
    ws, _ = await client.connect("101")
    status, body = await control(
        client,
        "POST",
        "scenario",
        {
            "name": "incoming_missed",
            "extension": "101",
            "caller": "+74950000006",
            "wait": True,
        },
    )

    assert status == 200
    assert body["scenario"] == "incoming_missed"
    messages = await receive_many(ws, 2)
    assert messages[0]["data"]["call_id"] == body["ids"]["call_id"]
    assert messages[0]["data"]["from"] == {"number": "+74950000006"}


async def test_scenario_in_background(client: Client, sim: MangoSimulator) -> None:
    """Without wait the scenario starts in the background (202)."""
    ws, _ = await client.connect("101")
    status, body = await control(
        client, "POST", "scenario", {"name": "hold_and_resume", "extension": "101"}
    )

    assert (status, body) == (202, {"scenario": "hold_and_resume", "started": True})
    assert len(await receive_many(ws, 5)) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"name": "explode", "extension": "101"},
        {"name": "incoming_missed", "extension": "101", "colour": "red"},
        {"name": "incoming_missed"},
        {"name": "transfer", "call_id": "nope", "to_number": "102", "wait": True},
    ],
    ids=["unknown-name", "unknown-argument", "missing-argument", "scenario-error"],
)
async def test_scenario_errors(client: Client, body: dict[str, Any]) -> None:
    """Unknown scenarios and arguments that do not fit answer 400."""
    status, answer = await control(client, "POST", "scenario", body)
    assert status == 400
    assert "error" in answer


async def test_faults(client: Client, sim: MangoSimulator) -> None:
    """POST faults applies each fault it names."""
    ws, _ = await client.connect("101")
    status, body = await control(
        client,
        "POST",
        "faults",
        {
            "send_malformed": "101",
            "send_unknown": "101",
            "fail_next": {"path": "session/ping", "count": 1, "mode": "500"},
            "fail_for": {"path": "channel", "seconds": 30, "modes": ["500"]},
            "stall_websockets": False,
            "duplicate_live_into_missed": False,
            "refuse_websockets": 0,
        },
    )
    assert status == 200
    assert body["applied"][0] == "send_malformed"
    assert (await ws.receive(timeout=2)).type is aiohttp.WSMsgType.TEXT
    assert (await ws.receive(timeout=2)).type is aiohttp.WSMsgType.TEXT
    assert (await client.get("session/ping"))[0] == 500
    assert (await client.get("channel/", EXTENSION="101"))[0] == 500
    assert (
        await control(
            client,
            "POST",
            "faults",
            {"fail_for": {"path": "channel", "seconds": 0}},
        )
    )[0] == 200
    assert (await client.get("channel/", EXTENSION="101"))[0] == 200

    assert (await control(client, "POST", "faults", {"drop_websockets": True}))[
        0
    ] == 200
    assert not sim.is_registered("101")
    assert (await control(client, "POST", "faults", {"revoke_token": TOKEN}))[0] == 200
    assert (await client.get("session/ping"))[0] == 401


async def test_fault_toggles(client: Client, sim: MangoSimulator) -> None:
    """Stalling, duplicating and refusing are switched on over HTTP too."""
    ws, _ = await client.connect("101")
    await control(client, "POST", "faults", {"duplicate_live_into_missed": True})
    await sim.push("101", CALL)
    assert await receive(ws) == CALL
    assert sim.missed("101") == [CALL]

    await control(client, "POST", "faults", {"stall_websockets": True})
    await sim.push("101", CALL)
    await control(client, "POST", "faults", {"stall_websockets": False})
    assert await receive(ws) == CALL

    await control(client, "POST", "faults", {"refuse_websockets": 30})
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.open(await client.channel("101"))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"explode": True}, 400),
        ({"fail_next": "session/ping"}, 400),
        ({"fail_next": {"path": "session/ping", "mode": "slow"}}, 400),
        ({"fail_for": "session/ping"}, 400),
        ({"fail_for": {"path": "session/ping"}}, 400),
        ({"fail_for": {"path": "session/ping", "seconds": 1, "modes": [5]}}, 400),
        ({"send_malformed": "102"}, 409),
        ("not an object", 400),
    ],
)
async def test_fault_errors(client: Client, body: Any, status: int) -> None:
    """Unknown faults and bad values are refused."""
    answer_status, answer = await control(client, "POST", "faults", body)
    assert answer_status == status
    assert "error" in answer


async def test_config(client: Client, sim: MangoSimulator) -> None:
    """POST config adds tokens and extensions, sets delays and runs auto calls."""
    status, _ = await control(
        client,
        "POST",
        "config",
        {
            "add_token": "new",
            "add_extension": "104",
            "step_delay": 0,
            "record_delay": 0,
            "hang_seconds": 7,
        },
    )
    assert status == 200
    assert sim.hang_seconds == 7
    assert (
        await client.call("POST", "users/create", {"EXTENSION": "104"}, token="new")
    )[0] == 200

    ws, _ = await client.connect("104")
    assert (await control(client, "POST", "config", {"auto_calls": 0.01}))[0] == 200
    message = await receive(ws)
    assert message["routeKey"] in {"/call", "/ivr"}
    assert (await control(client, "POST", "config", {"auto_calls": 0}))[0] == 200
    assert (await control(client, "POST", "config", {"auto_calls": -1}))[0] == 400
    assert (await control(client, "POST", "config", {"nope": 1}))[0] == 400
    await eventually(lambda: sim.active_calls() == [])
