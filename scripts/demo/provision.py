"""What a fresh config gets: onboarding as demo/demo and MANGO OFFICE entries on the simulator.

Each step is skipped when it is already done, so an interrupted set-up completes on the next run.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
import importlib.util
import json
from pathlib import Path
import shutil
from typing import Any, Final

from .hass_api import HassApi, HassApiError
from .hass_ws import ws_commands

DEMO_NAME: Final = "Demo"
DEMO_USER: Final = "demo"
DEMO_PASSWORD: Final = "demo"  # noqa: S105 - the demo's documented login
LANGUAGE: Final = "en"
LANGUAGES: Final = ("en", "ru")
# Settings → System → General, as onboarding's first screen would set them; without a
# country Home Assistant raises a "country not configured" repair.
CORE_CONFIG: Final = {
    "country": "RU",
    "currency": "RUB",
    "time_zone": "Europe/Moscow",
    "unit_system": "metric",
}
DOMAIN: Final = "mango_office"
SIMULATOR_TOKEN: Final = "demo"  # noqa: S105 - the simulator's key, not a secret
EXTENSIONS: Final = ("101", "102")
# Names for the internal calls between the two extensions, the simulator's usual caller
# (+7 495 123-45-67) and the README's voice examples: "позвони Ване", "набери бухгалтерию",
# "call John Smith", and "позвони Петровой" (which asks: Мария Петрова or Иван Петров?).
PHONEBOOK: Final = (
    "101 = Reception; Приёмная\n"
    "102 = Sales; Отдел продаж\n"
    "+7 495 123-45-67 = Иван Петров; Ваня\n"
    "+7 916 765-43-21 = Мария Петрова\n"
    "+7 495 111-22-33 = Бухгалтерия\n"
    "+1 212 555-01-23 = John Smith\n"
)
# What configuration.yaml includes; Home Assistant's editors write them.
INCLUDED_FILES: Final = {
    "automations.yaml": "[]\n",
    "scripts.yaml": "",
    "scenes.yaml": "",
}
BLUEPRINTS: Final = Path("blueprints/automation/mango_office")
# The demo's ready automation: the missed-call blueprint, notifying in Home Assistant.
READY_AUTOMATIONS: Final = """\
- id: mango_office_missed_call_demo
  alias: Missed call notification
  description: Made by scripts/develop from the MANGO OFFICE blueprint.
  use_blueprint:
    path: mango_office/missed_call_notification.yaml
    input:
      persistent_notification: true
