"""MangoClient's requests, as the simulator received them, and its errors."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import traceback
from typing import Any

import aiohttp
import pytest
from yarl import URL

from mango_office_api import (
    MangoApiError,
    MangoAuthError,
    MangoClient,
    MangoConnectionError,
    MangoError,
    MangoProtocolError,
    MissedEventsBatch,
    Pacer,
    TransferMethod,
)
from mango_simulator import MangoSimulator, RecordedRequest

from .conftest import EXTENSION, TOKEN, call_message

DESTINATION = "+74959876543"


def assert_token_not_in(err: BaseException, token: str = TOKEN) -> None:
    """Neither the error nor anything in its chain or traceback names the token."""
    assert token not in str(err)
    assert token not in repr(err)
    assert token not in "".join(traceback.format_exception(err))


@pytest.fixture
async def websocket(
    session: aiohttp.ClientSession, client: MangoClient, simulator: MangoSimulator
) -> AsyncGenerator[tuple[aiohttp.ClientWebSocketResponse, str]]:
    """An open websocket of extension 101 (provisioned), and its URL."""
    simulator.provision(EXTENSION)
    url = await client.get_channel(EXTENSION)
    ws = await session.ws_connect(url, heartbeat=None)
    yield ws, url
    await ws.close()


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let the loop run until the condition holds."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polls the simulator's state
            await asyncio.sleep(0.005)


# -- requests ----------------------------------------------------------------


async def test_repr_names_the_service_not_the_token(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """repr() of a client shows where it talks to, never the token."""
    assert TOKEN not in repr(client)
    assert simulator.base_url in repr(client)


async def test_create_user(client: MangoClient, simulator: MangoSimulator) -> None:
    """users/create sends EXTENSION in the body; a second one ("already exists") is success."""
    await client.create_user(EXTENSION)
    assert simulator.users == {EXTENSION}
    await client.create_user(EXTENSION)

    assert simulator.requests == [
        RecordedRequest("POST", "users/create", {"EXTENSION": EXTENSION}, TOKEN),
        RecordedRequest("POST", "users/create", {"EXTENSION": EXTENSION}, TOKEN),
    ]
    assert simulator.users == {EXTENSION}


async def test_create_user_of_an_unknown_extension(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """An extension the PBX does not have is refused with code 111."""
    with pytest.raises(MangoApiError) as caught:
        await client.create_user("999")

    assert caught.value.code == 111
    assert caught.value.message == "Extension not found"
    assert simulator.requests == [
        RecordedRequest("POST", "users/create", {"EXTENSION": "999"}, TOKEN)
    ]
    assert simulator.users == set()
    assert_token_not_in(caught.value)


async def test_get_channel(client: MangoClient, simulator: MangoSimulator) -> None:
    """channel/ is a GET with EXTENSION in the query; it answers a websocket URL."""
    simulator.provision(EXTENSION)

    url = await client.get_channel(EXTENSION)

    assert URL(url).scheme == "ws"
    assert URL(url).host == "127.0.0.1"
    assert URL(url).port == URL(simulator.base_url).port
    assert simulator.requests == [
        RecordedRequest("GET", "channel", {"EXTENSION": EXTENSION}, TOKEN)
    ]


async def test_get_channel_of_an_extension_not_provisioned(
    client: MangoClient,
) -> None:
    """channel/ before users/create is refused with the service's code."""
    with pytest.raises(MangoApiError) as caught:
        await client.get_channel(EXTENSION)
    assert caught.value.code == 114


async def test_register_drains_missed_events_in_batches(
    client: MangoClient,
    simulator: MangoSimulator,
    websocket: tuple[aiohttp.ClientWebSocketResponse, str],
) -> None:
    """session/register/ sends EXTENSION, CHANNEL and LIMIT; batches come oldest first."""
    _, url = websocket
    messages = [call_message(f"c{number}") for number in range(3)]
    for message in messages:
        await simulator.push(EXTENSION, message)
    simulator.requests.clear()

    first = await client.register(EXTENSION, url, limit=2)
    assert simulator.is_registered(EXTENSION)
    second = await client.register(EXTENSION, url, limit=2)
    last = await client.register(EXTENSION, url, limit=2)

    assert first == MissedEventsBatch(messages=messages[:2], more=True)
    assert second == MissedEventsBatch(messages=messages[2:], more=True)
    assert last == MissedEventsBatch(messages=[], more=False)
    assert simulator.requests == 3 * [
        RecordedRequest(
            "POST",
            "session/register",
            {"EXTENSION": EXTENSION, "CHANNEL": url, "LIMIT": 2},
            TOKEN,
        )
    ]


