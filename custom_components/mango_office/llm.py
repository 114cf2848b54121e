"""The integration's intents as tools of Home Assistant's Assist API for LLM conversation agents."""

from typing import Final

from homeassistant.components.llm import LLMTools
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.llm import (
    LLM_API_ASSIST,
    IntentTool,
    LLMContext,
    ToolAnnotations,
)

from .const import DOMAIN
from .intents import (
    INTENT_CALLBACK,
    INTENT_CALLS_TO_RETURN,
    INTENT_LAST_CALLER,
    INTENT_MISSED_CALLS,
    INTENT_RETURN_CALL,
)

# Title and what the tool does to the world, by intent.
TOOLS: Final = {
    # A call reaches a person outside Home Assistant, and each one rings again.
    INTENT_CALLBACK: ("Call a contact", ToolAnnotations(open_world=True)),
    INTENT_LAST_CALLER: (
        "Last caller",
        ToolAnnotations(read_only=True, open_world=False),
    ),
    INTENT_MISSED_CALLS: (
        "Missed calls",
        ToolAnnotations(read_only=True, open_world=False),
    ),
    INTENT_CALLS_TO_RETURN: (
        "Calls to return",
        ToolAnnotations(read_only=True, open_world=False),
    ),
    INTENT_RETURN_CALL: ("Call back", ToolAnnotations(open_world=True)),
}


@callback
def async_get_tools(
    hass: HomeAssistant, llm_context: LLMContext, api_id: str
) -> LLMTools | None:
    """Offer the integration's intents to an LLM that uses the Assist API."""
    if api_id != LLM_API_ASSIST:
        return None
    return LLMTools(
        tools=[
            IntentTool(
                f"{DOMAIN}__{handler.intent_type}",
                handler,
                title=TOOLS[handler.intent_type][0],
                integration=DOMAIN,
                annotations=TOOLS[handler.intent_type][1],
            )
            for handler in intent.async_get(hass)
            if handler.intent_type in TOOLS
        ]
    )
