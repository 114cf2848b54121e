"""Lenient access to the fields of the service's JSON objects."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import MangoProtocolError


class Fields:
    """Case- and underscore-insensitive, type-checked access to an object's fields.

    ``call_id``, ``CALL_ID`` and ``callId`` are one field; ids and numbers may
    come as int or string; "" and null both mean absent.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[Any, Any]) -> None:
        """Index the object's fields by their folded names."""
        self._values = {
            _fold(key): value for key, value in values.items() if isinstance(key, str)
        }

    def get(self, name: str) -> Any:
        """Return a field as it came, None when absent or empty."""
        value = self._values.get(_fold(name))
        # Some services send "" or null for a field they have nothing for.
        return None if value == "" else value

    def text(self, name: str) -> str | None:
        """Return a field as text; ids may come as numbers."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise MangoProtocolError(f"{name} is not a string")
        try:
            return str(value)
        except ValueError:  # an int past Python's limit of digits to print
            raise MangoProtocolError(f"{name} is too long") from None

    def required_text(self, name: str) -> str:
        """Return a text field that the object is useless without."""
        if (value := self.text(name)) is None:
            raise MangoProtocolError(f"{name} is missing")
        return value

    def integer(self, name: str) -> int | None:
        """Return a field as an integer; digits in a string count."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise MangoProtocolError(f"{name} is not an integer")

    def flag(self, name: str) -> bool:
        """Return a field as a boolean; absent means false."""
        value = self.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in {0, 1}:
            return bool(value)
        if isinstance(value, str) and (word := value.strip().lower()) in _FLAG_WORDS:
            return _FLAG_WORDS[word]
        raise MangoProtocolError(f"{name} is not a boolean")

    def timestamp(self, name: str) -> datetime | None:
        """Return a unix time field as an aware UTC datetime."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise MangoProtocolError(f"{name} is not a unix time") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MangoProtocolError(f"{name} is not a unix time")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise MangoProtocolError(f"{name} is out of range") from err

    def mapping(self, name: str) -> Mapping[Any, Any] | None:
        """Return a field that holds an object."""
        value = self.get(name)
        if value is None or isinstance(value, Mapping):
            return value
        raise MangoProtocolError(f"{name} is not an object")


_FLAG_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
}


def _fold(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()
