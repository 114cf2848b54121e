"""The service's limits: pacing within the documented rates, Retry-After, and what a refused key says."""

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
from aiohttp import web
import pytest

from mango_office_api import (
    ChannelState,
    MangoAuthError,
    MangoChannel,
    MangoClient,
    MangoConnectionError,
    MangoRateLimitError,
    Pacer,
)
from mango_office_api.pacing import CALLBACK, CONNECT, MAX_CONNECTING, ROUTE, TRANSFER
from mango_simulator import MangoSimulator

from .conftest import EXTENSION, TOKEN, Recorder


class FakeTime:
    """A clock, and a sleep that moves it on at once (and notes how long it was)."""

    def __init__(self) -> None:
        """Start at 1000 s."""
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Note the wait and move the clock on."""
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    """A fake clock for a pacer."""
    return FakeTime()


@pytest.fixture
def pacer(fake_time: FakeTime) -> Pacer:
    """A pacer with the documented rates on the fake clock."""
    return Pacer(clock=fake_time.clock, sleep=fake_time.sleep)


async def test_ten_requests_a_second_in_general(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    """The channel's requests count (from their answer) towards ten a second but never wait; an action past them waits its turn."""
    for _ in range(11):
        await pacer.turn()
        pacer.answered()
    assert fake_time.slept == []
    await pacer.turn(CALLBACK)
    assert fake_time.slept == [1.0]


