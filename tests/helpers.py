"""Messages and waits that several test modules use."""

from typing import Any

from mango_simulator import MangoSimulator

from .conftest import EXTENSION

TIMESTAMP = 1_790_000_000
"""The unix time of a call message's seq 0; seq n is n seconds later."""
NO_TALK = ("0:00", "0:01")
"""The talk time of a call hung up as soon as answered: the service stamps whole seconds, so the
answer and the end may fall in two of them (it did once in some 60 runs of the logbook tests)."""


def call_message(
    call_id: str,
    seq: int,
    state: str,
    *,
    direction: str = "in",
    caller: dict[str, str] | None = None,
    callee: dict[str, str] | None = None,
    timestamp: int = TIMESTAMP,
    **extra: Any,
) -> dict[str, Any]:
    """One /call message for extension 101, as the service would send it."""
    data: dict[str, Any] = {
        "call_id": call_id,
        "entry_id": f"entry-{call_id}",
        "seq": seq,
        "timestamp": timestamp + seq,
        "call_state": state,
        "direction": direction,
        "from": caller if caller is not None else {"number": "74951234567"},
        "to": callee if callee is not None else {"extension": EXTENSION},
        "line_number": "74957654321",
        **extra,
    }
    return {"routeKey": "/call", "data": data}


async def push_call(
    simulator: MangoSimulator, call_id: str, seq: int, state: str, **fields: Any
) -> None:
    """Push one /call message for extension 101 (see call_message)."""
    await simulator.push(EXTENSION, call_message(call_id, seq, state, **fields))
