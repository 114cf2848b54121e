"""The blueprints in blueprints/automation/mango_office, loaded by HA and run against the simulator."""

from pathlib import Path
import shutil
from typing import Any
from unittest.mock import ANY

from homeassistant.components import persistent_notification
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)

from mango_simulator import MangoSimulator

from .conftest import CALLER, EXTENSION, extension_of, wait_for_state, wait_until
from .test_services import MOBILE, set_phonebook

BLUEPRINTS = Path(__file__).parent.parent / "blueprints" / "automation" / "mango_office"
NAMES = sorted(path.name for path in BLUEPRINTS.glob("*.yaml"))


@pytest.fixture
def blueprint_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config directory holding the blueprints as a user who imported them has them."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "mango_office"
    shutil.copytree(BLUEPRINTS, target)
    return target


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Make an automation from one of the blueprints, and check that it is on."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": name,
                "alias": name,
                "use_blueprint": {"path": f"mango_office/{name}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    [state] = hass.states.async_all("automation")
    assert state.state == STATE_ON, state


@pytest.fixture
def phone(hass: HomeAssistant) -> str:
    """A phone with the Companion app, as mobile_app registers it; returns its device id."""
    phone_entry = MockConfigEntry(domain="mobile_app")
    phone_entry.add_to_hass(hass)
    return (
        dr.async_get(hass)
        .async_get_or_create(
            config_entry_id=phone_entry.entry_id,
            identifiers={("mobile_app", "pixel")},
            name="Pixel 7",
        )
        .id
    )


@pytest.fixture
def notifications(hass: HomeAssistant) -> list[ServiceCall]:
    """The notifications sent to that phone (mobile_app names its action after the device)."""
    return async_mock_service(hass, "notify", "mobile_app_pixel_7")


def test_the_blueprints() -> None:
    """The blueprints are there; the integration understands voice by itself."""
    assert NAMES == ["ivr_routing.yaml", "missed_call_notification.yaml"]


@pytest.mark.usefixtures("blueprint_dir")
@pytest.mark.parametrize("name", NAMES)
async def test_blueprint_loads(hass: HomeAssistant, name: str) -> None:
    """Home Assistant reads and validates each blueprint as an automation blueprint."""
    blueprint = await async_get_blueprints(hass).async_get_blueprint(
        f"mango_office/{name}"
    )

    assert blueprint.domain == "automation"
    assert blueprint.name.startswith("MANGO OFFICE")
    assert blueprint.metadata["source_url"].endswith(
        f"blueprints/automation/mango_office/{name}"
    )


@pytest.mark.usefixtures("blueprint_dir")
async def test_missed_call_notification(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    phone: str,
    notifications: list[ServiceCall],
) -> None:
    """A missed call notifies the phone; its Call back button places the callback."""
    await use_blueprint(hass, "missed_call_notification.yaml", {"notify_device": phone})

    await simulator.incoming_missed(EXTENSION, caller=CALLER)
    await wait_until(lambda: notifications)

    [notification] = notifications
    button = f"MANGO_OFFICE_CALL_BACK|{extension_of(init_integration).device_id}|+7 (495) 123-45-67"
    assert notification.data == {
        "title": "Missed call",
        "message": "Ivan Petrov, +7 (495) 123-45-67",
        "data": {"tag": button, "actions": [{"action": button, "title": "Call back"}]},
    }
    assert simulator.requests_to("callback") == []

    # Another app's button is none of ours.
    hass.bus.async_fire("mobile_app_notification_action", {"action": "OTHER"})
    hass.bus.async_fire("mobile_app_notification_action", {"action": button})
    await simulator.wait_for_request("callback")

    [request] = simulator.requests_to("callback")
    assert request.params == {
        "COMMAND_ID": ANY,
        "EXTENSION": EXTENSION,
        "DESTINATION_NUMBER": CALLER,
    }
    # The number answered the callback: the call is returned, its item done.
    await wait_for_state(hass, "todo.extension_101_calls_to_return", "0")
    assert extension_of(init_integration).records.calls_to_return.items[0].completed


@pytest.mark.usefixtures("blueprint_dir")
@pytest.mark.parametrize("with_phone", [False, True])
async def test_missed_call_in_home_assistant(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    phone: str,
    notifications: list[ServiceCall],
    *,
    with_phone: bool,
) -> None:
    """Without a phone, or besides it, the missed call shows in HA's own notifications."""
    shown: list[persistent_notification.Notification] = []

    @callback
    def on_update(
        kind: persistent_notification.UpdateType,
        changed: dict[str, persistent_notification.Notification],
    ) -> None:
        if kind is persistent_notification.UpdateType.ADDED:
            shown.extend(changed.values())

    assert await async_setup_component(hass, persistent_notification.DOMAIN, {})
    unsubscribe = persistent_notification.async_register_callback(hass, on_update)
    await use_blueprint(
        hass,
        "missed_call_notification.yaml",
        {"persistent_notification": True}
        | ({"notify_device": phone} if with_phone else {}),
    )

    await simulator.incoming_missed(EXTENSION, caller=CALLER)
    await wait_until(lambda: shown)
    await hass.async_block_till_done()
    unsubscribe()

    assert [(n["title"], n["message"]) for n in shown] == [
        ("Missed call", "Ivan Petrov, +7 (495) 123-45-67")
    ]
    assert len(notifications) == with_phone


@pytest.mark.usefixtures("blueprint_dir")
async def test_missed_call_from_a_hidden_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    phone: str,
    notifications: list[ServiceCall],
) -> None:
    """A hidden number is notified without a button: it cannot be called back."""
    await use_blueprint(
        hass,
        "missed_call_notification.yaml",
        {"notify_device": phone, "title": "Пропущенный звонок"},
    )

    await simulator.incoming_missed(EXTENSION, caller="")
    await wait_until(lambda: notifications)

    assert notifications[0].data["title"] == "Пропущенный звонок"
    assert notifications[0].data["message"] == "—"
    assert notifications[0].data["data"]["actions"] == []


@pytest.mark.usefixtures("blueprint_dir")
async def test_ivr_routing(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A known caller goes to their extension, written any way; others to the fallback."""
    await use_blueprint(
        hass,
        "ivr_routing.yaml",
        {
            "routes": [
                {"number": "8 (916) 123-45-67", "extension": "102"},
                {"number": CALLER, "extension": "Бухгалтерия"},
            ],
            "fallback_extension": "103",
        },
    )
    await set_phonebook(hass, init_integration, {"104": "Бухгалтерия"})

    routed: list[tuple[str, str]] = []
    for caller in (MOBILE, CALLER, "+74990000000"):
        ids = await simulator.incoming_via_ivr(caller=caller)
        await wait_until(
            lambda: len(simulator.requests_to("route/async")) > len(routed)
        )
        params = simulator.requests_to("route/async")[-1].params
        assert params["CALL_ID"] == ids["call_id"]
        routed.append((caller, params["TO_NUMBER"]))

    assert routed == [(MOBILE, "102"), (CALLER, "104"), ("+74990000000", "103")]