"""
# Onboarding's core_config step sets these up; Radio Browser retries DNS forever here
# and slows every start, and neither has anything to do with the demo.
UNWANTED_DOMAINS: Final = ("radio_browser", "google_translate")
# How long onboarding's core_config step may take to create them.
UNWANTED_WAIT: Final = 15.0
# How long Home Assistant may take to load Assist after onboarding.
ASSIST_WAIT: Final = 120.0
STATE_FILE: Final = ".demo.json"
DASHBOARD: Final = "mango-office"
# A card's name: the entity's own ("Call state"), without the device's ("Extension 101").
ENTITY_NAME: Final = {"type": "entity"}

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
    simulator_port: int | None = None
    # Extension -> config entry id of the entries the demo added.
    entries: dict[str, str] = field(default_factory=dict)

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
            simulator_port=port
            if isinstance(port := data.get("simulator_port"), int)
            else None,
            entries={str(k): str(v) for k, v in entries.items()}
            if isinstance(entries := data.get("entries"), dict)
            else {},
        )

    def save(self, config_dir: Path) -> None:
        """Write the state; only the owner may read it (it holds a refresh token)."""
        path = config_dir / STATE_FILE
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def install_config_files(
    config_dir: Path, root: Path, automations: str = INCLUDED_FILES["automations.yaml"]
) -> None:
    """Give a configuration what it includes, and the repository's blueprints.

    The files Home Assistant's editors write are made only when missing (`automations` is
    what a new automations.yaml holds); the blueprints are copied afresh,
    so that the demo runs what the repository has.
    """
    for name, text in {**INCLUDED_FILES, "automations.yaml": automations}.items():
        if not (path := config_dir / name).exists():
            path.write_text(text)
    shutil.copytree(root / BLUEPRINTS, config_dir / BLUEPRINTS, dirs_exist_ok=True)


# What HA keeps beside the settings themselves.
_HTTP_META: Final = ("created_at", "error", "error_message")


def http_config_in_storage() -> bool:
    """Whether this Home Assistant keeps where it listens in its storage (newer releases do).

    Older releases read the `http:` block of configuration.yaml (the smoke test on the
    oldest supported release writes that instead).
    """
    return importlib.util.find_spec("homeassistant.components.http.config") is not None


def write_http_config(config_dir: Path, host: str, port: int) -> None:
    """Set where Home Assistant listens, in its own storage, before it starts.

    HA keeps its HTTP settings in .storage/http. An `http:` block in configuration.yaml is
    migrated there once with a "deprecated YAML" repair, and a change made in the UI is only
    "pending" until confirmed. Writing the confirmed ("stable") settings binds HA to `host`
    from its first second, with no repair and no dialog; the other settings stay as they are.
    """
    # Here, not at the top: the smoke test imports this module on releases without it.
    from homeassistant.components.http.config import (  # noqa: PLC0415
        HTTP_STORAGE_SCHEMA,
        STORAGE_KEY as HTTP_STORAGE_KEY,
        STORAGE_MINOR_VERSION as HTTP_STORAGE_MINOR_VERSION,
        STORAGE_VERSION as HTTP_STORAGE_VERSION,
    )

    path = config_dir / ".storage" / HTTP_STORAGE_KEY
    try:
        data: Any = json.loads(path.read_text())["data"]
        stable = data["stable"]
    except OSError, ValueError, KeyError, TypeError:
        data, stable = None, {}
    wanted = {"server_host": [host], "server_port": port}
    if data is not None and all(stable.get(k) == v for k, v in wanted.items()):
        return
    stable = {
        **HTTP_STORAGE_SCHEMA({k: v for k, v in stable.items() if k not in _HTTP_META}),
        **wanted,
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": HTTP_STORAGE_VERSION,
                "minor_version": HTTP_STORAGE_MINOR_VERSION,
                "key": HTTP_STORAGE_KEY,
                "data": {
                    "stable": stable,
                    "pending": None,
                    "yaml_migration_done": True,
                },
            },
            indent=2,
        )
    )
    path.chmod(0o600)


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
    language: str,
    say: Say,
    sleep: Sleep,
    checkpoint: Checkpoint,
) -> None:
    """Finish onboarding, drop the entries it adds, add the MANGO OFFICE entries and a dashboard."""
    core_config_now = False
    for step in ("core_config", "analytics", "integration"):
        checkpoint()
        finished = api.finish_onboarding_step(step)
        core_config_now = core_config_now or (finished and step == "core_config")
    ws(api, {"type": "config/core/update", **CORE_CONFIG, "language": language})
    say(
        "Onboarding: done (country {country}, time zone {time_zone}, {unit_system} units, "
        "currency {currency})".format(**CORE_CONFIG)
    )
    remove_unwanted_entries(
        api, wait=UNWANTED_WAIT if core_config_now else 0.0, say=say, sleep=sleep
    )
    checkpoint()
    if entry_id := _add_mango_account(api, EXTENSIONS, simulator_api_url, say):
        # One account; each extension is a subentry of it.
        state.entries = dict.fromkeys(EXTENSIONS, entry_id)
    create_dashboard(api)
    say(f"Created the dashboard /{DASHBOARD}: calls of each extension")
    # Assist made its pipeline in the language of the first start, once it is loaded.
    waited = 0.0
    while "assist_pipeline" not in api.config().get("components", []):
        if waited > ASSIST_WAIT:
            raise DemoSetupError(f"Assist did not load within {ASSIST_WAIT:.0f} s")
        checkpoint()
        sleep(0.5)
        waited += 0.5
    set_assist_language(api, language)
    say(f"Assist: the pipeline speaks {language}")
    state.provisioned = True
    state.save(config_dir)


def ws(api: HassApi, *commands: dict[str, Any]) -> list[Any]:
    """Send websocket commands as the signed-in user; return their results."""
    assert api.access_token is not None
    return ws_commands(api.base_url, api.access_token, commands)


def set_language(api: HassApi, language: str) -> None:
    """Make `language` the server's and the demo user's language, and reload the entries.

    Entity and device names follow the server's language when an entry loads; the user's
    language translates the rest of the frontend (Settings → System → General and the profile).
    """
    ws(
        api,
        {"type": "config/core/update", "language": language},
        {
            "type": "frontend/set_user_data",
            "key": "language",
            "value": {"language": language, "number_format": "language"},
        },
    )
    set_assist_language(api, language)
    for entry in api.entries(DOMAIN):
        api.request(
            "POST", f"/api/config/config_entries/entry/{entry['entry_id']}/reload"
        )


def set_assist_language(api: HassApi, language: str) -> None:
    """Make Assist's preferred pipeline listen and answer in `language`.

    Home Assistant made it in the server's language of its first start.
    """
    pipeline = ws(api, {"type": "assist_pipeline/pipeline/get"})[0]
    fields = {
        key: value
        for key, value in pipeline.items()
        if key not in {"id", "conversation_language", "language"}
    }
    # A speech engine keeps its own language setting only where it has one.
    for engine, key in (("stt_engine", "stt_language"), ("tts_engine", "tts_language")):
        if fields.get(engine) is not None:
            fields[key] = language
    ws(
        api,
        {
            "type": "assist_pipeline/pipeline/update",
            "pipeline_id": pipeline["id"],
            **fields,
            "conversation_language": language,
            "language": language,
        },
    )


def _registry_ids(api: HassApi) -> dict[tuple[str, str], str]:
    """Map (extension, entity key) to entity ids, through the entries' unique ids."""
    entries = {str(entry["entry_id"]): entry for entry in api.entries(DOMAIN)}
    registry = ws(api, {"type": "config/entity_registry/list"})[0]
    ids: dict[tuple[str, str], str] = {}
    for entity in registry:
        if (
            entity.get("platform") != DOMAIN
            or entity.get("config_entry_id") not in entries
        ):
            continue
        # An extension's unique ids are "<account digest>_<extension>_<key>"; the
        # account's own (IVR calls, route results) have no extension.
        parts = str(entity["unique_id"]).split("_", 2)
        if len(parts) == 3 and parts[1].isdecimal():
            ids[parts[1], parts[2]] = str(entity["entity_id"])
    return ids


