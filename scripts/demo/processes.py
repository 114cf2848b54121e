"""The demo's processes: Home Assistant and the simulator, each in its own session.

Shared by the demo (scripts/develop) and the browser test (tests/e2e).
"""

from collections.abc import Sequence
import contextlib
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
from typing import IO, Final

from .provision import EXTENSIONS, SIMULATOR_TOKEN

ROOT: Final = Path(__file__).resolve().parents[2]
# The demo's login is public: nothing listens beyond this machine.
HOST: Final = "127.0.0.1"


def say(text: str) -> None:
    """Tell the user (stdout, at once)."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


class Child:
    """A background process in its own session, with its output in a log file."""

    def __init__(
        self, name: str, args: Sequence[str], log: Path, env: dict[str, str]
    ) -> None:
        """Describe the process; start() runs it."""
        self.name = name
        self.args = list(args)
        self.log = log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    def start(self, *, keep_log: bool = False) -> None:
        """Start the process (the previous run's log becomes <log>.1)."""
        if not keep_log and self.log.exists():
            self.log.replace(self.log.with_name(f"{self.log.name}.1"))
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's Python, fixed arguments
            self.args,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C in the terminal reaches only us, and we stop it.
            start_new_session=True,
        )

    def exit_code(self) -> int | None:
        """Return the exit code once the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after `timeout` s; then whatever is left of its group."""
        process = self.process
        if process is None:
            return
        pgid = process.pid  # a session leader's group id is its pid
        if process.poll() is None:
            say(f"Stopping {self.name} (pid {process.pid})")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop within {timeout:.0f} s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                process.wait()
        # Anything it started in its group (the group outlives its leader).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.process = None


def hass_process(config_dir: Path, log: Path, env: dict[str, str]) -> Child:
    """Home Assistant on a configuration directory, from this venv."""
    return Child(
        "Home Assistant",
        [sys.executable, "-m", "homeassistant", "--config", str(config_dir)],
        log,
        env,
    )


def simulator_process(
    port: int, log: Path, env: dict[str, str], *options: str
) -> Child:
    """The simulator on HOST:port with the demo's key and extensions, and more options."""
    path = os.pathsep.join(
        filter(None, [str(ROOT / "simulator"), env.get("PYTHONPATH")])
    )
    return Child(
        "the simulator",
        [
            sys.executable,
            "-m",
            "mango_simulator",
            "--host",
            HOST,
            "--port",
            str(port),
            "--token",
            SIMULATOR_TOKEN,
            *(arg for ext in EXTENSIONS for arg in ("--extension", ext)),
            *options,
        ],
        log,
        {**env, "PYTHONPATH": path},
    )


def port_in_use(port: int) -> bool:
    """Tell whether something accepts connections on HOST:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, indented, for an error message."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"    ({path} is missing)"
    return "\n".join(f"    {line[:300]}" for line in text)
