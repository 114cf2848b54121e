"""The repair issue the integration raises: an extension the service refuses.

Its fix flow (try again, or remove the extension) is in repairs.py.
"""

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER


def refused_issue_id(entry_id: str, subentry_id: str) -> str:
    """The repair issue of an extension the service refuses."""
    return f"extension_refused_{entry_id}_{subentry_id}"


def async_raise_refused(
    hass: HomeAssistant,
    entry: ConfigEntry,
    subentry_id: str,
    extension: str,
    code: int,
) -> None:
    """Say that the service refused an extension: in the log, and as a fixable issue."""
    LOGGER.error("MANGO OFFICE refused extension %s (result code %s)", extension, code)
    ir.async_create_issue(
        hass,
        DOMAIN,
        refused_issue_id(entry.entry_id, subentry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="extension_refused",
        translation_placeholders={
            "extension": extension,
            "code": str(code),
            "account": entry.title,
        },
        data={"entry_id": entry.entry_id, "subentry_id": subentry_id},
    )


def async_clear_refused(hass: HomeAssistant, entry_id: str, subentry_id: str) -> None:
    """The extension is served (or gone): its issue, if any, goes."""
    ir.async_delete_issue(hass, DOMAIN, refused_issue_id(entry_id, subentry_id))
