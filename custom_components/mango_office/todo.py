"""The calls to return of an extension, as a to-do list.

A missed call adds its number's item, or updates it; an answered call with
that number, either way, completes it. The user may tick, untick or delete
items; what they say is kept with the list.
"""

from collections.abc import Sequence
from typing import override

from homeassistant.components.todo import (
    TodoItem,
    TodoItemStatus,
    TodoListEntity,
    TodoListEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .account import MangoConfigEntry
from .coordinator import MangoCoordinator
from .entity import MangoEntity
from .history import ReturnItem
from .phonebook import display_number
from .words import Words, async_load_words

# Push only: the list changes with what the coordinator was told.
PARALLEL_UPDATES = 0

CALLS_TO_RETURN = EntityDescription(
    key="calls_to_return", translation_key="calls_to_return"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MangoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the list of calls to return of each extension."""
    # The items read in the installation's language, as the entities' names do.
    words = await async_load_words(hass)
    entry.runtime_data.async_add_entities_with(
        lambda coordinator: async_add_entities(
            [MangoCallsToReturn(coordinator, CALLS_TO_RETURN, words)],
            config_subentry_id=coordinator.subentry_id,
        )
    )


class MangoCallsToReturn(MangoEntity, TodoListEntity):
    """The numbers whose calls went unanswered, the latest first.

    It stays available while the connection is lost: the list is kept here,
    and the user may still tick it off.
    """

    _attr_supported_features = (
        TodoListEntityFeature.UPDATE_TODO_ITEM | TodoListEntityFeature.DELETE_TODO_ITEM
    )

    def __init__(
        self,
        coordinator: MangoCoordinator,
        description: EntityDescription,
        words: Words,
    ) -> None:
        """Word the items (who, how many missed, when last) with `words`."""
        super().__init__(coordinator, description)
        self._words = words
        self._shown: Sequence[ReturnItem] | None = None
        self._worded: dict[str, tuple[ReturnItem, TodoItem]] = {}

    @property
    @override
    def available(self) -> bool:
        """Always: the list does not need the connection."""
        return True

    @override
    def _show(self) -> object:
        items = self.coordinator.data.to_return
        # The same list until it changes, and the same item until it changes:
        # a missed call words one item, not the whole list.
        if items is not self._shown:
            self._shown = items
            worded: dict[str, tuple[ReturnItem, TodoItem]] = {}
            for item in items:
                kept = self._worded.get(item.uid)
                worded[item.uid] = (
                    kept
                    if kept is not None and kept[0] is item
                    else (item, self._item(item))
                )
            self._worded = worded
            self._attr_todo_items = [todo for _, todo in worded.values()]
        return items

    def _item(self, item: ReturnItem) -> TodoItem:
        number = display_number(item.number)
        return TodoItem(
            uid=item.uid,
            summary=self._words(
                "todo_item",
                who=number if item.name is None else f"{item.name} · {number}",
                missed=item.missed,
                time=dt_util.as_local(item.last_missed_at).strftime("%H:%M"),
            ),
            status=TodoItemStatus.COMPLETED
            if item.completed
            else TodoItemStatus.NEEDS_ACTION,
            due=item.last_missed_at,
        )

    @override
    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Tick or untick an item; its words are the list's own."""
        if item.uid is not None and item.status is not None:
            self.coordinator.records.set_to_return(
                {item.uid: item.status == TodoItemStatus.COMPLETED}, ()
            )
            self.coordinator.async_show_now()

    @override
    async def async_delete_todo_items(self, uids: list[str]) -> None:
        """Take items off the list."""
        self.coordinator.records.set_to_return({}, uids)
        self.coordinator.async_show_now()
