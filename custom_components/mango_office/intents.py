"""Voice and LLM intents: call someone, who called last, missed calls, whom to call back, call back."""

from abc import abstractmethod
from datetime import datetime, timedelta
from typing import Any, Final, override

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    intent,
    translation,
)
from homeassistant.setup import async_when_setup
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .coordinator import MangoCoordinator
from .services import async_place_callback, loaded_coordinators

INTENT_CALLBACK: Final = "MangoOfficeCallback"
INTENT_LAST_CALLER: Final = "MangoOfficeLastCaller"
INTENT_MISSED_CALLS: Final = "MangoOfficeMissedCalls"
INTENT_CALLS_TO_RETURN: Final = "MangoOfficeCallsToReturn"
INTENT_RETURN_CALL: Final = "MangoOfficeReturnCall"

CONVERSATION: Final = "conversation"

# How many calls to return are read out; the rest are counted.
SPOKEN_ITEMS: Final = 3

SLOT_NAME: Final = "name"
SLOT_EXTENSION: Final = "extension"

_EXTENSION_SLOT: Final = {
    vol.Optional(
        SLOT_EXTENSION,
        description=(
            "The user's own MANGO OFFICE extension (internal number, e.g. 101). "
            "Leave it out unless the user names one."
        ),
    ): cv.string
}


