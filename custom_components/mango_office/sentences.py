"""The integration's own sentences for Home Assistant's default conversation agent.

The default agent reads sentences from the home-assistant-intents package and from the user's
<config>/custom_sentences only: an integration has no place of its own there. What any
integration may do is attach a conversation trigger (the one automations use) with Home
Assistant's trigger helper, so that is how the sentences of sentences/*.yaml are registered.

A conversation trigger is matched before any intent, in every language, and it takes each list
for a wildcard. So one trigger holds every sentence, and only tells that one of ours was said;
hassil then picks the intent and slots with the real lists (an extension is a number) and prefers
literal words to wildcards: "call back" is the newest call to return, not a call to "back".
"""

from collections.abc import Mapping
import logging
from pathlib import Path
import re
from typing import Any, Final

from hassil import Intents, merge_dict, recognize_best
from homeassistant.const import CONF_COMMAND, CONF_PLATFORM
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.script import ScriptRunResult
from homeassistant.helpers.trigger import (
    async_initialize_triggers,
    async_validate_trigger_config,
)
from homeassistant.util.yaml import load_yaml_dict

from .const import DOMAIN
from .intents import CONVERSATION

_LOGGER = logging.getLogger(__name__)

SENTENCES_DIR: Final = Path(__file__).parent / "sentences"
LANGUAGES: Final = ("en", "ru")
EXTENSION_LIST: Final = "mango_extension"
_RULE: Final = re.compile(r"<([^<>]+)>")
_LIST_AS_SLOT: Final = re.compile(r"\{[^{}:]+:([^{}]+)\}")


def load_sentences() -> dict[str, Any]:
    """Read every language's sentence file into one hassil dictionary (does file I/O)."""
    sentences: dict[str, Any] = {}
    for language in LANGUAGES:
        # The files name their rules apart, so the languages merge without clashes.
        merge_dict(sentences, load_yaml_dict(SENTENCES_DIR / f"{language}.yaml"))
    return sentences


def trigger_templates(sentences: Mapping[str, Any]) -> list[str]:
    """Every sentence template, in the form a trigger takes.

    A trigger knows no expansion rules, so they are written out; and it makes a wildcard
    list of each slot's name, so "{mango_contact:name}" becomes "{name}".
    """
    rules: Mapping[str, str] = sentences.get("expansion_rules", {})

    def expand(template: str) -> str:
        template = _RULE.sub(lambda match: f"({expand(rules[match[1]])})", template)
        return _LIST_AS_SLOT.sub(r"{\1}", template)

    return [
        expand(template)
        for intent_sentences in sentences["intents"].values()
        for data in intent_sentences["data"]
        for template in data["sentences"]
    ]


class Sentences:
    """The trigger's action: understand what was said and handle it as the intent."""

    def __init__(self, hass: HomeAssistant, sentences: dict[str, Any]) -> None:
        """Parse the sentences once, strictly and as the trigger took them."""
        self._hass = hass
        self._intents = Intents.from_dict(sentences)
        # An extension said in words ("extension one") still gets its answer.
        self._loose = Intents.from_dict(
            {
                **sentences,
                "lists": {**sentences["lists"], EXTENSION_LIST: {"wildcard": True}},
            }
        )

    async def async_heard(
        self, run_variables: dict[str, Any], context: Context | None = None
    ) -> ScriptRunResult:
        """Handle the intent said; the answer is what the agent says."""
        trigger = run_variables["trigger"]
        user_input = trigger["user_input"]
        text = trigger["sentence"]
        result = recognize_best(text, self._intents) or recognize_best(
            text, self._loose
        )
        # The trigger matched one of these very sentences.
        assert result is not None
        response = await intent.async_handle(
            self._hass,
            DOMAIN,
            result.intent.name,
            {
                name: {
                    # A range list's value is a number: 101.0 is extension "101".
                    "value": str(int(entity.value))
                    if isinstance(entity.value, float | int)
                    else str(entity.value).strip(),
                    "text": entity.text.strip(),
                }
                for name, entity in result.entities.items()
            },
            text_input=text,
            context=Context(**user_input["context"]),
            language=user_input["language"],
            assistant=CONVERSATION,
            device_id=trigger["device_id"],
            satellite_id=trigger["satellite_id"],
        )
        return ScriptRunResult(
            conversation_response=response.speech["plain"]["speech"],
            service_response=None,
            variables={},
        )


async def async_register_sentences(hass: HomeAssistant) -> CALLBACK_TYPE | None:
    """Teach the default agent the integration's sentences, in English and Russian."""
    sentences = await hass.async_add_executor_job(load_sentences)
    config = await async_validate_trigger_config(
        hass,
        [{CONF_PLATFORM: CONVERSATION, CONF_COMMAND: trigger_templates(sentences)}],
    )
    return await async_initialize_triggers(
        hass,
        config,
        Sentences(hass, sentences).async_heard,
        DOMAIN,
        "sentences",
        lambda level, message, **kwargs: _LOGGER.log(
            level, "%s for the voice sentences", message, **kwargs
        ),
    )
