"""The simulator and Home Assistant on a fresh configuration in a temporary directory.

Used by the browser test and by scripts/check-newest-ha; needs no browser and no test plugin.
"""

import json
import os
from pathlib import Path
import shutil
import socket
import time
from typing import Any, Final
import urllib.request

from scripts.demo.hass_api import HassApi
from scripts.demo.processes import (
    HOST,
    ROOT,
    hass_process,
    log_tail,
    say,
    simulator_process,
)
from scripts.demo.provision import (
    CORE_CONFIG,
    DEMO_NAME,
    DEMO_PASSWORD,
    DEMO_USER,
    DOMAIN,
    http_config_in_storage,
    install_config_files,
    remove_unwanted_entries,
    write_http_config,
    ws,
)

# Generous: the machines that run this are small and shared.
START_TIMEOUT: Final = 300.0
WAIT_TIMEOUT: Final = 60.0
# How long the simulator lets a phone ring, and how long a conversation lasts.
STEP_DELAY: Final = 6.0
TALK_SECONDS: Final = 12.0
CALLER: Final = "+74951234567"


class E2EError(Exception):
    """A step of the test failed; the message says which and what was seen."""


def free_port() -> int:
    """Return a TCP port on HOST that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Instance:
    """The simulator and Home Assistant on a fresh configuration, onboarded."""

    def __init__(
        self,
        workdir: Path,
        configuration: str | None = None,
        *,
        dialect: str = "server-client",
    ) -> None:
        """Prepare the configuration in workdir (the demo's, or `configuration`).

        dialect: the simulator's spellings (server-client, or vpbx for the VPBX API's).
        """
        self.config_dir = workdir / "config"
        self.config_dir.mkdir()
        if configuration is None:
            shutil.copy(ROOT / "config" / "configuration.yaml", self.config_dir)
            install_config_files(self.config_dir, ROOT)
        else:
            (self.config_dir / "configuration.yaml").write_text(configuration)
        (self.config_dir / "custom_components").symlink_to(ROOT / "custom_components")
        self.hass_port = free_port()
        self.simulator_port = free_port()
        self.hass_url = f"http://{HOST}:{self.hass_port}"
        self.simulator_url = f"http://{HOST}:{self.simulator_port}"
        self.api = HassApi(self.hass_url)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.hass = hass_process(
            self.config_dir, workdir / "home-assistant.console.log", env
        )
        self.simulator = simulator_process(
            self.simulator_port,
            workdir / "simulator.log",
            env,
            "--auto-calls",
            "0",
            "--step-delay",
            str(STEP_DELAY),
            "--dialect",
            dialect,
        )

    @property
    def log(self) -> Path:
        """Home Assistant's log."""
        return self.config_dir / "home-assistant.log"

    def start(self, *, onboard: bool = True) -> None:
        """Start both and create the user demo / demo.

        onboard: also finish onboarding, set the country and units, and drop the entries
        onboarding adds (what the frontend's first screens do).
        """
        if http_config_in_storage():
            write_http_config(self.config_dir, HOST, self.hass_port)
        else:
            with (self.config_dir / "configuration.yaml").open("a") as config:
                config.write(
                    f"http:\n  server_host: {HOST}\n  server_port: {self.hass_port}\n"
                )
        self.simulator.start()
        self.hass.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.api.is_up():
            if (code := self.hass.exit_code()) is not None:
                raise E2EError(
                    f"Home Assistant exited with {code}:\n{log_tail(self.log)}"
                )
            if time.monotonic() > deadline:
                raise E2EError(f"Home Assistant did not answer:\n{log_tail(self.log)}")
            time.sleep(0.3)
        self.api.create_owner(
            name=DEMO_NAME, username=DEMO_USER, password=DEMO_PASSWORD, language="en"
        )
        if onboard:
            for step in ("core_config", "analytics", "integration"):
                self.api.finish_onboarding_step(step)
            ws(
                self.api,
                {"type": "config/core/update", **CORE_CONFIG, "language": "en"},
            )
        while self.api.config().get("state") != "RUNNING":
            if time.monotonic() > deadline:
                raise E2EError(f"Home Assistant did not start:\n{log_tail(self.log)}")
            time.sleep(0.3)
        if onboard:
            remove_unwanted_entries(self.api, wait=15.0, say=say, sleep=time.sleep)

    def stop(self) -> None:
        """Stop both, by their process ids."""
        self.hass.stop(60)
        self.simulator.stop(10)

    def check_clean(self, when: str) -> None:
        """Fail when a user would see repairs or notifications."""
        if problems := self.problems():
            raise E2EError(f"{when} shows: {problems}")

    def problems(self) -> list[str]:
        """Repairs and notifications a user would see (a clean start has none)."""
        issues = ws(self.api, {"type": "repairs/list_issues"})[0]["issues"]
        found = [
            f"repair {issue['domain']}.{issue['issue_id']}"
            for issue in issues
            if not issue.get("ignored")
        ]
        notifications = ws(self.api, {"type": "persistent_notification/get"})[0]
        found += [
            f"notification {n.get('title')}: {n.get('message')}" for n in notifications
        ]
        return found

    def scenario(self, name: str, **arguments: Any) -> None:
        """Start one of the simulator's call scenarios (it runs on while we watch)."""
        request = urllib.request.Request(  # noqa: S310 - our own simulator on 127.0.0.1
            f"{self.simulator_url}/_simulator/scenario",
            data=json.dumps({"name": name, **arguments}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def device(self, extension: str) -> dict[str, Any]:
        """The registry's device of one extension (found by its identifier, in any language)."""
        for device in ws(self.api, {"type": "config/device_registry/list"})[0]:
            if any(
                domain == DOMAIN and unique_id.endswith(f"_{extension}")
                for domain, unique_id in device["identifiers"]
            ):
                return dict(device)
        raise E2EError(f"No device for extension {extension}")

    def entity_id(self, extension: str, key: str) -> str:
        """The entity id of one of an extension's entities (ids depend on the language)."""
        registry = ws(self.api, {"type": "config/entity_registry/list"})[0]
        for entity in registry:
            if entity["platform"] == DOMAIN and entity["unique_id"].endswith(
                f"_{extension}_{key}"
            ):
                return str(entity["entity_id"])
        raise E2EError(f"extension {extension} has no {key} entity")

    def wait_state(self, extension: str, key: str, state: str) -> None:
        """Wait until an extension's entity has a state (as the server has it)."""
        entity_id = self.entity_id(extension, key)
        deadline = time.monotonic() + WAIT_TIMEOUT
        while (
            now := self.api.request("GET", f"/api/states/{entity_id}")["state"]
        ) != state:
            if time.monotonic() > deadline:
                raise E2EError(f"{entity_id} stayed {now!r}, not {state!r}")
            time.sleep(0.3)

    def simulator_state(self) -> dict[str, Any]:
        """What the simulator's control interface says (registered users, websockets)."""
        with urllib.request.urlopen(  # noqa: S310 - our own simulator on 127.0.0.1
            f"{self.simulator_url}/_simulator/state", timeout=10
        ) as response:
            state: dict[str, Any] = json.loads(response.read())
            return state
