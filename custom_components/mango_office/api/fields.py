"""Lenient, bounded access to the fields of the service's JSON objects.

Everything here is read from the wire, so nothing is trusted: a value of the
wrong type is a protocol error; text that is implausible for its field (too
long, characters an id or a number never has, a lone surrogate that no JSON
encoder can write) or an integer outside 64 bits is dropped when the field is
optional and a protocol error when the object is useless without it.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
import json
import re
from typing import Any, Final

from . import wire
from .errors import MangoProtocolError

# Unix times a call can have: 2001 to 2286.
PLAUSIBLE_TIME_MIN: Final = 10**9
PLAUSIBLE_TIME_MAX: Final = 10**10
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# What each kind of text may look like. Ids are opaque: printable, no
# spaces; numbers are digits (with the usual separators) or a SIP address.
_ID: Final = re.compile(r"[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,128}")
_WORD: Final = re.compile(r"[A-Za-z_\-]{1,32}")
_ROUTE: Final = re.compile(r"/?[\w\-]{1,64}", re.ASCII)
_EXTENSION: Final = re.compile(r"[0-9]{1,16}")
_NUMBER: Final = re.compile(
    rf"\+?[0-9*#(][0-9*# ()\-.]{{0,39}}|{wire.SIP_URI_PATTERN}", re.ASCII
)
_URL: Final = re.compile(r"[a-z][a-z0-9+.\-]*://[\x21-\x7e]{1,2040}", re.IGNORECASE)
MAX_TEXT_LENGTH: Final = 2048
MAX_MESSAGE_LENGTH: Final = 255

type Validator = Callable[[str], object]
"""Tells whether a text is plausible for its field."""


def ID(text: str) -> bool:  # noqa: N802 - a validator, named like the others
    """Whether a text is plausible as an id: printable, no spaces, not too long."""
    return _ID.fullmatch(text) is not None and text.isprintable()


WORD: Final[Validator] = _WORD.fullmatch
ROUTE: Final[Validator] = _ROUTE.fullmatch
EXTENSION: Final[Validator] = _EXTENSION.fullmatch
NUMBER: Final[Validator] = _NUMBER.fullmatch
LINK: Final[Validator] = _URL.fullmatch


def fold(key: str) -> str:
    """Return a field name as the lenient parser compares it."""
    return key.replace("_", "").replace("-", "").lower()


# Objects the vendor (or the simulator) writes with exactly these keys take
# the fast path: no folding at all.
_CANONICAL: Final = frozenset(
    value
    for name, value in vars(wire).items()
    if name.startswith(("FIELD_", "KEY_")) and isinstance(value, str)
)
_FOLDED: Final = {name: fold(name) for name in _CANONICAL}


def decode_json(text: str | bytes) -> Any:
    """Decode JSON from the wire; MangoProtocolError is the only error it raises."""
    try:
        return json.loads(text)
    except ValueError as err:  # includes text that is not UTF-8
        raise MangoProtocolError("not JSON") from err
    except RecursionError as err:  # nesting deeper than the decoder goes
        raise MangoProtocolError("JSON nested too deep") from err


class Fields:
    """Case- and underscore-insensitive, type-checked access to an object's fields.

    ``call_id``, ``CALL_ID`` and ``callId`` are one field; ids and numbers may
    come as int or string; "" and null both mean absent.
    """

    __slots__ = ("_folded", "_values")

    def __init__(self, values: Mapping[Any, Any]) -> None:
        """Index the object's fields; fold their names only when they need it."""
        if _CANONICAL.issuperset(values):
            self._values: Mapping[Any, Any] = values
            self._folded = False
        else:
            self._values = {
                fold(key): value
                for key, value in values.items()
                if isinstance(key, str)
            }
            self._folded = True

    def get(self, name: str) -> Any:
        """Return a field as it came, None when absent or empty."""
        if self._folded:
            value = self._values.get(_FOLDED.get(name) or fold(name))
        else:
            value = self._values.get(name)
        # Some services send "" or null for a field they have nothing for.
        return None if value == "" else value

    def text(self, name: str, valid: Validator = ID) -> str | None:
        """Return a field as text, None when absent or implausible.

        ``valid`` is one of this module's validators (ID, WORD, EXTENSION,
        NUMBER, LINK). Ids and numbers may come as JSON numbers.
        """
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise MangoProtocolError(f"{name} is not a string")
        if isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                return None
            value = str(value)
        return value if len(value) <= MAX_TEXT_LENGTH and valid(value) else None

    def required_text(self, name: str, valid: Validator = ID) -> str:
        """Return a text field that the object is useless without."""
        if (value := self.text(name, valid)) is None:
            raise MangoProtocolError(f"{name} is missing or implausible")
        return value

    def message(self, name: str) -> str | None:
        """Return free text meant for people, cut to what a state may hold."""
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise MangoProtocolError(f"{name} is not a string")
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate: no JSON encoder writes it
            return None
        return value[:MAX_MESSAGE_LENGTH]

    def integer(self, name: str) -> int | None:
        """Return a field as a 64-bit integer; digits in a string count."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and len(value) <= 24:
            try:
                number = int(value.strip())
            except ValueError:
                raise MangoProtocolError(f"{name} is not an integer") from None
        else:
            raise MangoProtocolError(f"{name} is not an integer")
        return number if INT64_MIN <= number <= INT64_MAX else None

    def flag(self, name: str) -> bool:
        """Return a field as a boolean; absent means false."""
        value = self.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in {0, 1}:
            return bool(value)
        if (
            isinstance(value, str)
            and len(value) <= 8
            and (word := value.strip().lower()) in _FLAG_WORDS
        ):
            return _FLAG_WORDS[word]
        raise MangoProtocolError(f"{name} is not a boolean")

    def timestamp(self, name: str) -> datetime | None:
        """Return a unix time field as an aware UTC datetime.

        A time outside 2001 to 2286 (milliseconds, say) is dropped: the
        message is still good without it.
        """
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, str) and len(value) <= 32:
            try:
                value = float(value)
            except ValueError:
                raise MangoProtocolError(f"{name} is not a unix time") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MangoProtocolError(f"{name} is not a unix time")
        if not PLAUSIBLE_TIME_MIN <= value < PLAUSIBLE_TIME_MAX:  # also NaN
            return None
        return datetime.fromtimestamp(value, UTC)

    def mapping(self, name: str) -> Mapping[Any, Any] | None:
        """Return a field that holds an object."""
        value = self.get(name)
        if value is None or isinstance(value, Mapping):
            return value
        raise MangoProtocolError(f"{name} is not an object")


_FLAG_WORDS: Final = {
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
}
