"""Voice intents, their sentences and LLM tools, run against the simulator, in English and Russian."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import ANY

from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    intent,
    llm,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office import llm as mango_llm
from custom_components.mango_office.coordinator import MangoCoordinator
from custom_components.mango_office.history import ReturnItem
from custom_components.mango_office.intents import (
    INTENT_CALLBACK,
    INTENT_CALLS_TO_RETURN,
    INTENT_LAST_CALLER,
    INTENT_MISSED_CALLS,
    INTENT_RETURN_CALL,
)
from mango_simulator import MangoSimulator

from .conftest import CALLER, EXTENSION, extension_of, wait_for_state, wait_until
from .helpers import push_call
from .test_services import MOBILE, add_second_entry, set_phonebook

PHONEBOOK = {
    CALLER: "Иван Петров; Ваня",
    MOBILE: "Пётр Иванович Сидоров",
    "+79163333333": "Мария Сидорова",
    "102": "Бухгалтерия",
    "+14155550100": "John Smith",
    "+14155550101": "Anna Smith",
}
MISSED_CALLS = "sensor.extension_101_missed_calls"
LAST_CALLER = "sensor.extension_101_last_caller"


async def handle(
    hass: HomeAssistant, intent_type: str, language: str, **slots: str
) -> intent.IntentResponse:
    """Handle an intent as a voice assistant would, with the slots it heard."""
    return await intent.async_handle(
        hass,
        "test",
        intent_type,
        {key: {"value": value} for key, value in slots.items()},
        language=language,
    )


def speech(response: intent.IntentResponse) -> str:
    """What the assistant says."""
    text: str = response.speech["plain"]["speech"]
    return text


async def start_conversation(hass: HomeAssistant, tmp_path: Path) -> None:
    """Start HA's default agent on a configuration with no custom sentences at all."""
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    # The integration registers its sentences once the agent is set up.
    await hass.async_block_till_done()


