"""Fixtures shared by the MANGO OFFICE tests: a real simulator on 127.0.0.1 and an entry on it."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
import functools
import logging
import traceback
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryData,
)
from homeassistant.const import CONF_TOKEN, MATCH_ALL
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.mango_office import connection
from custom_components.mango_office.account import MangoAccount
from custom_components.mango_office.api import MangoError
from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import (
    ACCOUNT_TITLE,
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_PHONEBOOK,
    DOMAIN,
    SUBENTRY_EXTENSION,
)
from custom_components.mango_office.coordinator import MangoCoordinator
from custom_components.mango_office.diagnostics import (
    async_get_config_entry_diagnostics,
)
from mango_simulator import MangoSimulator

TOKEN = "test-token-4f9c2e"
EXTENSION = "101"
CALLER = "+74951234567"
CALLER_NAME = "Ivan Petrov"
LINE = "+74957654321"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant find custom_components/mango_office in every test."""


@pytest.fixture(autouse=True)
def blip_grace(request: pytest.FixtureRequest) -> Generator[float]:
    """No grace for a lost connection, so tests see it at once; `@pytest.mark.blip_grace` keeps it."""
    grace = (
        connection.BLIP_GRACE if request.node.get_closest_marker("blip_grace") else 0.0
    )
    with patch.object(connection, "BLIP_GRACE", grace):
        yield grace


class TokenWatch(logging.Handler):
    """Collects every place a test's logs, events, states, diagnostics or errors show a token.

    The tokens are conftest's TOKEN and whatever token an entry of the
    integration holds (a reauth brings a new one).
    """

    def __init__(self) -> None:
        """Watch for TOKEN until a Home Assistant instance names its entries' tokens."""
        super().__init__()
        self.hass: HomeAssistant | None = None
        self.leaks: list[str] = []
        self.level_before = logging.NOTSET

    def tokens(self) -> set[str]:
        """The tokens that must not show."""
        tokens = {TOKEN}
        if self.hass is not None:
            tokens.update(
                str(entry.data[CONF_TOKEN])
                for entry in self.hass.config_entries.async_entries(DOMAIN)
                if entry.data.get(CONF_TOKEN)
            )
        return tokens

    def check(self, where: str, text: str) -> None:
        """Note a leak if the text holds a token."""
        for token in self.tokens():
            if (at := text.find(token)) >= 0:
                self.leaks.append(f"{where}: ...{text[max(0, at - 80) : at + 80]}...")

    def emit(self, record: logging.LogRecord) -> None:
        """Check a log line, with its traceback, at every level."""
        # The simulator stands for the vendor's service, not for Home Assistant.
        if record.name.startswith("mango_simulator"):
            return
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log call must not hide what it held
            text = f"{record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(record.exc_info[1]))
        self.check(f"log line of {record.name}", text)


TOKEN_WATCH = pytest.StashKey[TokenWatch]()
INTEGRATION_LOGGER = logging.getLogger("custom_components.mango_office")


def _watched_init(watch: TokenWatch, init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: BaseException, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        init(self, *args, **kwargs)
        watch.check(f"{type(self).__name__} raised", f"{args!r} {kwargs!r}")

    return __init__


@pytest.fixture(autouse=True)
def token_never_leaks(request: pytest.FixtureRequest) -> Generator[None]:
    """Fail any test whose logs, events, states, diagnostics, reprs or errors show the token.

    Log lines are checked until Home Assistant has stopped (see
    pytest_runtest_teardown); the rest while the test's hass runs.
    """
    watch = TokenWatch()
    request.node.stash[TOKEN_WATCH] = watch
    logging.getLogger().addHandler(watch)
    # Debug lines too: a user may turn them on to file a bug report.
    watch.level_before = INTEGRATION_LOGGER.level
    INTEGRATION_LOGGER.setLevel(logging.DEBUG)
    with (
        patch.object(MangoError, "__init__", _watched_init(watch, MangoError.__init__)),
        patch.object(
            HomeAssistantError,
            "__init__",
            _watched_init(watch, HomeAssistantError.__init__),
        ),
    ):
        if "hass" in request.fixturenames:
            request.getfixturevalue("_token_watch_hass")
        yield


@pytest.fixture
async def _token_watch_hass(
    hass: HomeAssistant, request: pytest.FixtureRequest
) -> AsyncGenerator[None]:
    """Check every bus event as it fires, and what the entries show at the end."""
    watch = request.node.stash[TOKEN_WATCH]
    watch.hass = hass

    @callback
    def _check_event(event: Event) -> None:
        watch.check(f"event {event.event_type}", repr(event.data))

    unsubscribe = hass.bus.async_listen(MATCH_ALL, _check_event)
    yield
    unsubscribe()
    watch.check("states", repr(hass.states.async_all()))
    watch.check("flows", repr(hass.config_entries.flow.async_progress()))
    for entry in hass.config_entries.async_entries(DOMAIN):
        watch.check(
            "entry",
            f"{entry!r} {entry.reason!r} {entry.error_reason_translation_placeholders!r}",
        )
        if entry.state is not ConfigEntryState.LOADED:
            continue
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        watch.check("diagnostics", repr(diagnostics))
        account = entry.runtime_data
        # The integration's own objects, one level down (channel, client, ...).
        for runtime in (account, *account.coordinators.values()):
            for value in (runtime, *getattr(runtime, "__dict__", {}).values()):
                if type(value).__module__.startswith("custom_components."):
                    watch.check(f"repr of {type(value).__name__}", repr(value))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None]:
    """Fail the test if the token showed anywhere, its teardown included."""
    watch = item.stash.get(TOKEN_WATCH, None)
    try:
        yield
    finally:
        if watch is not None:
            logging.getLogger().removeHandler(watch)
            INTEGRATION_LOGGER.setLevel(watch.level_before)
    if watch is not None and watch.leaks:
        pytest.fail("The token leaked:\n" + "\n".join(watch.leaks[:10]))


