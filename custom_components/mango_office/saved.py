"""Checks of what the integration saved: the file is ours, but nothing in it is trusted.

A damaged, hand-edited or newer file costs only the values that do not check out.
"""

from datetime import datetime
from typing import Any

from .api.fields import ID, INT64_MAX, Validator


class UnreadableError(Exception):
    """A saved value that does not check out."""


def text(value: object, valid: Validator = ID, *, optional: bool = True) -> Any:
    """A saved text that `valid` accepts (or None, where that may be)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not valid(value):
        raise UnreadableError
    return value


def timestamp(value: object) -> datetime:
    """A saved time, with its time zone."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise UnreadableError
    return parsed


def seconds(value: object) -> int | None:
    """A saved count of seconds, or None."""
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= INT64_MAX:
        raise UnreadableError
    return value


def flag(value: object) -> bool:
    """A saved yes or no."""
    if not isinstance(value, bool):
        raise UnreadableError
    return value


def mapping(value: object) -> dict[str, Any]:
    """A saved object."""
    if not isinstance(value, dict):
        raise UnreadableError
    return value


def count(value: object) -> int:
    """A saved count."""
    if (number := seconds(value)) is None:
        raise UnreadableError
    return number


def listed(value: object) -> list[Any]:
    """A saved list."""
    if not isinstance(value, list):
        raise UnreadableError
    return value