def dashboard_config(ids: dict[tuple[str, str], str]) -> dict[str, Any]:
    """A sections view with one section per extension; no text of its own to translate.

    Cards take their names and states from the entities (translated by the frontend and by
    the server's language), so the dashboard reads in the user's language.
    """
    sections = []
    for extension in sorted({extension for extension, _key in ids}):
        entity = {
            key: entity_id for (ext, key), entity_id in ids.items() if ext == extension
        }
        sections.append(
            {
                "type": "grid",
                "cards": [
                    {
                        "type": "heading",
                        "heading": extension,
                        "icon": "mdi:phone-classic",
                        "badges": [{"type": "entity", "entity": entity["connection"]}],
                    },
                    {
                        "type": "tile",
                        "entity": entity["call_state"],
                        "name": ENTITY_NAME,
                        # The state, then the other party (whoever calls or is
                        # called): the phonebook's name and the number.
                        "state_content": ["state", "name", "number"],
                        "grid_options": {"columns": 12},
                    },
                    {
                        "type": "tile",
                        "entity": entity["missed_calls"],
                        "name": ENTITY_NAME,
                        "grid_options": {"columns": 12},
                    },
                    {
                        # Who to call back; a callback that connects ticks it off.
                        "type": "todo-list",
                        "entity": entity["calls_to_return"],
                        "hide_create": True,
                        "grid_options": {"columns": 12},
                    },
                    {
                        "type": "logbook",
                        # The event entities alone: one line per call or recording.
                        "target": {"entity_id": [entity["call"], entity["recording"]]},
                        "hours_to_show": 24,
                        "grid_options": {"columns": 12, "rows": 5},
                    },
                ],
            }
        )
    return {
        "views": [
            {
                "title": "MANGO OFFICE",
                "path": "calls",
                "icon": "mdi:phone",
                "type": "sections",
                "max_columns": 2,
                "sections": sections,
            }
        ]
    }


