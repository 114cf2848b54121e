"""The simulated API: auth, users, channels, registration and the missed store."""

import asyncio

import aiohttp
import pytest

from mango_simulator import MangoSimulator, RecordedRequest

from .conftest import TOKEN, Client, FakeClock, nothing_more, receive, receive_many

CALL = {"routeKey": "/call", "data": {"call_id": "c1", "seq": 1}}


def message(number: int) -> dict[str, object]:
    """A push message told apart by its call_id."""
    return {"routeKey": "/call", "data": {"call_id": f"c{number}", "seq": 1}}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {TOKEN}"}],
    ids=["missing", "unknown", "not-bearer"],
)
async def test_requests_without_a_valid_token_get_401(
    client: Client, sim: MangoSimulator, headers: dict[str, str]
) -> None:
    """Every API path answers 401 with code 103 to a missing or unknown token."""
    for method, path in (("GET", "session/ping"), ("POST", "users/create")):
        async with client.session.request(
            method,
            f"{sim.base_url}/v1/{path}",
            headers=headers,
            json={"EXTENSION": "101"},
        ) as response:
            assert response.status == 401
            assert await response.json() == {
                "Result": {"code": 103, "message": "Invalid token"}
            }
    assert sim.users == set()


async def test_bearer_scheme_is_case_insensitive_and_recorded(
    client: Client, sim: MangoSimulator
) -> None:
    """The token is read from "bearer <token>" too, and each request is recorded."""
    async with client.session.get(
        f"{sim.base_url}/v1/session/ping", headers={"Authorization": f"bearer {TOKEN}"}
    ) as response:
        assert response.status == 200
    await client.call("GET", "session/ping", token=None)

    assert sim.requests == [
        RecordedRequest("GET", "session/ping", {}, TOKEN),
        RecordedRequest("GET", "session/ping", {}, None),
    ]


async def test_ping(client: Client) -> None:
    """session/ping answers code 0."""
    assert await client.get("session/ping") == (
        200,
        {"Result": {"code": 0, "message": "OK"}},
    )


async def test_users_create(client: Client, sim: MangoSimulator) -> None:
    """users/create accepts PBX extensions once: 110 when repeated, 111 for unknown ones."""
    assert await client.post("users/create", EXTENSION="101") == (
        200,
        {"Result": {"code": 0, "message": "OK"}},
    )
    status, body = await client.post("users/create", EXTENSION="101")
    assert (status, body["Result"]["code"]) == (400, 110)
    status, body = await client.post("users/create", EXTENSION="999")
    assert (status, body["Result"]["code"]) == (400, 111)
    status, body = await client.post("users/create")
    assert (status, body["Result"]["code"]) == (400, 100)

    assert sim.users == {"101"}


async def test_parameter_names_in_any_case_and_values_as_int(
    client: Client, sim: MangoSimulator
) -> None:
    """Names match case-insensitively; numbers may come as ints; names are recorded as sent."""
    assert (await client.call("POST", "users/create", {"extension": 102}))[0] == 200
    assert sim.users == {"102"}
    assert sim.requests_to("users/create")[0].params == {"extension": 102}


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("POST", "users/create", {"EXTENSION": "102"}),
        ("POST", "users/create/", {"EXTENSION": "102"}),
        ("GET", "channel/", {"EXTENSION": "101"}),
        ("GET", "channel", {"EXTENSION": "101"}),
        ("GET", "session/ping", {}),
        ("GET", "session/ping/", {}),
        ("POST", "session/unregister/", {"EXTENSION": "101"}),
        ("POST", "session/unregister", {"EXTENSION": "101"}),
    ],
)
async def test_paths_with_or_without_trailing_slash(
    client: Client, sim: MangoSimulator, method: str, path: str, params: dict[str, str]
) -> None:
    """Each path works with and without its trailing slash and is recorded without it."""
    sim.provision("101")
    status, body = await client.call(method, path, params)

    assert status == 200, body
    assert sim.requests[-1].path == path.rstrip("/")


