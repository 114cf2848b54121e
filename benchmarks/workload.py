"""The calls both benchmark processes agree on: the pusher sends them, Home Assistant checks them.

Built from a few numbers and a seed, so that the two processes generate the
same messages without sending them to each other. Calls overlap three deep,
four of five are incoming, callers come mostly from a phonebook of 100 names.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass
import random
from typing import Any, Final

from custom_components.mango_office.api import wire

PHONEBOOK_SIZE: Final = 100
LINE_NUMBER: Final = "+74957654321"
# Unix time of the first message: what the service stamps is never read as "now".
BASE_TIME: Final = 1_790_000_000
DISCONNECTED: Final = "DISCONNECTED"


def phonebook() -> dict[str, str]:
    """Return the phonebook of the benchmark's entries: normalised number -> name."""
    return {
        _known_number(index): f"Contact {index:03d}" for index in range(PHONEBOOK_SIZE)
    }


def _known_number(index: int) -> str:
    return f"+7916{index:07d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """A run of calls of one extension."""

    extension: str
    prefix: str
    """Starts every call id: a run never repeats another's ids, which the channel would drop."""
    calls: int
    depth: int = 3
    """Calls in progress at once; their messages interleave."""
    incoming_share: float = 0.8
    seed: int = 1
    limit: int | None = None
    """Cut the run after this many messages (missed events need not end whole calls)."""

    def as_json(self) -> dict[str, Any]:
        """Return the workload as the pusher's control API takes it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workload:
        """Read a workload sent by as_json."""
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Message:
    """One /call push message, and how its bus event is recognised."""

    call_id: str
    state: str
    """The call_state on the wire; lower-cased, it is the bus event's state."""
    frame: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """The call_id and state of the mango_office_call event this message causes."""
        return self.call_id, self.state.lower()


def messages(workload: Workload) -> list[Message]:
    """Return every message of a workload, in the order they are sent."""
    generated = list(_interleave(workload))
    return generated if workload.limit is None else generated[: workload.limit]


def _interleave(workload: Workload) -> Iterator[Message]:
    rng = random.Random(workload.seed)  # noqa: S311 - a workload, not a secret
    started = 0
    slots: list[list[Message]] = [[] for _ in range(workload.depth)]
    while True:
        for slot in slots:
            if not slot and started < workload.calls:
                slot.extend(_call(workload, rng, started))
                started += 1
        if not any(slots):
            return
        for slot in slots:
            if slot:
                yield slot.pop(0)


def _call(workload: Workload, rng: random.Random, number: int) -> list[Message]:
    """Return the messages of one call: ringing, maybe answered, then its end."""
    incoming = rng.random() < workload.incoming_share
    answered = rng.random() < (0.75 if incoming else 0.8)
    if rng.random() < 0.7:
        outside = _known_number(rng.randrange(PHONEBOOK_SIZE))
    else:
        outside = f"+7495{rng.randrange(10_000_000):07d}"
    me = {wire.FIELD_EXTENSION: workload.extension}
    other = {wire.FIELD_NUMBER: outside}
    call_id = f"{workload.prefix}-{number}"
    started = BASE_TIME + number * 10
    common: dict[str, Any] = {
        wire.FIELD_CALL_ID: call_id,
        wire.FIELD_ENTRY_ID: f"{call_id}-entry",
        wire.FIELD_DIRECTION: wire.DIRECTION_IN if incoming else wire.DIRECTION_OUT,
        wire.FIELD_FROM: other if incoming else me,
        wire.FIELD_TO: me if incoming else other,
        wire.FIELD_LINE_NUMBER: LINE_NUMBER,
    }
    states = [wire.CALL_STATE_APPEARED, wire.CALL_STATE_CONNECTED, DISCONNECTED]
    if not answered:
        del states[1]
    result = []
    for seq, state in enumerate(states, start=1):
        data = {
            **common,
            wire.FIELD_SEQ: seq,
            wire.FIELD_TIMESTAMP: started + seq * 3,
            wire.FIELD_CALL_STATE: state,
        }
        if state == DISCONNECTED:
            data[wire.FIELD_DISCONNECT_REASON] = (
                (1110 if incoming else 1100) if answered else 1111
            )
        frame = {wire.KEY_ROUTE_KEY: wire.ROUTE_CALL, wire.KEY_DATA: data}
        result.append(Message(call_id, state, frame))
    return result