def create_dashboard(api: HassApi) -> None:
    """Add the calls dashboard to the sidebar and make it the one shown after logging in.

    Run again, it shows the extensions set up since.
    """
    dashboards = ws(api, {"type": "lovelace/dashboards/list"})[0]
    if all(dashboard["url_path"] != DASHBOARD for dashboard in dashboards):
        ws(
            api,
            {
                "type": "lovelace/dashboards/create",
                "url_path": DASHBOARD,
                "title": "MANGO OFFICE",
                "icon": "mdi:phone",
                "show_in_sidebar": True,
                "require_admin": False,
                "mode": "storage",
            },
        )
    ws(
        api,
        {
            "type": "lovelace/config/save",
            "url_path": DASHBOARD,
            "config": dashboard_config(_registry_ids(api)),
        },
        {
            "type": "frontend/set_system_data",
            "key": "core",
            "value": {"default_panel": DASHBOARD},
        },
    )


def use_simulator_port(
    api: HassApi,
    config_dir: Path,
    state: DemoState,
    *,
    simulator_api_url: str,
    port: int,
    say: Say,
) -> None:
    """Point the demo's entries at the simulator's port when it changed since the set-up."""
    if state.simulator_port == port:
        return
    if state.simulator_port is not None:
        for entry_id in sorted(set(state.entries.values())):
            flow = api.request(
                "POST",
                "/api/config/config_entries/flow",
                {"handler": DOMAIN, "entry_id": entry_id},
            )
            result = api.flow_step(
                str(flow["flow_id"]),
                {
                    "token": SIMULATOR_TOKEN,
                    "advanced": {"base_url": simulator_api_url},
                },
            )
            if result.get("reason") != "reconfigure_successful":
                raise DemoSetupError(
                    f"Could not move the account to port {port}: {result}"
                )
        say(f"Moved the entries to the simulator on port {port}")
    state.simulator_port = port
    state.save(config_dir)


def remove_unwanted_entries(
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


def _add_mango_account(
    api: HassApi, extensions: Sequence[str], simulator_api_url: str, say: Say
) -> str | None:
    """Go through the config flow as a user would; then give the account a phonebook.

    Returns the new entry's id (None when the account already had one).
    """
    flow = api.start_flow(DOMAIN)
    if flow.get("type") != "form":
        raise DemoSetupError(f"The {DOMAIN} config flow did not show its form: {flow}")
    result = api.flow_step(
        str(flow["flow_id"]),
        {
            "token": SIMULATOR_TOKEN,
            "extensions": ", ".join(extensions),
            "advanced": {"base_url": simulator_api_url},
        },
    )
    match result.get("type"):
        case "create_entry":
            entry = result.get("result") or {}
            say(
                f"Added the account {entry.get('title')} with extensions "
                f"{' and '.join(extensions)} (simulator, token demo)"
            )
            set_phonebook(api, str(entry["entry_id"]), PHONEBOOK)
            return str(entry["entry_id"])
        case "abort" if result.get("reason") == "already_configured":
            say("The account already has an entry")
            return None
        case _:
            if result.get("type") == "form":
                api.abort_flow(str(flow["flow_id"]))
            raise DemoSetupError(
                f"The {DOMAIN} config flow refused extensions {', '.join(extensions)}: "
                f"{result.get('errors') or result.get('reason') or result}"
            )


def set_phonebook(api: HassApi, entry_id: str, phonebook: str) -> None:
    """Give an entry a phonebook through its options flow."""
    form = api.start_options_flow(entry_id)
    result = api.options_flow_step(str(form["flow_id"]), {"phonebook": phonebook})
    if result.get("type") != "create_entry":
        raise DemoSetupError(f"The phonebook was refused: {result}")
