"""The browser test's steps (python -m tests.e2e runs them once a browser is there).

It starts the simulator and Home Assistant on a fresh configuration in a temporary directory
(free ports on 127.0.0.1), onboards it, and drives Debian's Chromium (headless) with Playwright:
the config flow (a wrong key, then the right one), the device page and the dashboard during
simulated calls, in English and then with the server's language set to Russian.
"""

import contextlib
from pathlib import Path
import re
import tempfile
import time
from typing import Any, Final

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, sync_playwright

from scripts.demo.processes import ROOT, log_tail, say
from scripts.demo.provision import (
    DASHBOARD,
    DEMO_PASSWORD,
    DEMO_USER,
    DOMAIN,
    EXTENSIONS,
    SIMULATOR_TOKEN,
    create_dashboard,
    set_language,
    set_phonebook,
    ws,
)

from . import CHROMIUM
from .instance import CALLER, TALK_SECONDS, WAIT_TIMEOUT, E2EError, Instance
from .media import play_a_recording

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
UI_TIMEOUT_MS: Final = 60_000
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
        "add_extension": "Add extension",
        # The button that closes a subentry flow's success dialog.
        "done": "Finish",
        # A subentry's overflow menu (three dots), its Delete and the confirmation's button.
        "menu": "Menu",
        "delete": "Delete",
        "confirm_delete": "Delete",
        "invalid_auth": "MANGO OFFICE rejected the integration key.",
        "device": "Extension {extension}",
        "model": "Virtual PBX extension",
        "call_state": "Call state",
        "last_caller": "Last caller",
        "missed_calls": "Missed calls",
        "ringing": "Ringing",
        "talking": "Talking",
        "unknown": "Unknown",
        "missed_from": f"Missed call from {CALLER_NAME}",
    },
    "ru": {
        "log_in": "Войти",
        "add_integration": "Добавить интеграцию",
        "advanced": "Дополнительные настройки",
        "submit": "Подтвердить",
        "finish": "завершить",
        "add_extension": "Добавить внутренний номер",
        "done": "Готово",
        "menu": "Меню",
        "delete": "Удалить",
        "confirm_delete": "Удалить",
        "invalid_auth": "MANGO OFFICE не принял ключ интеграции.",
        "device": "Внутренний номер {extension}",
        "model": "Внутренний номер ВАТС",  # noqa: RUF001 - Russian
        "call_state": "Состояние звонка",
        "last_caller": "Кто звонил",
        "missed_calls": "Пропущенные",
        "ringing": "Входящий вызов",
        "talking": "Разговор",
        "unknown": "Неизвестно",
        "missed_from": f"Пропущенный звонок: {CALLER_NAME}",
    },
}


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


