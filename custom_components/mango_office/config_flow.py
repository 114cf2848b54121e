"""Config flow for MANGO OFFICE: token and extension, tested before they are saved."""

from collections.abc import Mapping
import hashlib
from typing import Any, Final, override

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_TOKEN
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.typing import UNDEFINED, UndefinedType
import voluptuous as vol

from .api import (
    DEFAULT_BASE_URL,
    MangoApiError,
    MangoAuthError,
    MangoClient,
    MangoError,
)
from .const import CONF_BASE_URL, CONF_EXTENSION, CONF_PHONEBOOK, DOMAIN, LOGGER
from .coordinator import MangoConfigEntry
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


def _schema(defaults: Mapping[str, Any], *, key_required: bool = True) -> vol.Schema:
    key = vol.Required(CONF_TOKEN) if key_required else vol.Optional(CONF_TOKEN)
    fields: dict[Any, Any] = {
        key: TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
    }
    fields[
        vol.Required(
            CONF_EXTENSION, default=defaults.get(CONF_EXTENSION, vol.UNDEFINED)
        )
    ] = str
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


class MangoConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one extension of a MANGO OFFICE account."""

    VERSION = 1

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: MangoConfigEntry) -> OptionsFlow:
        """Edit the phonebook."""
        return MangoOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the integration key and the extension."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            await self.async_set_unique_id(
                f"{account_key(data[CONF_TOKEN])}_{data[CONF_EXTENSION]}"
            )
            self._abort_if_unique_id_configured()
            self._abort_if_extension_configured(data)
            if not (errors := await self._async_test(data)):
                return self.async_create_entry(
                    title=_title(data[CONF_EXTENSION]), data=data
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_schema({}), user_input),
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
        """Take a new integration key for the same extension."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_TOKEN: user_input[CONF_TOKEN].strip()}
            self._abort_if_extension_configured(data)
            if not (errors := await self._async_test(data)):
                return self._async_save_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_TOKEN): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={"extension": entry.data[CONF_EXTENSION]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the integration key, the extension or the service's address."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            # An empty key field keeps the stored key.
            data = _flatten(user_input, stored_token=entry.data[CONF_TOKEN])
            # The account stays the one the entry was made for.
            unique_id = (
                f"{entry.unique_id or ''}".rpartition("_")[0]
                + f"_{data[CONF_EXTENSION]}"
            )
            if unique_id != entry.unique_id:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
            self._abort_if_extension_configured(data)
            if not (errors := await self._async_test(data)):
                return self._async_save_and_abort(
                    entry,
                    unique_id=unique_id,
                    # A title the user gave the entry stays.
                    title=_title(data[CONF_EXTENSION])
                    if entry.title in _default_titles(entry.data[CONF_EXTENSION])
                    else UNDEFINED,
                    data=data,
                )
        return self.async_show_form(
            step_id="reconfigure",
            # After an error, show what was typed: the error is about that. Never
            # a key: the stored one must not reach the browser, and a typed one is
            # typed again.
            data_schema=self.add_suggested_values_to_schema(
                _schema(entry.data, key_required=False),
                {k: v for k, v in (user_input or {}).items() if k != CONF_TOKEN},
            ),
            errors=errors,
        )

    @callback
    def _async_save_and_abort(
        self,
        entry: MangoConfigEntry,
        *,
        data: Mapping[str, Any],
        unique_id: str | UndefinedType = UNDEFINED,
        title: str | UndefinedType = UNDEFINED,
    ) -> ConfigFlowResult:
        """Save the tested settings; the entry starts over with them."""
        if entry.update_listeners:
            # A running entry's own listener reloads it when its data changes.
            return self.async_update_and_abort(
                entry, unique_id=unique_id, title=title, data=data
            )
        return self.async_update_reload_and_abort(
            entry, unique_id=unique_id, title=title, data=data
        )

    @callback
    def _abort_if_extension_configured(self, data: Mapping[str, Any]) -> None:
        """Abort when another entry follows this extension with this key.

        A unique id keeps the digest of the key its entry was made with: after
        a new key came in by reauth or reconfigure, only the data tells that
        the entry follows this extension of this account.
        """
        self._async_abort_entries_match(
            {CONF_TOKEN: data[CONF_TOKEN], CONF_EXTENSION: data[CONF_EXTENSION]}
        )

    async def _async_test(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Try the key and the extension the way setting up the entry will."""
        client = MangoClient(
            async_get_clientsession(self.hass),
            data[CONF_TOKEN],
            base_url=data[CONF_BASE_URL],
        )
        extension = data[CONF_EXTENSION]
        # isdecimal() alone also takes fullwidth or Arabic-Indic digits.
        if not (extension.isascii() and extension.isdecimal()):
            return {CONF_EXTENSION: "invalid_extension"}
        try:
            await client.ping()
            await client.create_user(extension)
            await client.get_channel(extension)
        except MangoAuthError:
            return {"base": "invalid_auth"}
        except MangoApiError as err:
            LOGGER.debug("Extension %s was refused: %s", extension, err)
            return {CONF_EXTENSION: "invalid_extension"}
        except MangoError as err:
            LOGGER.debug("Cannot reach MANGO OFFICE: %s", err)
            return {"base": "cannot_connect"}
        except Exception:  # noqa: BLE001 - the form must answer, whatever went wrong
            LOGGER.exception("Unexpected error while testing the MANGO OFFICE account")
            return {"base": "unknown"}
        return {}


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


def _title(extension: str) -> str:
    """Name an entry after the brand, as MANGO OFFICE writes it, and its extension."""
    return f"MANGO OFFICE {extension}"


def _default_titles(extension: str) -> tuple[str, ...]:
    """The titles the integration gives, today's and earlier versions' (not the user's own)."""
    return _title(extension), f"Mango Office {extension}"


def _flatten(user_input: Mapping[str, Any], stored_token: str = "") -> dict[str, Any]:
    """Turn the form's answer into entry data: the section's field sits at the top."""
    advanced = user_input.get(SECTION_ADVANCED, {})
    return {
        CONF_TOKEN: user_input.get(CONF_TOKEN, "").strip() or stored_token,
        CONF_EXTENSION: str(user_input[CONF_EXTENSION]).strip(),
        CONF_BASE_URL: advanced.get(CONF_BASE_URL, DEFAULT_BASE_URL)
        .strip()
        .rstrip("/"),
    }
