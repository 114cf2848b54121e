"""Start, stop, the demo's auto calls and the command line."""

import argparse
import asyncio
import logging
import os
from pathlib import Path
import re
import signal
import subprocess
import sys

import aiohttp
import pytest

from mango_simulator import MangoSimulator
from mango_simulator.__main__ import parse_args, run

from .conftest import TOKEN, Client, FakeClock, eventually, nothing_more, receive

SIMULATOR_DIR = Path(__file__).parents[2] / "simulator"


async def test_stop_leaves_nothing_behind(socket_enabled: None) -> None:
    """stop() ends every task, websocket and hanging request it started; twice is fine."""
    before = asyncio.all_tasks()
    sim = MangoSimulator(tokens={TOKEN}, step_delay=10, record_delay=10, seed=3)
    await sim.stop()  # not started: nothing to do
    await sim.start()
    with pytest.raises(RuntimeError, match="already running"):
        await sim.start()
    async with aiohttp.ClientSession() as session:
        api = Client(session, sim)
        ws, _ = await api.connect("101")
        sim.start_auto_calls(0.01)
        scenario = asyncio.create_task(sim.incoming_answered("101", talk_seconds=None))
        sim.start_scenario("outgoing_callback", extension="101")
        sim.fail_next("session/ping", mode="timeout")
        hanging = asyncio.create_task(api.get("session/ping"))
        await eventually(lambda: len(sim.requests_to("session/ping")) == 1)
        await asyncio.sleep(0.05)

        await sim.stop()
        await sim.stop()

        assert (await hanging)[0] == 504
        assert (await scenario)["call_id"]
        frame = await ws.receive(timeout=2)
        while frame.type is aiohttp.WSMsgType.TEXT:  # pushes sent before the stop
            frame = await ws.receive(timeout=2)
        assert frame.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
    assert asyncio.all_tasks() - before == {asyncio.current_task()} - before
    assert sim.open_websockets == 0
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"{sim.base_url}/v1/session/ping")


async def test_restart_after_stop(socket_enabled: None) -> None:
    """A stopped simulator can start again, keeping its state."""
    sim = MangoSimulator(tokens={TOKEN})
    await sim.start()
    sim.provision("101")
    await sim.stop()
    await sim.start()
    try:
        async with aiohttp.ClientSession() as session:
            status, body = await Client(session, sim).post(
                "users/create", EXTENSION="101"
            )
        assert body["Result"]["code"] == 110
        assert status == 400
    finally:
        await sim.stop()


async def test_end_calls(client: Client, sim: MangoSimulator) -> None:
    """end_calls() stops the scenarios and ends each open leg: talking, held or ringing."""
    ws, _ = await client.connect("101")
    sim.provision("102")  # not registered: its legs end into the missed store
    talking = sim.start_scenario(
        "incoming_answered", extension="101", talk_seconds=None
    )
    held = sim.start_scenario("hold_and_resume", extension="102", hold_seconds=60)
    await eventually(lambda: len(sim.active_calls()) == 2)
    sim.step_delay = 60  # the next call stays ringing
    ringing = sim.start_scenario("incoming_missed", extension="101")
    frames = [await receive(ws) for _ in range(3)]

    await sim.end_calls()

    ended = [await receive(ws) for _ in range(2)]
    assert talking.cancelled()
    assert held.cancelled()
    assert ringing.cancelled()
    assert sim.active_calls() == []
    assert {frame["data"]["call_state"] for frame in frames} == {
        "APPEARED",
        "CONNECTED",
    }
    assert sorted(
        (frame["data"]["call_state"], frame["data"]["disconnect_reason"])
        for frame in ended
    ) == [("DISCONNECTED", 1100), ("DISCONNECTED", 1110)]
    assert [m["data"]["call_state"] for m in sim.missed("102")][-1] == "DISCONNECTED"
    await sim.end_calls()  # nothing left to end
    await nothing_more(ws)


async def test_state_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    """save_state() and load_state(): users and missed events, expiry kept by their age."""
    path = tmp_path / "state.json"
    sim = MangoSimulator(extensions=["101", "102"], clock=clock)
    sim.provision("101")
    await sim.push("101", {"routeKey": "/call", "data": {"call_id": "old", "seq": 1}})
    clock.advance(10)
    await sim.push("101", {"routeKey": "/call", "data": {"call_id": "new", "seq": 1}})
    sim.save_state(path)

    again = MangoSimulator(extensions=["101"], clock=clock, missed_ttl=5)
    again.load_state(path)
    nothing = MangoSimulator(clock=clock)
    nothing.load_state(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"users": {"101": [["x", {}]]}}')
    nothing.load_state(tmp_path / "bad.json")

    assert again.users == {"101"}
    assert [m["data"]["call_id"] for m in again.missed("101")] == ["new"]
    assert nothing.users == set()


