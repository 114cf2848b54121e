"""The integration's speed and memory, against Home Assistant's own floor, in one table.

Home Assistant runs in this process with one entry; the vendor is a pusher in
another process (benchmarks/pusher.py), so only the integration's and Home
Assistant's CPU is counted. CPU figures are process CPU time; the floor is
measured in the same run, so the ratio holds on a loaded machine where
absolute times do not. Run with scripts/bench (``--help`` for the options).
Prints figures; asserts nothing.
"""

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import cProfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
import gc
import importlib.util
import json
import logging
import os
from pathlib import Path
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Final

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant

from .hass import (
    Observer,
    Recording,
    add_entry,
    connection_entity,
    entity_ids,
    floor_entity_id,
    home_assistant,
    record,
    replay,
    wait_connected,
)
from .workload import Workload, messages

ROOT: Final = Path(__file__).parent.parent
MESSAGES_PER_CALL: Final = 2.75
SETTLE_SECONDS: Final = 30.0
FLOOR_REPLAYS: Final = 3


@dataclass(slots=True)
class Run:
    """What one push of a workload did."""

    messages: int
    sent: int
    cpu_seconds: float
    seen: int
    duplicates: int
    changes: int
    first_sent_ns: int
    last_sent_ns: int
    last_written_ns: int
    latencies_ms: list[float] = field(default_factory=list)
    preempted: int = 0
    """Involuntary context switches: how often another process took the core."""

    @property
    def lost(self) -> int:
        """Messages whose call event never came."""
        return self.sent - self.seen

    @property
    def cpu_us_per_message(self) -> float:
        """Process CPU time per message."""
        return self.cpu_seconds / self.messages * 1e6

    @property
    def per_second(self) -> float:
        """Messages from the first frame sent to the last message written."""
        return self.messages / max(
            1e-9, (self.last_written_ns - self.first_sent_ns) / 1e9
        )


class Bench:
    """Home Assistant, the pusher, and the entry under test."""

    def __init__(
        self, hass: HomeAssistant, control: aiohttp.ClientSession, port: int
    ) -> None:
        """Keep what every measure needs."""
        self.hass = hass
        self.control = control
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/api"
        self.observer = Observer(hass)
        self.runs = 0
        # Over every push of the run.
        self.sent = self.lost = self.duplicates = 0

    async def prepare(self, workload: Workload) -> None:
        """Have the pusher generate a workload's frames before anything is timed."""
        await self._post(
            "/bench/prepare", {"name": workload.prefix, "workload": workload.as_json()}
        )

    async def push(
        self,
        workload: Workload,
        rate: float,
        profiler: cProfile.Profile | None = None,
    ) -> Run:
        """Push a prepared workload and wait until every message is written."""
        expected = messages(workload)
        observer = self.observer
        observer.reset(len(expected))
        assert observer.done is not None
        # Each window starts without garbage from the previous one.
        gc.collect()
        if profiler is not None:
            profiler.enable()
        switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
        started = time.process_time()
        answer = await self._post(
            "/bench/push", {"name": workload.prefix, "rate": rate}
        )
        sent_at: list[int] = answer["sent_at"]
        # A lost message never comes: count what did.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_SECONDS):
                await observer.done
        cpu = time.process_time() - started
        switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - switches
        if profiler is not None:
            profiler.disable()
        written = observer.written
        latencies = [
            (written[message.key] - sent) / 1e6
            for message, sent in zip(expected, sent_at, strict=True)
            if message.key in written
        ]
        run = Run(
            messages=len(expected),
            sent=len(sent_at),
            cpu_seconds=cpu,
            seen=len(observer.seen),
            duplicates=observer.duplicates,
            changes=observer.changes,
            first_sent_ns=sent_at[0],
            last_sent_ns=sent_at[-1],
            last_written_ns=max(written.values(), default=sent_at[0]),
            latencies_ms=latencies,
            preempted=switches,
        )
        self.sent += run.sent
        self.lost += run.lost
        self.duplicates += run.duplicates
        return run

    async def run(self, extension: str, calls: int, rate: float) -> Run:
        """Prepare and push a fresh workload (new call ids: the channel drops repeats)."""
        self.runs += 1
        workload = Workload(extension=extension, prefix=f"run{self.runs}", calls=calls)
        await self.prepare(workload)
        return await self.push(workload, rate)

    async def store_missed(self, workload: Workload) -> None:
        """Have the pusher keep a workload as missed events."""
        await self._post("/bench/missed", {"workload": workload.as_json()})

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.control.post(
            f"http://127.0.0.1:{self.port}{path}", json=body
        ) as response:
            response.raise_for_status()
            return await response.json()


