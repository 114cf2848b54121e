"""How fast the client parses and delivers push messages, and how much memory it keeps.

Run with scripts/benchmark. Prints figures; asserts nothing, so a slow
machine never turns CI red.
"""

import asyncio
import json
import logging
import time
import tracemalloc
from typing import Any

import aiohttp

from custom_components.mango_office.api import (
    ChannelState,
    MangoChannel,
    MangoClient,
    PushEvent,
    parse_frame,
)
from mango_simulator import MangoSimulator

TOKEN = "benchmark"
EXTENSION = "101"


def _call_message(call_id: int, seq: int) -> dict[str, Any]:
    return {
        "routeKey": "/call",
        "data": {
            "call_id": f"call-{call_id}",
            "entry_id": f"entry-{call_id}",
            "seq": seq,
            "timestamp": 1_790_000_000 + seq,
            "call_state": ("APPEARED", "CONNECTED", "DISCONNECTED")[seq % 3],
            "direction": "in",
            "from": {"number": "+74951234567"},
            "to": {"extension": EXTENSION},
            "line_number": "+74957654321",
        },
    }


def bench_parse(count: int = 100_000) -> None:
    """Parse one typical /call frame over and over."""
    frame = json.dumps(_call_message(1, 2))
    started = time.perf_counter()
    for _ in range(count):
        parse_frame(frame)
    elapsed = time.perf_counter() - started
    print(
        f"parse_frame: {count / elapsed:,.0f} frames/s ({elapsed / count * 1e6:.1f} µs each)"
    )


async def bench_delivery(count: int) -> None:
    """Push messages through the simulator's websocket and time their delivery."""
    simulator = MangoSimulator(tokens={TOKEN}, extensions={EXTENSION})
    await simulator.start()
    delivered = 0
    done = asyncio.Event()
    live = asyncio.Event()

    def on_event(event: PushEvent, replayed: bool) -> None:
        nonlocal delivered
        delivered += 1
        if delivered == count:
            done.set()

    def on_state(state: ChannelState) -> None:
        if state is ChannelState.CONNECTED:
            live.set()

    async with aiohttp.ClientSession() as session:
        client = MangoClient(session, TOKEN, base_url=simulator.base_url)
        await client.create_user(EXTENSION)
        channel = MangoChannel(client, EXTENSION, on_event=on_event, on_state=on_state)
        await channel.connect()
        runner = asyncio.create_task(channel.run())
        await live.wait()

        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        for number in range(count):
            # Three messages a call: the ids the channel remembers keep growing.
            await simulator.push(EXTENSION, _call_message(number // 3, number % 3 + 1))
        await done.wait()
        elapsed = time.perf_counter() - started
        kept = tracemalloc.get_traced_memory()[0] - baseline
        tracemalloc.stop()

        await channel.close()
        await runner
    await simulator.stop()
    print(
        f"delivery over a websocket on 127.0.0.1: {count / elapsed:,.0f} messages/s "
        f"({count} messages, {elapsed:.2f} s, simulator in the same process)"
    )
    print(
        f"memory kept after {count} messages of {count // 3} calls: {kept / 1024:,.0f} KiB "
        f"(deduplication keeps at most {len(channel._last_seq)} calls)"  # noqa: SLF001
    )


def main() -> None:
    """Print every figure."""
    # The simulator logs every push; that would be what is measured.
    logging.basicConfig(level=logging.WARNING)
    bench_parse()
    # Memory must level off: four times the messages, about the same kept.
    asyncio.run(bench_delivery(15_000))
    asyncio.run(bench_delivery(60_000))


if __name__ == "__main__":
    main()
