"""Config flow for MANGO OFFICE: an account (its key) and its extensions as subentries, tested before they are saved."""

from collections.abc import Mapping
import hashlib
import re
from typing import Any, Final, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow, section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.typing import UNDEFINED
import voluptuous as vol

from .account import MangoConfigEntry
from .api import DEFAULT_BASE_URL, MangoClient, MangoError
from .const import (
    ACCOUNT_TITLE,
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_EXTENSIONS,
    CONF_FORMER_UNIQUE_ID,
    CONF_PHONEBOOK,
    DOMAIN,
    LOGGER,
    SUBENTRY_EXTENSION,
)
from .helpers import FORM_INVALID_EXTENSION, async_extension_title, form_error
from .phonebook import format_phonebook, parse_phonebook

SECTION_ADVANCED: Final = "advanced"
# How many bad phonebook lines an error message quotes.
QUOTED_BAD_LINES: Final = 3


def account_key(token: str) -> str:
    """Tell accounts apart by their integration key, without keeping the key itself.

    The API has no account id. Each account creates its integration key
    once, so a digest of the key stands for the account.
    """
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _schema(
    defaults: Mapping[str, Any], *, extensions: bool, key_required: bool = True
) -> vol.Schema:
    key = vol.Required(CONF_TOKEN) if key_required else vol.Optional(CONF_TOKEN)
    fields: dict[Any, Any] = {
        key: TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
    }
    if extensions:
        fields[vol.Required(CONF_EXTENSIONS)] = str
    fields[vol.Required(SECTION_ADVANCED)] = section(
        vol.Schema(
            {
                vol.Required(
                    CONF_BASE_URL, default=defaults.get(CONF_BASE_URL, DEFAULT_BASE_URL)
                ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
            }
        ),
        {"collapsed": True},
    )
    return vol.Schema(fields)


def parse_extensions(text: str) -> list[str]:
    """The numbers of a "101, 102 103" answer, each once, in order."""
    return list(dict.fromkeys(part for part in re.split(r"[\s,;]+", text) if part))


def _is_extension(text: str) -> bool:
    # isdecimal() alone also takes fullwidth or Arabic-Indic digits.
    return text.isascii() and text.isdecimal()


class MangoConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a MANGO OFFICE account with one or more of its extensions."""

    VERSION = 2

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: MangoConfigEntry) -> OptionsFlow:
        """Edit the phonebook."""
        return MangoOptionsFlow()

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Extensions are added, changed and removed one by one."""
        return {SUBENTRY_EXTENSION: ExtensionSubentryFlow}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the integration key and the extensions."""
        errors: dict[str, str] = {}
        placeholders = {"refused": ""}
        if user_input is not None:
            data = _flatten(user_input)
            extensions = parse_extensions(str(user_input[CONF_EXTENSIONS]))
            await self.async_set_unique_id(account_key(data[CONF_TOKEN]))
            self._abort_if_unique_id_configured()
            self._async_abort_entries_match({CONF_TOKEN: data[CONF_TOKEN]})
            refused = [e for e in extensions if not _is_extension(e)]
            if not extensions:
                errors[CONF_EXTENSIONS] = FORM_INVALID_EXTENSION
            elif not refused and not (errors := await self._async_test(data)):
                client = _client(self.hass, data)
                for extension in extensions:
                    error = await async_test_extension(client, extension)
                    if error == FORM_INVALID_EXTENSION:
                        refused.append(extension)
                    elif error is not None:
                        errors["base"] = error
                        break
            if refused:
                errors[CONF_EXTENSIONS] = "extensions_refused"
                placeholders["refused"] = ", ".join(refused)
            if not errors:
                return self.async_create_entry(
                    title=ACCOUNT_TITLE,
                    data=data,
                    subentries=[
                        {
                            "subentry_type": SUBENTRY_EXTENSION,
                            "data": {CONF_EXTENSION: extension},
                            "title": await async_extension_title(self.hass, extension),
                            "unique_id": extension,
                        }
                        for extension in extensions
                    ],
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _schema({}, extensions=True), user_input
            ),
            description_placeholders=placeholders,
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Ask for a new integration key when the service rejects the one we have."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take a new integration key for every extension of the account."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_TOKEN: user_input[CONF_TOKEN].strip()}
            self._abort_if_other_account(entry, data)
            if not (errors := await self._async_test(data)):
                return self._async_save_and_abort(entry, data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_TOKEN): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={"account": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the account's integration key or the service's address."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            # An empty key field keeps the stored key.
            data = _flatten(user_input, stored_token=entry.data[CONF_TOKEN])
            self._abort_if_other_account(entry, data)
            if not (errors := await self._async_test(data)):
                return self._async_save_and_abort(entry, data)
        return self.async_show_form(
            step_id="reconfigure",
            # After an error, show what was typed: the error is about that. Never
            # a key: the stored one must not reach the browser, and a typed one is
            # typed again.
            data_schema=self.add_suggested_values_to_schema(
                _schema(entry.data, extensions=False, key_required=False),
                {k: v for k, v in (user_input or {}).items() if k != CONF_TOKEN},
            ),
            errors=errors,
        )

    @callback
    def _async_save_and_abort(
        self, entry: ConfigEntry, data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Save the tested settings; the account starts over with them."""
        if entry.update_listeners:
            # A running account's own listener reloads it when its key changes.
            return self.async_update_and_abort(entry, data=data)
        return self.async_update_reload_and_abort(entry, data=data)

    @callback
    def _abort_if_other_account(
        self, entry: ConfigEntry, data: Mapping[str, Any]
    ) -> None:
        """Abort when the key is another account entry's.

        A unique id keeps the digest of the key its entry was made with: after
        a new key came in, only the data tells that two entries are one account.
        """
        for other in self._async_current_entries(include_ignore=False):
            if other.entry_id != entry.entry_id and (
                other.data.get(CONF_TOKEN) == data[CONF_TOKEN]
                or other.unique_id == account_key(data[CONF_TOKEN])
            ):
                raise AbortFlow("already_configured")

    async def _async_test(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Try the key the way setting up the account will."""
        try:
            await _client(self.hass, data).ping()
        except MangoError as err:
            LOGGER.debug("Testing the MANGO OFFICE account failed: %s", err)
            return {"base": form_error(err)}
        except Exception:  # noqa: BLE001 - the form must answer, whatever went wrong
            LOGGER.exception("Unexpected error while testing the MANGO OFFICE account")
            return {"base": "unknown"}
        return {}


class ExtensionSubentryFlow(ConfigSubentryFlow):
    """Add one extension to the account, or change which one a subentry follows."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the extension's number and try it."""
        entry = self._get_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            extension = str(user_input[CONF_EXTENSION]).strip()
            if any(
                s.unique_id == extension
                for s in entry.get_subentries_of_type(SUBENTRY_EXTENSION)
            ):
                return self.async_abort(reason="already_configured")
            if not (errors := await self._async_test(entry, extension)):
                return self.async_create_entry(
                    title=await async_extension_title(self.hass, extension),
                    data={CONF_EXTENSION: extension},
                    unique_id=extension,
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Required(CONF_EXTENSION): str}), user_input
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Follow another extension in this subentry's place."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            extension = str(user_input[CONF_EXTENSION]).strip()
            if extension == subentry.data[CONF_EXTENSION]:
                return self.async_abort(reason="reconfigure_successful")
            if any(
                s.unique_id == extension
                for s in entry.get_subentries_of_type(SUBENTRY_EXTENSION)
            ):
                return self.async_abort(reason="already_configured")
            if not (errors := await self._async_test(entry, extension)):
                # A title the user gave the extension stays.
                title = (
                    await async_extension_title(self.hass, extension)
                    if subentry.title
                    == await async_extension_title(
                        self.hass, subentry.data[CONF_EXTENSION]
                    )
                    else UNDEFINED
                )
                data = {
                    key: value
                    for key, value in subentry.data.items()
                    if key != CONF_FORMER_UNIQUE_ID
                }
                return self.async_update_and_abort(
                    entry,
                    subentry,
                    data={**data, CONF_EXTENSION: extension},
                    title=title,
                    unique_id=extension,
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Required(CONF_EXTENSION): str}),
                user_input or {CONF_EXTENSION: subentry.data[CONF_EXTENSION]},
            ),
            errors=errors,
        )

    async def _async_test(self, entry: ConfigEntry, extension: str) -> dict[str, str]:
        if entry.state is ConfigEntryState.LOADED:
            client: MangoClient = entry.runtime_data.client
        else:
            client = _client(self.hass, entry.data)
        if error := await async_test_extension(client, extension):
            return {
                CONF_EXTENSION if error == FORM_INVALID_EXTENSION else "base": error
            }
        return {}