async def set_up(bench: Bench, extension: str) -> tuple[ConfigEntry, float]:
    """Add an entry and return it with the seconds until its connection sensor is on."""
    started = time.perf_counter()
    entry = await add_entry(bench.hass, bench.base_url, extension)
    await wait_connected(
        bench.hass, connection_entity(bench.hass, entry), SETTLE_SECONDS
    )
    return entry, time.perf_counter() - started


def rss_bytes() -> int:
    """Return the process's resident set size now."""
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """Return the process's peak resident set size since the last reset_peak_rss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> None:
    """Start the peak resident set size over from the current one (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def memory() -> dict[str, int]:
    """Return the resident set and Python's allocated blocks, after a full collection."""
    gc.collect()
    return {"rss_bytes": rss_bytes(), "python_blocks": sys.getallocatedblocks()}


async def measure_drain(
    bench: Bench, entry: ConfigEntry, extension: str, missed: int
) -> dict[str, float]:
    """Set an entry up again with missed events waiting; time until all are in and it is live."""
    hass = bench.hass
    await hass.config_entries.async_unload(entry.entry_id)
    calls = int(missed / MESSAGES_PER_CALL) + 10
    await bench.store_missed(
        Workload(extension=extension, prefix="missed", calls=calls, limit=missed)
    )
    bench.observer.reset(missed)
    gc.collect()
    reset_peak_rss()
    before = rss_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    await hass.config_entries.async_setup(entry.entry_id)
    await wait_connected(hass, connection_entity(hass, entry), 600)
    assert bench.observer.done is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_SECONDS):
            await bench.observer.done
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = peak_rss_bytes()
    replayed = bench.observer.replayed
    await hass.config_entries.async_unload(entry.entry_id)
    return {
        "missed_events": missed,
        "replayed_events_seen": replayed,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_growth_bytes": peak - before,
    }