async def test_register_on_a_websocket_that_is_not_open(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """Registering on a channel URL nobody opened is refused with the service's code."""
    simulator.provision(EXTENSION)
    url = await client.get_channel(EXTENSION)

    with pytest.raises(MangoApiError) as caught:
        await client.register(EXTENSION, url)

    assert caught.value.code == 115
    assert not simulator.is_registered(EXTENSION)
    assert simulator.requests_to("session/register")[0].params["LIMIT"] == 100


async def test_unregister(
    client: MangoClient,
    simulator: MangoSimulator,
    websocket: tuple[aiohttp.ClientWebSocketResponse, str],
) -> None:
    """session/unregister/ sends EXTENSION; from then on pushes are stored as missed."""
    _, url = websocket
    await client.register(EXTENSION, url)
    simulator.requests.clear()

    await client.unregister(EXTENSION)

    assert not simulator.is_registered(EXTENSION)
    assert simulator.requests == [
        RecordedRequest("POST", "session/unregister", {"EXTENSION": EXTENSION}, TOKEN)
    ]
    await simulator.push(EXTENSION, call_message("c1"))
    assert simulator.missed(EXTENSION) == [call_message("c1")]


async def test_ping(client: MangoClient, simulator: MangoSimulator) -> None:
    """session/ping is a GET without parameters."""
    await client.ping()
    assert simulator.requests == [RecordedRequest("GET", "session/ping", {}, TOKEN)]


async def test_callback_returns_the_call_id(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """A callback sends a new COMMAND_ID, EXTENSION and DESTINATION_NUMBER; the call it starts has the id it returns."""
    simulator.provision(EXTENSION)

    call_id = await client.callback(EXTENSION, DESTINATION)
    await client.callback(EXTENSION, DESTINATION)

    first, second = simulator.requests
    command_ids = [first.params.pop("COMMAND_ID"), second.params.pop("COMMAND_ID")]
    assert first == RecordedRequest(
        "POST",
        "callback",
        {"EXTENSION": EXTENSION, "DESTINATION_NUMBER": DESTINATION},
        TOKEN,
    )
    # The client makes a new id for each command.
    assert all(len(command_id) == 32 for command_id in command_ids)
    assert command_ids[0] != command_ids[1]
    await wait_until(lambda: len(simulator.missed(EXTENSION)) >= 2)
    first, second = simulator.missed(EXTENSION)[:2]
    assert call_id is not None
    assert first["data"]["call_id"] == second["data"]["call_id"] == call_id
    assert first["data"]["to"] == {"number": DESTINATION}
    assert [first["data"]["call_state"], second["data"]["call_state"]] == [
        "APPEARED",
        "CONNECTED",
    ]


async def test_route_returns_the_request_id(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """route/async/ sends COMMAND_ID, CALL_ID and TO_NUMBER; the route result carries its request id."""
    simulator.provision(EXTENSION)
    ivr = await simulator.incoming_via_ivr()
    simulator.requests.clear()

    request_id = await client.route(ivr["call_id"], "102", command_id="command-1")

    assert simulator.requests == [
        RecordedRequest(
            "POST",
            "route/async",
            {"COMMAND_ID": "command-1", "CALL_ID": ivr["call_id"], "TO_NUMBER": "102"},
            TOKEN,
        )
    ]
    assert request_id != "command-1"
    await wait_until(
        lambda: any(
            message["routeKey"] == "/route_result"
            for message in simulator.missed(EXTENSION)
        )
    )
    (result,) = [
        message["data"]
        for message in simulator.missed(EXTENSION)
        if message["routeKey"] == "/route_result"
    ]
    assert result["request_id"] == request_id
    assert result["call_id"] == ivr["call_id"]


async def test_route_without_a_request_id_returns_the_command_id(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """Where the answer names no request (as the VPBX API's do not), the command's id stands for it."""

    async def answer() -> dict[str, Any]:
        return {}

    simulator.replace_handler("route/async", answer)
    client.pacer = Pacer({})  # two routes at once: not what this test is about
    assert await client.route("call-1", "102", command_id="command-1") == "command-1"
    assert len(await client.route("call-2", "103")) == 32


async def test_route_of_an_unknown_call(client: MangoClient) -> None:
    """A route request for a call the PBX does not know is refused with code 112."""
    with pytest.raises(MangoApiError) as caught:
        await client.route("no-such-call", "102")
    assert caught.value.code == 112


@pytest.mark.parametrize(
    ("method", "on_wire"),
    [(TransferMethod.BLIND, "blind"), (TransferMethod.CONSULTATIVE, "hold")],
)
async def test_transfer(
    client: MangoClient,
    simulator: MangoSimulator,
    method: TransferMethod,
    on_wire: str,
) -> None:
    """A transfer sends COMMAND_ID, CALL_ID, TO_NUMBER, METHOD (blind, or hold for a consultative one) and its INITIATOR."""
    simulator.provision(EXTENSION)
    simulator.start_scenario(
        "incoming_answered", extension=EXTENSION, talk_seconds=None, record=False
    )
    await wait_until(lambda: bool(simulator.active_calls(EXTENSION)))
    (call_id,) = simulator.active_calls(EXTENSION)
    simulator.requests.clear()

    await client.transfer(
        call_id, "102", method, initiator=EXTENSION, command_id="command-1"
    )

    assert simulator.requests == [
        RecordedRequest(
            "POST",
            "transfer",
            {
                "COMMAND_ID": "command-1",
                "CALL_ID": call_id,
                "TO_NUMBER": "102",
                "METHOD": on_wire,
                "INITIATOR": EXTENSION,
            },
            TOKEN,
        )
    ]
    # The simulator acts on the method: blind hangs the leg up, hold holds it first.
    await wait_until(lambda: call_id not in simulator.active_calls(EXTENSION))
    states = [
        message["data"]["call_state"]
        for message in simulator.missed(EXTENSION)
        if message["data"]["call_id"] == call_id
    ]
    assert states[-1] == "DISCONNECTED"
    assert ("ONHOLD" in states) is (method is TransferMethod.CONSULTATIVE)


async def test_transfer_defaults_to_blind(
    client: MangoClient, simulator: MangoSimulator
) -> None:
    """Without a method the transfer is blind."""
    with pytest.raises(MangoApiError) as caught:
        await client.transfer("no-such-call", "102")
    assert caught.value.code == 112
    assert simulator.requests[0].params["METHOD"] == "blind"


async def test_get_record_url(
    client: MangoClient, simulator: MangoSimulator, session: aiohttp.ClientSession
) -> None:
    """The record request sends RECORD_ID in the query and answers the recording's URL."""
    simulator.provision(EXTENSION)
    ids = await simulator.incoming_answered(EXTENSION, record=True)
    simulator.requests.clear()

    url = await client.get_record_url(ids["record_id"])

    assert simulator.requests == [
        RecordedRequest("GET", "record", {"RECORD_ID": ids["record_id"]}, TOKEN)
    ]
    async with session.get(url) as response:
        assert response.status == 200
        assert (await response.read()).startswith(b"RIFF")


async def test_get_record_url_of_an_unknown_record(client: MangoClient) -> None:
    """An unknown record id is refused (HTTP 404 with code 113), not taken for a protocol error."""
    with pytest.raises(MangoApiError) as caught:
        await client.get_record_url("no-such-record")
    assert caught.value.code == 113


async def test_every_request_carries_the_token_as_a_bearer(
    session: aiohttp.ClientSession,
    client: MangoClient,
    simulator: MangoSimulator,
    websocket: tuple[aiohttp.ClientWebSocketResponse, str],
) -> None:
    """The Authorization header (the simulator reads it as Bearer) holds the token on each path."""
    _, url = websocket
    await client.create_user(EXTENSION)
    await client.register(EXTENSION, url)
    await client.ping()
    await client.callback(EXTENSION, DESTINATION)
    await client.unregister(EXTENSION)

    assert len(simulator.requests) == 6
    assert {request.token for request in simulator.requests} == {TOKEN}


async def test_base_url_with_a_trailing_slash(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """A base URL ending in / gives the same paths."""
    client = MangoClient(session, TOKEN, base_url=f"{simulator.base_url}/")
    await client.ping()
    assert simulator.requests == [RecordedRequest("GET", "session/ping", {}, TOKEN)]


# -- errors ------------------------------------------------------------------

type Request = Callable[[MangoClient], Awaitable[object]]

REQUESTS: dict[str, Request] = {
    "users/create": lambda client: client.create_user(EXTENSION),
    "session/ping": lambda client: client.ping(),
    "callback": lambda client: client.callback(EXTENSION, DESTINATION),
    "record": lambda client: client.get_record_url("r1"),
}


@pytest.mark.parametrize("path", REQUESTS)
async def test_rejected_token(
    session: aiohttp.ClientSession, simulator: MangoSimulator, path: str
) -> None:
    """HTTP 401 (code 103) is MangoAuthError, whose message does not repeat the token sent."""
    wrong = "wrong-token-77d1aa"
    client = MangoClient(session, wrong, base_url=simulator.base_url)

    with pytest.raises(MangoAuthError) as caught:
        await REQUESTS[path](client)

    assert [request.token for request in simulator.requests] == [wrong]
    assert path in str(caught.value)
    assert_token_not_in(caught.value, wrong)
    assert wrong not in repr(client)


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", MangoConnectionError),
        ("timeout", MangoConnectionError),
        ("malformed", MangoProtocolError),
    ],
)
@pytest.mark.parametrize("path", REQUESTS)
async def test_faults(
    session: aiohttp.ClientSession,
    simulator: MangoSimulator,
    path: str,
    mode: str,
    error: type[MangoError],
) -> None:
    """A server error or a request that hangs is a connection error; an answer that is not JSON a protocol error."""
    client = MangoClient(
        session, TOKEN, base_url=simulator.base_url, request_timeout=0.2
    )
    simulator.fail_next(path, mode=mode)

    async with asyncio.timeout(2):
        with pytest.raises(error) as caught:
            await REQUESTS[path](client)

    assert type(caught.value) is error
    assert len(simulator.requests) == 1
    assert_token_not_in(caught.value)
    # The fault was one request long: the next one gets through.
    simulator.provision(EXTENSION)
    await client.ping()


async def test_register_timeout_follows_the_vendors_minute_not_the_request_timeout(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """session/register/ may take a minute by the vendor's word: a short request_timeout does not cut it."""
    simulator.provision(EXTENSION)
    client = MangoClient(
        session, TOKEN, base_url=simulator.base_url, request_timeout=0.05
    )
    url = await client.get_channel(EXTENSION)
    async with session.ws_connect(url, heartbeat=None):
        simulator.fail_next("session/register", mode="timeout")
        register = asyncio.create_task(client.register(EXTENSION, url))
        done, _ = await asyncio.wait({register}, timeout=0.3)
        assert not done
        register.cancel()
        with pytest.raises(asyncio.CancelledError):
            await register


async def test_connection_refused(
    session: aiohttp.ClientSession, free_port: int
) -> None:
    """Nobody listening is a connection error."""
    client = MangoClient(session, TOKEN, base_url=f"http://127.0.0.1:{free_port}/api")

    with pytest.raises(MangoConnectionError) as caught:
        await client.ping()

    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectionError)
    assert_token_not_in(caught.value)
    assert TOKEN not in repr(client)


async def test_an_answer_that_is_not_the_api(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """A base URL that reaches some other web server (a plain 404 page) is a protocol error."""
    client = MangoClient(session, TOKEN, base_url=f"{simulator.url}/not-the-api")
    with pytest.raises(MangoProtocolError) as caught:
        await client.ping()
    assert "HTTP 404" in str(caught.value)
    assert_token_not_in(caught.value)
