"""Fix flows of the repair issues: an extension the service refuses."""

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .account import MangoConfigEntry


class RefusedExtensionFlow(RepairsFlow):
    """Try a refused extension again, or remove it from the account."""

    def __init__(self, entry_id: str, subentry_id: str) -> None:
        """Remember which extension of which account."""
        self._entry_id = entry_id
        self._subentry_id = subentry_id

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Offer the two ways out."""
        return self.async_show_menu(step_id="init", menu_options=["retry", "remove"])

    async def async_step_retry(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start the extension over; the others stay connected."""
        entry: MangoConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is not None and entry.state is ConfigEntryState.LOADED:
            await entry.runtime_data.async_retry(self._subentry_id)
        return self.async_create_entry(data={})

    async def async_step_remove(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Remove the extension, its device and its entities."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is not None and self._subentry_id in entry.subentries:
            self.hass.config_entries.async_remove_subentry(entry, self._subentry_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of an extension_refused issue."""
    assert data is not None
    return RefusedExtensionFlow(str(data["entry_id"]), str(data["subentry_id"]))