async def async_test_extension(client: MangoClient, extension: str) -> str | None:
    """Try an extension the way its channel will; return the form's error, if any."""
    if not _is_extension(extension):
        return FORM_INVALID_EXTENSION
    try:
        await client.create_user(extension)
        await client.get_channel(extension)
    except MangoError as err:
        LOGGER.debug("Testing extension %s failed: %s", extension, err)
        return form_error(err)
    except Exception:  # noqa: BLE001 - the form must answer, whatever went wrong
        LOGGER.exception("Unexpected error while testing a MANGO OFFICE extension")
        return "unknown"
    return None


def _client(hass: HomeAssistant, data: Mapping[str, Any]) -> MangoClient:
    return MangoClient(
        async_get_clientsession(hass),
        data[CONF_TOKEN],
        base_url=data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )


class MangoOptionsFlow(OptionsFlow):
    """Edit the phonebook that names callers and lets actions call by name."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take the phonebook as text, one "number = name" a line."""
        errors: dict[str, str] = {}
        placeholders = {"bad_lines": ""}
        if user_input is not None:
            entries, bad_lines = parse_phonebook(user_input.get(CONF_PHONEBOOK, ""))
            if not bad_lines:
                return self.async_create_entry(data={CONF_PHONEBOOK: entries})
            errors[CONF_PHONEBOOK] = "invalid_phonebook"
            placeholders["bad_lines"] = "; ".join(
                f"{bad.line_number}: {bad.line}" for bad in bad_lines[:QUOTED_BAD_LINES]
            )
            text = user_input.get(CONF_PHONEBOOK, "")
        else:
            text = format_phonebook(self.config_entry.options.get(CONF_PHONEBOOK, {}))
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Optional(
                        CONF_PHONEBOOK, description={"suggested_value": text}
                    ): (TextSelector(TextSelectorConfig(multiline=True)))
                }
            ),
            description_placeholders=placeholders,
            errors=errors,
        )


def default_titles(extension: str) -> tuple[str, ...]:
    """The titles 0.1 gave an extension's entry (not the user's own)."""
    return f"MANGO OFFICE {extension}", f"Mango Office {extension}"


def _flatten(user_input: Mapping[str, Any], stored_token: str = "") -> dict[str, Any]:
    """Turn the form's answer into entry data: the section's field sits at the top."""
    advanced = user_input.get(SECTION_ADVANCED, {})
    return {
        CONF_TOKEN: user_input.get(CONF_TOKEN, "").strip() or stored_token,
        CONF_BASE_URL: advanced.get(CONF_BASE_URL, DEFAULT_BASE_URL)
        .strip()
        .rstrip("/"),
    }
