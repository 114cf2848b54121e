"""The fault matrix: the whole integration in Home Assistant against the simulator's faults.

Each case drives faults of the simulated service (dropped, stalled and
refused websockets, failing and hanging requests, a revoked token,
duplicates, restarts, hostile frames) and checks what a user sees: the
entities' states and availability, the mango_office_call events counted
message by message, and the log. Each case adds a row to the table printed at
the end of the run (conftest.py); the figures are taken even when a case
fails, so the table shows what the engine loses.

Time is scaled where a case stands for minutes: the channel's retry bounds
and ping interval are set on the live channel after setup, and the
simulator's faults last the scaled time.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
import functools
import json
import logging
import random
import time
from typing import Any
from unittest.mock import ANY, patch

from homeassistant import loader
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_TOKEN, MATCH_ALL, STATE_UNAVAILABLE
from homeassistant.core import Event, HassJob, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import json as json_helper, restore_state
from homeassistant.util.async_ import get_scheduled_timer_handles
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_load_restore_state_from_storage,
    async_test_home_assistant,
)

from custom_components.mango_office.api import MangoChannel
from mango_simulator import MangoSimulator

from .conftest import (
    EXTENSION,
    TOKEN,
    extension_of,
    wait_connected,
    wait_for_state,
    wait_until,
)
from .helpers import TIMESTAMP, call_message

CALL_STATE = "sensor.extension_101_call_state"
CONNECTION = "binary_sensor.extension_101_connection"
MISSED_CALLS = "sensor.extension_101_missed_calls"
LAST_CALLER = "sensor.extension_101_last_caller"
EVENT_CALL = "mango_office_call"
INTEGRATION_LOGGER = "custom_components.mango_office"
NEW_TOKEN = "reissued-token-5be21c"

# disconnect_reason values (PROTOCOL.md).
NORMAL_END = 1100
ENDED_BY_CALLER = 1110
NO_ANSWER = 1111


# The main cases again with the simulator in the VPBX API's spellings.
BOTH_DIALECTS = pytest.mark.parametrize(
    "simulator", ["server-client", "vpbx"], indirect=True
)


class Ledger:
    """The /call messages a case sent, each known by (call id, time), and their bus events.

    helpers.call_message puts seq seconds into a message's timestamp, so
    (call id, time) names one message; call ids carry the case's numbering.
    Timestamps start now: a call that rang long ago is rightly taken for over.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Record the call events of a Home Assistant instance."""
        self._captured: list[list[Event]] = []
        self.sent: list[tuple[str, str]] = []
        self.timestamp = int(time.time())
        self.watch(hass)

    def watch(self, hass: HomeAssistant) -> None:
        """Record the call events of one more instance (after a restart)."""
        self._captured.append(async_capture_events(hass, EVENT_CALL))

    @property
    def events(self) -> list[Event]:
        """Every call event recorded, in order."""
        return [event for events in self._captured for event in events]

    def message(
        self,
        call_id: str,
        seq: int,
        state: str,
        *,
        expected: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """A message that must arrive exactly once (or, not expected, never)."""
        message = call_message(call_id, seq, state, timestamp=self.timestamp, **fields)
        if expected:
            self.sent.append(self._key(call_id, seq))
        return message

    def _key(self, call_id: str, seq: int) -> tuple[str, str]:
        return call_id, datetime.fromtimestamp(self.timestamp + seq, UTC).isoformat()

    async def push(
        self,
        simulator: MangoSimulator,
        call_id: str,
        seq: int,
        state: str,
        **fields: Any,
    ) -> None:
        """Push, through the service (live, or kept as missed), a message that must arrive."""
        await simulator.push(EXTENSION, self.message(call_id, seq, state, **fields))

    def received(self) -> Counter[tuple[str, str]]:
        """How many events each message became."""
        return Counter(
            (event.data["call_id"], event.data["time"]) for event in self.events
        )

    def arrived(self, call_id: str, seq: int) -> bool:
        """Whether one message has arrived."""
        return self._key(call_id, seq) in self.received()

    def all_arrived(self) -> bool:
        """Whether every message sent has arrived."""
        return set(self.sent) <= set(self.received())

    def lost(self) -> int:
        """Messages sent that never arrived."""
        return len(set(self.sent) - set(self.received()))

    def duplicated(self) -> int:
        """Events beyond the one each message is."""
        received = self.received()
        return sum(received[key] - 1 for key in set(self.sent) if received[key] > 1)

    def event_types(self, call_id: str) -> list[str | None]:
        """What a call's events said, in order."""
        return [
            event.data["event_type"]
            for event in self.events
            if event.data["call_id"] == call_id
        ]

    def replayed(self, call_id: str) -> list[bool]:
        """Which of a call's events came from the service's missed store."""
        return [
            event.data["replayed"]
            for event in self.events
            if event.data["call_id"] == call_id
        ]


def _more_sent(ledger: Ledger, count: int) -> bool:
    return len(ledger.sent) >= count


@dataclass
class Figures:
    """One row of the fault matrix."""

    fault: str
    injected: int = 0
    ledger: Ledger | None = field(default=None, repr=False)
    requests_during_outages: int | None = None

    def row(self, log_lines: int) -> dict[str, Any]:
        """The row, with the ledger's counts."""
        sent = len(set(self.ledger.sent)) if self.ledger else 0
        lost = self.ledger.lost() if self.ledger else 0
        return {
            "fault": self.fault,
            "times injected": self.injected,
            "messages sent": sent,
            "delivered": sent - lost,
            "lost": lost,
            "duplicated": self.ledger.duplicated() if self.ledger else 0,
            "requests during outages": (
                "-"
                if self.requests_during_outages is None
                else self.requests_during_outages
            ),
            "log lines (info+)": log_lines,
        }


