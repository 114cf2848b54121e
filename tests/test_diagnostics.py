"""Diagnostics: useful, and without keys, numbers or addresses."""

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from mango_simulator import MangoSimulator

from .conftest import CALLER, CALLER_NAME, TOKEN, wait_for_state
from .helpers import push_call


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """A call in progress shows its shape; who called and how to log in do not."""
    await push_call(simulator, "c1", 1, "CONNECTED")
    await wait_for_state(hass, "sensor.extension_101_call_state", "talking")

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )

    assert diagnostics == snapshot(
        exclude=props(
            "entry_id",
            "subentry_id",
            "created_at",
            "modified_at",
            "started_at",
            "answered_at",
            "updated_at",
            "time",
        )
    )
    dumped = json.dumps(diagnostics)
    for secret in (
        TOKEN,
        "74951234567",
        CALLER_NAME,
        simulator.base_url,
        init_integration.unique_id,
    ):
        assert secret not in dumped
    assert CALLER not in dumped
