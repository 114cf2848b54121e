"""Smoke test: a real Home Assistant process (whatever version this venv has) and the simulator.

Sets up an entry through the config flow's HTTP API, checks its entities, follows an answered
and a missed call, unloads and removes the entry, then looks for errors in Home Assistant's log.
Needs no browser and no pytest plugin: run by scripts/check-newest-ha in its own venv.
"""

from pathlib import Path
import re
import sys
import tempfile
import time
from typing import Final

from homeassistant.const import __version__ as ha_version

from scripts.demo.hass_api import HassApiError
from scripts.demo.processes import say
from scripts.demo.provision import DOMAIN, SIMULATOR_TOKEN, ws
from tests.e2e.instance import CALLER, TALK_SECONDS, E2EError, Instance

EXTENSION: Final = "101"
# What the smoke test needs of Home Assistant: its HTTP API, the config flows and a first user.
CONFIGURATION: Final = """\
api:
config:
onboarding:
logger:
  default: warning
  logs:
    custom_components.mango_office: debug
"""
# Entities an entry has, enabled by default.
KEYS: Final = (
    "call_state",
    "last_caller",
    "missed_calls",
    "connection",
    "call",
    "recording",
)
# Log lines about this integration worth a look (debug lines and HA's usual
# "custom integration not tested" warning are not). Other integrations' complaints
# (no ffmpeg here, and the like) are counted, not shown.
WORRYING: Final = re.compile(r" (WARNING|ERROR|CRITICAL) ")
OURS: Final = re.compile(r"mango_office|mango office", re.IGNORECASE)
EXPECTED: Final = ("We found a custom integration mango_office",)


def smoke(instance: Instance) -> None:
    """Set up, use, unload and remove one entry."""
    api = instance.api
    flow = api.start_flow(DOMAIN)
    result = api.flow_step(
        str(flow["flow_id"]),
        {
            "token": SIMULATOR_TOKEN,
            "extensions": EXTENSION,
            "advanced": {"base_url": f"{instance.simulator_url}/api"},
        },
    )
    if result.get("type") != "create_entry":
        raise E2EError(f"the config flow did not create an entry: {result}")
    entry_id = str(result["result"]["entry_id"])
    say(f"    the config flow created {result['result']['title']!r}")
    instance.wait_state(EXTENSION, "connection", "on")
    for key in KEYS:
        entity_id = instance.entity_id(EXTENSION, key)
        state = api.request("GET", f"/api/states/{entity_id}")["state"]
        say(f"    {entity_id}: {state}")
    instance.wait_state(EXTENSION, "call_state", "idle")
    instance.scenario(
        "incoming_answered",
        extension=EXTENSION,
        caller=CALLER,
        talk_seconds=TALK_SECONDS,
        record=False,
    )
    for state in ("ringing", "talking", "idle"):
        instance.wait_state(EXTENSION, "call_state", state)
    say("    an answered call: ringing, talking, idle")
    instance.scenario("incoming_missed", extension=EXTENSION, caller=CALLER)
    instance.wait_state(EXTENSION, "missed_calls", "1")
    instance.wait_state(EXTENSION, "last_caller", CALLER)
    say("    a missed call: missed_calls 1, last_caller the caller")
    ws(
        api,
        {"type": "config_entries/disable", "entry_id": entry_id, "disabled_by": "user"},
    )
    deadline = time.monotonic() + 30
    while (state := api.entries(DOMAIN)[0]["state"]) != "not_loaded":
        if time.monotonic() > deadline:
            raise E2EError(f"the entry stayed {state} after disabling it")
        time.sleep(0.3)
    simulator = instance.simulator_state()
    if simulator["websockets"] or EXTENSION in simulator["registered"]:
        raise E2EError(f"after unloading, the simulator still has: {simulator}")
    say("    unloaded: the channel is closed and the extension unregistered")
    api.delete_entry(entry_id)
    say("    removed")


def log_problems(log: Path) -> tuple[list[str], int]:
    """Warnings and errors about this integration in the log, and how many about others."""
    lines = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if WORRYING.search(line) and not any(text in line for text in EXPECTED)
    ]
    ours = [line for line in lines if OURS.search(line)]
    return ours, len(lines) - len(ours)


def main() -> int:
    """Run the smoke test; print what the log says; fail on errors."""
    started = time.monotonic()
    say(f"==> Smoke test on Home Assistant {ha_version}")
    with tempfile.TemporaryDirectory(prefix="mango-newest-ha-") as workdir:
        instance = Instance(Path(workdir), CONFIGURATION)
        try:
            instance.start(onboard=False)
            say(f"    started in {time.monotonic() - started:.1f} s")
            smoke(instance)
        except (E2EError, HassApiError) as err:
            say(f"FAILED: {err}")
            failed = True
        else:
            failed = False
        finally:
            instance.stop()
        problems, others = log_problems(instance.log)
    for line in problems:
        say(f"    log: {line[:400]}")
    errors = [line for line in problems if " WARNING " not in line]
    say(
        f"==> {'FAILED' if failed or errors else 'Passed'} on Home Assistant {ha_version} "
        f"in {time.monotonic() - started:.1f} s; the log has {len(problems)} warning or "
        f"error lines about this integration, {others} about others"
    )
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
