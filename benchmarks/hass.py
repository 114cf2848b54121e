"""A real Home Assistant in the benchmark's process, and what it sees of the integration.

Only public behaviour is read: config entries, the entities' ids and states,
the ``mango_office_call`` bus event. The floor is taken where every entity
write ends, ``StateMachine.async_set_internal`` (``Entity.async_write_ha_state``
calls it), and where every bus event starts, ``EventBus.async_fire_internal``.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
import socket
import tempfile
import time
from types import MappingProxyType
from typing import Any, Final, cast
from unittest.mock import patch

from aiohttp.resolver import ThreadedResolver
from homeassistant import bootstrap, loader
from homeassistant.auth import auth_manager_from_config
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntries,
    ConfigEntry,
    ConfigSubentryData,
)
from homeassistant.const import (
    CONF_TOKEN,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_ON,
)
from homeassistant.core import (
    Context,
    Event,
    EventBus,
    EventOrigin,
    EventStateChangedData,
    HomeAssistant,
    StateMachine,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import DATA_RESOLVER, HassAsyncDNSResolver
from homeassistant.helpers.entity import StateInfo
from homeassistant.setup import async_setup_component

from custom_components.mango_office.const import (
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_PHONEBOOK,
    DOMAIN,
    SUBENTRY_EXTENSION,
)

from .workload import phonebook

TOKEN: Final = "benchmark-token"
EVENT_CALL: Final = "mango_office_call"
# What a state write causes, not what the integration asked for.
_CONSEQUENCES: Final = frozenset({EVENT_STATE_CHANGED, EVENT_STATE_REPORTED})

type Key = tuple[str, str]


@asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """Run a Home Assistant on an empty, temporary configuration directory."""
    with tempfile.TemporaryDirectory(prefix="mango-bench-") as config_dir:
        hass = HomeAssistant(config_dir)
        hass.config.skip_pip = True
        loader.async_setup(hass)
        hass.config_entries = ConfigEntries(hass, {})
        # HA resolves through zeroconf, which needs the network integration
        # and multicast sockets; the pusher is on 127.0.0.1, never resolved.
        hass.data[DATA_RESOLVER] = cast(HassAsyncDNSResolver, _PlainResolver())
        if not await bootstrap.async_load_base_functionality(hass):
            raise RuntimeError("Home Assistant did not load its registries")
        # The integration serves recordings through Home Assistant's http,
        # here on a free local port.
        hass.auth = await auth_manager_from_config(hass, [], [])
        http = {"server_host": ["127.0.0.1"], "server_port": free_port()}
        if not await async_setup_component(hass, "http", {"http": http}):
            raise RuntimeError("Home Assistant's http did not start")
        await hass.async_start()
        try:
            yield hass
        finally:
            await hass.async_stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _PlainResolver(ThreadedResolver):
    """The system's resolver, closed as Home Assistant closes its own."""

    async def real_close(self) -> None:
        """Close when Home Assistant stops."""
        await self.close()


async def add_entry(
    hass: HomeAssistant, base_url: str, *extensions: str
) -> ConfigEntry:
    """Add and set up an account with these extensions, with the 100-name phonebook."""
    entry = ConfigEntry(
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: base_url},
        discovery_keys=MappingProxyType({}),
        domain=DOMAIN,
        minor_version=1,
        options={CONF_PHONEBOOK: phonebook()},
        source=SOURCE_USER,
        subentries_data=[
            ConfigSubentryData(
                data={CONF_EXTENSION: extension},
                subentry_type=SUBENTRY_EXTENSION,
                title=f"Extension {extension}",
                unique_id=extension,
            )
            for extension in extensions
        ],
        title="MANGO OFFICE",
        unique_id=f"benchmark_{extensions[0]}_{len(extensions)}",
        version=2,
    )
    await hass.config_entries.async_add(entry)
    return entry