def test_provision_only_pbx_extensions() -> None:
    """provision() is users/create without HTTP; unknown extensions are refused."""
    sim = MangoSimulator(extensions=["101"])
    sim.provision("101")
    sim.provision("101")
    with pytest.raises(KeyError):
        sim.provision("999")
    sim.add_extension("999")
    sim.provision("999")
    assert sim.users == {"101", "999"}


async def test_auto_calls(client: Client, sim: MangoSimulator) -> None:
    """Auto calls start scenarios for provisioned users until stopped."""
    ws101, _ = await client.connect("101")
    ws102, _ = await client.connect("102")
    sim.start_auto_calls(0.01)
    sim.start_auto_calls(0.01)  # restarting replaces the loop
    kinds: set[str] = set()
    async with asyncio.timeout(5):
        while len(kinds) < 3:
            for ws in (ws101, ws102):
                try:
                    kinds.add((await receive(ws, 0.05))["routeKey"])
                except TimeoutError:
                    continue
    sim.stop_auto_calls()
    sim.stop_auto_calls()
    assert kinds <= {"/call", "/record", "/ivr"}
    with pytest.raises(ValueError, match="positive"):
        sim.start_auto_calls(0)


async def test_auto_calls_without_users(sim: MangoSimulator) -> None:
    """With nobody provisioned auto calls wait quietly."""
    sim.start_auto_calls(0.01)
    await asyncio.sleep(0.05)
    sim.stop_auto_calls()
    assert sim.active_calls() == []


def test_parse_args_defaults() -> None:
    """The command line's defaults suit a demo."""
    args = parse_args([])
    assert (args.host, args.port, args.token, args.extension) == (
        "127.0.0.1",
        8089,
        None,
        None,
    )
    assert (args.auto_calls, args.step_delay, args.record_delay) == (0.0, 1.0, 5.0)


async def test_run_until_stopped(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """run() serves the API with the command line's settings until told to stop."""
    caplog.set_level(logging.INFO, "mango_simulator")
    args = parse_args(
        [
            "--port",
            "0",
            "--token",
            "cli",
            "--extension",
            "201",
            "--provision",
            "--auto-calls",
            "30",
        ]
    )
    stop = asyncio.Event()
    server = asyncio.create_task(run(args, stop))
    try:
        await eventually(lambda: "A random call every 30.0 s" in caplog.text)
        match = re.search(r"API base URL (http://\S+)/api,", caplog.text)
        assert match is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{match[1]}/_simulator/state") as response,
        ):
            state = await response.json()
        assert (state["extensions"], state["users"]) == (["201"], ["201"])
    finally:
        stop.set()
        await server
    assert "simulator stopped" in caplog.text


async def test_run_with_state(
    socket_enabled: None, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """With --state, a call in progress at the stop ends, and the next run hands it over."""
    caplog.set_level(logging.INFO, "mango_simulator")
    state = tmp_path / "state.json"
    args = parse_args(
        ["--port", "0", "--extension", "201", "--provision", "--state", str(state)]
    )

    async def serve(body: dict[str, object] | None) -> dict[str, object]:
        caplog.clear()
        stop = asyncio.Event()
        server = asyncio.create_task(run(args, stop))
        try:
            await eventually(lambda: "API base URL" in caplog.text)
            match = re.search(r"API base URL (http://\S+)/api,", caplog.text)
            assert match is not None
            async with aiohttp.ClientSession() as session:
                if body is not None:
                    await session.post(f"{match[1]}/_simulator/scenario", json=body)
                    await eventually(lambda: "CONNECTED" in caplog.text)
                async with session.get(f"{match[1]}/_simulator/state") as response:
                    answer: dict[str, object] = await response.json()
        finally:
            stop.set()
            await server
        return answer

    during = await serve(
        {"name": "incoming_answered", "extension": "201", "talk_seconds": None}
    )
    after = await serve(None)

    assert during["missed"] == {"201": 2}  # APPEARED, CONNECTED; nobody registered
    assert after["missed"] == {"201": 3}  # and the DISCONNECTED of the stop
    assert after["active_calls"] == []


def test_command_line_runs_until_sigterm(tmp_path: Path) -> None:
    """`python -m mango_simulator` prints what it does and exits cleanly on SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(SIMULATOR_DIR), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mango_simulator",
            "--port",
            "0",
            "--extension",
            "301",
            "--provision",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    ) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "API base URL" in line:
                break
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=10)
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert re.search(r"API base URL http://127\.0\.0\.1:\d+/api", output)
    assert "extensions 301" in output
    assert "simulator stopped" in output


def test_arguments_namespace_is_plain() -> None:
    """parse_args returns an argparse namespace run() accepts."""
    assert isinstance(parse_args(["--seed", "5"]), argparse.Namespace)