@pytest.fixture
def figures(
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    fault_table: list[dict[str, Any]],
) -> Generator[Figures]:
    """The case's row; its log lines are the integration's at info level and above."""
    figures = Figures(fault=request.node.name)
    yield figures
    log_lines = sum(
        1
        for record in caplog.get_records("call")
        if record.name.startswith(INTEGRATION_LOGGER) and record.levelno >= logging.INFO
    )
    fault_table.append({**figures.row(log_lines), "nodeid": request.node.nodeid})


def _scale(
    entry: MockConfigEntry,
    *,
    retry_minimum: float,
    retry_maximum: float,
    ping_after: float | None = None,
) -> MangoChannel:
    """Set the live channel's retry bounds (and ping interval) to the case's time scale."""
    channel: MangoChannel = extension_of(entry).channel
    channel._retry_minimum = retry_minimum
    channel._retry_maximum = retry_maximum
    if ping_after is not None:
        channel._ping_after = ping_after
    return channel


async def _reconnect(hass: HomeAssistant, simulator: MangoSimulator) -> None:
    """Drop the websocket and wait until the channel is registered and live again.

    A new connection takes the channel's timings as they are now.
    """
    registers = len(simulator.requests_to("session/register"))
    await simulator.drop_websockets()
    await wait_until(lambda: len(simulator.requests_to("session/register")) > registers)
    await wait_connected(hass)


def _integration_lines(
    caplog: pytest.LogCaptureFixture, since: int, level: int = logging.INFO
) -> list[logging.LogRecord]:
    """The integration's log lines at a level or above, from the since-th record on."""
    return [
        record
        for record in caplog.records[since:]
        if record.name.startswith(INTEGRATION_LOGGER) and record.levelno >= level
    ]


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


