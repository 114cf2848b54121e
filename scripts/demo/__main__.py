"""Start the demo: the MANGO OFFICE simulator and Home Assistant, set up on a fresh config.

scripts/develop runs this after `scripts/setup --demo`. It stays in the foreground; Ctrl-C
(or SIGTERM, SIGHUP) stops both processes, each in its own session, by their process ids.
"""

import argparse
from collections.abc import Sequence
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from types import FrameType
from typing import Final

from .hass_api import HassApi, HassApiError
from .hass_ws import HassWsError
from .processes import (
    HOST,
    ROOT,
    hass_process,
    log_tail,
    port_in_use,
    say,
    simulator_process,
)
from .provision import (
    DEMO_PASSWORD,
    DEMO_USER,
    DOMAIN,
    EXTENSIONS,
    LANGUAGE,
    LANGUAGES,
    READY_AUTOMATIONS,
    SIMULATOR_TOKEN,
    DemoSetupError,
    DemoState,
    install_config_files,
    provision,
    set_language,
    sign_in,
    use_simulator_port,
    write_http_config,
)

CONFIG_DIR: Final = ROOT / "config"
HASS_PORT: Final = 8123
SIMULATOR_PORT: Final = 8089
HASS_LOG: Final = CONFIG_DIR / "home-assistant.log"
HASS_CONSOLE_LOG: Final = CONFIG_DIR / "home-assistant.console.log"
SIMULATOR_LOG: Final = CONFIG_DIR / "simulator.log"
# The simulator's users and missed events across restarts: calls in progress at a stop
# end there, and Home Assistant learns it when it registers again.
SIMULATOR_STATE: Final = CONFIG_DIR / "simulator-state.json"
# One of each kind of call, as `scripts/develop` prints them: what it is, the scenario.
EXAMPLE_CALLS: Final[tuple[tuple[str, dict[str, object]], ...]] = (
    (
        "An answered call from Иван Петров (30 s)",
        {"name": "incoming_answered", "extension": "101", "talk_seconds": 30},
    ),
    ("A missed call", {"name": "incoming_missed", "extension": "101"}),
    (
        "A group call that 102 answers (101 does not count it missed)",
        {
            "name": "group_answered_elsewhere",
            "extension": "101",
            "answered_by": "102",
            "talk_seconds": 20,
        },
    ),
    (
        "A callback: 101's phone first, then the number",
        {"name": "outgoing_callback", "extension": "101", "talk_seconds": 20},
    ),
    (
        "101 calls 102",
        {
            "name": "internal_call",
            "extension": "101",
            "to_extension": "102",
            "talk_seconds": 20,
        },
    ),
    (
        "A call put on hold for 10 s",
        {
            "name": "hold_and_resume",
            "extension": "102",
            "hold_seconds": 10,
            "talk_seconds": 10,
        },
    ),
    (
        "Бухгалтерия calls, talks until hung up (hang_up below)",
        {
            "name": "incoming_answered",
            "extension": "102",
            "caller": "+74951112233",
            "talk_seconds": None,
        },
    ),
    (
        "A caller waiting in the IVR (a mango_office_ivr event; route it with mango_office.route)",
        {"name": "incoming_via_ivr"},
    ),
)
# A fresh demo's first call: recorded, so that Media → MANGO OFFICE has one to play.
FIRST_CALL: Final[dict[str, object]] = {
    "name": "incoming_answered",
    "extension": "101",
    "talk_seconds": 15,
}
# What `python -m homeassistant` exits with when asked to restart (UI, service call).
RESTART_EXIT_CODE: Final = 100
# Start-up with every package installed takes 5-10 s; without them over a minute.
START_TIMEOUT: Final = 300.0
HASS_STOP_TIMEOUT: Final = 60.0
SIMULATOR_STOP_TIMEOUT: Final = 10.0
KEPT_IN_CONFIG: Final = frozenset({"configuration.yaml", "custom_components"})
STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequestedError(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived."""


class DemoError(Exception):
    """The demo cannot start; the message says why."""


class Demo:
    """The run: start, set up, wait for Ctrl-C, stop."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Take the command line's choices."""
        self.with_simulator: bool = not args.no_demo
        self.auto_calls: float = args.auto_calls
        self.reset: bool = args.reset
        self.language: str | None = args.language
        self.hass_port: int = args.port
        self.simulator_port: int = args.simulator_port
        self.hass_url = f"http://{HOST}:{self.hass_port}"
        self.simulator_url = f"http://{HOST}:{self.simulator_port}"
        self.stop_signal: int | None = None
        self.api = HassApi(self.hass_url)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.hass = hass_process(CONFIG_DIR, HASS_CONSOLE_LOG, env)
        self.simulator = simulator_process(
            self.simulator_port,
            SIMULATOR_LOG,
            env,
            "--auto-calls",
            str(self.auto_calls),
            # Human-paced: a call rings for a few seconds, a recording comes later.
            "--step-delay",
            "2",
            "--record-delay",
            "10",
            "--state",
            str(SIMULATOR_STATE),
        )

    # -- signals and waiting ---------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signum

    def check(self) -> None:
        """Raise StopRequestedError once a stop signal arrived."""
        if self.stop_signal is not None:
            raise StopRequestedError

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up for a stop signal within a fifth of a second."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check()
            time.sleep(min(left, 0.2))
        self.check()

    def _check_alive(self) -> None:
        for child, log in ((self.hass, HASS_LOG), (self.simulator, SIMULATOR_LOG)):
            if child.process is not None and (code := child.exit_code()) is not None:
                raise DemoError(
                    f"{child.name} exited with code {code} while starting; "
                    f"the end of {log.relative_to(ROOT)}:\n{log_tail(log)}"
                )

    # -- the run -----------------------------------------------------------------

    def run(self) -> int:
        """Run until a stop signal; return the exit code."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        try:
            return self._run()
        except StopRequestedError:
            return 0
        except (DemoError, DemoSetupError, HassApiError, HassWsError) as err:
            say(f"ERROR: {err}")
            return 1
        finally:
            # Stopping must not be cut short by a second Ctrl-C.
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
            if self.hass.process is not None or self.simulator.process is not None:
                self.hass.stop(HASS_STOP_TIMEOUT)
                self.simulator.stop(SIMULATOR_STOP_TIMEOUT)
                say("Stopped.")

    def _run(self) -> int:
        started = time.monotonic()
        self._prepare_config()
        if self.with_simulator:
            self._start_simulator()
        # Written before every start: HA reads where to listen from its storage only.
        write_http_config(CONFIG_DIR, HOST, self.hass_port)
        say(
            f"==> Starting Home Assistant on {self.hass_url} (config/; it listens on "
            f"{HOST} only, not reachable from other machines)"
        )
        self.hass.start()
        self._wait_until_up()
        signed_in = self._set_up()
        self.check()
        if signed_in:
            self._wait_until_running()
        say(f"==> Ready in {time.monotonic() - started:.1f} s")
        if signed_in:
            self._report_entries()
        self._report_installs()
        self._print_where()
        return self._supervise()

    def _prepare_config(self) -> None:
        busy = [
            port
            for port in (
                self.hass_port,
                self.simulator_port if self.with_simulator else None,
            )
            if port is not None and port_in_use(port)
        ]
        if busy:
            raise DemoError(
                f"Something already listens on {', '.join(f'{HOST}:{p}' for p in busy)} "
                "(another scripts/develop?). Stop it first."
            )
        CONFIG_DIR.mkdir(exist_ok=True)
        if self.reset:
            say("==> Resetting config/ (all but configuration.yaml)")
            for path in CONFIG_DIR.iterdir():
                if path.name in KEPT_IN_CONFIG:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        install_config_files(CONFIG_DIR, ROOT, automations=READY_AUTOMATIONS)
        link = CONFIG_DIR / "custom_components"
        if not link.exists() and not link.is_symlink():
            link.symlink_to(Path("..") / "custom_components")
        elif link.resolve() != (ROOT / "custom_components").resolve():
            say(
                f"WARNING: {link.relative_to(ROOT)} is not a link to the repository's "
                "custom_components; Home Assistant loads what it holds."
            )

    def _start_simulator(self) -> None:
        say(
            f"==> Starting the MANGO OFFICE simulator on {self.simulator_url} "
            f"(token {SIMULATOR_TOKEN}, extensions {', '.join(EXTENSIONS)})"
        )
        self.simulator.start()
        probe = HassApi(self.simulator_url)
        deadline = time.monotonic() + 30
        while True:
            self._check_alive()
            with contextlib.suppress(HassApiError):
                probe.request("GET", "/_simulator/state", auth=False, timeout=2)
                return
            if time.monotonic() > deadline:
                raise DemoError(
                    f"The simulator does not answer on {self.simulator_url}:\n"
                    + log_tail(SIMULATOR_LOG)
                )
            self.sleep(0.2)

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.api.is_up():
            self._check_alive()
            if time.monotonic() > deadline:
                raise DemoError(
                    f"Home Assistant does not answer on {self.hass_url} after "
                    f"{START_TIMEOUT:.0f} s:\n{log_tail(HASS_LOG)}"
                )
            self.sleep(0.3)

    def _set_up(self) -> bool:
        """Sign in and, on a fresh config, set the demo up; False when not signed in."""
        state = DemoState.load(CONFIG_DIR)
        if not self.with_simulator:
            # HA alone: only use a login the demo made earlier, change nothing.
            if state.refresh_token is None:
                return False
            try:
                self.api.refresh(state.refresh_token)
            except HassApiError:
                return False
            return True
        if not sign_in(self.api, CONFIG_DIR, state, say):
            say(
                f"WARNING: cannot log in as {DEMO_USER} / {DEMO_PASSWORD}; "
                "leaving the configuration as it is."
            )
            return False
        simulator_api_url = f"{self.simulator_url}/api"
        if not state.provisioned:
            provision(
                self.api,
                CONFIG_DIR,
                state,
                simulator_api_url=simulator_api_url,
                language=self.language or LANGUAGE,
                say=say,
                sleep=self.sleep,
                checkpoint=self.check,
            )
            HassApi(self.simulator_url).request(
                "POST", "/_simulator/scenario", FIRST_CALL, auth=False
            )
            say(
                "A first call from Иван Петров, recorded: in half a minute its "
                "recording plays in Media → MANGO OFFICE"
            )
        elif self.language:
            self._wait_until_running()
            set_language(self.api, self.language)
            say(f"Server and user language: {self.language} (entries reloaded)")
        use_simulator_port(
            self.api,
            CONFIG_DIR,
            state,
            simulator_api_url=simulator_api_url,
            port=self.simulator_port,
            say=say,
        )
        return True

    def _wait_until_running(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while self.api.config().get("state") != "RUNNING":
            self._check_alive()
            if time.monotonic() > deadline:
                raise DemoError(
                    f"Home Assistant did not finish starting in {START_TIMEOUT:.0f} s:\n"
                    + log_tail(HASS_LOG)
                )
            self.sleep(0.3)

    def _report_entries(self) -> None:
        # The entries load with HA's start-up; a moment more for their first update.
        deadline = time.monotonic() + (10 if self.with_simulator else 0)
        while True:
            entries = self.api.entries(DOMAIN)
            if (
                all(entry.get("state") == "loaded" for entry in entries)
                or time.monotonic() > deadline
            ):
                break
            self.sleep(0.5)
        for entry in entries:
            state = entry.get("state")
            note = ""
            if state != "loaded":
                note = (
                    f"  <- see {HASS_LOG.relative_to(ROOT)}"
                    if self.with_simulator
                    else "  (--no-demo: the simulator is not running)"
                )
            say(f"    {entry.get('title')}: {state}{note}")

    def _report_installs(self) -> None:
        try:
            lines = HASS_LOG.read_text(errors="replace").splitlines()
        except OSError:
            return
        marker = "Attempting install of "
        installed = [line.split(marker, 1)[1] for line in lines if marker in line]
        if installed:
            say(
                "WARNING: Home Assistant installed packages at start: "
                f"{', '.join(installed)}. Add them to requirements_demo.txt."
            )

    def _print_where(self) -> None:
        say(
            f"    Home Assistant  {self.hass_url}  (log in as {DEMO_USER} / {DEMO_PASSWORD}; "
            f"listens on {HOST} only)"
        )
        if self.with_simulator:
            calls = (
                f"a random call every {self.auto_calls:g} s"
                if self.auto_calls > 0
                else "no automatic calls"
            )
            say(f"    Simulator       {self.simulator_url}/_simulator/state  ({calls})")
            say(
                f"                    integration key {SIMULATOR_TOKEN}, extensions "
                f"{', '.join(EXTENSIONS)}, API address {self.simulator_url}/api"
            )
            self._print_example_calls()
        logs = [HASS_LOG] + ([SIMULATOR_LOG] if self.with_simulator else [])
        say(f"    Logs            {', '.join(str(p.relative_to(ROOT)) for p in logs)}")
        say("    Ctrl-C stops everything.")

    def _print_example_calls(self) -> None:
        say("==> Simulate a call: copy a command into another terminal")
        url = f"{self.simulator_url}/_simulator"
        for what, body in EXAMPLE_CALLS:
            say(f"    # {what}")
            say(f"    {curl(f'{url}/scenario', body)}")
        say(
            "    # Transfer or hang up a call in progress: its call_id is in active_calls of"
        )
        say(f"    curl -s {url}/state")
        say(f"    {curl(f'{url}/scenario', {'name': 'hang_up', 'call_id': 'CALL_ID'})}")
        say(
            f"    {curl(f'{url}/scenario', {'name': 'transfer', 'call_id': 'CALL_ID', 'to_number': '101'})}"
        )
        say(
            f"    # Every scenario and its arguments: curl -s {url}/ (or python -m "
            "mango_simulator --help)"
        )

    def _supervise(self) -> int:
        while True:
            self.sleep(1)
            code = self.hass.exit_code()
            if code == RESTART_EXIT_CODE:
                say("==> Home Assistant asked for a restart: starting it again")
                self.hass.stop(HASS_STOP_TIMEOUT)
                self.hass.start(keep_log=True)
            elif code is not None:
                say(f"Home Assistant exited with code {code}")
                return code
            if self.with_simulator and (code := self.simulator.exit_code()) is not None:
                say(
                    f"The simulator exited with code {code}; the end of "
                    f"{SIMULATOR_LOG.relative_to(ROOT)}:\n{log_tail(SIMULATOR_LOG)}"
                )
                return 1


def curl(url: str, body: dict[str, object]) -> str:
    """A shell command that POSTs `body` as JSON to `url`."""
    return (
        f"curl -s -X POST {url} -H 'Content-Type: application/json' "
        f"-d '{json.dumps(body, ensure_ascii=False)}'"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description=(
            "Start the MANGO OFFICE simulator and Home Assistant with this integration "
            f"on http://{HOST}:{HASS_PORT} (this machine only); on a fresh config, onboard it (user {DEMO_USER}, password "
            f"{DEMO_PASSWORD}) and add one account with extensions {' and '.join(EXTENSIONS)} "
            "on the simulator. Ctrl-C stops both."
        ),
    )
    parser.add_argument(
        "--no-demo",
        action="store_true",
        help="start Home Assistant alone: no simulator, no onboarding, no entries",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start from a fresh config: delete everything in config/ but configuration.yaml",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=HASS_PORT,
        help=f"Home Assistant's port on {HOST} (default {HASS_PORT})",
    )
    parser.add_argument(
        "--simulator-port",
        type=int,
        default=SIMULATOR_PORT,
        help=f"the simulator's port on {HOST} (default {SIMULATOR_PORT}); the demo's "
        "entries follow it",
    )
    parser.add_argument(
        "--language",
        choices=LANGUAGES,
        help="the server's and the demo user's language (default: en on a fresh config, "
        "else unchanged); entity and device names follow the server's language",
    )
    parser.add_argument(
        "--auto-calls",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="the simulator starts a random call every SECONDS (default 20; 0 = off)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m scripts.demo`."""
    return Demo(parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