async def test_a_request_of_no_kind_in_flight_leaves_nine_places_to_connect(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    """The set-up's ping still unanswered: the tenth connecting request waits for it, and a second more.

    Counted from when it was sent, it would leave ten places, and the service
    could see the ping (late) and ten more within one second.
    """
    await pacer.turn()
    for _ in range(9):
        await pacer.turn(CONNECT)
    tenth = asyncio.ensure_future(pacer.turn(CONNECT))
    await asyncio.sleep(0)
    assert not tenth.done()

    pacer.answered()
    await tenth
    assert fake_time.slept == [1.0]


async def test_four_callbacks_a_second(pacer: Pacer, fake_time: FakeTime) -> None:
    """The fifth callback within a second waits for its turn; other requests count too."""
    for _ in range(4):
        await pacer.turn(CALLBACK)
    assert fake_time.slept == []
    await pacer.turn(CALLBACK)
    assert fake_time.slept == [1.0]


@pytest.mark.parametrize("kind", [ROUTE, TRANSFER])
async def test_route_and_transfer_one_per_two_seconds(
    pacer: Pacer, fake_time: FakeTime, kind: str
) -> None:
    """A second route (or transfer) waits 2 s; a third at once would wait 4 s: refused, saying when."""
    await pacer.turn(kind)
    await pacer.turn(kind)
    assert fake_time.slept == [2.0]
    fake_time.now -= 2.0  # as if the third came together with the second
    with pytest.raises(MangoRateLimitError) as caught:
        await pacer.turn(kind)
    assert caught.value.retry_after == pytest.approx(4.0)
    assert fake_time.slept == [2.0]
    # A refusal takes no turn: once the time has come, it goes.
    fake_time.now += 2.0
    await pacer.turn(kind)
    assert fake_time.slept == [2.0, 2.0]


async def test_kinds_are_paced_apart(pacer: Pacer, fake_time: FakeTime) -> None:
    """A route does not hold up a transfer or a callback."""
    await pacer.turn(ROUTE)
    await pacer.turn(TRANSFER)
    await pacer.turn(CALLBACK)
    await pacer.turn(None)
    assert fake_time.slept == []


async def test_no_action_overtakes_one_that_waits(fake_time: FakeTime) -> None:
    """Actions take their turns in order: one behind a waiting one waits for it."""
    pacer = Pacer({ROUTE: (1, 1.0)}, clock=fake_time.clock, sleep=fake_time.sleep)
    await pacer.turn(ROUTE)
    await pacer.turn(ROUTE)
    fake_time.now -= 0.5  # a third comes while the second still waits
    await pacer.turn(ROUTE)
    assert fake_time.slept == [1.0, 1.5]


async def test_hold_refuses_until_the_service_allows(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    """After a Retry-After, actions wait where that is short and are refused where not; the channel's wait."""
    pacer.hold(1.5)
    await pacer.turn(CALLBACK)
    assert fake_time.slept == [1.5]
    pacer.hold(30)
    with pytest.raises(MangoRateLimitError) as caught:
        await pacer.turn(CALLBACK)
    assert caught.value.retry_after == pytest.approx(30)
    # The channel's own requests wait as long as the service asked.
    await pacer.turn()
    assert fake_time.slept == [1.5, 30.0]
    await pacer.turn(CALLBACK)


async def test_a_connections_requests_wait_their_turn_and_are_never_refused(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    """Ten go at once; the rest keep ten a second however long they wait."""
    for _ in range(35):
        await pacer.turn(CONNECT)
        pacer.answered()
    assert fake_time.slept == [1.0] * 3


async def test_a_connections_request_counts_from_its_answer(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    """Ten in flight hold the eleventh; it goes a second after the first answer came.

    The service received each in between: however late a request went out or
    arrived, it never sees eleven within a second.
    """
    for _ in range(10):
        await pacer.turn(CONNECT)
    eleventh = asyncio.create_task(pacer.turn(CONNECT))
    await asyncio.sleep(0.01)
    assert not eleventh.done()
    fake_time.now += 5.0
    pacer.answered()
    await eleventh
    assert fake_time.now == pytest.approx(1006.0)
    for _ in range(10):
        pacer.answered()


async def test_an_action_is_not_held_behind_the_connections(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    """Connections take no turn ahead: an action after ten waits for the rate, not their margin."""
    for _ in range(10):
        await pacer.turn(CONNECT)
        pacer.answered()
    await pacer.turn(CALLBACK)
    assert fake_time.slept == [1.0]


async def test_a_few_channels_of_an_account_connect_at_once() -> None:
    """The fourth channel to connect waits until one of the three before it is through."""
    pacer = Pacer()
    inside: list[int] = []
    release = asyncio.Event()

    async def connect(number: int) -> None:
        async with pacer.connecting():
            inside.append(number)
            await release.wait()

    tasks = [asyncio.create_task(connect(n)) for n in range(MAX_CONNECTING + 1)]
    await asyncio.sleep(0.01)
    assert inside == list(range(MAX_CONNECTING))
    release.set()
    await asyncio.gather(*tasks)
    assert inside == list(range(MAX_CONNECTING + 1))


async def test_back_ends_the_backoffs_but_not_a_wait_the_service_asked() -> None:
    """A channel through after a failure wakes the others, but not one waiting what the service asked."""
    pacer = Pacer()
    loop = asyncio.get_running_loop()
    woken, asked = asyncio.Event(), asyncio.Event()
    began = loop.time()
    backoff = asyncio.create_task(pacer.backoff(30, woken))
    retry_after = asyncio.create_task(pacer.backoff(30, asked, early=False))
    await asyncio.sleep(0.01)
    pacer.back()
    await backoff
    assert loop.time() - began < 5.0
    await asyncio.sleep(0.01)
    assert not retry_after.done()
    asked.set()  # as the channel closing would
    await retry_after


# -- answers of the service: a small server of the test's own ----------------------

type Answer = Callable[[], web.Response]


@pytest.fixture
async def service() -> AsyncGenerator[tuple[str, list[str], list[Answer]]]:
    """A server that answers every request with the next of `answers` (and notes its path)."""
    paths: list[str] = []
    answers: list[Answer] = []

    async def handle(request: web.Request) -> web.Response:
        paths.append(request.path)
        return (
            answers.pop(0)() if answers else web.json_response({"Result": {"code": 0}})
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/api", paths, answers
    await runner.cleanup()


def too_many(retry_after: str | None = "7") -> Answer:
    """HTTP 429 with a JSON body, as the VPBX API answers past its limits."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return lambda: web.json_response(
        {"Result": {"code": 4003, "message": "Too many requests"}},
        status=429,
        headers=headers,
    )


async def test_429_says_when_to_try_again_and_holds_the_account(
    session: aiohttp.ClientSession, service: tuple[str, list[str], list[Answer]]
) -> None:
    """A 429 is a MangoRateLimitError with Retry-After's seconds; until then nothing is sent."""
    base_url, paths, answers = service
    client = MangoClient(session, TOKEN, base_url=base_url)
    answers.append(too_many("30"))
    with pytest.raises(MangoRateLimitError) as caught:
        await client.ping()
    assert caught.value.retry_after == 30.0
    assert isinstance(caught.value, MangoConnectionError)
    with pytest.raises(MangoRateLimitError) as again:
        await client.callback(EXTENSION, "+74951234567")
    assert again.value.retry_after == pytest.approx(30, abs=1)
    assert paths == ["/api/v1/session/ping"]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("1.5", 1.5),
        ("soon", None),
        ("nan", None),
        ("99999999", 3600.0),
        ("date in 120 s", 120),
        ("date 120 s ago", 0),
    ],
)
async def test_retry_after_spellings(
    session: aiohttp.ClientSession,
    service: tuple[str, list[str], list[Answer]],
    header: str | None,
    seconds: float | None,
) -> None:
    """Retry-After in seconds or as an HTTP date, bounded; anything else is no Retry-After."""
    base_url, _, answers = service
    client = MangoClient(session, TOKEN, base_url=base_url)
    if header is not None and header.startswith("date"):
        offset = timedelta(seconds=120 if " in " in header else -120)
        header = format_datetime(datetime.now(UTC) + offset, usegmt=True)
    answers.append(too_many(header))
    with pytest.raises(MangoRateLimitError) as caught:
        await client.ping()
    if seconds is None:
        assert caught.value.retry_after is None
    else:
        assert caught.value.retry_after == pytest.approx(seconds, abs=2)


async def test_503_with_retry_after(
    session: aiohttp.ClientSession, service: tuple[str, list[str], list[Answer]]
) -> None:
    """A 503 is a connection error that carries Retry-After, and holds the account as long."""
    base_url, paths, answers = service
    client = MangoClient(session, TOKEN, base_url=base_url)
    answers.append(
        lambda: web.json_response(
            {"Result": {"code": 5000}}, status=503, headers={"Retry-After": "20"}
        )
    )
    with pytest.raises(MangoConnectionError) as caught:
        await client.ping()
    assert not isinstance(caught.value, MangoRateLimitError)
    assert caught.value.retry_after == 20.0
    with pytest.raises(MangoRateLimitError) as again:
        await client.transfer("call-1", "102")
    assert again.value.retry_after == pytest.approx(20, abs=1)
    assert len(paths) == 1


async def test_the_channel_waits_as_long_as_the_service_asks(
    session: aiohttp.ClientSession, service: tuple[str, list[str], list[Answer]]
) -> None:
    """A channel told to wait 30 s tries again no sooner, however short its own backoff."""
    base_url, paths, answers = service
    client = MangoClient(session, TOKEN, base_url=base_url)
    answers.append(too_many("30"))
    recorder = Recorder()
    channel = MangoChannel(
        client,
        EXTENSION,
        on_event=recorder.on_event,
        on_state=recorder.on_state,
        retry_minimum=0.001,
        retry_maximum=0.002,
    )
    task = asyncio.create_task(channel.run())
    await recorder.wait_state(ChannelState.DISCONNECTED)
    # Without Retry-After, this backoff would have tried a hundred times by now.
    await asyncio.sleep(0.2)
    assert paths == ["/api/v1/channel/"]
    await channel.close()
    await task


async def test_a_refused_key_says_how_to_confirm(
    client: MangoClient, simulator: MangoSimulator, session: aiohttp.ClientSession
) -> None:
    """HTTP 401 with the service's JSON: MangoAuthError with its status, to be confirmed 2 minutes later."""
    other = MangoClient(session, "not-the-token", base_url=simulator.base_url)
    with pytest.raises(MangoAuthError) as caught:
        await other.ping()
    assert caught.value.status == 401
    assert caught.value.confirm_after == 120.0
