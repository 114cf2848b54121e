"""The integration's intents and call history as tools of Home Assistant's Assist API for LLM agents."""

from typing import Final, override

from homeassistant.components.llm import LLMTools
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.llm import (
    LLM_API_ASSIST,
    IntentTool,
    LLMContext,
    Tool,
    ToolAnnotations,
    ToolInput,
)
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType
import probatio
import voluptuous as vol

from .const import DOMAIN
from .history import MAX_HISTORY, OUTCOMES
from .intents import (
    INTENT_CALLBACK,
    INTENT_CALLS_TO_RETURN,
    INTENT_LAST_CALLER,
    INTENT_MISSED_CALLS,
    INTENT_RETURN_CALL,
)
from .services import calls_response, loaded_coordinators

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
            GetCallsTool(),
            *(
                IntentTool(
                    f"{DOMAIN}__{handler.intent_type}",
                    handler,
                    title=TOOLS[handler.intent_type][0],
                    integration=DOMAIN,
                    annotations=TOOLS[handler.intent_type][1],
                )
                for handler in intent.async_get(hass)
                if handler.intent_type in TOOLS
            ),
        ]
    )


class GetCallsTool(Tool):
    """The call history, as the get_calls action returns it."""

    name = f"{DOMAIN}__get_calls"
    title = "Call history"
    description = (
        "Lists the user's MANGO OFFICE phone calls, the latest first: the other "
        "party's number and name, direction (in, out, internal), start, answer and "
        "end times, talk time in seconds and outcome. Use it for questions about "
        "past calls, such as who called today or which calls were missed."
    )
    parameters = probatio.Schema(
        {
            probatio.Optional(
                "extension",
                description="The user's own extension (e.g. 101); leave out for all.",
            ): str,
            probatio.Optional(
                "outcome", description="Only calls that ended this way."
            ): vol.In(OUTCOMES),
            probatio.Optional(
                "since",
                description="Only calls that started at or after this ISO 8601 time.",
            ): str,
            probatio.Optional(
                "limit", description="At most this many calls (default 20)."
            ): vol.All(int, vol.Range(min=1, max=MAX_HISTORY)),
        }
    )
    annotations = ToolAnnotations(read_only=True, open_world=False)
    integration = DOMAIN

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: ToolInput, llm_context: LLMContext
    ) -> JsonObjectType:
        """Return the calls that pass the filters."""
        args = tool_input.tool_args
        coordinators = loaded_coordinators(hass)
        if extension := args.get("extension"):
            coordinators = [c for c in coordinators if c.extension == str(extension)]
        since = None
        if isinstance(text := args.get("since"), str) and text:
            if (since := dt_util.parse_datetime(text)) is None:
                return {"error": f"Not a time: {text}"}
            if since.tzinfo is None:
                since = since.replace(tzinfo=dt_util.get_default_time_zone())
        outcome = args.get("outcome")
        return calls_response(
            coordinators,
            since,
            None if outcome is None else [outcome],
            int(args.get("limit") or 20),
        )