@BOTH_DIALECTS
async def test_websocket_dropped_mid_call_100_times(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    figures: Figures,
) -> None:
    """Dropped 100 times in a row, each time with a call ringing: nothing lost or doubled.

    Each dropped call's end is pushed while the channel is away (kept as
    missed) or just back (live); either way it arrives once, and the call
    counts as missed.
    """
    figures.fault = "websocket dropped mid-call, 100 times in a row"
    _scale(init_integration, retry_minimum=0.01, retry_maximum=0.05)
    ledger = figures.ledger = Ledger(hass)
    await ledger.push(simulator, "long", 1, "APPEARED")
    await ledger.push(simulator, "long", 2, "CONNECTED")
    requests = len(simulator.requests)

    for drop in range(100):
        call_id = f"drop-{drop:03d}"
        await ledger.push(
            simulator, call_id, 1, "APPEARED", caller={"number": f"+7495{drop:07d}"}
        )
        await ledger.push(
            simulator, "long", 3 + drop, "ONHOLD" if drop % 2 == 0 else "CONNECTED"
        )
        await simulator.drop_websockets()
        figures.injected += 1
        await ledger.push(
            simulator, call_id, 2, "DISCONNECTED", disconnect_reason=ENDED_BY_CALLER
        )
        await wait_until(functools.partial(ledger.arrived, call_id, 2))
    figures.requests_during_outages = len(simulator.requests) - requests
    await wait_connected(hass)

    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert _state(hass, CALL_STATE) == "talking"  # the long call, back from hold
    assert _state(hass, MISSED_CALLS) == "100"
    assert _state(hass, LAST_CALLER) == "+74950000099"
    for drop in range(100):
        assert ledger.event_types(f"drop-{drop:03d}") == ["incoming", "missed"]

    await ledger.push(
        simulator, "long", 103, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await wait_for_state(hass, CALL_STATE, "idle")
    assert ledger.event_types("long") == [
        "incoming",
        "answered",
        *[None] * 100,
        "ended",
    ]
    assert (ledger.lost(), ledger.duplicated()) == (0, 0)


# One simulated second of the outage case, in real seconds.
SIMULATED_SECOND = 0.02


@BOTH_DIALECTS
async def test_ten_minutes_of_500s_and_timeouts_bring_no_request_storm(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    """Ten simulated minutes of failing channel, register and ping: few requests, all kept.

    The websocket stalls (pings unanswered, frames held back), then channel/
    answers 500 or hangs for five minutes, and register/ and ping for ten.
    Backoff from 1 s to 5 min with full jitter makes about a dozen attempts
    of a few requests each in ten minutes; a storm makes hundreds.
    """
    figures.fault = "500s and timeouts on channel, register, ping (10 simulated min)"
    second = SIMULATED_SECOND
    channel = _scale(
        init_integration,
        retry_minimum=1 * second,
        retry_maximum=300 * second,
        ping_after=20 * second,
    )
    # A timeout: the service hangs for 10 s, then its gateway gives up (504).
    simulator.hang_seconds = 10 * second
    await _reconnect(hass, simulator)  # on a connection that pings at the scale
    ledger = figures.ledger = Ledger(hass)
    await ledger.push(simulator, "before", 1, "APPEARED")
    await ledger.push(simulator, "before", 2, "CONNECTED")
    await ledger.push(
        simulator, "before", 3, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await wait_until(functools.partial(ledger.arrived, "before", 3))

    outage = 600 * second
    loop = asyncio.get_running_loop()
    ends = loop.time() + outage
    first_request = len(simulator.requests)
    first_line = len(caplog.records)
    simulator.stall_websockets(True)
    simulator.fail_for("channel", outage / 2, ["500", "timeout"])
    simulator.fail_for("session/register", outage, ["timeout", "500"])
    simulator.fail_for("session/ping", outage, ["500", "timeout"])
    # Held back by the stall, kept as missed once the channel gives the socket up.
    await ledger.push(simulator, "outage", 1, "APPEARED")
    await ledger.push(
        simulator, "outage", 2, "DISCONNECTED", disconnect_reason=ENDED_BY_CALLER
    )

    await wait_connected(hass, connected=False)
    assert _state(hass, CALL_STATE) == STATE_UNAVAILABLE
    await asyncio.sleep(ends - loop.time())
    during = simulator.requests[first_request:]
    simulator.stall_websockets(False)
    figures.requests_during_outages = len(during)
    figures.injected = 1 + sum(
        request.path in {"channel", "session/register", "session/ping"}
        for request in during
    )
    # Less chance of a spurious ping timeout on a loaded machine from now on.
    channel._ping_after = 20.0
    await wait_connected(hass, seconds=300 * second + 10)
    await wait_until(ledger.all_arrived)

    attempts = sum(request.path == "channel" for request in during)
    assert 5 <= attempts <= 30, during
    assert len(during) <= 3 * 30, during
    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert ledger.event_types("outage") == ["incoming", "missed"]
    assert ledger.replayed("outage") == [True, True]
    assert _state(hass, MISSED_CALLS) == "1"
    assert _state(hass, CALL_STATE) == "idle"
    # Once when the connection went, once when it came back; retries at debug.
    assert [record.levelno for record in _integration_lines(caplog, first_line)] == [
        logging.INFO,
        logging.INFO,
    ]


@BOTH_DIALECTS
async def test_token_revoked_while_running(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    figures: Figures,
) -> None:
    """Reauth starts, nothing retries meanwhile, and what the service kept comes after reauth."""
    figures.fault = "token revoked while running"
    # Retries 10 ms apart: a storm would show at once. The refusal is confirmed 0.1 s
    # later (two minutes for real).
    channel = _scale(init_integration, retry_minimum=0.01, retry_maximum=0.01)
    channel._auth_confirm_after = 0.1
    ledger = figures.ledger = Ledger(hass)
    await ledger.push(simulator, "before", 1, "APPEARED")
    await ledger.push(simulator, "before", 2, "CONNECTED")
    await ledger.push(
        simulator, "before", 3, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await wait_until(functools.partial(ledger.arrived, "before", 3))
    first_request = len(simulator.requests)

    simulator.revoke_token(TOKEN)
    figures.injected = 1
    await wait_connected(hass, connected=False)
    await wait_until(hass.config_entries.flow.async_progress)
    flows = hass.config_entries.flow.async_progress()
    assert [
        (flow["context"]["source"], flow["context"]["entry_id"]) for flow in flows
    ] == [(SOURCE_REAUTH, init_integration.entry_id)]
    assert _state(hass, CALL_STATE) == STATE_UNAVAILABLE
    at_reauth = len(simulator.requests)
    # While nobody is registered the service keeps the extension's calls.
    await ledger.push(simulator, "kept-1", 1, "APPEARED")
    await ledger.push(
        simulator, "kept-1", 2, "DISCONNECTED", disconnect_reason=NO_ANSWER
    )
    await ledger.push(simulator, "kept-2", 1, "APPEARED")
    await ledger.push(simulator, "kept-2", 2, "CONNECTED")
    await ledger.push(
        simulator, "kept-2", 3, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await asyncio.sleep(0.5)  # fifty retry intervals
    figures.requests_during_outages = len(simulator.requests) - first_request
    assert len(simulator.requests) == at_reauth, "a rejected token must not be retried"
    assert at_reauth - first_request <= 3, simulator.requests[first_request:]

    simulator.add_token(NEW_TOKEN)
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_TOKEN: NEW_TOKEN}
    )
    assert (result["type"], result["reason"]) == (
        FlowResultType.ABORT,
        "reauth_successful",
    )
    await wait_connected(hass)
    await wait_until(ledger.all_arrived)

    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert ledger.replayed("before") == [False, False, False]
    assert ledger.event_types("kept-1") == ["incoming", "missed"]
    assert ledger.event_types("kept-2") == ["incoming", "answered", "ended"]
    assert ledger.replayed("kept-1") + ledger.replayed("kept-2") == [True] * 5
    assert _state(hass, MISSED_CALLS) == "1"
    assert _state(hass, CALL_STATE) == "idle"
    assert {request.token for request in simulator.requests[at_reauth:]} == {NEW_TOKEN}


@BOTH_DIALECTS
async def test_duplicates_overlap_and_stale_seq(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    figures: Figures,
) -> None:
    """Repeats, live messages the service also kept as missed, and stale seqs count once or not at all."""
    figures.fault = "duplicates, live/missed overlap, stale seq"
    _scale(init_integration, retry_minimum=0.01, retry_maximum=0.05)
    ledger = figures.ledger = Ledger(hass)
    records = async_capture_events(hass, "mango_office_record")
    route_results = async_capture_events(hass, "mango_office_route_result")

    # The same frame twice.
    for seq, state, fields in (
        (1, "APPEARED", {}),
        (2, "CONNECTED", {}),
        (3, "DISCONNECTED", {"disconnect_reason": NORMAL_END}),
    ):
        message = ledger.message("dup", seq, state, **fields)
        await simulator.push(EXTENSION, message)
        await simulator.push(EXTENSION, message)
        figures.injected += 1
    record = {
        "routeKey": "/record",
        "data": {
            "record_id": "rec-1",
            "call_id": "dup",
            "entry_id": "entry-dup",
            "status": "AVAILABLE",
            "url": "https://records.example/rec-1.mp3",
            "duration": 42,
            "timestamp": TIMESTAMP + 4,
        },
    }
    route_result = {
        "routeKey": "/route_result",
        "data": {
            "request_id": "req-1",
            "call_id": "dup",
            "to_number": "102",
            "result": 0,
            "message": "OK",
            "timestamp": TIMESTAMP + 5,
        },
    }
    for message in (record, record, route_result, route_result):
        await simulator.push(EXTENSION, message)
    figures.injected += 2

    # A lower seq than one already seen for the call is stale.
    await ledger.push(simulator, "stale", 1, "APPEARED")
    await ledger.push(simulator, "stale", 3, "CONNECTED")
    await simulator.push(
        EXTENSION, ledger.message("stale", 2, "ONHOLD", expected=False)
    )
    figures.injected += 1

    # Live messages the service also keeps as missed come back at the next register.
    simulator.duplicate_live_into_missed(True)
    await ledger.push(simulator, "overlap", 1, "APPEARED")
    await ledger.push(
        simulator, "overlap", 2, "DISCONNECTED", disconnect_reason=NO_ANSWER
    )
    await wait_until(functools.partial(ledger.arrived, "overlap", 2))
    simulator.duplicate_live_into_missed(False)
    assert _state(hass, CALL_STATE) == "talking"  # not on hold: that news was stale
    await _reconnect(hass, simulator)
    figures.injected += 2
    assert simulator.missed(EXTENSION) == []  # the service handed the overlap over

    await ledger.push(
        simulator, "stale", 4, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await wait_until(ledger.all_arrived)

    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert not ledger.arrived("stale", 2)
    assert ledger.event_types("dup") == ["incoming", "answered", "ended"]
    assert ledger.event_types("stale") == ["incoming", "answered", "ended"]
    assert ledger.event_types("overlap") == ["incoming", "missed"]
    assert [event.data["record_id"] for event in records] == ["rec-1"]
    assert [event.data["request_id"] for event in route_results] == ["req-1"]
    assert _state(hass, CALL_STATE) == "idle"
    assert _state(hass, MISSED_CALLS) == "1"


@asynccontextmanager
async def _first_life(
    hass: HomeAssistant, entry: MockConfigEntry, away: str, lingering: list[str]
) -> AsyncGenerator[HomeAssistant]:
    """Home Assistant with the entry set up; leaving unloads the entry, or stops it all.

    A restart is a second instance: only what the first one stored (its
    Store files and the states it restores) carries over. Timers the stopped
    instance left behind go into lingering (and are cancelled).
    """
    if away == "reload":
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        yield hass
        assert await hass.config_entries.async_unload(entry.entry_id)
        return
    async with async_test_home_assistant() as old:
        old.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # as enable_custom_integrations
        entry.add_to_hass(old)
        assert await old.config_entries.async_setup(entry.entry_id)
        try:
            yield old
        finally:
            # The final write of a stopping Home Assistant keeps the states to restore.
            await restore_state.async_get(old).async_dump_states()
            await old.async_stop()
            # What the hass fixture's cleanup check fails on: jobs not cancelled on shutdown.
            for handle in get_scheduled_timer_handles(old.loop):
                job = handle._args[-1] if handle._args else None
                if (
                    isinstance(job, HassJob)
                    and not job.cancel_on_shutdown
                    and getattr(getattr(job.target, "__self__", None), "hass", None)
                    is old
                ):
                    lingering.append(str(job.name))
                    handle.cancel()


async def _set_up_again(
    hass: HomeAssistant, entry: MockConfigEntry, away: str
) -> MockConfigEntry:
    if away == "restart":
        await async_mock_load_restore_state_from_storage(hass)
        entry = MockConfigEntry(
            domain=entry.domain,
            version=entry.version,
            title=entry.title,
            unique_id=entry.unique_id,
            data=entry.data,
            options=entry.options,
            entry_id=entry.entry_id,
            subentries_data=[
                subentry.as_dict() for subentry in entry.subentries.values()
            ],
        )
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


@BOTH_DIALECTS
@pytest.mark.parametrize(
    "away",
    ["reload", "restart"],
)
async def test_home_assistant_restarting_mid_call(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    away: str,
    figures: Figures,
) -> None:
    """Calls in progress survive; a ringing call that ended unanswered meanwhile is missed."""
    figures.fault = f"Home Assistant {away} mid-call"
    figures.injected = 1
    lingering: list[str] = []
    async with _first_life(hass, mock_config_entry, away, lingering) as first:
        await wait_connected(first)
        ledger = figures.ledger = Ledger(first)
        await ledger.push(simulator, "early", 1, "APPEARED")
        await ledger.push(
            simulator, "early", 2, "DISCONNECTED", disconnect_reason=ENDED_BY_CALLER
        )
        await ledger.push(simulator, "talk", 1, "APPEARED")
        await ledger.push(simulator, "talk", 2, "CONNECTED")
        await ledger.push(simulator, "ring-missed", 1, "APPEARED")
        await ledger.push(simulator, "ring-on", 1, "APPEARED")
        await wait_until(ledger.all_arrived)
        assert _state(first, CALL_STATE) == "talking"
        assert _state(first, MISSED_CALLS) == "1"
    if away == "restart":
        ledger.watch(hass)
    assert not simulator.is_registered(EXTENSION)
    assert lingering == []

    # While Home Assistant is away, the service keeps what happens.
    await ledger.push(
        simulator, "ring-missed", 2, "DISCONNECTED", disconnect_reason=ENDED_BY_CALLER
    )
    # Calls first seen at their end: their disconnect_reason tells.
    await ledger.push(
        simulator, "unknown-missed", 1, "DISCONNECTED", disconnect_reason=NO_ANSWER
    )
    await ledger.push(
        simulator, "unknown-ended", 1, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    # (The VPBX API adds a summary of each call that ended.)
    assert [m for m in simulator.missed(EXTENSION) if m["routeKey"] == "/call"] == [
        ANY
    ] * 3

    await _set_up_again(hass, mock_config_entry, away)
    await wait_connected(hass)
    await wait_until(ledger.all_arrived)
    await hass.async_block_till_done()

    assert _state(hass, CALL_STATE) == "talking"
    assert _state(hass, MISSED_CALLS) == "3"
    assert ledger.event_types("ring-missed") == ["incoming", "missed"]
    assert ledger.replayed("ring-missed") == [False, True]
    assert ledger.event_types("unknown-missed") == ["missed"]
    assert ledger.event_types("unknown-ended") == ["ended"]

    await ledger.push(
        simulator, "talk", 3, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await wait_for_state(hass, CALL_STATE, "ringing")
    await ledger.push(simulator, "ring-on", 2, "CONNECTED")
    await wait_for_state(hass, CALL_STATE, "talking")
    await ledger.push(
        simulator, "ring-on", 3, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await wait_for_state(hass, CALL_STATE, "idle")

    assert ledger.event_types("talk") == ["incoming", "answered", "ended"]
    assert ledger.event_types("ring-on") == ["incoming", "answered", "ended"]
    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert _state(hass, MISSED_CALLS) == "3"


# -- fuzzing -------------------------------------------------------------------

FUZZED_FRAMES = 10_000
VALID_EVERY = 12
"""A valid message follows every this many fuzzed frames."""

type Frame = str | bytes

# Values of the wrong type for a field of a /call end.
_WRONG_TYPES: tuple[tuple[str, Any], ...] = (
    ("call_id", {}),
    ("call_id", []),
    ("call_id", 1.5),
    ("call_id", True),
    ("call_state", 5),
    ("call_state", "RINGING"),
    ("call_state", []),
    ("call_state", None),
    ("seq", "abc"),
    ("seq", []),
    ("seq", {}),
    ("seq", 1.5),
    ("timestamp", "yesterday"),
    ("timestamp", []),
    ("timestamp", 1e300),
    ("timestamp", -1e20),
    ("timestamp", float("nan")),
    ("from", []),
    ("from", 5.5),
    ("from", {"number": []}),
    ("from", {"number": {}}),
    ("to", [1]),
    ("direction", 5),
    ("direction", {}),
    ("disconnect_reason", "x"),
    ("disconnect_reason", []),
    ("is_group_disconnect", "maybe"),
    ("is_group_disconnect", 7),
    ("entry_id", {}),
    ("entry_id", [1]),
    ("line_number", []),
    ("line_number", 2.5),
)
# Implausible numbers and ids.
_ODD_VALUES: tuple[Any, ...] = (
    "9" * 300,
    "x" * 300,
    "+7 (495) 123-45-67 ext. " * 20,
    "\ud800",
    "a\udfffb",
    10**25,
    2**64,
    "<script>" * 50,
    "\u202e" * 10,
    "\x00\x01",
    "١٢٣٤٥٦٧",
    " " * 300,
)
_BIG_INTEGERS: tuple[int, ...] = (2**63, 2**64, 2**70, -(2**63) - 1, 10**30)


def _dumps(message: Any) -> str:
    # ASCII escapes keep lone surrogates as the \ud800 JSON the service would send.
    return json.dumps(message, ensure_ascii=True)


def _junk_end(n: int, **fields: Any) -> dict[str, Any]:
    """The end of an outgoing call nobody knows (harmless if it gets through), with odd fields."""
    message = call_message(
        f"junk-{n:05d}",
        2,
        "DISCONNECTED",
        direction="out",
        disconnect_reason=NORMAL_END,
    )
    message["data"].update(fields)
    return message


def _junk_ring(n: int, **fields: Any) -> list[Frame]:
    """A ringing call with odd fields, then its clean end, so no leg is left ringing."""
    ring = call_message(f"junk-{n:05d}", 1, "APPEARED")
    ring["data"].update(fields)
    return [_dumps(ring), _dumps(_junk_end(n))]


def _not_json(rng: random.Random, n: int) -> list[Frame]:
    return [
        rng.choice(
            [
                "",
                "{",
                "plain text",
                '{"routeKey": "/call", "data": {"call_id": ',
                '{"a": 1}}',
                "\x00",
                "[1, 2",
                '"unterminated',
                "{'single': 'quotes'}",
                "1" * 5000,  # more digits than Python turns into an int
                "".join(rng.choices('{}[]",:0123456789abc\\ ', k=rng.randint(1, 80))),
            ]
        )
    ]


def _not_an_object(rng: random.Random, n: int) -> list[Frame]:
    return [
        _dumps(
            rng.choice(
                [42, "text", None, [], [{"routeKey": "/call"}], True, 1.5, 2**70]
            )
        )
    ]


def _bad_route_key(rng: random.Random, n: int) -> list[Frame]:
    route_key = rng.choice(
        ["/unknown", "", "/call/x", 5, None, ["/call"], {"k": "/call"}, True, "\ud800"]
    )
    return [_dumps({**_junk_end(n), "routeKey": route_key})]


def _bad_data(rng: random.Random, n: int) -> list[Frame]:
    message: dict[str, Any] = {
        "routeKey": rng.choice(["/call", "/record", "/ivr", "/route_result"])
    }
    if rng.random() < 0.9:
        message["data"] = rng.choice([None, [], "x", 5, True, [[]]])
    return [_dumps(message)]


def _wrong_type(rng: random.Random, n: int) -> list[Frame]:
    name, value = rng.choice(_WRONG_TYPES)
    return [_dumps(_junk_end(n, **{name: value}))]


def _odd_fields(rng: random.Random, n: int) -> list[Frame]:
    value = rng.choice(_ODD_VALUES)
    match rng.randrange(4):
        case 0:
            return _junk_ring(n, **{"from": {"number": value}})
        case 1:
            return _junk_ring(n, **{"from": {"extension": value}})
        case 2:
            return _junk_ring(n, line_number=value)
        case _:
            return _junk_ring(n, entry_id=value, direction=value)


def _big_integer(rng: random.Random, n: int) -> list[Frame]:
    value = rng.choice(_BIG_INTEGERS)
    match rng.randrange(5):
        case 0:
            return [_dumps(_junk_end(n, disconnect_reason=value))]
        case 1:
            return [_dumps(_junk_end(n, seq=value))]
        case 2:
            return [_dumps(_junk_end(n, timestamp=value))]
        case 3:
            return [_dumps(_record(n, duration=value))]
        case _:
            return [_dumps(_route_result(n, result=value))]


def _surrogates(rng: random.Random, n: int) -> list[Frame]:
    match rng.randrange(5):
        case 0:
            return [_dumps(_junk_end(n, call_id="junk\ud800"))]
        case 1:
            return [_dumps(_record(n, url="https://records.example/\ud800"))]
        case 2:
            return [_dumps(_route_result(n, message="\udfff"))]
        case 3:
            return [_dumps(_ivr(n, **{"from": {"number": "+7495\ud800"}}))]
        case _:
            return [_dumps(_junk_end(n, line_number="\ud800"))]


def _binary(rng: random.Random, n: int) -> list[Frame]:
    return [
        rng.choice(
            [
                rng.randbytes(rng.randint(1, 200)),
                b"\xff\xfe\xfd",
                b"\x80" * 50,
                b'{"routeKey": "/call", "data": {"call_id": "\xff\xfe"}}',
                _dumps(_junk_end(n)).encode("utf-16"),
            ]
        )
    ]


def _other_kinds(rng: random.Random, n: int) -> list[Frame]:
    return [
        _dumps(
            rng.choice(
                [
                    _record(n, record_id=[]),
                    _record(n, status=5),
                    _record(n, url=5),
                    _record(n, duration="long"),
                    _ivr(n, call_id={}),
                    _ivr(n, **{"from": []}),
                    _ivr(n, status=5),
                    _route_result(n, result="ok"),
                    _route_result(n, request_id=None),
                    _route_result(n, to_number={}),
                ]
            )
        )
    ]


def _unknown_fields(rng: random.Random, n: int) -> list[Frame]:
    return [
        _dumps(_junk_end(n, extra=[[[]]], CALL_ID_2={}, **{"": 1, "__proto__": {}}))
    ]


def _huge(rng: random.Random, n: int) -> list[Frame]:
    match rng.randrange(3):
        case 0:
            return _junk_ring(n, **{"from": {"number": "9" * 300_000}})
        case 1:
            return [_dumps(_junk_end(n, call_id="j" * 300_000))]
        case _:
            return _junk_ring(n, line_number="x" * 300_000)


def _deep(rng: random.Random, n: int) -> list[Frame]:
    # About 100,000 levels: json's decoder raises RecursionError on it.
    return [
        rng.choice(
            [
                "[" * 100_000,
                '{"a":' * 100_000,
                '{"routeKey": "/call", "data": ' + "[" * 100_000,
            ]
        )
    ]


def _record(n: int, **fields: Any) -> dict[str, Any]:
    data = {
        "record_id": f"junk-rec-{n:05d}",
        "call_id": f"junk-{n:05d}",
        "status": "PROCESSING",
        "duration": 10,
        "timestamp": TIMESTAMP,
        **fields,
    }
    return {"routeKey": "/record", "data": data}


def _ivr(n: int, **fields: Any) -> dict[str, Any]:
    data = {
        "call_id": f"junk-ivr-{n:05d}",
        "status": "APPEARED",
        "from": {"number": "+74951234567"},
        "timestamp": TIMESTAMP,
        **fields,
    }
    return {"routeKey": "/ivr", "data": data}


def _route_result(n: int, **fields: Any) -> dict[str, Any]:
    data = {
        "request_id": f"junk-req-{n:05d}",
        "call_id": f"junk-{n:05d}",
        "to_number": "102",
        "result": 1,
        "message": "Employee not available",
        "timestamp": TIMESTAMP,
        **fields,
    }
    return {"routeKey": "/route_result", "data": data}


_KINDS: tuple[Callable[[random.Random, int], list[Frame]], ...] = (
    _not_json,
    _not_an_object,
    _bad_route_key,
    _bad_data,
    _wrong_type,
    _odd_fields,
    _big_integer,
    _surrogates,
    _binary,
    _other_kinds,
    _unknown_fields,
)


def _fuzzed(rng: random.Random, n: int) -> list[Frame]:
    """The n-th fuzzed frame (plus the clean end of a junk call it rang)."""
    if n % 500 == 250:
        return _deep(rng, n)
    if n % 200 == 100:
        return _huge(rng, n)
    return rng.choice(_KINDS)(rng, n)


def _fuzz(ledger: Ledger) -> Iterator[Frame]:
    """The fuzzed frames, with valid calls between them that must all arrive."""
    rng = random.Random(7)  # noqa: S311 - fuzzing, not secrecy
    ringing: str | None = None
    for n in range(FUZZED_FRAMES):
        yield from _fuzzed(rng, n)
        if n % VALID_EVERY == VALID_EVERY - 1:
            yield _dumps(_valid(ledger, n // VALID_EVERY // 2, ringing))
            ringing = None if ringing else f"fuzz-{n // VALID_EVERY // 2:04d}"
    if ringing:
        yield _dumps(_valid(ledger, 0, ringing))


def _valid(ledger: Ledger, call: int, ringing: str | None) -> dict[str, Any]:
    """The end of the ringing call, else a new call ringing."""
    if ringing:
        return ledger.message(ringing, 2, "DISCONNECTED", disconnect_reason=NORMAL_END)
    return ledger.message(
        f"fuzz-{call:04d}", 1, "APPEARED", caller={"number": f"+7495{call:07d}"}
    )


async def test_fuzzed_frames_over_a_live_websocket(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    """10,000 hostile frames: the socket stays up, valid calls all arrive, HA stores what it gets."""
    figures.fault = f"{FUZZED_FRAMES:,} fuzzed frames on a live websocket"
    figures.injected = FUZZED_FRAMES
    ledger = figures.ledger = Ledger(hass)
    problems: list[str] = []

    @callback
    def _check(event: Event) -> None:
        if event.event_type == "state_changed":
            if (state := event.data["new_state"]) is None:
                return
            if state.entity_id == CONNECTION and state.state != "on":
                problems.append(f"connection {state.state}")
            data: Any = state.as_dict()
        elif event.event_type.startswith("mango_office"):
            data = event.data
        else:
            return
        try:
            json_helper.json_bytes(data)
        except TypeError as err:  # orjson's JSONEncodeError is a TypeError
            problems.append(f"{event.event_type} not serialisable: {err}")

    unsubscribe = hass.bus.async_listen(MATCH_ALL, _check)
    channels = len(simulator.requests_to("channel"))
    first_line = len(caplog.records)
    try:
        for sent, frame in enumerate(_fuzz(ledger)):
            try:
                if isinstance(frame, bytes):
                    await simulator.push_bytes(EXTENSION, frame)
                else:
                    await simulator.push_raw(EXTENSION, frame)
            except LookupError:
                pytest.fail(f"The websocket closed after {sent} frames")
        await ledger.push(simulator, "fuzz-last", 1, "APPEARED")
        await ledger.push(
            simulator, "fuzz-last", 2, "DISCONNECTED", disconnect_reason=NORMAL_END
        )
        # One websocket keeps the order: once the last has arrived, so has the rest.
        await wait_until(functools.partial(ledger.arrived, "fuzz-last", 2), 120)
        await hass.async_block_till_done()
    finally:
        unsubscribe()

    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert problems == []
    assert len(simulator.requests_to("channel")) == channels  # the same websocket
    assert simulator.open_websockets == 1
    assert _state(hass, CONNECTION) == "on"
    assert _state(hass, CALL_STATE) == "idle"
    for state in hass.states.async_all():
        assert len(state.state) <= 255
        json_helper.json_bytes(state.as_dict())
    # Nothing is an error (HA logs one for a state too long); one warning tells the user.
    assert [
        record.getMessage()[:200]
        for record in caplog.records[first_line:]
        if record.levelno >= logging.ERROR
    ] == []
    assert len(_integration_lines(caplog, first_line, logging.WARNING)) == 1


@BOTH_DIALECTS
async def test_50_reloads_while_messages_flow(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    figures: Figures,
) -> None:
    """About 50 messages a second through 50 reloads: each arrives exactly once.

    Each call rings, then ends unanswered; a reload between the two must
    neither lose the end nor fire incoming twice, and the call is missed.
    """
    figures.fault = "50 reloads while messages flow (~50/s)"
    ledger = figures.ledger = Ledger(hass)
    stop = asyncio.Event()
    calls = 0

    async def _flow() -> None:
        nonlocal calls
        while not stop.is_set():
            call_id = f"flow-{calls:05d}"
            calls += 1
            await ledger.push(simulator, call_id, 1, "APPEARED")
            await asyncio.sleep(0.02)
            await ledger.push(
                simulator, call_id, 2, "DISCONNECTED", disconnect_reason=ENDED_BY_CALLER
            )
            await asyncio.sleep(0.02)

    first_request = len(simulator.requests)
    sender = asyncio.create_task(_flow())
    try:
        for _ in range(50):
            # Messages around every reload, however fast reloading is.
            await wait_until(
                functools.partial(_more_sent, ledger, len(ledger.sent) + 2)
            )
            assert await hass.config_entries.async_reload(init_integration.entry_id)
            figures.injected += 1
            await wait_connected(hass, seconds=10)
    finally:
        stop.set()
        await sender
    figures.requests_during_outages = len(simulator.requests) - first_request
    await ledger.push(simulator, "flow-last", 1, "APPEARED")
    await ledger.push(
        simulator, "flow-last", 2, "DISCONNECTED", disconnect_reason=ENDED_BY_CALLER
    )
    # The service sends in order: once the last has arrived, so has the rest.
    await wait_until(functools.partial(ledger.arrived, "flow-last", 2))
    await hass.async_block_till_done()

    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert calls > 50
    for call in range(calls):
        assert ledger.event_types(f"flow-{call:05d}") == ["incoming", "missed"]
    assert _state(hass, MISSED_CALLS) == str(calls + 1)
    assert _state(hass, CALL_STATE) == "idle"


# -- a channel that dies ------------------------------------------------------


async def test_frame_that_makes_the_decoder_recurse_does_not_end_delivery(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    """Deep nesting is skipped with one warning; the socket stays up and calls arrive."""
    figures.fault = "frames that make the JSON decoder raise RecursionError"
    ledger = figures.ledger = Ledger(hass)
    went_off: list[str] = []

    @callback
    def _connection(event: Event) -> None:
        if (
            event.data["entity_id"] == CONNECTION
            and event.data["new_state"].state != "on"
        ):
            went_off.append(event.data["new_state"].state)

    unsubscribe = hass.bus.async_listen("state_changed", _connection)
    channels = len(simulator.requests_to("channel"))
    first_line = len(caplog.records)
    for frame in ("[" * 100_000, '{"a":' * 100_000):
        await simulator.push_raw(EXTENSION, frame)
        figures.injected += 1
    await ledger.push(simulator, "after", 1, "APPEARED")
    await ledger.push(
        simulator, "after", 2, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    try:
        await wait_until(ledger.all_arrived)
    finally:
        unsubscribe()

    assert ledger.event_types("after") == ["incoming", "missed"]
    assert len(simulator.requests_to("channel")) == channels
    assert went_off == []
    assert [record.levelno for record in _integration_lines(caplog, first_line)] == [
        logging.WARNING
    ]


class SimulatedBugError(Exception):
    """What a bug in the channel would raise while it serves a connection."""


@dataclass
class ServeCrashes:
    """Makes the channel's serving of a connection break when told, as a bug would."""

    crash_now: asyncio.Event = field(default_factory=asyncio.Event)
    """The connection being served breaks with SimulatedBugError."""
    crash_at_start: bool = False
    """Every connection served meanwhile breaks at once."""
    serves: int = 0
    crashes: int = 0


@pytest.fixture
def crashing_serve() -> Generator[ServeCrashes]:
    """MangoChannel._serve, breakable from the test; set up the entry after this."""
    crashes = ServeCrashes()
    real_serve = MangoChannel._serve

    async def serve(channel: MangoChannel) -> None:
        crashes.serves += 1
        if crashes.crash_at_start:
            crashes.crashes += 1
            raise SimulatedBugError("serving broke at its start")
        delivering = asyncio.ensure_future(real_serve(channel))
        crash = asyncio.ensure_future(crashes.crash_now.wait())
        try:
            await asyncio.wait({delivering, crash}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            crash.cancel()
            if not delivering.done():
                delivering.cancel()
            await asyncio.wait({delivering, crash})
        if not crash.cancelled() and crash.done():
            crashes.crash_now.clear()
            crashes.crashes += 1
            raise SimulatedBugError("serving broke while delivering")
        delivering.result()

    with patch.object(MangoChannel, "_serve", serve):
        yield crashes


async def test_unexpected_error_is_logged_once_and_the_channel_reconnects(
    crashing_serve: ServeCrashes,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    *,
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    """The bug is logged once with its traceback, the entities go unavailable, and the channel reconnects."""
    figures.fault = "a bug breaks the channel (once)"
    _scale(init_integration, retry_minimum=0.01, retry_maximum=0.05)
    ledger = figures.ledger = Ledger(hass)
    await ledger.push(simulator, "before", 1, "APPEARED")
    await ledger.push(simulator, "before", 2, "CONNECTED")
    await wait_until(functools.partial(ledger.arrived, "before", 2))
    first_request = len(simulator.requests)

    crashing_serve.crash_now.set()
    figures.injected = 1
    await wait_connected(hass, connected=False)
    assert _state(hass, CALL_STATE) == STATE_UNAVAILABLE
    await ledger.push(
        simulator, "before", 3, "DISCONNECTED", disconnect_reason=NORMAL_END
    )
    await ledger.push(simulator, "meanwhile", 1, "APPEARED")
    await ledger.push(
        simulator, "meanwhile", 2, "DISCONNECTED", disconnect_reason=NO_ANSWER
    )
    await wait_connected(hass, seconds=10)
    await wait_until(ledger.all_arrived)
    figures.requests_during_outages = len(simulator.requests) - first_request

    assert (crashing_serve.serves, crashing_serve.crashes) == (2, 1)
    logged = [
        record
        for record in caplog.records
        if record.exc_info and isinstance(record.exc_info[1], SimulatedBugError)
    ]
    assert len(logged) == 1
    assert logged[0].levelno >= logging.WARNING
    assert (ledger.lost(), ledger.duplicated()) == (0, 0)
    assert ledger.event_types("before") == ["incoming", "answered", "ended"]
    assert ledger.event_types("meanwhile") == ["incoming", "missed"]
    assert _state(hass, CALL_STATE) == "idle"
    assert _state(hass, MISSED_CALLS) == "1"


async def test_channel_breaking_again_and_again_reconnects_with_backoff(
    crashing_serve: ServeCrashes,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    *,
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    """A bug that strikes at every connection is retried with backoff, not in a loop."""
    figures.fault = "a bug breaks the channel, again and again for 1 s"
    _scale(init_integration, retry_minimum=0.01, retry_maximum=0.32)
    first_request = len(simulator.requests)
    crashing_serve.crash_at_start = True
    crashing_serve.crash_now.set()
    await wait_connected(hass, connected=False)
    serves = crashing_serve.serves
    await asyncio.sleep(1)
    restarts = crashing_serve.serves - serves
    crashing_serve.crash_at_start = False
    await wait_connected(hass, seconds=15)
    figures.injected = crashing_serve.crashes
    figures.requests_during_outages = len(simulator.requests) - first_request

    # Backoff from 10 ms to 320 ms with full jitter: about ten in a second.
    assert restarts <= 30
    assert crashing_serve.serves > serves + restarts  # and then it came back
    logged = [
        record
        for record in caplog.records
        if record.exc_info and isinstance(record.exc_info[1], SimulatedBugError)
    ]
    assert 1 <= len(logged) <= crashing_serve.crashes
    assert _state(hass, CALL_STATE) == "idle"
