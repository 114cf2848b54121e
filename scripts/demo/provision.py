"""What a fresh config gets: onboarding as demo/demo and MANGO OFFICE entries on the simulator.

Each step is skipped when it is already done, so an interrupted set-up completes on the next run.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
import json
from pathlib import Path
from typing import Any, Final

from .hass_api import HassApi, HassApiError

DEMO_NAME: Final = "Demo"
DEMO_USER: Final = "demo"
DEMO_PASSWORD: Final = "demo"  # noqa: S105 - the demo's documented login
LANGUAGE: Final = "en"
DOMAIN: Final = "mango_office"
SIMULATOR_TOKEN: Final = "demo"  # noqa: S105 - the simulator's key, not a secret
EXTENSIONS: Final = ("101", "102")
# Names for the internal calls the simulator makes between the two extensions.
PHONEBOOK: Final = "101 = Reception\n102 = Sales\n"
# Onboarding's core_config step sets these up; Radio Browser retries DNS forever here
# and slows every start, and neither has anything to do with the demo.
UNWANTED_DOMAINS: Final = ("radio_browser", "google_translate")
# How long onboarding's core_config step may take to create them.
UNWANTED_WAIT: Final = 15.0
STATE_FILE: Final = ".demo.json"

type Say = Callable[[str], None]
type Sleep = Callable[[float], None]
# Called between steps; raises to cut the set-up short (Ctrl-C).
type Checkpoint = Callable[[], None]


class DemoSetupError(Exception):
    """A set-up step failed in a way the demo cannot work around."""


@dataclass(slots=True)
class DemoState:
    """What scripts/develop keeps in config/.demo.json between runs."""

    refresh_token: str | None = None
    provisioned: bool = False

    @classmethod
    def load(cls, config_dir: Path) -> DemoState:
        """Read the state, or start afresh when there is none (or it is unreadable)."""
        try:
            data = json.loads((config_dir / STATE_FILE).read_text())
        except OSError, ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        token = data.get("refresh_token")
        return cls(
            refresh_token=token if isinstance(token, str) else None,
            provisioned=data.get("provisioned") is True,
        )

    def save(self, config_dir: Path) -> None:
        """Write the state; only the owner may read it (it holds a refresh token)."""
        path = config_dir / STATE_FILE
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def is_onboarded(config_dir: Path) -> bool:
    """Tell whether the owner's account exists, from HA's own onboarding store."""
    try:
        store: Any = json.loads((config_dir / ".storage" / "onboarding").read_text())
    except OSError, ValueError:
        return False
    done = store.get("data", {}).get("done", []) if isinstance(store, dict) else []
    return isinstance(done, list) and "user" in done


def sign_in(api: HassApi, config_dir: Path, state: DemoState, say: Say) -> bool:
    """Get an access token: onboarding's owner on a fresh config, else demo/demo.

    Returns False when there is no way in (e.g. someone changed the password).
    """
    if state.refresh_token:
        try:
            api.refresh(state.refresh_token)
        except HassApiError as err:
            if err.status is None:
                raise
        else:
            return True
    if not is_onboarded(config_dir):
        say(f"Onboarding: creating the user {DEMO_USER} / {DEMO_PASSWORD}")
        tokens = api.create_owner(
            name=DEMO_NAME,
            username=DEMO_USER,
            password=DEMO_PASSWORD,
            language=LANGUAGE,
        )
    else:
        try:
            tokens = api.log_in(DEMO_USER, DEMO_PASSWORD)
        except HassApiError as err:
            if err.status is None:
                raise
            return False
    state.refresh_token = tokens.refresh_token
    state.save(config_dir)
    return True


def provision(
    api: HassApi,
    config_dir: Path,
    state: DemoState,
    *,
    simulator_api_url: str,
    say: Say,
    sleep: Sleep,
    checkpoint: Checkpoint,
) -> None:
    """Finish onboarding, drop the entries it adds and add the MANGO OFFICE entries."""
    core_config_now = False
    for step in ("core_config", "analytics", "integration"):
        checkpoint()
        finished = api.finish_onboarding_step(step)
        core_config_now = core_config_now or (finished and step == "core_config")
    say("Onboarding: done")
    _remove_unwanted_entries(
        api, wait=UNWANTED_WAIT if core_config_now else 0.0, say=say, sleep=sleep
    )
    for extension in EXTENSIONS:
        checkpoint()
        _add_mango_entry(api, extension, simulator_api_url, say)
    state.provisioned = True
    state.save(config_dir)


def _remove_unwanted_entries(
    api: HassApi, *, wait: float, say: Say, sleep: Sleep
) -> None:
    """Delete the entries onboarding sets up, waiting up to `wait` s for them to appear."""
    missing = set(UNWANTED_DOMAINS)
    waited = 0.0
    while True:
        for entry in api.entries():
            if entry.get("domain") in missing:
                api.delete_entry(str(entry["entry_id"]))
                missing.discard(str(entry["domain"]))
                say(f"Removed the {entry.get('title')} entry onboarding added")
        if not missing or waited >= wait:
            return
        sleep(0.5)
        waited += 0.5


def _add_mango_entry(
    api: HassApi, extension: str, simulator_api_url: str, say: Say
) -> None:
    """Go through the config flow as a user would; then give the entry a phonebook."""
    flow = api.start_flow(DOMAIN)
    if flow.get("type") != "form":
        raise DemoSetupError(f"The {DOMAIN} config flow did not show its form: {flow}")
    result = api.flow_step(
        str(flow["flow_id"]),
        {
            "token": SIMULATOR_TOKEN,
            "extension": extension,
            "advanced": {"base_url": simulator_api_url},
        },
    )
    match result.get("type"):
        case "create_entry":
            entry = result.get("result") or {}
            say(f"Added the entry {entry.get('title')} (simulator, token demo)")
            _set_phonebook(api, str(entry["entry_id"]))
        case "abort" if result.get("reason") == "already_configured":
            say(f"Extension {extension} already has an entry")
        case _:
            if result.get("type") == "form":
                api.abort_flow(str(flow["flow_id"]))
            raise DemoSetupError(
                f"The {DOMAIN} config flow refused extension {extension}: "
                f"{result.get('errors') or result.get('reason') or result}"
            )


def _set_phonebook(api: HassApi, entry_id: str) -> None:
    form = api.start_options_flow(entry_id)
    result = api.options_flow_step(str(form["flow_id"]), {"phonebook": PHONEBOOK})
    if result.get("type") != "create_entry":
        raise DemoSetupError(f"The phonebook was refused: {result}")
