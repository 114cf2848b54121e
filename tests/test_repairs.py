"""An extension the service refuses: a repair issue that names it, with a fix flow."""

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.mango_office.config_flow import account_key
from custom_components.mango_office.const import CONF_BASE_URL, DOMAIN
from mango_simulator import MangoSimulator

from .conftest import TOKEN, extension_of, extension_subentry, wait_until


@pytest.fixture
async def refused(
    hass: HomeAssistant, simulator: MangoSimulator
) -> tuple[MockConfigEntry, ir.IssueEntry]:
    """An account of 101 and 109, which the PBX does not have (yet)."""
    assert await async_setup_component(hass, "repairs", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        unique_id=account_key(TOKEN),
        data={CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry("101"), extension_subentry("109")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    registry = ir.async_get(hass)

    def _issues() -> list[ir.IssueEntry]:
        return [i for i in registry.issues.values() if i.domain == DOMAIN]

    await wait_until(lambda: len(_issues()) == 1)
    await wait_until(lambda: extension_of(entry, "101").connected)
    [issue] = _issues()
    return entry, issue


async def _fix(hass: HomeAssistant, issue: ir.IssueEntry, choice: str) -> None:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": issue.issue_id})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["retry", "remove"]
    result = await manager.async_configure(result["flow_id"], {"next_step_id": choice})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_the_issue_names_the_extension(
    hass: HomeAssistant,
    refused: tuple[MockConfigEntry, ir.IssueEntry],
    simulator: MangoSimulator,
) -> None:
    """The issue names 109; the account and 101 keep working."""
    entry, issue = refused
    assert issue.translation_key == "extension_refused"
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["extension"] == "109"
    assert entry.state is ConfigEntryState.LOADED
    assert simulator.is_registered("101")
    assert hass.states.get("binary_sensor.extension_101_connection").state == "on"
    assert hass.states.get("binary_sensor.extension_109_connection").state == "off"


async def test_try_again_once_the_pbx_has_it(
    hass: HomeAssistant,
    refused: tuple[MockConfigEntry, ir.IssueEntry],
    simulator: MangoSimulator,
) -> None:
    """Try again: 109 connects, the issue goes, 101 was not reconnected."""
    entry, issue = refused
    simulator._extensions.add("109")
    channels = len(simulator.requests_to("channel"))

    await _fix(hass, issue, "retry")

    await simulator.wait_registered("109")
    await wait_until(lambda: extension_of(entry, "109").connected)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id) is None
    # Refused while unknown, then again once provisioned: only 109.
    assert [r.params["EXTENSION"] for r in simulator.requests_to("channel")][
        channels:
    ] == ["109", "109"]


async def test_remove_the_extension(
    hass: HomeAssistant,
    refused: tuple[MockConfigEntry, ir.IssueEntry],
    simulator: MangoSimulator,
) -> None:
    """Remove: the subentry, its device and entities go, and so does the issue."""
    entry, issue = refused

    await _fix(hass, issue, "remove")

    assert [s.unique_id for s in entry.subentries.values()] == ["101"]
    assert hass.states.get("binary_sensor.extension_109_connection") is None
    assert sorted(
        str(d.name)
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    ) == ["Extension 101", "MANGO OFFICE account"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id) is None
    assert simulator.is_registered("101")


async def test_removing_a_refused_extension_ends_its_repair_issue(
    hass: HomeAssistant,
    refused: tuple[MockConfigEntry, ir.IssueEntry],
    simulator: MangoSimulator,
) -> None:
    """The user deletes an extension the PBX refused (not through the issue): the issue goes."""
    entry, _ = refused
    [subentry] = [s for s in entry.subentries.values() if s.unique_id == "109"]

    assert hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
    await hass.async_block_till_done()

    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    assert simulator.is_registered("101")
