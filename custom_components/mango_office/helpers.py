"""What MANGO OFFICE answered, told in Home Assistant's terms: the one place for it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import math
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import translation

from .api import MangoApiError, MangoAuthError, MangoError, MangoRateLimitError
from .const import DOMAIN, SUBENTRY_EXTENSION

# Errors of the config flow's form, by what went wrong.
FORM_INVALID_AUTH: Final = "invalid_auth"
FORM_INVALID_EXTENSION: Final = "invalid_extension"
FORM_CANNOT_CONNECT: Final = "cannot_connect"


@asynccontextmanager
async def setup_errors() -> AsyncIterator[None]:
    """Set an account up, or say why not: a key to renew, a refusal, or later."""
    try:
        yield
    except MangoAuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except MangoApiError as err:
        raise _api_error(ConfigEntryError, err) from err
    except MangoError as err:
        raise _cannot_connect(ConfigEntryNotReady, err) from err


@asynccontextmanager
async def action_errors(hass: HomeAssistant, entry: ConfigEntry) -> AsyncIterator[None]:
    """Run an action's request; a rejected key also asks the user for a new one."""
    try:
        yield
    except MangoAuthError as err:
        entry.async_start_reauth(hass)
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except MangoRateLimitError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="rate_limited",
            translation_placeholders={
                "seconds": str(max(1, math.ceil(err.retry_after or 1)))
            },
        ) from err
    except MangoApiError as err:
        raise _api_error(HomeAssistantError, err) from err
    except MangoError as err:
        raise _cannot_connect(HomeAssistantError, err) from err


def form_error(err: MangoError) -> str:
    """The config flow's error for what the service answered while testing."""
    if isinstance(err, MangoAuthError):
        return FORM_INVALID_AUTH
    if isinstance(err, MangoApiError):
        return FORM_INVALID_EXTENSION
    return FORM_CANNOT_CONNECT


def _api_error[E: HomeAssistantError](error: type[E], err: MangoApiError) -> E:
    return error(
        translation_domain=DOMAIN,
        translation_key="api_error",
        translation_placeholders={"code": str(err.code), "message": err.message or "-"},
    )


def _cannot_connect[E: HomeAssistantError](error: type[E], err: MangoError) -> E:
    return error(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders={"error": str(err)},
    )


async def async_extension_title(hass: HomeAssistant, extension: str) -> str:
    """An extension's subentry title in the server's language, as its device is named."""
    strings = await translation.async_get_translations(
        hass, hass.config.language, "device", {DOMAIN}
    )
    text = strings.get(
        f"component.{DOMAIN}.device.{SUBENTRY_EXTENSION}.name", "Extension {extension}"
    )
    return text.format(extension=extension)
