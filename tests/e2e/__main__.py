"""Run the browser test, or say why it cannot run here."""

import argparse
from collections.abc import Sequence
import importlib.util
import os
from pathlib import Path
import sys

from scripts.demo.hass_api import HassApiError
from scripts.demo.processes import say

from . import CHROMIUM


def browser_missing() -> str | None:
    """Say why no browser can run here, or None when one can."""
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing (Debian's chromium package; scripts/setup --e2e "
            "installs it as root with apt-get)"
        )
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is missing (scripts/setup installs it)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run, or skip with the reason when no browser can run here."""
    parser = argparse.ArgumentParser(
        prog="scripts/e2e",
        description="The real-browser test of the integration in Home Assistant's frontend.",
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="save the README's screenshots into DIR (e.g. docs)",
    )
    parser.add_argument(
        "--dialect",
        choices=("server-client", "vpbx"),
        default="server-client",
        help="the simulator's spellings: the wire format as assumed, or the VPBX API's",
    )
    args = parser.parse_args(argv)
    if reason := browser_missing():
        sys.stdout.write(f"SKIPPED: the browser test cannot run here: {reason}.\n")
        # CI's set-up installs the browser: a missing one is a failure there.
        return 1 if os.environ.get("CI") else 0
    # Imported only now: it needs Playwright.
    from .instance import E2EError
    from .run import run

    try:
        run(args.screenshots.resolve() if args.screenshots else None, args.dialect)
    except (E2EError, HassApiError) as err:
        say(f"FAILED: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
