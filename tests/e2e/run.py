"""The browser test's steps (python -m tests.e2e runs them once a browser is there).

It starts the simulator and Home Assistant on a fresh configuration in a temporary directory
(free ports on 127.0.0.1), onboards it, and drives Debian's Chromium (headless) with Playwright:
the config flow (a wrong key, then the right one), the device page and the dashboard during
simulated calls, in English and then with the server's language set to Russian.
"""

import contextlib
import json
import os
from pathlib import Path
import shutil
import socket
import sys
import tempfile
import time
from typing import Any, Final
import urllib.request

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, sync_playwright

from scripts.demo.__main__ import Child, log_tail
from scripts.demo.hass_api import HassApi
from scripts.demo.provision import (
    CORE_CONFIG,
    DASHBOARD,
    DEMO_NAME,
    DEMO_PASSWORD,
    DEMO_USER,
    DOMAIN,
    EXTENSIONS,
    SIMULATOR_TOKEN,
    create_dashboard,
    remove_unwanted_entries,
    set_language,
    set_phonebook,
    write_http_config,
    ws,
)

from . import CHROMIUM

ROOT: Final = Path(__file__).resolve().parents[2]
HOST: Final = "127.0.0.1"
# Headless, and nothing that reaches out to the network (the machine may be offline).
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT: Final = {"width": 1100, "height": 720}
# Generous: the machines that run this are small and shared.
START_TIMEOUT: Final = 300.0
UI_TIMEOUT_MS: Final = 60_000
# How long the simulator lets a phone ring, and how long a conversation lasts.
STEP_DELAY: Final = 6.0
TALK_SECONDS: Final = 12.0
CALLER: Final = "+74951234567"
CALLER_NAME: Final = "Ivan Petrov"
PHONEBOOK: Final = f"+7 495 123-45-67 = {CALLER_NAME}\n"

# What the user must see, per language: the integration's own strings and HA's.
TEXT: Final = {
    "en": {
        "log_in": "Log in",
        "add_integration": "Add integration",
        "advanced": "Advanced settings",
        "submit": "Submit",
        # "Skip and finish" (no area), matched in part.
        "finish": "finish",
        "invalid_auth": "MANGO OFFICE rejected the integration key.",
        "device": "Extension {extension}",
        "model": "Virtual PBX extension",
        "call_state": "Call state",
        "last_caller": "Last caller",
        "missed_calls": "Missed calls",
        "ringing": "Ringing",
        "talking": "Talking",
    },
    "ru": {
        "log_in": "Войти",
        "add_integration": "Добавить интеграцию",
        "advanced": "Дополнительные настройки",
        "submit": "Подтвердить",
        "finish": "завершить",
        "invalid_auth": "MANGO OFFICE не принял ключ интеграции.",
        "device": "Внутренний номер {extension}",
        "model": "Внутренний номер ВАТС",  # noqa: RUF001 - Russian
        "call_state": "Состояние звонка",
        "last_caller": "Кто звонил",
        "missed_calls": "Пропущенные",
        "ringing": "Входящий вызов",
        "talking": "Разговор",
    },
}


class E2EError(Exception):
    """A step of the test failed; the message says which and what was seen."""


def say(text: str) -> None:
    """Report progress at once."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def free_port() -> int:
    """Return a TCP port on HOST that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Instance:
    """The simulator and Home Assistant on a fresh configuration, onboarded."""

    def __init__(self, workdir: Path) -> None:
        """Prepare the configuration in workdir; start() runs both."""
        self.config_dir = workdir / "config"
        self.config_dir.mkdir()
        shutil.copy(ROOT / "config" / "configuration.yaml", self.config_dir)
        (self.config_dir / "custom_components").symlink_to(ROOT / "custom_components")
        self.hass_port = free_port()
        self.simulator_port = free_port()
        self.hass_url = f"http://{HOST}:{self.hass_port}"
        self.simulator_url = f"http://{HOST}:{self.simulator_port}"
        self.api = HassApi(self.hass_url)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.hass = Child(
            "Home Assistant",
            [sys.executable, "-m", "homeassistant", "--config", str(self.config_dir)],
            workdir / "home-assistant.console.log",
            env,
        )
        self.simulator = Child(
            "the simulator",
            [
                sys.executable,
                "-m",
                "mango_simulator",
                "--host",
                HOST,
                "--port",
                str(self.simulator_port),
                "--token",
                SIMULATOR_TOKEN,
                *(
                    arg
                    for extension in EXTENSIONS
                    for arg in ("--extension", extension)
                ),
                "--auto-calls",
                "0",
                "--step-delay",
                str(STEP_DELAY),
            ],
            workdir / "simulator.log",
            {**env, "PYTHONPATH": str(ROOT / "simulator")},
        )

    @property
    def log(self) -> Path:
        """Home Assistant's log."""
        return self.config_dir / "home-assistant.log"

    def start(self) -> None:
        """Start both, onboard Home Assistant as demo / demo and set its country and units."""
        write_http_config(self.config_dir, HOST, self.hass_port)
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
        for step in ("core_config", "analytics", "integration"):
            self.api.finish_onboarding_step(step)
        ws(self.api, {"type": "config/core/update", **CORE_CONFIG, "language": "en"})
        while self.api.config().get("state") != "RUNNING":
            if time.monotonic() > deadline:
                raise E2EError(f"Home Assistant did not start:\n{log_tail(self.log)}")
            time.sleep(0.3)
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

    def wait_idle(self, extension: str) -> None:
        """Wait until the extension's call is over (so the next one starts afresh)."""
        registry = ws(self.api, {"type": "config/entity_registry/list"})[0]
        entity_id = next(
            entity["entity_id"]
            for entity in registry
            if entity["platform"] == DOMAIN
            and entity["unique_id"].endswith(f"_{extension}_call_state")
        )
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while self.api.request("GET", f"/api/states/{entity_id}")["state"] != "idle":
            if time.monotonic() > deadline:
                raise E2EError(f"{entity_id} did not return to idle")
            time.sleep(0.5)