class MangoIntentHandler(intent.IntentHandler):
    """What the intents share: the extension they are about, and speech in the request's language."""

    @property
    @override
    def slot_schema(self) -> dict[Any, Any] | None:
        """Every intent may name the extension."""
        return _EXTENSION_SLOT

    @override
    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Answer in the language of the request; a failure is said, not raised."""
        slots = self.async_validate_slots(intent_obj.slots)
        response = intent_obj.create_response()
        speech = _Speech(intent_obj.hass, intent_obj.language)
        await speech.async_load()
        try:
            coordinators = [
                _coordinator(
                    intent_obj.hass,
                    slots.get(SLOT_EXTENSION, {}).get("value"),
                    intent_obj.device_id,
                )
            ]
            text = await self.async_answer(intent_obj.hass, coordinators, slots, speech)
        except HomeAssistantError as err:
            response.async_set_error(
                # Nobody or several matched, or no such extension: not a failure.
                intent.IntentResponseErrorCode.NO_VALID_TARGETS
                if isinstance(err, ServiceValidationError)
                else intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
                speech.error(err),
            )
        else:
            response.async_set_speech(text)
        return response

    @abstractmethod
    async def async_answer(
        self,
        hass: HomeAssistant,
        coordinators: list[MangoCoordinator],
        slots: dict[str, Any],
        speech: _Speech,
    ) -> str:
        """Do what was asked for the extensions meant; return what to say."""


class CallbackIntentHandler(MangoIntentHandler):
    """Call a phonebook name or a number, as the callback action does."""

    intent_type = INTENT_CALLBACK
    description = (
        "Places a phone call through the MANGO OFFICE office phone system: the "
        "user's own desk phone rings first, and when they pick up, the PBX dials "
        "the contact. Use it when the user asks to call, phone, ring or dial "
        "someone (in Russian: позвони, набери, перезвони). The contact is "
        "looked up in the integration's phonebook."
    )

    @property
    @override
    def slot_schema(self) -> dict[Any, Any] | None:
        """A name or number, and optionally the extension whose phone rings."""
        return {
            vol.Required(
                SLOT_NAME,
                description=(
                    "Who to call, exactly as the user said it: a phonebook name "
                    "in any grammatical case or language, part of one (first "
                    "name, surname, patronymic), an alias, a department, or a "
                    "phone number in any usual form. For example: Ивану Петрову, "
                    "бухгалтерию, John, +7 916 123-45-67."
                ),
            ): intent.non_empty_string,
            **_EXTENSION_SLOT,
        }

    @override
    async def async_answer(
        self,
        hass: HomeAssistant,
        coordinators: list[MangoCoordinator],
        slots: dict[str, Any],
        speech: _Speech,
    ) -> str:
        """Place the callback from the one extension meant."""
        placed = await async_place_callback(coordinators[0], slots[SLOT_NAME]["value"])
        return speech.say("speech_calling", name=placed.name or placed.number)


class LastCallerIntentHandler(MangoIntentHandler):
    """Who called last, and when."""

    intent_type = INTENT_LAST_CALLER
    description = (
        "Tells who called the user's MANGO OFFICE office phone last (the "
        "phonebook name, else the number) and when."
    )

    @override
    async def async_answer(
        self,
        hass: HomeAssistant,
        coordinators: list[MangoCoordinator],
        slots: dict[str, Any],
        speech: _Speech,
    ) -> str:
        """Name the latest caller of the extensions meant."""
        latest = max(
            (
                (last, coordinator)
                for coordinator in coordinators
                if (last := coordinator.data.calls.last_caller) is not None
            ),
            key=lambda pair: pair[0].time,
            default=None,
        )
        if latest is None:
            return speech.say("speech_no_last_caller")
        last, coordinator = latest
        caller = coordinator.data.phonebook.name_of(last.number) or last.number
        return speech.say(
            "speech_last_caller",
            caller=caller or speech.say("speech_hidden_number"),
            when=speech.when(last.time),
        )


class MissedCallsIntentHandler(MangoIntentHandler):
    """How many calls were missed, as the missed-calls sensor counts them."""

    intent_type = INTENT_MISSED_CALLS
    description = (
        "Tells how many incoming calls to the user's MANGO OFFICE office phone "
        "went unanswered, as the missed calls sensor counts them."
    )

    @override
    async def async_answer(
        self,
        hass: HomeAssistant,
        coordinators: list[MangoCoordinator],
        slots: dict[str, Any],
        speech: _Speech,
    ) -> str:
        """Add up the missed-calls sensors of the extensions meant."""
        registry = er.async_get(hass)
        count = 0
        for coordinator in coordinators:
            entity_id = registry.async_get_entity_id(
                Platform.SENSOR,
                DOMAIN,
                f"{coordinator.unique_id}_missed_calls",
            )
            state = hass.states.get(entity_id) if entity_id else None
            try:
                count += int(float(state.state if state else "disabled"))
            except ValueError:
                # Unavailable while disconnected, or disabled: not known now.
                return speech.say("speech_missed_calls_unknown")
        if count == 0:
            return speech.say("speech_no_missed_calls")
        return speech.say("speech_missed_calls", count=str(count))


class CallsToReturnIntentHandler(MangoIntentHandler):
    """Who is waiting for a call back: the extension's list of calls to return."""

    intent_type = INTENT_CALLS_TO_RETURN
    description = (
        "Tells whom the user still has to call back: the open items of the "
        "MANGO OFFICE extension's calls-to-return list (missed calls not yet "
        "returned), newest first, with how many calls were missed from each "
        "and when the last one was."
    )

    @override
    async def async_answer(
        self,
        hass: HomeAssistant,
        coordinators: list[MangoCoordinator],
        slots: dict[str, Any],
        speech: _Speech,
    ) -> str:
        """Name the newest few open items; say how many more there are."""
        items = coordinators[0].records.calls_to_return.open_items()
        if not items:
            return speech.say("speech_nothing_to_return")
        said = [
            speech.say(
                "speech_to_return_item",
                caller=item.name or item.number,
                when=speech.when(item.last_missed_at),
            )
            if item.missed < 2
            else speech.say(
                "speech_to_return_item_missed",
                caller=item.name or item.number,
                missed=str(item.missed),
                when=speech.when(item.last_missed_at),
            )
            for item in items[:SPOKEN_ITEMS]
        ]
        if len(items) > SPOKEN_ITEMS:
            said.append(
                speech.say(
                    "speech_to_return_more", count=str(len(items) - SPOKEN_ITEMS)
                )
            )
        return speech.say(
            "speech_to_return", count=str(len(items)), items="; ".join(said)
        )


class ReturnCallIntentHandler(MangoIntentHandler):
    """Call back the newest item of the list of calls to return."""

    intent_type = INTENT_RETURN_CALL
    description = (
        "Calls back whoever missed-called the user's MANGO OFFICE extension "
        "most recently and has not been called back yet (the newest open item "
        "of the calls-to-return list): the desk phone rings first, then the PBX "
        "dials them. Use it for 'call back' without a name (in Russian: перезвони)."
    )

    @override
    async def async_answer(
        self,
        hass: HomeAssistant,
        coordinators: list[MangoCoordinator],
        slots: dict[str, Any],
        speech: _Speech,
    ) -> str:
        """Place the callback to the newest open item, as the callback intent does."""
        items = coordinators[0].records.calls_to_return.open_items()
        if not items:
            return speech.say("speech_nothing_to_return")
        placed = await async_place_callback(coordinators[0], items[0].number)
        return speech.say("speech_calling", name=placed.name or placed.number)


