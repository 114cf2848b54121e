"""An office on one account: N extensions against the simulator in its own process.

Home Assistant runs in this process (as in benchmarks/run.py) with one account
entry of N extension subentries; the vendor is the project's simulator
(``python -m mango_simulator``, every extension provisioned, as the config flow
leaves them), which notes when each API request and websocket upgrade came.
Run with ``scripts/bench --office [N]``. Prints figures; asserts nothing.
"""

import argparse
import asyncio
from collections import Counter
from collections.abc import Sequence
import contextlib
import gc
import logging
import math
from pathlib import Path
import sys
import time
from typing import Any, Final

import aiohttp
from homeassistant.core import HomeAssistant

from mango_simulator.simulator import peak_per_second

from .hass import (
    TOKEN,
    Observer,
    add_entry,
    connection_entities,
    entity_ids,
    free_port,
    home_assistant,
    wait_connected,
)
from .run import ROOT, _percentile, environment, memory, write_figures
from .workload import Workload, messages

FIRST_EXTENSION: Final = 1001
LIMIT: Final = 10
CONNECT_SECONDS: Final = 300.0


class Vendor:
    """The simulator's process and its control interface."""

    def __init__(self, control: aiohttp.ClientSession, port: int) -> None:
        """Keep where it listens."""
        self.control = control
        self.url = f"http://127.0.0.1:{port}"

    async def request_times(
        self, since: float, until: float = math.inf
    ) -> dict[str, list[float]]:
        """When each API request and websocket upgrade came (CLOCK_MONOTONIC s), in a span."""
        async with self.control.get(f"{self.url}/_simulator/request_times") as answer:
            answer.raise_for_status()
            times: dict[str, list[float]] = await answer.json()
        return {
            kind: [at for at in kind_times if since <= at < until]
            for kind, kind_times in times.items()
        }

    async def wait_registered(self, count: int, seconds: float) -> None:
        """Wait until so many extensions are registered on a websocket."""
        async with asyncio.timeout(seconds):
            while True:
                async with self.control.get(f"{self.url}/_simulator/state") as answer:
                    answer.raise_for_status()
                    if len((await answer.json())["registered"]) >= count:
                        return
                await asyncio.sleep(0.1)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """Send a control request."""
        async with self.control.post(
            f"{self.url}/_simulator/{path}", json=body
        ) as answer:
            answer.raise_for_status()
            return await answer.json()