async def test_unknown_paths_and_wrong_methods(
    client: Client, sim: MangoSimulator
) -> None:
    """Unknown methods answer 404 and wrong HTTP methods 405, both with code 100."""
    status, body = await client.get("no/such/method")
    assert (status, body["Result"]["code"]) == (404, 100)
    status, body = await client.get("users/create", EXTENSION="101")
    assert (status, body["Result"]["code"]) == (405, 100)
    # Outside /api/v1/: recorded with the full path, so a client's wrong prefix shows.
    async with client.session.post(
        f"{sim.base_url}/users/create",
        json={"EXTENSION": "101"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:
        assert response.status == 404
    assert sim.requests[-1].path == "/api/users/create"
    assert [request.method for request in sim.requests_to("users/create")] == ["GET"]
    assert sim.users == set()


@pytest.mark.parametrize("body", ["{not json", "[1, 2]"])
async def test_post_body_must_be_a_json_object(
    client: Client, sim: MangoSimulator, body: str
) -> None:
    """A body that is not a JSON object answers 400 with code 100."""
    async with client.session.post(
        f"{sim.base_url}/v1/users/create",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["Result"]["code"] == 100


async def test_channel_needs_a_provisioned_user(
    client: Client, sim: MangoSimulator
) -> None:
    """channel/ answers 114 before users/create, then a ws:// URL on this server."""
    status, body = await client.get("channel/", EXTENSION="101")
    assert (status, body["Result"]["code"]) == (400, 114)

    sim.provision("101")
    url = await client.channel("101")
    assert url.startswith(f"ws://127.0.0.1:{sim.url.rsplit(':', 1)[1]}/ws/")
    assert url != await client.channel("101")


async def test_websocket_url_is_usable_once(
    client: Client, sim: MangoSimulator
) -> None:
    """A channel URL opens one websocket; a second or unknown one is refused with 404."""
    sim.provision("101")
    url = await client.channel("101")
    await client.open(url)

    for wrong in (url, f"{sim.url.replace('http', 'ws')}/ws/unknown"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as error:
            await client.open(wrong)
        assert error.value.status == 404


async def test_websocket_accepts_an_authorization_header(
    client: Client, sim: MangoSimulator
) -> None:
    """The websocket needs no token, but one sent along does no harm."""
    sim.provision("101")
    ws = await client.open(
        await client.channel("101"), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert not ws.closed
    assert sim.open_websockets == 1


async def test_register_needs_an_open_channel_of_that_user(
    client: Client, sim: MangoSimulator
) -> None:
    """session/register/ answers 115 unless CHANNEL is this user's open websocket."""
    sim.provision("101")
    sim.provision("102")
    status, body = await client.post("session/register/", EXTENSION="103", CHANNEL="x")
    assert (status, body["Result"]["code"]) == (400, 114)

    url = await client.channel("101")
    other_url = await client.channel("102")
    await client.open(other_url)
    wrong = [
        url,  # issued but not opened yet
        other_url,  # another user's
        f"{sim.url.replace('http', 'ws')}/ws/unknown",
    ]
    for channel in wrong:
        status, body = await client.post(
            "session/register/", EXTENSION="101", CHANNEL=channel
        )
        assert (status, body["Result"]["code"]) == (400, 115), channel

    ws = await client.open(url)
    status, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert (status, body) == (
        200,
        {"Result": {"code": 109, "message": "No more missed events"}, "events": []},
    )
    assert sim.is_registered("101")

    await ws.close()
    await sim.wait_unregistered("101")
    status, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert (status, body["Result"]["code"]) == (400, 115)


async def test_live_push_goes_to_the_registered_websocket(
    client: Client, sim: MangoSimulator
) -> None:
    """Once registered, pushes arrive as JSON text frames and are not stored."""
    ws, _ = await client.connect("101")
    await sim.push("101", CALL)

    assert await receive(ws) == CALL
    assert sim.missed("101") == []


async def test_an_open_but_unregistered_websocket_gets_nothing(
    client: Client, sim: MangoSimulator
) -> None:
    """Before session/register/ pushes are stored as missed, not sent."""
    sim.provision("101")
    ws = await client.open(await client.channel("101"))
    await sim.push("101", CALL)

    await nothing_more(ws)
    assert sim.missed("101") == [CALL]


async def test_live_pushes_keep_their_order(
    client: Client, sim: MangoSimulator
) -> None:
    """Pushes started together arrive in the order they were started."""
    ws, _ = await client.connect("101")
    await asyncio.gather(*(sim.push("101", message(number)) for number in range(50)))

    assert await receive_many(ws, 50) == [message(number) for number in range(50)]


async def test_missed_events_come_in_batches_then_109(
    client: Client, sim: MangoSimulator
) -> None:
    """Missed events are returned oldest first, at most LIMIT a call, then code 109."""
    sim.provision("101")
    for number in range(5):
        await sim.push("101", message(number))
    assert sim.missed("101") == [message(number) for number in range(5)]
    url = await client.channel("101")
    ws = await client.open(url)

    batches = []
    for limit in ("2", 2, 2, 2):
        status, body = await client.post(
            "session/register/", EXTENSION="101", CHANNEL=url, LIMIT=limit
        )
        assert status == 200
        batches.append((body["Result"]["code"], body["events"]))

    assert batches == [
        (0, [message(0), message(1)]),
        (0, [message(2), message(3)]),
        (0, [message(4)]),
        (109, []),
    ]
    assert sim.missed("101") == []
    await sim.push("101", CALL)
    assert await receive(ws) == CALL


async def test_register_limit_defaults_to_100(
    client: Client, sim: MangoSimulator
) -> None:
    """Without LIMIT a batch holds at most 100 events; a bad LIMIT answers 100."""
    sim.provision("101")
    for number in range(120):
        await sim.push("101", message(number))
    url = await client.channel("101")
    await client.open(url)

    status, body = await client.post(
        "session/register/", EXTENSION="101", CHANNEL=url, LIMIT=0
    )
    assert (status, body["Result"]["code"]) == (400, 100)
    status, body = await client.post(
        "session/register/", EXTENSION="101", CHANNEL=url, LIMIT="many"
    )
    assert (status, body["Result"]["code"]) == (400, 100)
    _, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert len(body["events"]) == 100
    _, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert body["events"] == [message(number) for number in range(100, 120)]


async def test_missed_events_expire_after_two_weeks(
    client: Client, sim: MangoSimulator, clock: FakeClock
) -> None:
    """A missed event older than 2 weeks is gone; younger ones stay."""
    sim.provision("101")
    await sim.push("101", message(1))
    clock.advance(7 * 24 * 3600)
    await sim.push("101", message(2))
    clock.advance(7 * 24 * 3600 - 1)
    assert sim.missed("101") == [message(1), message(2)]

    clock.advance(2)
    assert sim.missed("101") == [message(2)]
    url = await client.channel("101")
    await client.open(url)
    _, body = await client.post("session/register/", EXTENSION="101", CHANNEL=url)
    assert body["events"] == [message(2)]


async def test_missed_events_only_for_provisioned_users(sim: MangoSimulator) -> None:
    """Pushes for a user before users/create are dropped, not stored."""
    await sim.push("101", CALL)
    sim.provision("101")

    assert sim.missed("101") == []
    assert sim.missed("999") == []


async def test_unregister_stores_events_again(
    client: Client, sim: MangoSimulator
) -> None:
    """After session/unregister/ pushes go to the missed store, even with the socket open."""
    ws, _ = await client.connect("101")
    assert await client.post("session/unregister/", EXTENSION="101") == (
        200,
        {"Result": {"code": 0, "message": "OK"}},
    )
    assert not sim.is_registered("101")
    await sim.push("101", CALL)

    await nothing_more(ws)
    assert sim.missed("101") == [CALL]
    # Unregistering twice is harmless; an unknown user is not.
    assert (await client.post("session/unregister/", EXTENSION="101"))[0] == 200
    status, body = await client.post("session/unregister/", EXTENSION="103")
    assert (status, body["Result"]["code"]) == (400, 114)


async def test_closing_the_websocket_unregisters(
    client: Client, sim: MangoSimulator
) -> None:
    """When the client closes its websocket the user's events are stored again."""
    ws, _ = await client.connect("101")
    await ws.close()
    await sim.wait_unregistered("101")
    await sim.push("101", CALL)

    assert sim.missed("101") == [CALL]
    assert sim.open_websockets == 0


async def test_register_on_a_new_channel_moves_the_user(
    client: Client, sim: MangoSimulator
) -> None:
    """Registering on a second websocket moves the pushes there; closing the first is harmless."""
    first, _ = await client.connect("101")
    second, _ = await client.connect("101")
    await first.close()
    await sim.push("101", CALL)

    assert await receive(second) == CALL
    assert sim.is_registered("101")


async def test_post_without_a_body_has_no_parameters(
    client: Client, sim: MangoSimulator
) -> None:
    """An empty POST body means no parameters (here: EXTENSION missing, 100)."""
    async with client.session.post(
        f"{sim.base_url}/v1/users/create", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["Result"]["code"] == 100
    assert sim.requests[-1].params == {}


async def test_wait_helpers(client: Client, sim: MangoSimulator) -> None:
    """wait_registered and wait_for_request wait for the client, or time out."""
    sim.provision("101")
    url = await client.channel("101")
    with pytest.raises(TimeoutError):
        await sim.wait_registered("101", timeout=0.05)
    await client.open(url)
    register = asyncio.create_task(
        client.post("session/register/", EXTENSION="101", CHANNEL=url)
    )
    await sim.wait_registered("101")
    request = await sim.wait_for_request("session/register/")
    await register

    assert request.params["CHANNEL"] == url
    assert request.token == TOKEN


async def test_start_on_a_busy_port_fails_cleanly(sim: MangoSimulator) -> None:
    """A port in use raises and leaves nothing running."""
    other = MangoSimulator()
    with pytest.raises(OSError, match="address already in use"):
        await other.start(port=int(sim.url.rsplit(":", 1)[1]))
    await other.stop()