def add_account(
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
    dialog.locator("input[name=extensions]").fill(extension)
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
    say(f"    [{language}] the right key: the account with extension {extension} added")


def add_extension(browser: Browser, language: str, extension: str) -> None:
    """The integration's page → Add extension: a subentry of the account, tested first."""
    text = TEXT[language]
    page = browser.page
    browser.navigate(f"/config/integrations/integration/{DOMAIN}")
    page.get_by_text(text["add_extension"], exact=True).first.click()
    dialog = page.locator("dialog-data-entry-flow")
    dialog.locator("input[name=extension]").fill(extension)
    dialog.get_by_role("button", name=text["submit"]).click()
    finish = dialog.get_by_role("button", name=text["done"])
    finish.click()
    finish.wait_for(state="hidden")
    say(f"    [{language}] Add extension: extension {extension} added to the account")


def remove_extension(
    browser: Browser, instance: Instance, language: str, extension: str
) -> None:
    """The integration's page → the extension's ⋮ → Delete, confirmed: the row and device go.

    The subentry's row holds its device's row, named the same and with a menu of its own:
    the subentry's menu is the one in the row's header (`.sub-entry`).
    """
    text = TEXT[language]
    page = browser.page
    title = text["device"].format(extension=extension)
    browser.navigate(f"/config/integrations/integration/{DOMAIN}")
    row = page.locator("ha-config-sub-entry-row").filter(
        has=page.get_by_text(title, exact=True)
    )
    header = row.locator(".sub-entry")
    header.get_by_role("button", name=text["menu"], exact=True).click()
    header.get_by_role("menuitem", name=text["delete"], exact=True).click()
    # "Delete Extension 102?": the dialog names what goes.
    dialog = page.locator("dialog-box")
    dialog.get_by_text(title, exact=False).wait_for(state="visible")
    confirm = dialog.get_by_role("button", name=text["confirm_delete"], exact=True)
    confirm.click()
    confirm.wait_for(state="hidden")
    row.wait_for(state="detached")
    if any(
        domain == DOMAIN and unique_id.endswith(f"_{extension}")
        for entry in ws(instance.api, {"type": "config/device_registry/list"})[0]
        for domain, unique_id in entry["identifiers"]
    ):
        raise E2EError(f"The device of extension {extension} is still there")
    say(
        f"    [{language}] extension {extension} removed from its ⋮ menu: its device went, "
        "the account stays"
    )


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
    # The next call must start on an idle line.
    instance.wait_state(extension, "call_state", "idle")


def missed_call_counts(
    browser: Browser, instance: Instance, language: str, extension: str
) -> None:
    """A missed call raises the dashboard's count of missed calls from 0 to 1, and is in its activity."""
    # One section per extension, in the order of their numbers.
    missed = browser.page.locator(
        "hui-tile-card", has_text=TEXT[language]["missed_calls"]
    ).nth(EXTENSIONS.index(extension))
    missed.get_by_text("0", exact=True).wait_for()
    instance.scenario("incoming_missed", extension=extension, caller=CALLER)
    missed.get_by_text("1", exact=True).wait_for()
    say(f"    [{language}] a missed call: the count went from 0 to 1")
    # The extension's activity card: the call's own row names who called.
    browser.page.locator("hui-sections-view").locator("hui-grid-section").nth(
        EXTENSIONS.index(extension)
    ).locator(
        "ha-logbook-entry", has_text=TEXT[language]["missed_from"]
    ).first.wait_for()
    say(f"    [{language}] the activity card reads {TEXT[language]['missed_from']!r}")


# Whether the to-do item naming someone shows ticked (the list's items live in shadow roots).
TICKED: Final = """(name) => {
    const find = (root) => {
        for (const el of root.querySelectorAll("*")) {
            if (el.tagName === "HA-CHECK-LIST-ITEM" && el.textContent.includes(name)) return el;
            if (el.shadowRoot) {
                const found = find(el.shadowRoot);
                if (found) return found;
            }
        }
        return null;
    };
    const item = find(document.querySelector("home-assistant").shadowRoot);
    return item !== null && (item.selected === true || item.checked === true);
}"""


def calls_to_return(
    browser: Browser,
    instance: Instance,
    language: str,
    extension: str,
    shot: str | None,
) -> None:
    """The missed call is an item of the extension's Calls to return; a callback ticks it.

    Opened by the list's own address: the To-do panel reads `?entity_id` only when it first
    renders, so after a click on the sidebar's To-do lists it would stay on the first list
    (extension 101's), which failed the Russian run.
    """
    entity_id = instance.entity_id(extension, "calls_to_return")
    page = browser.page
    browser.navigate(f"/todo?entity_id={entity_id}")
    item = page.locator("ha-check-list-item", has_text=CALLER_NAME).first
    item.wait_for()
    say(f"    [{language}] the missed call is to return: {item.inner_text().strip()!r}")
    if shot:
        browser.shot(shot)
    if page.evaluate(TICKED, CALLER_NAME):
        raise E2EError("the missed call's item shows ticked before any callback")
    device = instance.device(extension)
    instance.api.request(
        "POST",
        "/api/services/mango_office/callback",
        {"device_id": device["id"], "number": CALLER},
    )
    instance.wait_state(extension, "calls_to_return", "0")
    page.wait_for_function(TICKED, arg=CALLER_NAME)
    say(f"    [{language}] a callback that connected ticked it off")


def nothing_unknown(browser: Browser, language: str, extension: str) -> None:
    """A new extension's cards show no "Unknown": each has a state or an empty list of its own.

    (Reloading an entry, as the change of the server's language does, writes each entity
    unavailable and back: the older extension's activity shows that, as any entity's would.)
    """
    section = (
        browser.page.locator("hui-sections-view")
        .locator("hui-grid-section")
        .nth(EXTENSIONS.index(extension))
    )
    section.locator("ha-logbook-entry").first.wait_for()
    unknown = section.get_by_text(TEXT[language]["unknown"], exact=True)
    if unknown.count():
        raise E2EError(f"the dashboard shows {unknown.count()} Unknown")
    say(f"    [{language}] the new extension's cards show no Unknown")


def callback_shows_who(
    browser: Browser, instance: Instance, language: str, extension: str
) -> None:
    """During a callback the call-state card names the person called, not the extension."""
    instance.wait_state(extension, "call_state", "idle")
    instance.scenario(
        "outgoing_callback",
        extension=extension,
        destination=CALLER,
        talk_seconds=TALK_SECONDS,
    )
    browser.page.locator("hui-tile-card", has_text=TEXT[language]["talking"]).filter(
        has_text=CALLER_NAME
    ).first.wait_for()
    say(f"    [{language}] a callback: the card names the person called")
    instance.wait_state(extension, "call_state", "idle")


def automation_from_blueprint(
    browser: Browser, instance: Instance, extension: str
) -> None:
    """An automation made from the missed-call blueprint in the editor runs on a missed call.

    Settings → Blueprints → the blueprint: its form, "Notify in Home Assistant too", Save.
    """
    page = browser.page
    page.locator('ha-sidebar a[href="/config"]').click()
    browser.navigate("/config/blueprint/dashboard")
    page.get_by_text("missed call notification", exact=False).first.click()
    page.wait_for_url("**/config/automation/edit/new")
    row = page.locator("ha-settings-row", has_text="Notify in Home Assistant too")
    row.locator("ha-switch").click()
    page.locator("ha-button[slot=fab]").click()
    # Saved: the editor moves to the new automation's own address.
    page.wait_for_url(re.compile(r".*/config/automation/edit/(?!new)\w+$"))
    automation_id = page.url.rsplit("/", 1)[1]
    say("    [en] an automation made from the missed-call blueprint, saved")
    instance.scenario("incoming_missed", extension=extension, caller=CALLER)
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not (
        shown := [
            n
            for n in ws(instance.api, {"type": "persistent_notification/get"})[0]
            if n["message"].startswith(CALLER_NAME)
        ]
    ):
        if time.monotonic() > deadline:
            raise E2EError("the automation made from the blueprint did not notify")
        time.sleep(0.3)
    say(
        f"    [en] it ran: a notification {shown[0]['title']!r}: {shown[0]['message']!r}"
    )
    # Gone again, so that the Russian run's missed call notifies nobody.
    instance.api.request("DELETE", f"/api/config/automation/config/{automation_id}")
    instance.api.request(
        "POST", "/api/services/persistent_notification/dismiss_all", {}
    )


def run_language(
    browser: Browser,
    instance: Instance,
    language: str,
    extension: str,
    shots: dict[str, str],
    *,
    first: bool,
) -> None:
    """The whole flow in one language: the account with its first extension, or one more."""
    text = TEXT[language]
    browser.open(language)
    if first:
        add_account(browser, language, extension, shots.get("form"))
    else:
        add_extension(browser, language, extension)
    device = instance.device(extension)
    set_phonebook(instance.api, str(device["primary_config_entry"]), PHONEBOOK)
    # The device page: its name and its entities' names in the server's language.
    browser.navigate(f"/config/devices/device/{device['id']}")
    browser.see(text["device"].format(extension=extension))
    # The model shows with its id: "Virtual PBX extension (extension)".
    browser.see(text["model"], exact=False)
    for key in ("call_state", "last_caller", "missed_calls"):
        browser.see(text[key])
    say(f"    [{language}] the device page names the device and its entities")
    watch_a_call(browser, instance, language, extension, shots.get("device"))
    # The dashboard the demo makes, with every extension set up so far.
    create_dashboard(instance.api)
    browser.open_dashboard()
    browser.see(text["call_state"], "hui-sections-view")
    nothing_unknown(browser, language, extension)
    watch_a_call(
        browser, instance, language, extension, shots.get("dashboard"), with_name=True
    )
    missed_call_counts(browser, instance, language, extension)
    calls_to_return(browser, instance, language, extension, shots.get("todo"))
    # After the calls to return: a callback that connects ticks the caller's item off.
    browser.open_dashboard()
    callback_shows_who(browser, instance, language, extension)


def run(shots_dir: Path | None, dialect: str = "server-client") -> None:
    """Start everything, run the flow in English and in Russian, stop everything."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mango-e2e-") as workdir:
        instance = Instance(Path(workdir), dialect=dialect)
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
                            "todo": "calls-to-return.png",
                        },
                        first=True,
                    )
                    automation_from_blueprint(browser, instance, EXTENSIONS[0])
                    play_a_recording(browser, instance, EXTENSIONS[0], "media.png")
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
                        first=False,
                    )
                    remove_extension(browser, instance, "ru", EXTENSIONS[1])
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
