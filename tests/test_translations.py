"""Every string exists in English and Russian, and every key the code uses has one."""

import json
from pathlib import Path
import re
from typing import Any

import pytest

from custom_components.mango_office import calls

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "mango_office"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text())


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_english_is_strings_json() -> None:
    """translations/en.json is what strings.json says (custom integrations ship both)."""
    assert json.loads((INTEGRATION / "translations" / "en.json").read_text()) == STRINGS


def test_russian_has_every_string() -> None:
    """Russian has the same keys, the same placeholders, and is written in Russian."""
    english = _flatten(STRINGS)
    russian = _flatten(
        json.loads((INTEGRATION / "translations" / "ru.json").read_text())
    )

    assert russian.keys() == english.keys()
    for key, text in english.items():
        assert set(re.findall(r"{\w+}", russian[key])) == set(
            re.findall(r"{\w+}", text)
        ), key
        if key.endswith(("message", "description", "title")):
            assert re.search("[\u0400-\u04ff]", russian[key]), (
                f"{key} is not translated"
            )


@pytest.mark.parametrize(
    "key",
    [
        "exceptions.auth_failed.message",
        "exceptions.cannot_connect.message",
        "issues.extension_refused.title",
        "exceptions.extension_needed.message",
        *(
            f"entity.event.call.state_attributes.event_type.state.{t}"
            for t in calls.CALL_EVENT_TYPES
        ),
    ],
)
def test_keys_the_code_raises_exist(key: str) -> None:
    """Errors raised at setup and the call event types have their strings."""
    assert key in _flatten(STRINGS)


def test_icons_cover_every_entity_and_action() -> None:
    """Each translated entity and each action has an icon."""
    icons = json.loads((INTEGRATION / "icons.json").read_text())
    for platform, entities in STRINGS["entity"].items():
        assert set(entities) == set(icons["entity"][platform]), platform
    assert set(STRINGS["services"]) == set(icons["services"])