class _Speech:
    """The integration's sentences in the language of one request."""

    def __init__(self, hass: HomeAssistant, language: str) -> None:
        self._hass = hass
        # "ru-RU" speaks the "ru" translations.
        self._language = language.partition("-")[0].lower() or "en"
        self._strings: dict[str, str] = {}

    async def async_load(self) -> None:
        """Load the sentences; English fills in what a language lacks."""
        self._strings = await translation.async_get_translations(
            self._hass, self._language, "exceptions", {DOMAIN}
        )

    def say(self, key: str, **placeholders: str) -> str:
        """Return one sentence with its placeholders filled in."""
        return self._strings[f"component.{DOMAIN}.exceptions.{key}.message"].format(
            **placeholders
        )

    def error(self, err: HomeAssistantError) -> str:
        """Say a translated error in this language rather than the server's."""
        if err.translation_domain == DOMAIN and err.translation_key:
            return self.say(err.translation_key, **(err.translation_placeholders or {}))
        return str(err)

    def when(self, time: datetime) -> str:
        """Say when something happened: today, yesterday, or on a date."""
        local = dt_util.as_local(time)
        today = dt_util.now().date()
        clock = local.strftime("%H:%M")
        if local.date() == today:
            return self.say("speech_today", time=clock)
        if local.date() == today - timedelta(days=1):
            return self.say("speech_yesterday", time=clock)
        return self.say(
            "speech_on_date",
            day=f"{local.day:02}",
            month=f"{local.month:02}",
            year=str(local.year),
            time=clock,
        )


class _IntentError(ServiceValidationError):
    """Something to say instead of doing what was asked."""

    def __init__(self, key: str, **placeholders: str) -> None:
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=placeholders,
        )


def _coordinator(
    hass: HomeAssistant, extension: str | None, satellite_id: str | None
) -> MangoCoordinator:
    """Return the extension a request is about.

    The one named; else the one whose device is in the speaking satellite's
    area; else the only one; else the user is asked which.
    """
    coordinators = loaded_coordinators(hass)
    if not coordinators:
        raise _IntentError("speech_not_connected")
    if extension is not None:
        # "101", "extension 101", "добавочный 101": the digits are the extension.
        wanted = "".join(char for char in extension if char.isdecimal())
        if named := [c for c in coordinators if c.extension == wanted]:
            return named[0]
        raise _IntentError("speech_unknown_extension", extension=extension)
    if len(coordinators) == 1:
        return coordinators[0]
    devices = dr.async_get(hass)
    if (
        satellite_id is not None
        and (satellite := devices.async_get(satellite_id)) is not None
        and satellite.area_id is not None
    ):
        here = [
            c
            for c in coordinators
            if (device := devices.async_get(c.device_id)) is not None
            and device.area_id == satellite.area_id
        ]
        if len(here) == 1:
            return here[0]
    extensions = sorted(c.extension for c in coordinators)
    raise _IntentError(
        "speech_which_extension",
        extensions=", ".join(extensions),
        example=extensions[0],
    )


@callback
def async_register_intents(hass: HomeAssistant) -> None:
    """Register the integration's intents with Home Assistant's intent helper."""
    for handler in (
        CallbackIntentHandler(),
        LastCallerIntentHandler(),
        MissedCallsIntentHandler(),
        CallsToReturnIntentHandler(),
        ReturnCallIntentHandler(),
    ):
        intent.async_register(hass, handler)
    async_when_setup(hass, CONVERSATION, _async_register_sentences)


async def _async_register_sentences(hass: HomeAssistant, component: str) -> None:
    """Give the default agent the sentences once Assist is there (now or later)."""
    # hassil comes with the conversation integration: importable once it is set up.
    from .sentences import async_register_sentences  # noqa: PLC0415

    await async_register_sentences(hass)
