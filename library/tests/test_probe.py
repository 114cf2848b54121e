"""The probe: every step against the simulator, what it prints and writes, and a step that fails."""

import asyncio
import io
import json
import os
from pathlib import Path
import sys
import threading

import aiohttp
import pytest

import mango_office_api
from mango_office_api.probe import TOKEN_VARIABLE, Probe, main, read_token
from mango_simulator import MangoSimulator

from .conftest import CALLER, EXTENSION, LINE, TOKEN, call_message

STEPS = [
    "ping",
    "users/create",
    "channel",
    "websocket",
    "register",
    "live frames",
    "unregister",
]


async def test_every_step_against_the_simulator(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """All steps pass; a missed and two live frames are shown redacted, parsed, in the report."""
    simulator.provision(EXTENSION)
    await simulator.push(EXTENSION, call_message("missed-1"))
    out = io.StringIO()
    probe = Probe(
        session,
        TOKEN,
        EXTENSION,
        base_url=simulator.base_url,
        wait=10,
        frames=2,
        write=out.write,
    )
    task = asyncio.create_task(probe.run())
    await simulator.wait_registered(EXTENSION)
    await simulator.push(EXTENSION, call_message("live-1"))
    await simulator.push(EXTENSION, {"routeKey": "/unheard_of", "data": {}})
    report = await task

    assert report.ok
    assert [step.name for step in report.steps] == STEPS
    assert all(step.ok for step in report.steps)
    assert [(frame["how"], frame["parsed"]) for frame in report.frames] == [
        ("missed", "CallEvent"),
        ("live", "CallEvent"),
        ("live", "unknown kind (skipped)"),
    ]
    register = report.steps[4]
    assert register.request["request"] == "POST v1/session/register/"
    assert register.request["params"]["CHANNEL"] == "**REDACTED**"
    assert register.answer["status"] == 200
    assert not simulator.is_registered(EXTENSION)
    text = out.getvalue() + json.dumps(report.as_json())
    assert "All steps passed." in text
    # Neither the key, nor a phone number, nor the websocket's URL.
    for secret in (TOKEN, CALLER, LINE, "/ws/"):
        assert secret not in text


async def test_a_failed_step_says_which_and_why(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """A refused key fails the first step, says why, and goes no further."""
    out = io.StringIO()
    report = await Probe(
        session,
        "not-the-key",
        EXTENSION,
        base_url=simulator.base_url,
        wait=0,
        write=out.write,
    ).run()
    assert not report.ok
    assert report.failed_step == "ping"
    assert [step.name for step in report.steps] == ["ping"]
    (step,) = report.steps
    assert step.answer["status"] == 401
    assert step.why is not None
    assert "refused the integration key" in step.why
    assert "Failed at ping." in out.getvalue()
    assert "not-the-key" not in out.getvalue() + json.dumps(report.as_json())


async def test_an_extension_the_pbx_does_not_have(
    session: aiohttp.ClientSession, simulator: MangoSimulator
) -> None:
    """users/create refused: the step names the service's result code."""
    report = await Probe(
        session, TOKEN, "999", base_url=simulator.base_url, wait=0, write=len
    ).run()
    assert report.failed_step == "users/create"
    assert report.steps[-1].why is not None
    assert "result code 111" in report.steps[-1].why


def _command(*args: str) -> list[str]:
    # In the development venv the library is the integration's folder.
    return [sys.executable, "-m", f"{mango_office_api.__name__}.probe", *args]


REPOSITORY = Path(__file__).parents[2]


async def test_the_command_reads_the_key_from_the_environment(
    simulator: MangoSimulator, tmp_path: Path
) -> None:
    """Python -m ...probe: the key from MANGO_OFFICE_TOKEN, a JSON report, exit 0."""
    simulator.provision(EXTENSION)
    output = tmp_path / "report.json"
    process = await asyncio.create_subprocess_exec(
        *_command(
            "--extension",
            EXTENSION,
            "--base-url",
            simulator.base_url,
            "--wait",
            "0.1",
            "--output",
            str(output),
        ),
        cwd=REPOSITORY,
        env={**os.environ, TOKEN_VARIABLE: TOKEN},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert [step["name"] for step in report["steps"]] == STEPS
    assert TOKEN not in stdout.decode() + output.read_text(encoding="utf-8")


async def test_the_command_never_takes_the_key_on_its_command_line() -> None:
    """No --token option; without the variable and a terminal, it says how to give the key."""
    env = {key: value for key, value in os.environ.items() if key != TOKEN_VARIABLE}
    for args, code, says in (
        (("--extension", EXTENSION, "--token", TOKEN), 2, "unrecognized arguments"),
        (("--extension", EXTENSION), 2, TOKEN_VARIABLE),
    ):
        process = await asyncio.create_subprocess_exec(
            *_command(*args),
            cwd=REPOSITORY,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        assert process.returncode == code
        assert says in stderr.decode()


async def test_main_writes_its_report_beside_the_user(
    simulator: MangoSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main() in-process: the key from the environment, the report in the working folder by default."""
    simulator.provision(EXTENSION)
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    monkeypatch.chdir(tmp_path)
    codes: list[int] = []
    args = ["--extension", EXTENSION, "--base-url", simulator.base_url, "--wait", "0"]
    # main() runs its own event loop; the simulator needs this one.
    thread = threading.Thread(target=lambda: codes.append(main(args)))
    thread.start()
    while thread.is_alive():  # noqa: ASYNC110 - waits for a thread
        await asyncio.sleep(0.01)
    assert codes == [0]
    (written,) = tmp_path.glob("mango-office-probe-*.json")  # noqa: ASYNC240
    assert json.loads(written.read_text(encoding="utf-8"))["ok"] is True
    assert "attach it to a bug report" in capsys.readouterr().out


def test_no_key_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable and a terminal there is no key to read; with a terminal, a prompt asks."""
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert read_token() is None
    assert main(["--extension", EXTENSION]) == 2
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: f" {TOKEN} ")
    assert read_token() == TOKEN
