"""The calls to return: a to-do list per extension, filled by missed calls."""

from typing import Any

from homeassistant.components.todo import DOMAIN as TODO_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from mango_simulator import MangoSimulator

from .conftest import CALLER, EXTENSION, extension_of, wait_for_state, wait_until

TO_RETURN = "todo.extension_101_calls_to_return"
OTHER = "+74957770000"


async def _items(hass: HomeAssistant) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        TODO_DOMAIN,
        "get_items",
        {ATTR_ENTITY_ID: TO_RETURN},
        blocking=True,
        return_response=True,
    )
    return response[TO_RETURN]["items"]  # type: ignore[no-any-return,index,call-overload]


async def test_missed_calls_add_and_update_an_item(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Each missed call from a number updates its one item; another number is another item."""
    assert hass.states.get(TO_RETURN).state == "0"
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, TO_RETURN, "1")
    await simulator.incoming_missed(EXTENSION)
    to_return = extension_of(init_integration).records.calls_to_return
    await wait_until(lambda: to_return.items[0].missed == 2)
    assert hass.states.get(TO_RETURN).state == "1"
    items = await _items(hass)
    assert len(items) == 1
    assert items[0]["uid"] == CALLER
    assert items[0]["status"] == "needs_action"
    # Who (the phonebook's name and the number as people write it), how many, when.
    assert items[0]["summary"].startswith(
        "Ivan Petrov · +7 495 123-45-67 · 2 missed, last at "
    )
    assert items[0]["due"] is not None

    await simulator.incoming_missed(EXTENSION, caller=OTHER)
    await wait_for_state(hass, TO_RETURN, "2")
    items = await _items(hass)
    # The latest missed call first; a number nobody named is shown alone.
    assert [item["uid"] for item in items] == [OTHER, CALLER]
    assert items[0]["summary"].startswith("+7 495 777-00-00 · 1 missed, last at ")


async def test_an_answered_call_or_callback_completes_the_item(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Calling the number back (and it answering) or it calling again and being answered ticks it."""
    await simulator.incoming_missed(EXTENSION)
    await simulator.incoming_missed(EXTENSION, caller=OTHER)
    await wait_for_state(hass, TO_RETURN, "2")

    await simulator.outgoing_callback(EXTENSION, destination=CALLER)
    await wait_for_state(hass, TO_RETURN, "1")
    await simulator.incoming_answered(EXTENSION, caller=OTHER, record=False)
    await wait_for_state(hass, TO_RETURN, "0")
    assert {item["uid"]: item["status"] for item in await _items(hass)} == {
        CALLER: "completed",
        OTHER: "completed",
    }

    # A new missed call opens the item again, counting from one.
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, TO_RETURN, "1")
    item = next(item for item in await _items(hass) if item["uid"] == CALLER)
    assert item["status"] == "needs_action"
    assert " · 1 missed, " in item["summary"]


async def test_a_busy_callback_leaves_the_item(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The user's own phone answering a callback is not the number answering it."""
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, TO_RETURN, "1")
    await simulator.outgoing_callback(EXTENSION, destination=CALLER, busy=True)
    await simulator.incoming_missed(EXTENSION, caller=OTHER)
    await wait_for_state(hass, TO_RETURN, "2")


async def test_answered_elsewhere_is_not_to_return(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A group call another member took adds nothing."""
    await simulator.group_answered_elsewhere(EXTENSION)
    await simulator.incoming_missed(EXTENSION, caller=OTHER)
    await wait_for_state(hass, TO_RETURN, "1")
    assert [item["uid"] for item in await _items(hass)] == [OTHER]


async def test_the_user_ticks_unticks_and_deletes(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """What the user says is kept, also over a restart of the entry."""
    await simulator.incoming_missed(EXTENSION)
    await simulator.incoming_missed(EXTENSION, caller=OTHER)
    await wait_for_state(hass, TO_RETURN, "2")

    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {ATTR_ENTITY_ID: TO_RETURN, "item": CALLER, "status": "completed"},
        blocking=True,
    )
    assert hass.states.get(TO_RETURN).state == "1"
    await hass.services.async_call(
        TODO_DOMAIN,
        "remove_item",
        {ATTR_ENTITY_ID: TO_RETURN, "item": [OTHER]},
        blocking=True,
    )
    assert hass.states.get(TO_RETURN).state == "0"
    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {ATTR_ENTITY_ID: TO_RETURN, "item": CALLER, "status": "needs_action"},
        blocking=True,
    )
    assert hass.states.get(TO_RETURN).state == "1"

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await simulator.wait_registered(EXTENSION)
    assert hass.states.get(TO_RETURN).state == "1"
    assert [(item["uid"], item["status"]) for item in await _items(hass)] == [
        (CALLER, "needs_action")
    ]


async def test_the_list_stays_while_the_connection_is_lost(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The list is kept here: it can be read and ticked without the service."""
    await simulator.incoming_missed(EXTENSION)
    await wait_for_state(hass, TO_RETURN, "1")
    await simulator.stop()
    await wait_for_state(hass, "binary_sensor.extension_101_connection", "off")
    assert hass.states.get(TO_RETURN).state == "1"
    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {ATTR_ENTITY_ID: TO_RETURN, "item": CALLER, "status": "completed"},
        blocking=True,
    )
    assert hass.states.get(TO_RETURN).state == "0"
