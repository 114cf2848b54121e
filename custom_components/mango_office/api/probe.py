"""Checks one extension against the service, step by step, and keeps the evidence.

    python -m mango_office_api.probe --extension 101

(in Home Assistant's own Python, from its configuration folder:
``python -m custom_components.mango_office.api.probe --extension 101``)

The integration key comes from the environment variable MANGO_OFFICE_TOKEN or
a prompt, never from the command line (which other users and the shell's
history see). The probe walks the documented sequence: ping, users/create,
channel, the websocket, register with one batch of missed events, a wait for
live frames (make a test call meanwhile), unregister. It prints each step's
request and answer with the key, phone numbers and URL queries redacted, says
which step failed and why, and writes everything to a JSON file to attach to
a bug report: what the service really sends is what corrects wire.py.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
import getpass
import json
import os
from pathlib import Path
import sys
import time
from typing import Any, Final

import aiohttp

from . import wire
from .client import MangoClient
from .errors import (
    MangoApiError,
    MangoAuthError,
    MangoConnectionError,
    MangoError,
    MangoProtocolError,
    MangoRateLimitError,
)
from .models import parse_message
from .redact import REDACTED, redact_free_text, redact_message, redact_raw, redact_urls

TOKEN_VARIABLE: Final = "MANGO_OFFICE_TOKEN"  # noqa: S105 - a variable's name
DEFAULT_WAIT: Final = 60.0
# How much of a frame or an answer the report keeps.
MAX_TEXT: Final = 4000
WEBSOCKET_TIMEOUT: Final = 10.0

type Write = Callable[[str], object]


@dataclass
class Step:
    """One step of the probe: what was sent, what came back, and how it ended."""

    name: str
    request: Any = None
    answer: Any = None
    ok: bool = False
    error: str | None = None
    why: str | None = None
    seconds: float = 0.0


@dataclass
class Report:
    """Everything the probe saw, redacted: what a bug report needs."""

    extension: str
    base_url: str
    started: str
    wait: float
    steps: list[Step] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    failed_step: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every step passed."""
        return self.failed_step is None

    def as_json(self) -> dict[str, Any]:
        """The report as the JSON file holds it."""
        return {"tool": "mango_office_api.probe", "ok": self.ok, **asdict(self)}


def explain(err: BaseException) -> str:
    """Say in plain words what an error of a step means."""
    match err:
        case MangoAuthError():
            return (
                "The service refused the integration key. Check the key; HTTP 401 "
                "can also be a 2-minute block after invalid requests, so try once "
                "more in 2 minutes."
            )
        case MangoRateLimitError():
            wait = f" in {err.retry_after:.0f} s" if err.retry_after else " later"
            return f"Too many requests for the account: try again{wait}."
        case MangoConnectionError():
            return (
                "The service could not be reached, timed out or failed on its side "
                "(network, DNS, proxy, HTTP 5xx)."
            )
        case MangoApiError():
            return (
                f"The service refused the request with result code {err.code}"
                + (f" ({err.message})" if err.message else "")
                + "."
            )
        case MangoProtocolError():
            return (
                "The service answered in a form the client does not expect: this "
                "report shows how, which is what corrects the client."
            )
    return f"Unexpected error: {type(err).__name__}."