async def converse(hass: HomeAssistant, text: str, language: str) -> str:
    """Say something to HA's default agent through conversation.process; return its answer."""
    response = await hass.services.async_call(
        "conversation",
        "process",
        {"text": text, "language": language},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    answer: str = response["response"]["speech"]["plain"]["speech"]
    return answer


@pytest.fixture
async def with_phonebook(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Extension 101 with a phonebook in Russian and English."""
    await set_phonebook(hass, init_integration, PHONEBOOK)


@pytest.mark.usefixtures("with_phonebook")
@pytest.mark.parametrize(
    ("language", "said", "number", "answer"),
    [
        ("ru", "Ивану Петрову", CALLER, "Звоню: Иван Петров."),
        ("ru", "Ване", CALLER, "Звоню: Иван Петров."),
        ("ru-RU", "Петру Ивановичу", MOBILE, "Звоню: Пётр Иванович Сидоров."),
        ("ru", "в бухгалтерию", "102", "Звоню: Бухгалтерия."),
        ("ru", "Джону", "+14155550100", "Звоню: John Smith."),
        ("en", "John", "+14155550100", "Calling John Smith."),
        ("en", "Ivan", CALLER, "Calling Иван Петров."),
        ("en", "8 (495) 000-00-00", "+74950000000", "Calling +74950000000."),
    ],
)
async def test_callback(
    hass: HomeAssistant,
    simulator: MangoSimulator,
    *,
    language: str,
    said: str,
    number: str,
    answer: str,
) -> None:
    """A name in any case or a number rings 101 and dials the number; the speech names the contact."""
    response = await handle(hass, INTENT_CALLBACK, language, name=said)

    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(response).startswith(answer)
    [request] = simulator.requests_to("callback")
    assert request.params == {
        "COMMAND_ID": ANY,
        "EXTENSION": EXTENSION,
        "DESTINATION_NUMBER": number,
    }


@pytest.mark.usefixtures("with_phonebook")
async def test_callback_sends_what_the_action_sends(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """The intent and the mango_office.callback action send the same request."""
    await handle(hass, INTENT_CALLBACK, "ru", name="Марии")
    await hass.services.async_call(
        "mango_office", "callback", {"number": "Марии"}, blocking=True
    )

    by_intent, by_action = simulator.requests_to("callback")
    # Each command has an id of its own; the rest is the same.
    assert by_intent.params.pop("COMMAND_ID") != by_action.params.pop("COMMAND_ID")
    assert (by_intent.method, by_intent.params) == (by_action.method, by_action.params)
    assert by_intent.params["DESTINATION_NUMBER"] == "+79163333333"


@pytest.mark.usefixtures("with_phonebook")
@pytest.mark.parametrize(
    ("language", "said", "answer"),
    [
        (
            "ru",
            "Сидорову",
            (
                "Имени «Сидорову» соответствует несколько записей телефонной книги: "
                "Мария Сидорова, Пётр Иванович Сидоров. Назовите полное имя или номер."
            ),
        ),
        (
            "en",
            "Smith",
            (
                '"Smith" matches several phonebook entries: '
                "Anna Smith, John Smith. Say the whole name or the number."
            ),
        ),
        (
            "ru",
            "Борису",
            "«Борису» — это не номер телефона и не имя из телефонной книги.",
        ),
        (
            "en",
            "Boris",
            '"Boris" is neither a phone number nor a name in the phonebook.',
        ),
    ],
)
async def test_callback_no_single_match(
    hass: HomeAssistant,
    simulator: MangoSimulator,
    language: str,
    said: str,
    answer: str,
) -> None:
    """No match, or several as good: nothing is called, and the speech says so, naming the candidates."""
    response = await handle(hass, INTENT_CALLBACK, language, name=said)

    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == answer
    assert simulator.requests_to("callback") == []


async def test_callback_extension(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """With two extensions the request must say which one rings; an unknown one is said."""
    await add_second_entry(hass, simulator)

    response = await handle(hass, INTENT_CALLBACK, "en", name="Ivan")
    assert speech(response) == (
        "Several extensions are set up: 101, 102. Say which one you mean, "
        "for example: “… extension 101”."
    )
    response = await handle(hass, INTENT_CALLBACK, "ru", name="Ivan", extension="105")
    assert speech(response) == "Внутренний номер MANGO OFFICE 105 не настроен."
    assert simulator.requests_to("callback") == []

    response = await handle(
        hass, INTENT_CALLBACK, "en", name="+7 916 123-45-67", extension="extension 102"
    )
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    [request] = simulator.requests_to("callback")
    assert request.params == {
        "COMMAND_ID": ANY,
        "EXTENSION": "102",
        "DESTINATION_NUMBER": MOBILE,
    }


async def test_callback_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """When the service fails, the speech says why in the request's language."""
    simulator.fail_next("callback")

    response = await handle(hass, INTENT_CALLBACK, "ru", name=MOBILE)

    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response).startswith("Не удалось связаться с MANGO OFFICE: ")


async def test_not_connected(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """With no extension loaded, each intent says so."""
    await hass.config_entries.async_unload(init_integration.entry_id)

    for intent_type in (
        INTENT_CALLBACK,
        INTENT_LAST_CALLER,
        INTENT_MISSED_CALLS,
        INTENT_CALLS_TO_RETURN,
        INTENT_RETURN_CALL,
    ):
        response = await handle(hass, intent_type, "en", name="Ivan")
        assert speech(response) == "No MANGO OFFICE extension is connected."


@pytest.mark.usefixtures("with_phonebook")
async def test_last_caller(hass: HomeAssistant, simulator: MangoSimulator) -> None:
    """The last caller is named by the phonebook, with when they called."""
    response = await handle(hass, INTENT_LAST_CALLER, "en")
    assert speech(response) == "No call has come in yet."

    now = dt_util.utcnow().replace(microsecond=0)
    cases = [
        (
            now - timedelta(days=3),
            "on {:%Y-%m-%d} at {:%H:%M}",
            "{:%d.%m.%Y} в {:%H:%M}",
        ),
        (now - timedelta(days=1), "yesterday at {1:%H:%M}", "вчера в {1:%H:%M}"),
        (now, "today at {1:%H:%M}", "сегодня в {1:%H:%M}"),
    ]
    for seq, (time, english, russian) in enumerate(cases, start=1):
        local = dt_util.as_local(time)
        await push_call(
            simulator,
            f"c{seq}",
            0,
            "APPEARED",
            caller={"number": CALLER},
            timestamp=int(time.timestamp()),
        )
        await wait_for_state(hass, LAST_CALLER, CALLER)
        await _wait_last_caller_time(hass, time)

        response = await handle(hass, INTENT_LAST_CALLER, "en")
        when = english.format(local, local)
        assert speech(response) == f"The last call came from Иван Петров, {when}."
        response = await handle(hass, INTENT_LAST_CALLER, "ru")
        when = russian.format(local, local)
        assert speech(response) == f"Последний звонок: Иван Петров, {when}."


async def _wait_last_caller_time(hass: HomeAssistant, time: datetime) -> None:
    """Wait until the last-caller sensor shows a call at this time."""

    def _shown() -> bool:
        state = hass.states.get(LAST_CALLER)
        return state is not None and state.attributes.get("time") == time.isoformat()

    await wait_until(_shown)


async def test_last_caller_unknown_number(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A caller outside the phonebook is said by number, one who hid it as hidden."""
    time = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)
    await push_call(
        simulator,
        "c1",
        0,
        "APPEARED",
        caller={"number": "+74990000000"},
        timestamp=int(time.timestamp()),
    )
    await _wait_last_caller_time(hass, time)
    response = await handle(hass, INTENT_LAST_CALLER, "en")
    assert speech(response).startswith("The last call came from +74990000000, on ")

    later = time + timedelta(hours=1)
    await push_call(
        simulator, "c2", 0, "APPEARED", caller={}, timestamp=int(later.timestamp())
    )
    await _wait_last_caller_time(hass, later)
    response = await handle(hass, INTENT_LAST_CALLER, "ru")
    assert speech(response).startswith("Последний звонок: скрытый номер, ")


async def test_missed_calls(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The count of missed calls, as the sensor has it."""
    response = await handle(hass, INTENT_MISSED_CALLS, "en")
    assert speech(response) == "No missed calls."
    response = await handle(hass, INTENT_MISSED_CALLS, "ru")
    assert speech(response) == "Пропущенных звонков нет."

    await simulator.incoming_missed(EXTENSION)
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, MISSED_CALLS, "2")

    response = await handle(hass, INTENT_MISSED_CALLS, "en")
    assert speech(response) == "Missed calls: 2."
    response = await handle(hass, INTENT_MISSED_CALLS, "ru", extension="101")
    assert speech(response) == "Пропущенных звонков: 2."


async def test_the_satellite_area_picks_the_extension(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    area_registry: ar.AreaRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """With two extensions the satellite's area picks one; elsewhere the user is asked."""
    second = await add_second_entry(hass, simulator)
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, MISSED_CALLS, "1")
    office = area_registry.async_create("Office")
    hall = area_registry.async_create("Hall")
    device_registry.async_update_device(second.device_id, area_id=office.id)
    other = MockConfigEntry(domain="satellite")
    other.add_to_hass(hass)
    satellite = device_registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("satellite", "kitchen")}
    )

    async def _ask(area_id: str | None) -> intent.IntentResponse:
        device_registry.async_update_device(satellite.id, area_id=area_id)
        return await intent.async_handle(
            hass, "test", INTENT_MISSED_CALLS, {}, language="en", device_id=satellite.id
        )

    # In the office: 102's count, not the sum of both.
    assert speech(await _ask(office.id)) == "No missed calls."
    for area_id in (hall.id, None):
        response = await _ask(area_id)
        assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
        assert speech(response) == (
            "Several extensions are set up: 101, 102. Say which one you mean, "
            "for example: “… extension 101”."
        )
    device_registry.async_update_device(
        extension_of(init_integration).device_id, area_id=hall.id
    )
    assert speech(await _ask(hall.id)) == "Missed calls: 1."


