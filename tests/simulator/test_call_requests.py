"""Requests that act on calls: callback, route, transfer and record."""

import asyncio
from typing import Any

import pytest

from mango_simulator import MangoSimulator

from .conftest import Client, eventually, nothing_more, receive, receive_many
from .test_scenarios import calls, check_call_events


async def active_call(
    client: Client, sim: MangoSimulator, extension: str = "101"
) -> tuple[Any, str, asyncio.Task[dict[str, str]]]:
    """A connected user with an incoming call that lasts until something ends it."""
    ws, _ = await client.connect(extension)
    scenario = asyncio.create_task(
        sim.incoming_answered(
            extension, caller="+74950000004", talk_seconds=None, record=False
        )
    )
    messages = await receive_many(ws, 2)
    assert calls(messages)[-1][1] == "CONNECTED"
    return ws, messages[0]["data"]["call_id"], scenario


async def test_callback_starts_the_outgoing_scenario(
    client: Client, sim: MangoSimulator
) -> None:
    """The callback request answers the user's call_id; the user's phone rings first."""
    ws, _ = await client.connect("101")
    status, body = await client.post(
        "callback", EXTENSION="101", DESTINATION_NUMBER="+74951112233"
    )
    assert status == 200
    assert body["Result"]["code"] == 0
    messages = await receive_many(ws, 6)

    check_call_events(messages)
    assert calls(messages)[0] == (body["call_id"], "APPEARED")
    assert calls(messages)[-1] == (body["call_id"], "DISCONNECTED")
    assert messages[0]["data"]["to"] == {"number": "+74951112233"}
    assert messages[0]["data"]["direction"] == "out"


async def test_callback_errors(client: Client, sim: MangoSimulator) -> None:
    """A callback needs a provisioned user and a destination."""
    status, body = await client.post(
        "callback", EXTENSION="101", DESTINATION_NUMBER="+7495"
    )
    assert (status, body["Result"]["code"]) == (400, 114)
    sim.provision("101")
    status, body = await client.post("callback", EXTENSION="101")
    assert (status, body["Result"]["code"]) == (400, 100)


@pytest.mark.parametrize("path", ["route/async/", "route"])
async def test_route_an_ivr_call_to_an_extension(
    client: Client, sim: MangoSimulator, path: str
) -> None:
    """The asker gets /route_result OK; the extension then gets the call (same entry_id)."""
    ws101, _ = await client.connect("101")
    ws102, _ = await client.connect("102")
    sim.provision("103")
    ids = await sim.incoming_via_ivr(caller="+74950000005")
    asker, other = (ws101, ws102) if ids["extension"] == "101" else (ws102, ws101)
    assert (await receive(asker))["routeKey"] == "/ivr"

    status, body = await client.post(path, CALL_ID=ids["call_id"], TO_NUMBER="103")
    assert status == 200
    result = await receive(asker)

    assert result == {
        "routeKey": "/route_result",
        "data": {
            "request_id": body["request_id"],
            "call_id": ids["call_id"],
            "to_number": "103",
            "result": 0,
            "message": "OK",
            "timestamp": result["data"]["timestamp"],
        },
    }
    if path == "route":
        # The synchronous variant answers with the outcome too.
        assert {key: body[key] for key in result["data"]} == result["data"]
    await nothing_more(other)
    await eventually(lambda: len(sim.missed("103")) == 3)
    routed = sim.missed("103")
    assert [event["data"]["call_state"] for event in routed] == [
        "APPEARED",
        "CONNECTED",
        "DISCONNECTED",
    ]
    assert {event["data"]["entry_id"] for event in routed} == {ids["entry_id"]}
    assert routed[0]["data"]["from"] == {"number": "+74950000005"}


async def test_route_to_a_number_that_is_not_an_extension(
    client: Client, sim: MangoSimulator
) -> None:
    """Routing to a non-extension gives result 1, "Employee not available"."""
    ws, _ = await client.connect("101")
    ids = await sim.incoming_via_ivr()
    await receive(ws)
    _, body = await client.post(
        "route/async", CALL_ID=ids["call_id"], TO_NUMBER="+74950000000"
    )
    result = await receive(ws)

    assert result["data"]["request_id"] == body["request_id"]
    assert result["data"]["result"] == 1
    assert result["data"]["message"] == "Employee not available"
    await nothing_more(ws)


async def test_route_an_active_call_moves_it(
    client: Client, sim: MangoSimulator
) -> None:
    """Routing a user's own connected call ends the user's leg after the result."""
    ws, call_id, scenario = await active_call(client, sim)
    await client.post("route/async/", CALL_ID=call_id, TO_NUMBER="102")
    messages = await receive_many(ws, 2)

    assert messages[0]["routeKey"] == "/route_result"
    assert calls(messages[1:]) == [(call_id, "DISCONNECTED")]
    await scenario


async def test_route_unknown_call(client: Client) -> None:
    """An unknown CALL_ID answers 112; missing parameters 100."""
    status, body = await client.post("route/async/", CALL_ID="nope", TO_NUMBER="101")
    assert (status, body["Result"]["code"]) == (400, 112)
    status, body = await client.post("route", TO_NUMBER="101")
    assert (status, body["Result"]["code"]) == (400, 100)