async def start_vendor(
    extensions: Sequence[str],
) -> tuple[asyncio.subprocess.Process, int]:
    """Start the simulator with these extensions provisioned; return it with its port."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mango_simulator",
        "--port",
        str(port),
        "--token",
        TOKEN,
        "--provision",
        *(arg for extension in extensions for arg in ("--extension", extension)),
        stdout=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    async with aiohttp.ClientSession() as probe, asyncio.timeout(30):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with probe.get(
                    f"http://127.0.0.1:{port}/_simulator/state"
                ) as answer:
                    if answer.status == 200:
                        return process, port
            await asyncio.sleep(0.1)


def rates(times: dict[str, list[float]]) -> dict[str, Any]:
    """The vendor's API requests: in all, in any one second, in its busiest clock second.

    And the same with the websocket upgrades counted in.
    """
    api = times["api"]
    both = api + times["websockets"]
    per_second = Counter(int(at) for at in api)
    return {
        "requests": len(api),
        "peak_in_any_second": peak_per_second(api),
        "peak_in_a_clock_second": max(per_second.values(), default=0),
        "seconds_over_limit": sum(count > LIMIT for count in per_second.values()),
        "websockets": len(times["websockets"]),
        "peak_in_any_second_with_websockets": peak_per_second(both),
    }


async def measure(
    args: argparse.Namespace, hass: HomeAssistant, vendor: Vendor
) -> dict[str, Any]:
    """Take every figure of the office table."""
    extensions = [str(FIRST_EXTENSION + index) for index in range(args.office)]
    base_url = f"{vendor.url}/api"
    results: dict[str, Any] = {"extensions": args.office}

    # One extension first: the platforms load, and the memory it takes is the baseline.
    one = await add_entry(hass, base_url, extensions[0])
    await wait_connected(hass, connection_entities(hass, one), CONNECT_SECONDS)
    rss_one = memory()
    await hass.config_entries.async_remove(one.entry_id)

    began_monotonic = time.monotonic()
    began = time.perf_counter()
    entry = await add_entry(hass, base_url, *extensions)
    results["setup_returned_seconds"] = time.perf_counter() - began
    sensors = connection_entities(hass, entry)
    await wait_connected(hass, sensors, CONNECT_SECONDS)
    results["all_connected_seconds"] = time.perf_counter() - began
    results["start"] = rates(await vendor.request_times(began_monotonic))

    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(args.idle)
    results["idle"] = {
        "seconds": time.perf_counter() - wall,
        "cpu_share_of_one_core": (time.process_time() - cpu)
        / (time.perf_counter() - wall),
    }
    rss_n = memory()
    results["memory"] = {
        "rss_one_extension_bytes": rss_one["rss_bytes"],
        "rss_all_extensions_bytes": rss_n["rss_bytes"],
        "per_extension_bytes": (rss_n["rss_bytes"] - rss_one["rss_bytes"])
        / (args.office - 1),
    }

    results["storm"] = await storm(hass, vendor, entry, extensions)

    outage_began = time.monotonic()
    await vendor.post("faults", {"outage": args.outage})
    await asyncio.sleep(args.outage)
    outage_ended = time.monotonic()
    # The sensors of an outage shorter than the blip's grace never went off.
    await vendor.wait_registered(len(extensions), CONNECT_SECONDS)
    await wait_connected(hass, sensors, CONNECT_SECONDS)
    results["outage"] = {
        "seconds": args.outage,
        "all_connected_after_seconds": time.monotonic() - outage_ended,
        "during": rates(await vendor.request_times(outage_began, outage_ended)),
        "after": rates(await vendor.request_times(outage_ended)),
        "whole": rates(await vendor.request_times(outage_began)),
    }
    await hass.config_entries.async_unload(entry.entry_id)
    return results


async def storm(
    hass: HomeAssistant, vendor: Vendor, entry: Any, extensions: list[str]
) -> dict[str, Any]:
    """A call rings on every extension at once: frame sent to state written, each."""
    observer = Observer(hass)
    observer.tracked = set(entity_ids(hass, entry))
    observer.start()
    observer.reset(len(extensions))
    assert observer.done is not None
    first = {
        extension: messages(
            Workload(extension=extension, prefix=f"office-{extension}", calls=1)
        )[0]
        for extension in extensions
    }
    gc.collect()
    cpu = time.process_time()
    answer = await vendor.post(
        "push",
        {
            "messages": {
                extension: message.frame for extension, message in first.items()
            }
        },
    )
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            await observer.done
    cpu = time.process_time() - cpu
    observer.stop()
    sent_at: dict[str, int] = answer["sent_at"]
    latencies = [
        (observer.written[message.key] - sent_at[extension]) / 1e6
        for extension, message in first.items()
        if message.key in observer.written
    ]
    written = [
        observer.written[message.key]
        for message in first.values()
        if message.key in observer.written
    ]
    return {
        "calls": len(extensions),
        "lost": len(extensions) - len(latencies),
        # How long the vendor took to send them all, and Home Assistant to write them.
        "sent_over_ms": (max(sent_at.values()) - min(sent_at.values())) / 1e6,
        "written_over_ms": (max(written, default=0) - min(written, default=0)) / 1e6,
        "cpu_ms": cpu * 1e3,
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Start the simulator and Home Assistant, take the figures, stop both."""
    extensions = [str(FIRST_EXTENSION + index) for index in range(args.office)]
    process, port = await start_vendor(extensions)
    try:
        async with home_assistant() as hass, aiohttp.ClientSession() as control:
            return await measure(args, hass, Vendor(control, port))
    finally:
        process.terminate()
        await process.wait()