async def test_missed_calls_while_disconnected(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """While the sensor is unavailable the count is not known, and the speech says so."""
    simulator.refuse_websockets(30)
    await simulator.drop_websockets()
    await wait_for_state(hass, MISSED_CALLS, "unavailable")

    response = await handle(hass, INTENT_MISSED_CALLS, "en")
    assert speech(response) == (
        "The number of missed calls is not known right now: "
        "the missed calls sensor is unavailable or disabled."
    )


@pytest.mark.usefixtures("with_phonebook")
async def test_llm_tools(hass: HomeAssistant, simulator: MangoSimulator) -> None:
    """The Assist API offers the intents to LLM agents, described, and calling one places the call."""
    assert await async_setup_component(hass, "llm", {})
    context = llm.LLMContext(
        platform="test",
        context=None,
        language="ru",
        assistant="conversation",
        device_id=None,
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    tools = {tool.name: tool for tool in api.tools}

    callback = tools["mango_office__MangoOfficeCallback"]
    assert isinstance(callback, llm.IntentTool)
    assert callback.intent_type == INTENT_CALLBACK
    assert "phonebook" in (callback.description or "")
    parameters = {str(key): key for key in callback.parameters.schema}
    assert set(parameters) == {"name", "extension"}
    assert "grammatical case" in parameters["name"].description
    assert {
        "mango_office__MangoOfficeLastCaller",
        "mango_office__MangoOfficeMissedCalls",
        "mango_office__MangoOfficeCallsToReturn",
        "mango_office__MangoOfficeReturnCall",
    } <= set(tools)
    assert tools["mango_office__MangoOfficeMissedCalls"].annotations.read_only
    assert tools["mango_office__MangoOfficeCallsToReturn"].annotations.read_only
    assert not tools["mango_office__MangoOfficeReturnCall"].annotations.read_only

    result = await api.async_call_tool(
        llm.ToolInput(
            tool_name="mango_office__MangoOfficeCallback",
            tool_args={"name": "Ивану Петрову", "extension": ""},
        )
    )

    assert result.data["speech"]["plain"]["speech"].startswith("Звоню: Иван Петров.")
    [request] = simulator.requests_to("callback")
    assert request.params == {
        "COMMAND_ID": ANY,
        "EXTENSION": EXTENSION,
        "DESTINATION_NUMBER": CALLER,
    }
    # Other LLM APIs get nothing from this integration.
    assert mango_llm.async_get_tools(hass, context, "other") is None


async def test_other_languages_get_english(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A language the integration has no sentences in is answered in English."""
    response = await handle(hass, INTENT_MISSED_CALLS, "de")
    assert speech(response) == "No missed calls."


# -- sentences: what HA's default agent understands, with nothing to copy ------


@pytest.mark.usefixtures("with_phonebook")
@pytest.mark.parametrize(
    ("language", "text", "answer"),
    [
        ("ru", "позвони Ивану Петрову", "Звоню: Иван Петров."),
        ("ru", "набери бухгалтерию", "Звоню: Бухгалтерия."),
        ("ru", "перезвони Ване", "Звоню: Иван Петров."),
        ("ru", "кто мне звонил последним", "Входящих звонков ещё не было."),
        ("ru", "сколько у меня пропущенных звонков", "Пропущенных звонков нет."),
        ("ru", "кому мне перезвонить?", "Перезванивать никому не нужно."),
        ("ru", "перезвони", "Перезванивать никому не нужно."),
        ("en", "call John Smith", "Calling John Smith."),
        ("en", "dial Ivan", "Calling Иван Петров."),
        ("en", "Who called me last?", "No call has come in yet."),
        ("en", "how many missed calls do I have", "No missed calls."),
        ("en", "who do I need to call back?", "No calls to return."),
        # Not a call to someone named "back".
        ("en", "call back", "No calls to return."),
    ],
)
async def test_sentences(
    hass: HomeAssistant,
    simulator: MangoSimulator,
    tmp_path: Path,
    *,
    language: str,
    text: str,
    answer: str,
) -> None:
    """Each sentence reaches its intent through HA's default agent; no file is copied anywhere."""
    await start_conversation(hass, tmp_path)

    assert (await converse(hass, text, language)).startswith(answer)
    assert not (tmp_path / "custom_sentences").exists()
    calls = simulator.requests_to("callback")
    assert len(calls) == (1 if answer.startswith(("Звоню", "Calling")) else 0)


@pytest.mark.usefixtures("with_phonebook")
async def test_sentences_name_the_extension(
    hass: HomeAssistant, simulator: MangoSimulator, tmp_path: Path
) -> None:
    """With two extensions a sentence says which one; without, the answer says how."""
    await add_second_entry(hass, simulator)
    await start_conversation(hass, tmp_path)

    assert await converse(hass, "call John Smith", "en") == (
        "Several extensions are set up: 101, 102. Say which one you mean, "
        "for example: “… extension 101”."
    )
    assert await converse(hass, "перезвони", "ru") == (
        "Подключено несколько внутренних номеров: 101, 102. Скажите, какой из них "
        "вы имеете в виду, например: «… на номере 101» или «… с номера 101»."
    )
    assert simulator.requests_to("callback") == []

    said = await converse(hass, "call John Smith from extension 102", "en")
    assert said.startswith("Calling John Smith.")
    said = await converse(hass, "позвони Ивану Петрову с номера 101", "ru")
    assert said.startswith("Звоню: Иван Петров.")
    assert [
        (request.params["EXTENSION"], request.params["DESTINATION_NUMBER"])
        for request in simulator.requests_to("callback")
    ] == [("102", "+14155550100"), ("101", CALLER)]

    said = await converse(hass, "сколько пропущенных на номере 102", "ru")
    assert said == "Пропущенных звонков нет."
    said = await converse(hass, "who called me last on extension 103", "en")
    assert said == "No MANGO OFFICE extension 103 is set up."
    said = await converse(hass, "who called me last on extension one", "en")
    assert said == "No MANGO OFFICE extension one is set up."
    said = await converse(hass, "кому мне перезвонить на номере сто", "ru")
    assert said == "Внутренний номер MANGO OFFICE сто не настроен."


# -- calls to return ------------------------------------------------------------


async def miss_calls(
    simulator: MangoSimulator, coordinator: MangoCoordinator, callers: list[str]
) -> None:
    """Calls from these numbers that nobody answers, each on the list before the next."""
    for total, caller in enumerate(callers, start=1):
        await simulator.incoming_missed(EXTENSION, caller=caller)
        await wait_until(
            lambda total=total: (
                sum(
                    item.missed
                    for item in coordinator.records.calls_to_return.open_items()
                )
                == total
            )
        )


def today(time: datetime, language: str) -> str:
    """How the speech says a time of today."""
    clock = f"{dt_util.as_local(time):%H:%M}"
    return f"today at {clock}" if language == "en" else f"сегодня в {clock}"


def spoken(item: ReturnItem, language: str) -> str:
    """How the speech says one call to return."""
    who = item.name or item.number
    when = today(item.last_missed_at, language)
    if item.missed == 1:
        return f"{who}, called {when}" if language == "en" else f"{who}, звонок {when}"
    if language == "en":
        return f"{who}, {item.missed} missed calls, the last {when}"
    return f"{who}, пропущено звонков: {item.missed}, последний {when}"


@pytest.mark.usefixtures("with_phonebook")
@pytest.mark.parametrize(
    ("language", "text", "answer"),
    [
        ("en", "who do I need to call back?", "Calls to return: 4. {}; and 1 more."),
        ("ru", "кому мне перезвонить?", "Нужно перезвонить: 4. {}; и ещё 1."),
    ],
)
async def test_calls_to_return(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    tmp_path: Path,
    *,
    language: str,
    text: str,
    answer: str,
) -> None:
    """The list read out: newest first, by name else number, how many missed, three at most."""
    coordinator = extension_of(init_integration)
    await start_conversation(hass, tmp_path)
    await miss_calls(
        simulator,
        coordinator,
        [CALLER, "+74990000000", CALLER, MOBILE, "+14155550100"],
    )
    items = coordinator.records.calls_to_return.open_items()
    assert sorted(item.missed for item in items) == [1, 1, 1, 2]

    said = await converse(hass, text, language)

    assert said == answer.format(
        "; ".join(spoken(item, language) for item in items[:3])
    )


@pytest.mark.usefixtures("with_phonebook")
async def test_calls_to_return_by_number(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A number outside the phonebook is said as the number; the LLM path answers the same."""
    coordinator = extension_of(init_integration)
    await miss_calls(simulator, coordinator, ["+74990000000"])
    [item] = coordinator.records.calls_to_return.open_items()

    response = await handle(hass, INTENT_CALLS_TO_RETURN, "en")
    assert speech(response) == (
        f"Calls to return: 1. +74990000000, called {today(item.last_missed_at, 'en')}."
    )


@pytest.mark.usefixtures("with_phonebook")
@pytest.mark.parametrize(
    ("language", "text", "answer"),
    [("en", "call back", "Calling {}."), ("ru", "перезвони", "Звоню: {}.")],
)
async def test_return_call(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    tmp_path: Path,
    *,
    language: str,
    text: str,
    answer: str,
) -> None:
    """Call back: the newest item is called back from its extension, as the callback action does."""
    coordinator = extension_of(init_integration)
    await start_conversation(hass, tmp_path)
    await miss_calls(simulator, coordinator, [MOBILE, CALLER])
    newest = coordinator.records.calls_to_return.open_items()[0]

    said = await converse(hass, text, language)

    assert said.startswith(answer.format(newest.name))
    [request] = simulator.requests_to("callback")
    assert request.params == {
        "COMMAND_ID": ANY,
        "EXTENSION": EXTENSION,
        "DESTINATION_NUMBER": newest.number,
    }