def entity_ids(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    """Return the entry's enabled entities: entity id -> domain."""
    return {
        registered.entity_id: registered.domain
        for registered in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if not registered.disabled
    }


def connection_entities(hass: HomeAssistant, entry: ConfigEntry) -> set[str]:
    """Return the entry's connection sensors (its binary sensors, one an extension)."""
    return {
        entity_id
        for entity_id, domain in entity_ids(hass, entry).items()
        if domain == "binary_sensor"
    }


def connection_entity(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """Return the connection sensor of an entry with one extension."""
    (entity_id,) = connection_entities(hass, entry)
    return entity_id


async def wait_connected(
    hass: HomeAssistant, entity_ids: str | set[str], seconds: float
) -> None:
    """Wait until every one of these connection sensors is on."""
    waiting = {entity_ids} if isinstance(entity_ids, str) else set(entity_ids)
    reached = hass.loop.create_future()

    def _off(entity_id: str) -> bool:
        return (state := hass.states.get(entity_id)) is None or state.state != STATE_ON

    @callback
    def _check(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None and new_state.state == STATE_ON:
            waiting.discard(event.data["entity_id"])
            if not waiting and not reached.done():
                reached.set_result(None)

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, _check)
    try:
        waiting = {entity_id for entity_id in waiting if _off(entity_id)}
        if waiting:
            async with asyncio.timeout(seconds):
                await reached
    finally:
        unsubscribe()


@dataclass(slots=True)
class Observer:
    """Counts what the integration shows: call events, state changes, and when they happened.

    A message counts as written at the end of the event-loop step that fired
    its ``mango_office_call`` event: every entity write of that step is in by
    then, in whatever order the integration does them.
    """

    hass: HomeAssistant
    tracked: set[str] = field(default_factory=set)
    """Entity ids whose state changes are counted."""
    counting: bool = True
    expected: int = 0
    seen: dict[Key, int] = field(default_factory=dict)
    """First call event of each message: CLOCK_MONOTONIC ns."""
    written: dict[Key, int] = field(default_factory=dict)
    """End of the step that wrote each message's states: CLOCK_MONOTONIC ns."""
    duplicates: int = 0
    replayed: int = 0
    changes: int = 0
    done: asyncio.Future[None] | None = None
    _pending: list[Key] = field(default_factory=list)
    _last_effect: int = 0
    _flush_scheduled: bool = False
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        """Listen, the way an automation would: @callback listeners on the bus."""
        self._unsubscribe = [
            self.hass.bus.async_listen(EVENT_CALL, self._on_call),
            self.hass.bus.async_listen(
                EVENT_STATE_CHANGED, self._on_state, event_filter=self._is_tracked
            ),
        ]

    def stop(self) -> None:
        """Stop listening."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def reset(self, expected: int) -> None:
        """Count afresh, and set done once this many messages are written."""
        self.expected = expected
        self.seen = {}
        self.written = {}
        self.duplicates = self.replayed = self.changes = 0
        self.done = self.hass.loop.create_future()

    @callback
    def _is_tracked(self, data: EventStateChangedData) -> bool:
        return data["entity_id"] in self.tracked

    @callback
    def _on_call(self, event: Event[Mapping[str, Any]]) -> None:
        now = time.monotonic_ns()
        if not self.counting:
            return
        key = (event.data["call_id"], event.data["state"])
        if event.data.get("replayed"):
            self.replayed += 1
        if key in self.seen:
            self.duplicates += 1
        else:
            self.seen[key] = now
            self._pending.append(key)
        self._effect(now)

    @callback
    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        now = time.monotonic_ns()
        if self.counting:
            self.changes += 1
            self._effect(now)

    def _effect(self, now: int) -> None:
        self._last_effect = now
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.hass.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        for key in self._pending:
            self.written[key] = self._last_effect
        self._pending.clear()
        if (
            self.done is not None
            and not self.done.done()
            and len(self.written) >= self.expected
        ):
            self.done.set_result(None)


@dataclass(frozen=True, slots=True)
class Write:
    """One call of async_set_internal, as an entity made it."""

    entity_id: str
    state: str
    attributes: Mapping[str, Any] | None
    force_update: bool
    state_info: StateInfo | None
    changed: bool
    """Whether the state or the attributes differed from the previous ones."""


@dataclass(frozen=True, slots=True)
class Fire:
    """One bus event the integration fired."""

    event_type: str
    data: Mapping[str, Any] | None


@dataclass(slots=True)
class Recording:
    """The state writes and bus events of a run, in order."""

    operations: list[Write | Fire] = field(default_factory=list)

    @property
    def writes(self) -> list[Write]:
        """Every state write."""
        return [op for op in self.operations if isinstance(op, Write)]

    @property
    def fires(self) -> list[Fire]:
        """Every bus event fired, other than a write's own state_changed."""
        return [op for op in self.operations if isinstance(op, Fire)]


@contextmanager
def record(hass: HomeAssistant, tracked: set[str]) -> Iterator[Recording]:
    """Record the writes to the tracked entities, and the bus events, made inside the block."""
    recording = Recording()
    states = hass.states
    # Both classes have __slots__: the methods are wrapped on the class.
    set_internal = StateMachine.async_set_internal
    fire_internal = EventBus.async_fire_internal

    def recording_set(  # noqa: PLR0917 - HA's own signature
        machine: StateMachine,
        entity_id: str,
        new_state: str,
        attributes: Mapping[str, Any] | None,
        force_update: bool,
        context: Context | None,
        state_info: StateInfo | None,
        timestamp: float,
    ) -> None:
        if entity_id in tracked:
            old = states.get(entity_id)
            changed = (
                old is None
                or force_update
                or old.state != new_state
                or old.attributes != attributes
            )
            recording.operations.append(
                Write(
                    entity_id, new_state, attributes, force_update, state_info, changed
                )
            )
        set_internal(
            machine,
            entity_id,
            new_state,
            attributes,
            force_update,
            context,
            state_info,
            timestamp,
        )

    def recording_fire(  # noqa: PLR0917 - HA's own signature
        bus: EventBus,
        event_type: Any,
        event_data: Any = None,
        origin: EventOrigin = EventOrigin.local,
        context: Context | None = None,
        time_fired: float | None = None,
    ) -> None:
        if event_type not in _CONSEQUENCES:
            recording.operations.append(Fire(str(event_type), event_data))
        fire_internal(bus, event_type, event_data, origin, context, time_fired)

    with (
        patch.object(StateMachine, "async_set_internal", recording_set),
        patch.object(EventBus, "async_fire_internal", recording_fire),
    ):
        yield recording


def floor_entity_id(entity_id: str) -> str:
    """Return the fresh entity id a write is replayed on."""
    domain, object_id = entity_id.split(".", 1)
    return f"{domain}.floor_{object_id}"


def replay(
    hass: HomeAssistant, operations: list[Write | Fire], *, all_writes: bool
) -> float:
    """Make the recorded writes and bus events again, on fresh entity ids; return the CPU seconds.

    Without all_writes, only the writes that changed something: the least
    work Home Assistant must do for these messages.
    """
    fresh = {
        op.entity_id: floor_entity_id(op.entity_id)
        for op in operations
        if isinstance(op, Write)
    }
    replayed = [
        op if isinstance(op, Fire) else (fresh[op.entity_id], op)
        for op in operations
        if isinstance(op, Fire) or all_writes or op.changed
    ]
    set_internal = hass.states.async_set_internal
    fire = hass.bus.async_fire
    started = time.process_time()
    for op in replayed:
        if isinstance(op, Fire):
            fire(op.event_type, op.data)
        else:
            entity_id, write = op
            set_internal(
                entity_id,
                write.state,
                write.attributes,
                write.force_update,
                None,
                write.state_info,
                time.time(),
            )
    return time.process_time() - started