class Probe:
    """One run of the probe against the service."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        extension: str,
        *,
        base_url: str = wire.DEFAULT_BASE_URL,
        wait: float = DEFAULT_WAIT,
        frames: int | None = None,
        write: Write = sys.stdout.write,
    ) -> None:
        """Prepare a run; nothing is sent before run().

        Listening for live frames ends after `wait` seconds, or after `frames`
        frames where given.
        """
        self.client = MangoClient(session, token, base_url=base_url)
        self.session = session
        self.extension = extension
        self.wait = wait
        self.frames = frames
        self._secrets = (token,)
        self._write = write
        self.report = Report(
            extension=extension,
            base_url=redact_urls(base_url),
            started=datetime.now(UTC).isoformat(),
            wait=wait,
        )

    async def run(self) -> Report:
        """Walk every step; stop at the first that fails, unregistering if registered."""
        websocket: aiohttp.ClientWebSocketResponse | None = None
        registered = False
        client = self.client
        try:
            if (
                not (await self._step("ping", client.ping))[0]
                or not (
                    await self._step(
                        "users/create", lambda: client.create_user(self.extension)
                    )
                )[0]
            ):
                return self.report
            ok, url = await self._step(
                "channel", lambda: client.get_channel(self.extension)
            )
            if not ok or url is None:
                return self.report
            ok, websocket = await self._step("websocket", lambda: self._open(url))
            if not ok or websocket is None:
                return self.report
            ok, batch = await self._step(
                "register", lambda: client.register(self.extension, url)
            )
            if not ok or batch is None:
                return self.report
            registered = True
            for message in batch.messages:
                self._frame("missed", message)
            await self._listen(websocket)
        finally:
            if websocket is not None:
                await websocket.close()
            if registered:
                await self._step(
                    "unregister", lambda: self.client.unregister(self.extension)
                )
            self._say(
                "All steps passed."
                if self.report.ok
                else f"Failed at {self.report.failed_step}."
            )
        return self.report

    async def _open(self, url: str) -> aiohttp.ClientWebSocketResponse:
        async with asyncio.timeout(WEBSOCKET_TIMEOUT):
            try:
                return await self.session.ws_connect(url, heartbeat=None)
            except aiohttp.WSServerHandshakeError as err:
                raise MangoConnectionError(
                    f"websocket refused: HTTP {err.status}"
                ) from err
            except aiohttp.ClientError as err:
                raise MangoConnectionError(
                    f"websocket failed: {type(err).__name__}"
                ) from err

    async def _listen(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        step = Step("live frames", request=f"listen for {self.wait:g} s")
        self._say(
            f"[{len(self.report.steps) + 1}] live frames: listening for {self.wait:g} s; "
            "make a test call to the extension now."
        )
        started = time.monotonic()
        deadline = started + self.wait
        count = 0
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await websocket.receive(timeout=left)
            except TimeoutError:
                break
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                count += 1
                self._frame("live", message.data)
                if count == self.frames:
                    break
            elif message.type not in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                step.error = f"the websocket closed ({message.type.name})"
                step.why = "The service ended the websocket while the probe listened."
                break
        step.answer = f"{count} frames"
        step.ok = step.error is None
        step.seconds = round(time.monotonic() - started, 3)
        self._record(step)

    def _frame(self, how: str, frame: Any) -> None:
        """Keep a frame (redacted) and what the client makes of it."""
        if isinstance(frame, str | bytes):
            shown = redact_raw(frame, self._secrets)
            try:
                event = parse_message(json.loads(frame))
            except (ValueError, MangoProtocolError) as err:
                parsed = f"not understood: {redact_free_text(str(err), self._secrets)}"
            else:
                parsed = type(event).__name__ if event else "unknown kind (skipped)"
        else:
            shown = redact_message(frame, self._secrets)
            try:
                event = parse_message(frame)
            except MangoProtocolError as err:
                parsed = f"not understood: {redact_free_text(str(err), self._secrets)}"
            else:
                parsed = type(event).__name__ if event else "unknown kind (skipped)"
        self.report.frames.append({"how": how, "frame": shown, "parsed": parsed})
        self._say(f"    {how} frame -> {parsed}: {_short(shown)}")

    async def _step[T](
        self, name: str, action: Callable[[], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        step = Step(name)
        sent = len(self.client.recent_exchanges)
        started = time.monotonic()
        try:
            result = await action()
        except MangoError as err:
            step.error = redact_free_text(f"{type(err).__name__}: {err}", self._secrets)
            step.why = explain(err)
            result = None
        else:
            step.ok = True
        step.seconds = round(time.monotonic() - started, 3)
        exchanges = list(self.client.recent_exchanges)[sent:]
        if exchanges:
            exchange = exchanges[-1]
            step.request = {
                "request": exchange["request"],
                "params": redact_message(exchange["params"], self._secrets),
            }
            step.answer = {
                "status": exchange.get("status"),
                "body": redact_raw(exchange.get("response", ""), self._secrets)
                if "response" in exchange
                else None,
                "error": exchange.get("error"),
            }
        elif name == "websocket":
            step.request = f"GET {REDACTED} (the channel's URL)"
            step.answer = "open" if step.ok else step.error
        self._record(step)
        return step.ok, result

    def _record(self, step: Step) -> None:
        self.report.steps.append(step)
        if not step.ok and self.report.failed_step is None:
            self.report.failed_step = step.name
        number = len(self.report.steps)
        self._say(f"[{number}] {step.name}: {_short(step.request)}")
        self._say(f"    answer: {_short(step.answer)}")
        if step.ok:
            self._say(f"    ok ({step.seconds:.2f} s)")
        else:
            self._say(f"    FAILED: {step.error}")
            self._say(f"    why: {step.why}")

    def _say(self, line: str) -> None:
        self._write(line + "\n")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_TEXT else f"{text[: MAX_TEXT - 3]}..."


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line (which never carries the key)."""
    parser = argparse.ArgumentParser(
        prog="python -m mango_office_api.probe",
        description="Check one extension against MANGO OFFICE's server-client API, "
        f"step by step. The integration key comes from ${TOKEN_VARIABLE} or a prompt.",
    )
    parser.add_argument(
        "--extension", required=True, help="the PBX extension, e.g. 101"
    )
    parser.add_argument(
        "--base-url",
        default=wire.DEFAULT_BASE_URL,
        help=f"the API's base URL (default {wire.DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"how long to listen for live frames (default {DEFAULT_WAIT:g})",
    )
    parser.add_argument(
        "--frames",
        type=int,
        metavar="COUNT",
        help="stop listening after so many live frames",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="the JSON file to write (default mango-office-probe-<time>.json)",
    )
    return parser.parse_args(argv)


def read_token() -> str | None:
    """The key from the environment, else from a prompt where there is a terminal."""
    if token := os.environ.get(TOKEN_VARIABLE, "").strip():
        return token
    if not sys.stdin.isatty():
        return None
    return getpass.getpass("MANGO OFFICE integration key (not shown): ").strip() or None


async def run(args: argparse.Namespace, token: str, write: Write) -> Report:
    """Run the probe with a session of its own."""
    async with aiohttp.ClientSession() as session:
        probe = Probe(
            session,
            token,
            args.extension,
            base_url=args.base_url,
            wait=args.wait,
            frames=args.frames,
            write=write,
        )
        return await probe.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when every step passed, 1 when one failed, 2 without a key."""
    args = parse_args(argv)
    if (token := read_token()) is None:
        sys.stderr.write(
            f"No integration key: set {TOKEN_VARIABLE}, or run this in a terminal to be asked.\n"
        )
        return 2
    report = asyncio.run(run(args, token, sys.stdout.write))
    output = args.output or Path(
        f"mango-office-probe-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    )
    output.write_text(
        json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    sys.stdout.write(
        f"Report written to {output.resolve()}: attach it to a bug report.\n"
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