class Browser:
    """One logged-in page of Home Assistant's frontend in headless Chromium."""

    def __init__(self, playwright: Any, instance: Instance, shots: Path | None) -> None:
        """Launch Chromium (Debian's, never a downloaded one)."""
        self.instance = instance
        self.shots = shots
        self.browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        self.page: Any = None

    def open(self, language: str) -> None:
        """A new browser context in `language`, logged in as the demo user."""
        if self.page is not None:
            self.page.context.close()
        context = self.browser.new_context(
            locale="ru-RU" if language == "ru" else "en-US", viewport=VIEWPORT
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        self.page = context.new_page()
        self.page.goto(self.instance.hass_url)
        self.page.fill("input[name=username]", DEMO_USER)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.page.get_by_role("button", name=TEXT[language]["log_in"]).click()
        self.wait_loaded()

    def wait_loaded(self) -> None:
        """Wait until the frontend has replaced its launch screen."""
        self.page.wait_for_selector("home-assistant")
        self.page.wait_for_selector("#ha-launch-screen", state="detached")

    def navigate(self, path: str) -> None:
        """Go to a frontend path the way its own links do (no reload)."""
        self.page.evaluate(
            """path => {
                history.pushState(null, "", path);
                window.dispatchEvent(new CustomEvent("location-changed"));
            }""",
            path,
        )

    def open_dashboard(self) -> None:
        """Click the calls dashboard in the sidebar.

        Its entry appears once the frontend hears of the new panel, and the entries below it
        move down: a click in that moment lands on the next one, so check where it went.
        """
        link = self.page.locator(f'ha-sidebar a[href="/{DASHBOARD}"]')
        for _attempt in range(5):
            link.click()
            with contextlib.suppress(PlaywrightTimeoutError):
                self.page.wait_for_url(f"**/{DASHBOARD}/**", timeout=5_000)
                return
        raise E2EError("the dashboard's sidebar entry does not open it")

    def see(
        self, text: str, within: str = "home-assistant", *, exact: bool = True
    ) -> None:
        """Wait until `text` is visible (inside the `within` element).

        Not exact: a part of an element's text (a card's "Ringing · Ivan Petrov").
        """
        self.page.locator(within).get_by_text(text, exact=exact).first.wait_for(
            state="visible"
        )

    def shot(self, name: str) -> None:
        """Save a screenshot for the README, when asked to."""
        if self.shots is not None:
            self.page.wait_for_timeout(800)  # let animations finish
            self.page.screenshot(path=str(self.shots / name))
            say(
                f"    saved {self.shots.relative_to(ROOT) if self.shots.is_relative_to(ROOT) else self.shots}/{name}"
            )

    def close(self) -> None:
        """Close the browser."""
        self.browser.close()


def add_extension(
    browser: Browser, language: str, extension: str, shot: str | None
) -> None:
    """Settings → Devices & services → Add integration → MANGO OFFICE: wrong key, then right."""
    text = TEXT[language]
    page = browser.page
    page.locator('ha-sidebar a[href="/config"]').click()
    page.locator('a[href="/config/integrations"]').first.click()
    page.locator("ha-button[slot=fab]").click()
    page.locator("dialog-add-integration input").fill("MANGO")
    page.locator('ha-integration-list-item:has-text("MANGO OFFICE")').first.click()
    dialog = page.locator("dialog-data-entry-flow")
    dialog.locator("input[name=token]").fill("not-the-key")
    dialog.locator("input[name=extension]").fill(extension)
    dialog.get_by_text(text["advanced"], exact=True).click()
    dialog.locator("input[name=base_url]").fill(f"{browser.instance.simulator_url}/api")
    dialog.get_by_role("button", name=text["submit"]).click()
    browser.see(text["invalid_auth"], "dialog-data-entry-flow")
    say(f"    [{language}] a wrong key: the form says so")
    if shot:
        browser.shot(shot)
    dialog.locator("input[name=token]").fill(SIMULATOR_TOKEN)
    dialog.get_by_role("button", name=text["submit"]).click()
    finish = dialog.get_by_role("button", name=text["finish"])
    finish.click()
    finish.wait_for(state="hidden")
    say(f"    [{language}] the right key: extension {extension} added")


def watch_a_call(
    browser: Browser,
    instance: Instance,
    language: str,
    extension: str,
    shot: str | None,
    *,
    with_name: bool = False,
) -> None:
    """An answered call: the page shows ringing, then talking (with_name: who calls)."""
    text = TEXT[language]
    instance.scenario(
        "incoming_answered",
        extension=extension,
        caller=CALLER,
        talk_seconds=TALK_SECONDS,
        record=False,
    )
    browser.see(text["ringing"], exact=False)
    say(f"    [{language}] ringing")
    if with_name:
        # The call-state card shows the state, the phonebook's name and the number.
        browser.page.locator("hui-tile-card", has_text=CALLER_NAME).first.wait_for()
        say(f"    [{language}] the caller's name from the phonebook shows")
    browser.see(text["talking"], exact=False)
    say(f"    [{language}] talking")
    if shot:
        browser.shot(shot)
    instance.wait_idle(extension)


def missed_call_counts(
    browser: Browser, instance: Instance, language: str, extension: str
) -> None:
    """A missed call raises the dashboard's count of missed calls from 0 to 1."""
    # One section per extension, in the order of their numbers.
    missed = browser.page.locator(
        "hui-tile-card", has_text=TEXT[language]["missed_calls"]
    ).nth(EXTENSIONS.index(extension))
    missed.get_by_text("0", exact=True).wait_for()
    instance.scenario("incoming_missed", extension=extension, caller=CALLER)
    missed.get_by_text("1", exact=True).wait_for()
    say(f"    [{language}] a missed call: the count went from 0 to 1")


def run_language(
    browser: Browser,
    instance: Instance,
    language: str,
    extension: str,
    shots: dict[str, str],
) -> None:
    """The whole flow in one language, for one new extension."""
    text = TEXT[language]
    browser.open(language)
    add_extension(browser, language, extension, shots.get("form"))
    device = instance.device(extension)
    set_phonebook(instance.api, str(device["primary_config_entry"]), PHONEBOOK)
    # The device page: its name and its entities' names in the server's language.
    browser.navigate(f"/config/devices/device/{device['id']}")
    browser.see(text["device"].format(extension=extension))
    for key in ("model", "call_state", "last_caller", "missed_calls"):
        browser.see(text[key])
    say(f"    [{language}] the device page names the device and its entities")
    watch_a_call(browser, instance, language, extension, shots.get("device"))
    # The dashboard the demo makes, with every extension set up so far.
    create_dashboard(instance.api)
    browser.open_dashboard()
    browser.see(text["call_state"], "hui-sections-view")
    watch_a_call(
        browser, instance, language, extension, shots.get("dashboard"), with_name=True
    )
    missed_call_counts(browser, instance, language, extension)


def run(shots_dir: Path | None) -> None:
    """Start everything, run the flow in English and in Russian, stop everything."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mango-e2e-") as workdir:
        instance = Instance(Path(workdir))
        try:
            say(f"==> Starting the simulator and Home Assistant on {instance.hass_url}")
            instance.start()
            instance.check_clean("a fresh start")
            say(
                f"    up and onboarded in {time.monotonic() - started:.1f} s; no repairs, no notifications"
            )
            with sync_playwright() as playwright:
                browser = Browser(playwright, instance, shots_dir)
                try:
                    say("==> English")
                    run_language(
                        browser,
                        instance,
                        "en",
                        EXTENSIONS[0],
                        {
                            "form": "config-flow.png",
                            "device": "screenshot.png",
                            "dashboard": "dashboard.png",
                        },
                    )
                    say(
                        "==> Russian (the server's language, then the entries reloaded)"
                    )
                    set_language(instance.api, "ru")
                    run_language(
                        browser,
                        instance,
                        "ru",
                        EXTENSIONS[1],
                        {"device": "screenshot-ru.png"},
                    )
                except Exception:
                    failure = Path(tempfile.gettempdir()) / "mango-e2e-failure.png"
                    browser.page.screenshot(path=str(failure))
                    say(f"The page when it failed: {failure}")
                    raise
                finally:
                    browser.close()
            instance.check_clean("after the run, Home Assistant")
        except Exception:
            say(f"The end of Home Assistant's log:\n{log_tail(instance.log, 30)}")
            raise
        finally:
            instance.stop()
    say(f"==> Passed in {time.monotonic() - started:.1f} s")