def table(results: dict[str, Any], env: dict[str, Any]) -> str:
    """Return the figures, with their targets, as one markdown table."""
    mib = 1024 * 1024
    start, outage, storm_ = results["start"], results["outage"], results["storm"]
    idle, mem = results["idle"], results["memory"]
    after = outage["whole"]
    rows = [
        (
            "Set-up to all connected",
            f"{results['all_connected_seconds']:.1f} s",
            "≤ 30 s",
            f"set-up returned after {results['setup_returned_seconds']:.2f} s",
        ),
        (
            "Requests to the vendor during the start, peak",
            f"{start['peak_in_any_second']} in any second",
            f"≤ {LIMIT}",
            (
                f"{start['requests']} API requests, busiest clock second"
                f" {start['peak_in_a_clock_second']}; with the {start['websockets']}"
                f" websocket upgrades, {start['peak_in_any_second_with_websockets']}"
                " in any second"
            ),
        ),
        (
            "Idle CPU, all connected",
            f"{idle['cpu_share_of_one_core']:.2%} of one core",
            "< 1 %",
            f"process CPU time / wall time over {idle['seconds']:.0f} s",
        ),
        (
            "Memory per extension",
            f"{mem['per_extension_bytes'] / mib:.3f} MiB",
            "≤ 0.5 MB",
            (
                f"RSS {mem['rss_all_extensions_bytes'] / mib:.1f} MiB with"
                f" {results['extensions']}, {mem['rss_one_extension_bytes'] / mib:.1f}"
                " MiB with one"
            ),
        ),
        (
            f"A call on all {storm_['calls']} extensions at once, frame → state",
            f"p50 {storm_['p50_ms']:.1f} ms, p99 {storm_['p99_ms']:.1f} ms",
            "p99 ≤ 50 ms, none lost",
            (
                f"max {storm_['max_ms']:.1f} ms; lost {storm_['lost']}; the vendor sent"
                f" them over {storm_['sent_over_ms']:.1f} ms, the states were written"
                f" over {storm_['written_over_ms']:.1f} ms, with"
                f" {storm_['cpu_ms']:.0f} ms of Home Assistant's CPU time"
            ),
        ),
        (
            f"After a {outage['seconds']:.0f} s outage, all connected again",
            f"{outage['all_connected_after_seconds']:.1f} s after it ended",
            "≤ 60 s",
            "websockets dropped, every request answered HTTP 500 meanwhile",
        ),
        (
            "Requests to the vendor from the outage on, peak",
            f"{after['peak_in_any_second']} in any second",
            f"≤ {LIMIT}",
            (
                f"{outage['during']['requests']} API requests during the outage,"
                f" {outage['after']['requests']} after it; busiest clock second"
                f" {after['peak_in_a_clock_second']}; with the {after['websockets']}"
                f" websocket upgrades, {after['peak_in_any_second_with_websockets']}"
                " in any second"
            ),
        ),
    ]
    loads = " ".join(f"{load:.2f}" for load in env["load_average"])
    conditions = (
        f"Measured {env['date']} on {env['commit']}: Home Assistant {env['home_assistant']},"
        f" Python {env['python']}, {env['cpus']} CPUs, load average {loads} at the start"
    )
    if env["cpu_pressure"] is not None:
        conditions += (
            f", tasks waiting for a CPU {env['cpu_pressure']:.0%} of the minute before"
        )
    return "\n".join(
        [
            conditions + ".",
            "",
            "| Measure | Value | Target | Details |",
            "| --- | --- | --- | --- |",
            *(f"| {' | '.join(row)} |" for row in rows),
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the options."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench --office", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--office",
        type=int,
        nargs="?",
        const=100,
        default=100,
        metavar="N",
        help="extensions on the account (default 100)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=60,
        help="seconds of idle CPU measured (default 60)",
    )
    parser.add_argument(
        "--outage", type=float, default=60, help="seconds of the outage (default 60)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the figures (default .bench/office-<date>.json)",
    )
    args = parser.parse_args(argv)
    if args.office < 2:
        parser.error("--office needs at least 2 extensions")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Take the figures, print the table, write the JSON."""
    args = parse_args(argv)
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    env = environment()
    results = asyncio.run(main_async(args))
    path = write_figures(results, env, args, "office-")
    print(table(results, env))
    print(f"\nFigures written to {path}")


if __name__ == "__main__":
    main()
