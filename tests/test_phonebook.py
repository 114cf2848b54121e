"""Numbers as people write them, and the phonebook text."""

import pytest

from custom_components.mango_office.phonebook import (
    Phonebook,
    PhonebookLineError,
    format_phonebook,
    normalize_number,
    parse_phonebook,
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 916 123 45 67", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("8.495.123.45.67", "+74951234567"),
        ("0049 30 1234567", "+49301234567"),
        ("+49 30 1234567", "+49301234567"),
        ("380441234567", "+380441234567"),
        ("101", "101"),
        (" 1001 ", "1001"),
        ("1234567", "1234567"),
        ("Ivan", None),
        ("+7 916 ABC", None),
        ("+12", None),
        ("1234567890123456", None),
        ("", None),
        ("٣٤٥", None),
    ],
)
def test_normalize_number(text: str, number: str | None) -> None:
    """Russian numbers become E.164; extensions stay; words are not numbers."""
    assert normalize_number(text) == number


def test_parse_phonebook() -> None:
    """Any separator, either order; bad lines are reported with their line numbers."""
    entries, errors = parse_phonebook(
        "8 (916) 123-45-67 = Ivan Petrov\n"
        "\n"
        "# the office\n"
        "+7 495 765-43-21, Reception\n"
        "102 Anna\n"
        "Boss = 8-916-000-00-00\n"
        "just words\n"
        "+7 916 = \n"
        "101;\tMe\n"
    )
    assert entries == {
        "+79161234567": "Ivan Petrov",
        "+74957654321": "Reception",
        "102": "Anna",
        "+79160000000": "Boss",
        "101": "Me",
    }
    assert errors == [
        PhonebookLineError(7, "just words"),
        PhonebookLineError(8, "+7 916 ="),
    ]
    assert parse_phonebook(format_phonebook(entries)) == (entries, [])


def test_lookups() -> None:
    """Names for numbers in any form; numbers for whole names or a part of them."""
    book = Phonebook(
        {"+79161234567": "Ivan Petrov", "+79160000000": "Ivan Sidorov", "102": "Anna"}
    )
    assert book.name_of("8 916 123-45-67") == "Ivan Petrov"
    assert book.name_of("102") == "Anna"
    assert book.name_of(None) is None
    assert book.name_of("nobody") is None
    assert book.numbers_named("ivan petrov") == {"+79161234567": "Ivan Petrov"}
    assert book.numbers_named("Petrov") == {"+79161234567": "Ivan Petrov"}
    assert book.numbers_named("Ivan") == {
        "+79161234567": "Ivan Petrov",
        "+79160000000": "Ivan Sidorov",
    }
    assert book.numbers_named("  ") == {}
    assert book.numbers_named("Boris") == {}
    assert Phonebook({"+79161234567": "Алёна"}).numbers_named("алена") == {
        "+79161234567": "Алёна"
    }
