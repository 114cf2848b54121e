"""Messages and waits that several test modules use."""

from typing import Any

from mango_simulator import MangoSimulator

from .conftest import EXTENSION


async def push_call(
    simulator: MangoSimulator,
    call_id: str,
    seq: int,
    state: str,
    *,
    direction: str = "in",
    caller: dict[str, str] | None = None,
    callee: dict[str, str] | None = None,
    timestamp: int = 1_790_000_000,
    **extra: Any,
) -> None:
    """Push one /call message for extension 101, as the service would send it."""
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
    await simulator.push(EXTENSION, {"routeKey": "/call", "data": data})