async def measure(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    """Take every figure of the table."""
    hass = bench.hass
    observer = bench.observer
    observer.start()
    results: dict[str, Any] = {}

    entry, cold = await set_up(bench, "101")
    second, warm = await set_up(bench, "102")
    results["setup_seconds"] = {"first_entry": cold, "second_entry": warm}
    results["drain"] = await measure_drain(bench, second, "102", args.missed)

    tracked = set(entity_ids(hass, entry))
    observer.tracked = tracked | {floor_entity_id(entity_id) for entity_id in tracked}
    results["entities"] = sorted(tracked)

    # Warm-up, then the writes and bus events the integration makes, at a calm pace.
    await bench.run("101", args.calls, 0)
    workload = Workload(extension="101", prefix="recorded", calls=args.calls)
    await bench.prepare(workload)
    with record(hass, tracked) as recording:
        recorded_run = await bench.push(workload, args.record_rate)
    results["per_message"] = _per_message(recording, recorded_run)

    if args.profile:
        return results

    reps = []
    for _ in range(args.reps):
        run = await bench.run("101", args.calls, 0)
        observer.counting = False
        floor = _floor(hass, recording, all_writes=False)
        floor_all = _floor(hass, recording, all_writes=True)
        observer.counting = True
        expected_changes = sum(write.changed for write in recording.writes)
        reps.append(
            {
                "messages": run.messages,
                "cpu_us_per_message": run.cpu_us_per_message,
                "floor_us_per_message": floor / recorded_run.messages * 1e6,
                "floor_all_writes_us_per_message": floor_all
                / recorded_run.messages
                * 1e6,
                "ratio": run.cpu_us_per_message / (floor / recorded_run.messages * 1e6),
                "messages_per_second": run.per_second,
                "messages_per_cpu_second": run.messages / run.cpu_seconds,
                "sent": run.sent,
                "call_events_seen": run.seen,
                "duplicate_call_events": run.duplicates,
                "state_changes": run.changes,
                "state_changes_expected": expected_changes,
                "lost": run.lost,
                "merged": max(0, expected_changes - run.changes),
            }
        )
    results["repetitions"] = reps

    latency_calls = round(args.rate * args.latency_seconds / MESSAGES_PER_CALL)
    run = await bench.run("101", latency_calls, args.rate)
    results["latency"] = {
        "rate": args.rate,
        "messages": run.messages,
        "lost": run.lost,
        "p50_ms": _percentile(run.latencies_ms, 50),
        "p99_ms": _percentile(run.latencies_ms, 99),
        "max_ms": max(run.latencies_ms, default=float("nan")),
        "rate_achieved": (run.messages - 1)
        / max(1e-9, (run.last_sent_ns - run.first_sent_ns) / 1e9),
        "cpu_us_per_message": run.cpu_us_per_message,
        "over_50_ms": sum(latency > 50 for latency in run.latencies_ms),
        "preempted": run.preempted,
    }

    small = args.memory_calls_first
    before = memory()
    await bench.run("101", small, 0)
    after_small = memory()
    done = small
    while done < args.memory_calls:
        chunk = min(args.memory_chunk, args.memory_calls - done)
        await bench.run("101", chunk, 0)
        done += chunk
    results["memory"] = {
        "before": before,
        "after_calls": {str(small): after_small, str(done): memory()},
    }
    results["totals"] = {
        "sent": bench.sent,
        "lost": bench.lost,
        "duplicate_call_events": bench.duplicates,
    }
    return results


def _floor(hass: HomeAssistant, recording: Recording, *, all_writes: bool) -> float:
    """Return the median CPU seconds of three replays: one is too short to trust alone."""
    times = []
    for _ in range(FLOOR_REPLAYS):
        gc.collect()
        times.append(replay(hass, recording.operations, all_writes=all_writes))
    return statistics.median(times)


def _per_message(recording: Recording, run: Run) -> dict[str, float]:
    writes = recording.writes
    count = run.messages
    return {
        "messages": count,
        "entity_writes": len(writes) / count,
        "writes_that_changed_nothing": sum(not write.changed for write in writes)
        / count,
        "state_changes": sum(write.changed for write in writes) / count,
        "bus_events": len(recording.fires) / count,
        "lost": run.lost,
    }


def _percentile(values: Sequence[float], percent: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


async def profile(
    bench: Bench, calls: int, rate: float
) -> tuple[cProfile.Profile, int]:
    """Profile the event loop's thread while a workload goes through."""
    # cProfile's own clock: a CPU-time clock costs a system call per event,
    # which would weigh functions by how often they are called.
    profiler = cProfile.Profile()
    workload = Workload(extension="101", prefix="profiled", calls=calls)
    await bench.prepare(workload)
    run = await bench.push(workload, rate, profiler)
    return profiler, run.messages


def print_profile(
    profiler: cProfile.Profile, count: int, top: int
) -> list[dict[str, Any]]:
    """Print the functions that take the most time per message, by own and by total time."""
    stats = pstats.Stats(profiler)
    entries = [
        {
            "function": f"{_short(file)}:{line}({name})",
            "calls_per_message": calls / count,
            "own_us_per_message": own / count * 1e6,
            "total_us_per_message": total / count * 1e6,
        }
        # pstats keeps its table in an attribute its stubs leave out.
        for (file, line, name), (_, calls, own, total, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    for title, key in (
        ("own", "own_us_per_message"),
        ("total", "total_us_per_message"),
    ):
        print(
            f"\nTop {top} by {title} time, per /call message"
            f" ({count:,} messages, under cProfile):"
        )
        print(f"{'calls/msg':>10} {'own µs':>8} {'total µs':>9}  function")
        for entry in sorted(entries, key=lambda entry: -entry[key])[:top]:
            print(
                f"{entry['calls_per_message']:>10.2f} {entry['own_us_per_message']:>8.1f}"
                f" {entry['total_us_per_message']:>9.1f}  {entry['function']}"
            )
    parts: dict[str, float] = {}
    for entry in entries:
        part = _part(entry["function"])
        parts[part] = parts.get(part, 0.0) + entry["own_us_per_message"]
    whole = sum(parts.values()) - parts.pop("collection between timed windows", 0.0)
    print(
        f"\nOwn time by part, per /call message (under cProfile, {whole:.0f} µs in all):"
    )
    for part, own in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"{own:>8.1f} µs {own / whole:>5.0%}  {part}")
    return sorted(entries, key=lambda entry: -entry["own_us_per_message"])[: top * 2]


# Where a message's time goes, by the code that spends it.
_PARTS: tuple[tuple[str, str], ...] = (
    ("gc.collect", "collection between timed windows"),
    ("custom_components/mango_office/api/", "integration: channel and parser (api/)"),
    ("custom_components/mango_office/", "integration: coordinator and entities"),
    (
        "homeassistant/helpers/entity.py",
        "HA entity machinery (state writes beyond the floor)",
    ),
    (
        "homeassistant/components/",
        "HA entity machinery (state writes beyond the floor)",
    ),
    ("homeassistant/core.py", "HA core: states and bus (the floor)"),
    ("ulid_transform", "HA core: states and bus (the floor)"),
    ("homeassistant/", "HA, other"),
    ("json/", "JSON decoding"),
    ("aiohttp", "websocket transport and event loop"),
    ("asyncio/", "websocket transport and event loop"),
    ("benchmarks/", "the benchmark itself"),
)


def _part(function: str) -> str:
    for marker, part in _PARTS:
        if marker in function:
            return part
    return "Python built-ins called from the above"


def _short(file: str) -> str:
    """Return a source path from its package on."""
    for marker in (
        "site-packages/",
        f"python{sys.version_info[0]}.{sys.version_info[1]}/",
    ):
        if marker in file:
            return file.split(marker, 1)[1]
    return file.removeprefix(f"{ROOT}/")


async def start_pusher() -> tuple[asyncio.subprocess.Process, int]:
    """Start the vendor's process and return it with its port."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.pusher",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode()
    if not line.startswith("PORT "):
        raise RuntimeError(f"the pusher did not start: {line!r}")
    return process, int(line.split()[1])


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Start the pusher and Home Assistant, take the figures, stop both."""
    process, port = await start_pusher()
    try:
        async with home_assistant() as hass, aiohttp.ClientSession() as control:
            bench = Bench(hass, control, port)
            results = await measure(args, bench)
            if args.profile:
                profiler, count = await profile(bench, args.calls, args.profile_rate)
                results["profile"] = print_profile(profiler, count, args.profile_top)
            bench.observer.stop()
            return results
    finally:
        process.terminate()
        await process.wait()


def cpu_pressure() -> float | None:
    """Return the share of the last minute in which some task waited for a CPU (Linux PSI)."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    fields = dict(field.split("=") for field in first.split()[1:])
    return float(fields["avg60"]) / 100


def environment() -> dict[str, Any]:
    """Describe the machine and the code the figures come from."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607 - git from PATH, as a developer runs it
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "cpu_pressure": cpu_pressure(),
        "python": platform.python_version(),
        "home_assistant": ha_version,
        # Home Assistant makes a ULID for every state write and event; without
        # ulid-transform's compiled module, both cost more here than on a real install.
        "ulid_transform_compiled": importlib.util.find_spec("ulid_transform._ulid_impl")
        is not None,
    }


def table(results: dict[str, Any], env: dict[str, Any]) -> str:
    """Return the figures as one markdown table."""
    reps = results["repetitions"]

    def median(key: str) -> float:
        return float(statistics.median(rep[key] for rep in reps))

    def spread(key: str, form: str) -> str:
        return ", ".join(format(rep[key], form) for rep in reps)

    per = results["per_message"]
    latency = results["latency"]
    drain = results["drain"]
    mem = results["memory"]
    (small, small_mem), (large, large_mem) = mem["after_calls"].items()
    setup = results["setup_seconds"]
    totals = results["totals"]
    mib = 1024 * 1024
    rows = [
        (
            f"CPU per `/call` message (median of {len(reps)})",
            f"{median('cpu_us_per_message'):,.0f} µs",
            f"runs: {spread('cpu_us_per_message', ',.0f')} µs",
        ),
        (
            "Floor: the same state changes and bus events",
            f"{median('floor_us_per_message'):,.0f} µs",
            (
                f"{per['state_changes']:.2f} changing writes + {per['bus_events']:.2f} bus events a message;"
                f" with the {per['writes_that_changed_nothing']:.2f} writes that changed nothing:"
                f" {median('floor_all_writes_us_per_message'):,.0f} µs"
            ),
        ),
        (
            "Ratio to the floor (median)",
            f"{median('ratio'):.1f}x",
            f"runs: {spread('ratio', '.1f')}",
        ),
        (
            "Entity writes a message",
            f"{per['entity_writes']:.2f}",
            f"{per['writes_that_changed_nothing']:.2f} of them changed nothing",
        ),
        (
            "Throughput, as fast as the socket takes them (median)",
            f"{median('messages_per_second'):,.0f} msg/s",
            (
                f"{median('messages_per_cpu_second'):,.0f} msg per CPU-second;"
                f" runs: {spread('messages_per_second', ',.0f')}"
            ),
        ),
        (
            "Lost / merged",
            f"{totals['lost']} / {sum(rep['merged'] for rep in reps)}",
            (
                f"{totals['sent']:,} messages sent in all, call events repeated:"
                f" {totals['duplicate_call_events']}; state changes in the CPU runs:"
                f" {sum(rep['state_changes'] for rep in reps):,} of"
                f" {sum(rep['state_changes_expected'] for rep in reps):,} expected"
            ),
        ),
        (
            f"Frame sent → state written at {latency['rate']:,.0f} msg/s",
            f"p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms",
            (
                f"max {latency['max_ms']:.1f} ms over {latency['messages']:,} messages"
                f" sent at {latency['rate_achieved']:,.0f} msg/s;"
                f" CPU {latency['cpu_us_per_message']:,.0f} µs a message at this pace;"
                f" {latency['over_50_ms']} over 50 ms;"
                f" another process took the core {latency['preempted']:,} times"
            ),
        ),
        (
            f"{drain['missed_events']:,} missed events drained",
            f"{drain['seconds']:.2f} s",
            (
                f"+{drain['peak_rss_growth_bytes'] / mib:.1f} MiB peak RSS,"
                f" {drain['cpu_seconds']:.2f} s CPU, set-up included;"
                f" {drain['replayed_events_seen']:,} replayed call events seen"
            ),
        ),
        (
            f"Memory after {int(small):,} / {int(large):,} calls",
            f"{small_mem['rss_bytes'] / mib:.1f} / {large_mem['rss_bytes'] / mib:.1f} MiB RSS",
            f"Python blocks {small_mem['python_blocks']:,} / {large_mem['python_blocks']:,}",
        ),
        (
            "Set-up of one entry, to connected",
            f"{setup['second_entry']:.3f} s",
            f"first entry, loading the platforms: {setup['first_entry']:.3f} s",
        ),
    ]
    lines = [
        _conditions(env),
        "",
        "| Measure | Value | Details |",
        "| --- | --- | --- |",
        *(f"| {name} | {value} | {details} |" for name, value, details in rows),
    ]
    return "\n".join(lines)


def _conditions(env: dict[str, Any]) -> str:
    loads = " ".join(f"{load:.2f}" for load in env["load_average"])
    parts = [
        f"Home Assistant {env['home_assistant']}",
        f"Python {env['python']}",
        f"{env['cpus']} CPUs",
        f"load average {loads} at the start",
    ]
    if env["cpu_pressure"] is not None:
        parts.append(
            f"tasks waiting for a CPU {env['cpu_pressure']:.0%} of the minute before"
        )
    if not env["ulid_transform_compiled"]:
        parts.append("ulid-transform without its compiled module")
    return f"Measured {env['date']} on {env['commit']}: {', '.join(parts)}."


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the options; the defaults took 40-90 s on a loaded 2-core machine."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--reps", type=int, default=5, help="repetitions of the CPU run (default 5)"
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=1200,
        help="calls a CPU run (about 2.75 messages each)",
    )
    parser.add_argument(
        "--record-rate",
        type=float,
        default=1000,
        help="msg/s of the run whose writes make the floor",
    )
    parser.add_argument(
        "--rate", type=float, default=500, help="msg/s of the latency run"
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=10, help="length of the latency run"
    )
    parser.add_argument(
        "--missed", type=int, default=10_000, help="missed events to drain"
    )
    parser.add_argument(
        "--memory-calls-first",
        type=int,
        default=1_000,
        help="calls before the first memory figure",
    )
    parser.add_argument(
        "--memory-calls",
        type=int,
        default=10_000,
        help="calls before the second memory figure",
    )
    parser.add_argument(
        "--memory-chunk",
        type=int,
        default=5_000,
        help="calls a push while filling memory",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="the issue's sizes: 100,000 calls, 7 reps, 30 s of latency (about 4 minutes)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print where the time of a message goes (cProfile) instead of the table",
    )
    parser.add_argument(
        "--profile-rate",
        type=float,
        default=0,
        help="msg/s while profiling (default 0: as fast as the socket takes them)",
    )
    parser.add_argument(
        "--profile-top", type=int, default=25, help="entries of the profile to print"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the figures (default .bench/<date>.json)",
    )
    args = parser.parse_args(argv)
    if args.full:
        args.reps = max(args.reps, 7)
        args.memory_calls = max(args.memory_calls, 100_000)
        args.latency_seconds = max(args.latency_seconds, 30)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Take the figures, print the table, write the JSON."""
    args = parse_args(argv)
    # Its warning that a custom integration is loaded, once per entry, says nothing here.
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    env = environment()
    results = asyncio.run(main_async(args))
    path = write_figures(results, env, args)
    if not args.profile:
        print(table(results, env))
    print(f"\nFigures written to {path}")


def write_figures(
    results: dict[str, Any],
    env: dict[str, Any],
    args: argparse.Namespace,
    prefix: str = "",
) -> Path:
    """Write the figures, the machine's state and the options to .bench/ (or --json)."""
    path = args.json or ROOT / ".bench" / f"{prefix}{env['date'].replace(':', '')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results["environment"] = {
        **env,
        "load_average_at_end": os.getloadavg(),
        "cpu_pressure_at_end": cpu_pressure(),
    }
    results["options"] = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in vars(args).items()
    }
    path.write_text(json.dumps(results, indent=2))
    return Path(path)


if __name__ == "__main__":
    main()