async def test_blind_transfer(client: Client, sim: MangoSimulator) -> None:
    """blind: the user's leg disconnects; the target extension gets the call."""
    ws101, call_id, scenario = await active_call(client, sim)
    ws102, _ = await client.connect("102")
    status, body = await client.post(
        "transfer", CALL_ID=call_id, TO_NUMBER="102", METHOD="blind"
    )
    assert (status, body["Result"]["code"]) == (200, 0)

    mine = await receive(ws101)
    assert (mine["data"]["call_state"], mine["data"]["disconnect_reason"]) == (
        "DISCONNECTED",
        1100,
    )
    theirs = await receive_many(ws102, 3)
    check_call_events(theirs)
    assert [state for _, state in calls(theirs)] == [
        "APPEARED",
        "CONNECTED",
        "DISCONNECTED",
    ]
    assert theirs[0]["data"]["entry_id"] == mine["data"]["entry_id"]
    assert theirs[0]["data"]["from"] == {"number": "+74950000004"}
    assert theirs[0]["data"]["direction"] == "in"
    assert await scenario == {"call_id": call_id, "entry_id": mine["data"]["entry_id"]}
    await nothing_more(ws101)
    assert sim.requests_to("transfer")[0].params == {
        "CALL_ID": call_id,
        "TO_NUMBER": "102",
        "METHOD": "blind",
    }


async def test_hold_transfer(client: Client, sim: MangoSimulator) -> None:
    """hold: ONHOLD, a consultation leg connects, then the user's legs disconnect."""
    ws101, call_id, scenario = await active_call(client, sim)
    ws102, _ = await client.connect("102")
    status, _ = await client.post(
        "transfer", CALL_ID=call_id, TO_NUMBER="102", METHOD="HOLD"
    )
    assert status == 200

    mine = await receive_many(ws101, 5)
    check_call_events(mine)
    consult = mine[1]["data"]["call_id"]
    assert calls(mine) == [
        (call_id, "ONHOLD"),
        (consult, "APPEARED"),
        (consult, "CONNECTED"),
        (call_id, "DISCONNECTED"),
        (consult, "DISCONNECTED"),
    ]
    assert mine[1]["data"]["direction"] == "internal"
    assert mine[1]["data"]["to"] == {"extension": "102"}
    theirs = await receive_many(ws102, 3)
    assert [state for _, state in calls(theirs)] == [
        "APPEARED",
        "CONNECTED",
        "DISCONNECTED",
    ]
    assert {message["data"]["entry_id"] for message in mine + theirs} == {
        mine[0]["data"]["entry_id"]
    }
    await scenario
    assert sim.active_calls() == []


async def test_hold_transfer_to_an_outside_number(
    client: Client, sim: MangoSimulator
) -> None:
    """The consultation leg to an outside number goes out on the call's line."""
    ws, call_id, scenario = await active_call(client, sim)
    await client.post(
        "transfer", CALL_ID=call_id, TO_NUMBER="+74953333333", METHOD="hold"
    )
    mine = await receive_many(ws, 5)

    assert mine[1]["data"]["direction"] == "out"
    assert mine[1]["data"]["to"] == {"number": "+74953333333"}
    assert mine[1]["data"]["line_number"] == mine[0]["data"]["line_number"]
    await scenario


async def test_transfer_errors(client: Client, sim: MangoSimulator) -> None:
    """A bad METHOD answers 100; an unknown or ended call 112."""
    _, call_id, scenario = await active_call(client, sim)
    status, body = await client.post(
        "transfer", CALL_ID=call_id, TO_NUMBER="102", METHOD="warm"
    )
    assert (status, body["Result"]["code"]) == (400, 100)
    status, body = await client.post(
        "transfer", CALL_ID="nope", TO_NUMBER="102", METHOD="blind"
    )
    assert (status, body["Result"]["code"]) == (400, 112)

    await sim.hang_up(call_id)
    await scenario
    status, body = await client.post(
        "transfer", CALL_ID=call_id, TO_NUMBER="102", METHOD="blind"
    )
    assert (status, body["Result"]["code"]) == (400, 112)


async def test_record_url(client: Client, sim: MangoSimulator) -> None:
    """The record request answers a downloadable URL for a known recording."""
    sim.provision("101")
    ids = await sim.incoming_answered("101")
    status, body = await client.get("record", RECORD_ID=ids["record_id"])

    assert status == 200
    assert body["Result"]["code"] == 0
    async with client.session.get(body["url"]) as response:
        assert response.status == 200
        assert len(await response.read()) > 100


async def test_blind_transfer_to_an_outside_number(
    client: Client, sim: MangoSimulator
) -> None:
    """Only the user's leg is seen: it disconnects, and no extension gets a call."""
    ws, call_id, scenario = await active_call(client, sim)
    sim.provision("102")
    await client.post(
        "transfer", CALL_ID=call_id, TO_NUMBER="+74953333333", METHOD="blind"
    )

    assert calls([await receive(ws)]) == [(call_id, "DISCONNECTED")]
    assert (await scenario)["call_id"] == call_id
    assert sim.missed("102") == []


async def test_an_ivr_call_can_be_abandoned(
    client: Client, sim: MangoSimulator
) -> None:
    """hang_up on a waiting IVR call ends it quietly; routing it still answers."""
    ws, _ = await client.connect("101")
    ids = await sim.incoming_via_ivr()
    await receive(ws)
    await sim.hang_up(ids["call_id"])

    await nothing_more(ws)
    status, _ = await client.post(
        "transfer", CALL_ID=ids["call_id"], TO_NUMBER="102", METHOD="blind"
    )
    assert status == 400
