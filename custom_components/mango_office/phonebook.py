"""Phone numbers as people write them, and the names the user gave them."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
import re
from typing import Final

from .names import NameWord, SaidWord, name_match, words

# What people put between digits: "+7 (495) 123-45-67", "8.495.123.45.67".
_SEPARATORS = re.compile(r"[\s()\-.\u00a0]")
_NAME_SEPARATORS = re.compile(r"\s*[=,;\t]\s*")
_LEADING_NUMBER = re.compile(r"^\s*(\+?[\d\s()\-.]*\d)\s+(\S.*)$")
# An extension of the PBX or a short service number: kept as it is.
_LONGEST_SHORT_NUMBER = 6
# Between a name and its aliases: "+7 916 123-45-67 = Иван Петров; Ваня".
ALIAS_SEPARATOR: Final = ";"


def normalize_number(text: str) -> str | None:
    """Return a number in one canonical form, or None when it is not a number.

    Russian numbers in any usual form become E.164: "8 (916) 123-45-67",
    "9161234567" and "+7 916 123 45 67" are all "+79161234567". Extensions
    and other short numbers stay as they are.
    """
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    international = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not digits.isdecimal() or not digits.isascii():
        return None
    if international:
        return f"+{digits}" if 7 <= len(digits) <= 15 else None
    if len(digits) <= _LONGEST_SHORT_NUMBER:
        return digits
    if len(digits) == 11 and digits[0] in "78":
        return f"+7{digits[1:]}"
    if len(digits) == 10:
        return f"+7{digits}"
    if len(digits) > 11:
        return f"+{digits}" if len(digits) <= 15 else None
    # 7 to 9 digits: a city number dialled without its code.
    return digits


@dataclass(frozen=True, slots=True)
class PhonebookLineError:
    """A line of phonebook text that could not be read."""

    line_number: int
    line: str


def parse_phonebook(text: str) -> tuple[dict[str, str], list[PhonebookLineError]]:
    """Read phonebook text: one "number = name" a line.

    "=", ",", ";" or a tab may separate the two, or just a space after the
    number. Blank lines and lines starting with "#" are skipped.
    """
    entries: dict[str, str] = {}
    errors: list[PhonebookLineError] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not (stripped := line.strip()) or stripped.startswith("#"):
            continue
        parts = _NAME_SEPARATORS.split(stripped, maxsplit=1)
        if len(parts) != 2 and (match := _LEADING_NUMBER.match(stripped)):
            parts = list(match.groups())
        if len(parts) != 2 or not (name := parts[1].strip()):
            errors.append(PhonebookLineError(line_number, stripped))
            continue
        number = normalize_number(parts[0])
        if number is None and (number := normalize_number(name)) is not None:
            # "Ivan Petrov = +7 916 ..." reads as well the other way round.
            name = parts[0].strip()
        if number is None or not name:
            errors.append(PhonebookLineError(line_number, stripped))
            continue
        entries[number] = name
    return entries, errors


def format_phonebook(entries: Mapping[str, str]) -> str:
    """Write a phonebook back as the text parse_phonebook reads."""
    return "\n".join(f"{number} = {name}" for number, name in entries.items())


class Phonebook:
    """Names for numbers, and numbers for names.

    A name may carry aliases after ";" ("Иван Петров; Ваня"): the first part
    is the name shown with calls, every part finds the number.
    """

    def __init__(self, entries: Mapping[str, str]) -> None:
        """Take entries whose numbers are already normalized."""
        self._entries = dict(entries)
        self._names = {
            number: text.split(ALIAS_SEPARATOR)[0].strip() or text.strip()
            for number, text in entries.items()
        }

    @cached_property
    def _spellings(self) -> dict[str, list[list[NameWord]]]:
        """Every name and alias, declined: at the first look-up by name, not for every call."""
        return {
            number: [
                [NameWord(word) for word in name_words]
                for part in text.split(ALIAS_SEPARATOR)
                if (name_words := words(part))
            ]
            for number, text in self._entries.items()
        }

    def name_of(self, number: str | None) -> str | None:
        """Return the name the user gave a number, if any."""
        if number is None or (normalized := normalize_number(number)) is None:
            return None
        return self._names.get(normalized)

    def numbers_named(self, query: str) -> dict[str, str]:
        """Return the entries a spoken or typed name refers to, best matches only.

        Each word said must match a word of the name or of an alias, in any
        grammatical case ("Ивану Петрову" finds "Иван Петров") or as its
        start. Whole words beat a start ("Ивану" finds "Иван Петров", not
        "Пётр Иванович"), and a name with no word left over beats a longer
        one. Several entries come back when they match equally well.
        """
        said = [SaidWord(word) for word in words(query)]
        if all(word.optional for word in said):
            return {}
        ratings = {
            number: max(name_match(said, spelling) for spelling in spellings)
            for number, spellings in self._spellings.items()
            if spellings
        }
        best = max(ratings.values(), default=(0, False))
        if best[0] == 0:
            return {}
        return {
            number: self._names[number]
            for number, rating in ratings.items()
            if rating == best
        }


def display_number(number: str) -> str:
    """A number as people write it: "+79161234567" is "+7 916 123-45-67"."""
    if len(number) == 12 and number.startswith("+7") and number[1:].isdecimal():
        return f"+7 {number[2:5]} {number[5:8]}-{number[8:10]}-{number[10:]}"
    return number
