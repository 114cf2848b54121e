"""Run the simulator until Ctrl-C or SIGTERM.

    python -m mango_simulator --host 127.0.0.1 --port 8089 --token demo \
        --extension 101 --extension 102 --auto-calls 20 --step-delay 2 --record-delay 10

It logs one line per API request and per push on stdout.
"""

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import logging
from pathlib import Path
import signal
import sys

from . import control
from .dialect import DIALECTS, SERVER_CLIENT
from .simulator import RECORD_LINK_TTL, MangoSimulator

_LOGGER = logging.getLogger("mango_simulator")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    scenarios = "\n".join(
        f"  {name}({', '.join(about['arguments'])})\n      {about['summary']}"
        for name, about in control.scenario_help().items()
    )
    parser = argparse.ArgumentParser(
        prog="python -m mango_simulator",
        description='A local simulator of MANGO OFFICE\'s "Server-Client" API.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""\
Scenarios (start one through the control interface, its arguments beside "name"):
{scenarios}

For example, with the simulator on the default port:
  curl -X POST http://127.0.0.1:8089/_simulator/scenario -H 'Content-Type: application/json' \\
       -d '{{"name": "incoming_missed", "extension": "101"}}'
GET http://127.0.0.1:8089/_simulator/ lists the control interface's endpoints and the
scenarios; simulator/mango_simulator/telephony.py describes each scenario in full.""",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8089, help="port (default 8089; 0 = any free one)"
    )
    parser.add_argument(
        "--token",
        action="append",
        help="an accepted integration key (repeatable; default: demo)",
    )
    parser.add_argument(
        "--extension",
        action="append",
        help="a PBX extension (repeatable; default: 101 102 103)",
    )
    parser.add_argument(
        "--provision",
        action="store_true",
        help="create the users at once, as users/create would",
    )
    parser.add_argument(
        "--auto-calls",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="start a random call every SECONDS (default: off)",
    )
    parser.add_argument(
        "--step-delay",
        type=float,
        default=1.0,
        help="seconds between call steps (default 1)",
    )
    parser.add_argument(
        "--record-delay",
        type=float,
        default=5.0,
        help="seconds until a recording is AVAILABLE (default 5)",
    )
    parser.add_argument(
        "--record-link-ttl",
        type=float,
        default=RECORD_LINK_TTL,
        metavar="SECONDS",
        help=f"seconds a recording's link works (default {RECORD_LINK_TTL:.0f})",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for reproducible ids and choices"
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep the users and their missed events in FILE across restarts (calls "
        "in progress end when the simulator stops, so a client that comes back "
        "learns that they ended)",
    )
    parser.add_argument(
        "--dialect",
        choices=DIALECTS,
        default=SERVER_CLIENT,
        help="server-client: the wire format as the client assumes it (default); "
        "vpbx: frames and result codes in the VPBX API's spellings",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set, SIGINT or SIGTERM."""
    sim = MangoSimulator(
        tokens=args.token or ["demo"],
        extensions=args.extension or ["101", "102", "103"],
        step_delay=args.step_delay,
        record_delay=args.record_delay,
        seed=args.seed,
        dialect=args.dialect,
        record_link_ttl=args.record_link_ttl,
    )
    if args.state is not None:
        sim.load_state(args.state)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await sim.start(args.host, args.port, routes=control.routes(sim))
        if args.provision:
            for extension in sorted(sim.extensions):
                sim.provision(extension)
        _LOGGER.info(
            "API base URL %s, tokens %s, extensions %s; control interface %s/_simulator/",
            sim.base_url,
            ", ".join(sorted(args.token or ["demo"])),
            ", ".join(sorted(sim.extensions)),
            sim.url,
        )
        if args.auto_calls > 0:
            sim.start_auto_calls(args.auto_calls)
            _LOGGER.info("A random call every %s s", args.auto_calls)
        await stop.wait()
    finally:
        for signum in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await sim.end_calls()
        if args.state is not None:
            sim.save_state(args.state)
        await sim.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m mango_simulator`."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(message)s",
        force=True,
    )
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