FAULT_TABLE = pytest.StashKey[list[dict[str, Any]]]()
"""Rows of the fault matrix (tests/test_fault_matrix.py), one a case."""


@pytest.fixture
def fault_table(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """The session's fault-matrix rows, printed at the end of the run."""
    return request.config.stash.setdefault(FAULT_TABLE, [])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the fault matrix, and keep it in .pytest_cache/d/mango_office/fault_matrix.md."""
    if not (rows := config.stash.get(FAULT_TABLE, [])):
        return
    outcomes = {
        report.nodeid: outcome
        for outcome in ("passed", "failed", "xfailed", "xpassed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", "call") == "call"
    }
    columns = [key for key in rows[0] if key != "nodeid"]
    lines = [
        "| " + " | ".join([*columns, "outcome"]) + " |",
        "|" + " --- |" * (len(columns) + 1),
        *(
            "| "
            + " | ".join(
                [*(str(row[key]) for key in columns), outcomes.get(row["nodeid"], "?")]
            )
            + " |"
            for row in rows
        ),
    ]
    terminalreporter.write_sep("-", "fault matrix")
    for line in lines:
        terminalreporter.write_line(line)
    # Without the cache plugin (-p no:cacheprovider) there is nowhere to keep it.
    if (cache := getattr(config, "cache", None)) is not None:
        table = cache.mkdir("mango_office") / "fault_matrix.md"
        table.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable the entities that are disabled by default, as HA core's fixture does."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialize snapshots the way Home Assistant's own tests do."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def simulator(
    socket_enabled: None, request: pytest.FixtureRequest
) -> AsyncGenerator[MangoSimulator]:
    """A MANGO OFFICE simulator on a free port of 127.0.0.1, with no delays.

    It speaks the wire format as assumed, or the VPBX API's spellings where a
    test asks with ``@pytest.mark.parametrize("simulator", ["vpbx"], indirect=True)``.
    """
    sim = MangoSimulator(
        tokens={TOKEN},
        extensions={"101", "102", "103"},
        seed=1,
        dialect=getattr(request, "param", "server-client"),
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


def extension_subentry(extension: str) -> ConfigSubentryData:
    """An extension's subentry, as the config flow makes it."""
    return ConfigSubentryData(
        subentry_type=SUBENTRY_EXTENSION,
        data={CONF_EXTENSION: extension},
        title=f"Extension {extension}",
        unique_id=extension,
    )


@pytest.fixture
def mock_config_entry(simulator: MangoSimulator) -> MockConfigEntry:
    """An account on the simulator with extension 101 and a one-line phonebook."""
    return MockConfigEntry(
        domain=DOMAIN,
        version=2,
        title=ACCOUNT_TITLE,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        options={CONF_PHONEBOOK: {CALLER: CALLER_NAME}},
        subentries_data=[extension_subentry(EXTENSION)],
    )


def extension_of(entry: ConfigEntry, extension: str = EXTENSION) -> MangoCoordinator:
    """The coordinator of one extension of a loaded account."""
    account: MangoAccount = entry.runtime_data
    return next(c for c in account.coordinators.values() if c.extension == extension)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> MockConfigEntry:
    """The entry, set up and live: registered on the simulator with its missed events drained."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await simulator.wait_registered(EXTENSION)
    await wait_until(lambda: extension_of(mock_config_entry).connected)
    await hass.async_block_till_done()
    return mock_config_entry


async def wait_until(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Let the event loop run until a condition holds, or fail after some seconds."""
    async with asyncio.timeout(seconds):
        # Nothing announces most of these conditions; a short poll is simplest.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def wait_connected(
    hass: HomeAssistant, connected: bool = True, seconds: float = 5.0
) -> None:
    """Wait until extension 101's connection sensor says so."""
    await wait_for_state(
        hass,
        "binary_sensor.extension_101_connection",
        "on" if connected else "off",
        seconds,
    )


async def wait_for_state(
    hass: HomeAssistant, entity_id: str, state: str, seconds: float = 5.0
) -> None:
    """Let the event loop run until an entity has a state, or fail after some seconds."""
    reached = asyncio.Event()

    @callback
    def _check(event: Event[EventStateChangedData]) -> None:
        if (
            new_state := event.data["new_state"]
        ) is not None and new_state.state == state:
            reached.set()

    unsubscribe = async_track_state_change_event(hass, entity_id, _check)
    try:
        if (current := hass.states.get(entity_id)) is None or current.state != state:
            async with asyncio.timeout(seconds):
                await reached.wait()
    finally:
        unsubscribe()
