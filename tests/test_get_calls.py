"""The get_calls action: the call history as response data, for scripts and agents."""

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.mango_office.const import DOMAIN
from mango_simulator import MangoSimulator

from .conftest import CALLER, CALLER_NAME, EXTENSION, extension_of, wait_until

OTHER = "+74957770000"


async def _get_calls(hass: HomeAssistant, **data: Any) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        DOMAIN, "get_calls", data, blocking=True, return_response=True
    )
    assert response is not None
    return response["calls"]  # type: ignore[return-value]


async def _three_calls(
    entry: MockConfigEntry, simulator: MangoSimulator
) -> dict[str, str]:
    """A missed call, an answered one and a callback, one after another."""
    missed = await simulator.incoming_missed(EXTENSION)
    answered = await simulator.incoming_answered(
        EXTENSION, caller=OTHER, talk_seconds=0.0, record=False
    )
    placed = await simulator.outgoing_callback(EXTENSION, destination=OTHER)
    history = extension_of(entry).records.history
    await wait_until(
        lambda: (
            (call := history.get(placed["entry_id"])) is not None
            and call.ended_at is not None
        )
    )
    return {
        "missed": missed["entry_id"],
        "answered": answered["entry_id"],
        "callback": placed["entry_id"],
    }


async def test_the_history_latest_first(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Who, which way, when, how long and how each call ended."""
    ids = await _three_calls(init_integration, simulator)
    calls = await _get_calls(hass)
    assert [call["entry_id"] for call in calls] == [
        ids["callback"],
        ids["answered"],
        ids["missed"],
    ]
    missed = calls[2]
    assert missed["extension"] == EXTENSION
    assert missed["direction"] == "in"
    assert (missed["number"], missed["name"]) == (CALLER, CALLER_NAME)
    assert missed["outcome"] == "missed"
    assert missed["answered_at"] is None
    assert missed["talk_time"] is None
    assert dt_util.parse_datetime(missed["ended_at"]) >= dt_util.parse_datetime(
        missed["started_at"]
    )
    assert (calls[1]["outcome"], calls[1]["number"]) == ("answered", OTHER)
    assert calls[1]["talk_time"] is not None
    assert (calls[0]["direction"], calls[0]["outcome"]) == ("out", "answered")


async def test_filters(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """By extension (its device), outcome, start time and count."""
    ids = await _three_calls(init_integration, simulator)
    device_id = extension_of(init_integration).device_id

    missed = await _get_calls(hass, device_id=device_id, outcome="missed")
    assert [call["entry_id"] for call in missed] == [ids["missed"]]
    both = await _get_calls(hass, outcome=["missed", "answered"], limit=2)
    assert [call["entry_id"] for call in both] == [ids["callback"], ids["answered"]]
    assert await _get_calls(hass, outcome="busy") == []
    later = dt_util.now() + timedelta(minutes=1)
    assert await _get_calls(hass, since=later.isoformat()) == []
    earlier = dt_util.now() - timedelta(days=400)
    assert (
        len(await _get_calls(hass, since=earlier.replace(tzinfo=None).isoformat())) == 3
    )
    assert len(await _get_calls(hass, config_entry_id=init_integration.entry_id)) == 3


async def test_bad_arguments_are_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An unknown outcome, limit or device is a validation error."""
    with pytest.raises(vol.Invalid):
        await _get_calls(hass, outcome="exploded")
    with pytest.raises(vol.Invalid):
        await _get_calls(hass, limit=0)
    with pytest.raises(ServiceValidationError) as err:
        await _get_calls(hass, device_id="nope")
    assert err.value.translation_key == "unknown_device"


async def test_recordings_are_listed_without_their_link(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A call's recordings by id; get_record gives a fresh link."""
    ids = await simulator.incoming_answered(EXTENSION, talk_seconds=0.0, duration=30)
    history = extension_of(init_integration).records.history
    await wait_until(
        lambda: (
            (call := history.get(ids["entry_id"])) is not None
            and any(recording.ready for recording in call.recordings)
        )
    )
    (call,) = await _get_calls(hass)
    assert call["recordings"] == [
        {"record_id": ids["record_id"], "duration": 30, "ready": True}
    ]


async def test_llm_agents_get_the_history(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The Assist API offers the history as a read-only tool with the same filters."""
    ids = await _three_calls(init_integration, simulator)
    assert await async_setup_component(hass, "llm", {})
    context = llm.LLMContext(
        platform="test",
        context=None,
        language="en",
        assistant="conversation",
        device_id=None,
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    tool = next(tool for tool in api.tools if tool.name == "mango_office__get_calls")
    assert tool.annotations.read_only
    assert {str(key) for key in tool.parameters.schema} == {
        "extension",
        "outcome",
        "since",
        "limit",
    }

    async def ask(**args: Any) -> Any:
        result = await api.async_call_tool(
            llm.ToolInput(tool_name="mango_office__get_calls", tool_args=args)
        )
        return result.data

    missed = await ask(extension=EXTENSION, outcome="missed")
    assert [call["entry_id"] for call in missed["calls"]] == [ids["missed"]]
    assert missed["calls"][0]["name"] == CALLER_NAME
    assert len((await ask(limit=2))["calls"]) == 2
    assert (await ask(extension="999"))["calls"] == []
    yesterday = (dt_util.now() - timedelta(days=1)).replace(tzinfo=None)
    assert len((await ask(since=yesterday.isoformat()))["calls"]) == 3
    assert (await ask(since="soon")) == {"error": "Not a time: soon"}
