"""The demo's own pieces that can be checked without starting it (scripts/demo)."""

import inspect
from pathlib import Path
import re

from homeassistant.util.yaml import load_yaml
import yaml

from mango_simulator import SCENARIOS, MangoSimulator
from scripts.demo.__main__ import EXAMPLE_CALLS, FIRST_CALL
from scripts.demo.processes import ROOT
from scripts.demo.provision import (
    READY_AUTOMATIONS,
    dashboard_config,
    install_config_files,
)


def test_example_calls_fit_the_scenarios() -> None:
    """Each command scripts/develop prints, and the first call, starts a scenario with arguments it takes."""
    for _what, body in (*EXAMPLE_CALLS, ("the first call", FIRST_CALL)):
        arguments = dict(body)
        name = str(arguments.pop("name"))
        assert name in SCENARIOS
        inspect.signature(getattr(MangoSimulator, name)).bind(None, **arguments)


def test_install_config_files(tmp_path: Path) -> None:
    """A new configuration gets the included files and the blueprints; no sentence files.

    Blueprints are the repository's again at every start; what the editors wrote stays. The
    integration brings its own sentences, so the demo shows that nothing needs copying.
    """
    install_config_files(tmp_path, ROOT, automations=READY_AUTOMATIONS)
    blueprint = tmp_path / "blueprints/automation/mango_office/ivr_routing.yaml"
    blueprint.write_text("edited")
    (tmp_path / "automations.yaml").write_text("[]\n")

    install_config_files(tmp_path, ROOT, automations=READY_AUTOMATIONS)

    assert (tmp_path / "automations.yaml").read_text() == "[]\n"
    assert (tmp_path / "scripts.yaml").read_text() == ""
    assert (
        blueprint.read_bytes()
        == (ROOT / "blueprints/automation/mango_office/ivr_routing.yaml").read_bytes()
    )
    assert not (tmp_path / "custom_sentences").exists()


def test_ready_automation_uses_the_blueprint(tmp_path: Path) -> None:
    """The demo's automation names the missed-call blueprint and notifies in HA."""
    (tmp_path / "automations.yaml").write_text(READY_AUTOMATIONS)

    [automation] = load_yaml(tmp_path / "automations.yaml")

    assert automation["use_blueprint"] == {
        "path": "mango_office/missed_call_notification.yaml",
        "input": {"persistent_notification": True},
    }


def test_the_readme_shows_the_demos_dashboard() -> None:
    """The README's dashboard is the one the demo makes, card for card."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"### A dashboard\n.*?```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    shown = yaml.safe_load(block.group(1))
    platforms = {
        "connection": "binary_sensor",
        "call_state": "sensor",
        "last_caller": "sensor",
        "missed_calls": "sensor",
        "call": "event",
        "recording": "event",
        "calls_to_return": "todo",
    }
    made = dashboard_config(
        {
            ("101", key): f"{platform}.extension_101_{key}"
            for key, platform in platforms.items()
        }
    )

    assert shown["views"][0]["sections"] == made["views"][0]["sections"]
