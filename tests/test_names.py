"""Names as people say them: the six Russian cases, English, aliases, parts of a name.

The pairs below are the matcher's test set. `pytest tests/test_names.py -s -k
accuracy` prints the share found per case and language.
"""

from collections import Counter

import pytest

from custom_components.mango_office.names import declensions
from custom_components.mango_office.phonebook import (
    Phonebook,
    format_phonebook,
    parse_phonebook,
)

PHONEBOOK_TEXT = """
+7 916 123-45-67 = Иван Петров; Ваня
+7 916 222-22-22 = Пётр Иванович Сидоров
+7 916 333-33-33 = Мария Сидорова
+7 495 111-11-11 = Бухгалтерия
102 = Павел Кравец
103 = Ольга Кузнецова
+1 415 555-01-00 = John Smith
+1 415 555-01-01 = Emily Johnson
+7 916 444-44-44 = Sergey Volkov
+7 916 555-55-55 = Илья Муромец
+7 916 666-66-66 = Наталья Крупская
+7 916 777-77-77 = Дмитрий Достоевский
+7 916 888-88-88 = Лев Толстой
+7 916 999-99-99 = Игорь Шевченко
104 = Отдел кадров
+7 916 000-00-01 = Любовь Орлова
+7 916 000-00-02 = Никита Михалков
+7 916 000-00-03 = Евгения Ивановна Белых
105 = Приёмная
"""
BOOK, _ = parse_phonebook(PHONEBOOK_TEXT)
NUMBER = {name.split(";")[0]: number for number, name in BOOK.items()}

IVAN = NUMBER["Иван Петров"]
PETR = NUMBER["Пётр Иванович Сидоров"]
MARIA = NUMBER["Мария Сидорова"]
ACCOUNTS = NUMBER["Бухгалтерия"]
PAVEL = NUMBER["Павел Кравец"]
OLGA = NUMBER["Ольга Кузнецова"]
JOHN = NUMBER["John Smith"]
EMILY = NUMBER["Emily Johnson"]
SERGEY = NUMBER["Sergey Volkov"]
ILYA = NUMBER["Илья Муромец"]
NATALYA = NUMBER["Наталья Крупская"]
DMITRY = NUMBER["Дмитрий Достоевский"]
LEV = NUMBER["Лев Толстой"]
IGOR = NUMBER["Игорь Шевченко"]
PERSONNEL = NUMBER["Отдел кадров"]
LYUBOV = NUMBER["Любовь Орлова"]
NIKITA = NUMBER["Никита Михалков"]
EVGENIA = NUMBER["Евгения Ивановна Белых"]
RECEPTION = NUMBER["Приёмная"]

# (case or language, what was said, the entry it means)
PAIRS: list[tuple[str, str, str]] = [
    ("nominative", "Иван Петров", IVAN),
    ("nominative", "Мария", MARIA),
    ("nominative", "бухгалтерия", ACCOUNTS),
    ("nominative", "Павел", PAVEL),
    ("nominative", "Ольга Кузнецова", OLGA),
    ("nominative", "Илья Муромец", ILYA),
    ("nominative", "Лев Толстой", LEV),
    ("nominative", "приемная", RECEPTION),
    ("nominative", "Ваня", IVAN),
    ("nominative", "Евгения Ивановна", EVGENIA),
    ("nominative", "Сергей Волков", SERGEY),
    ("nominative", "Пётр Иванович", PETR),
    ("genitive", "у Ивана Петрова", IVAN),
    ("genitive", "Марии Сидоровой", MARIA),
    ("genitive", "для бухгалтерии", ACCOUNTS),
    ("genitive", "Павла", PAVEL),
    ("genitive", "Ольги Кузнецовой", OLGA),
    ("genitive", "у Ильи", ILYA),
    ("genitive", "Льва Толстого", LEV),
    ("genitive", "от приёмной", RECEPTION),
    ("genitive", "Вани", IVAN),
    ("genitive", "Натальи", NATALYA),
    ("genitive", "Дмитрия Достоевского", DMITRY),
    ("genitive", "отдела кадров", PERSONNEL),
    ("genitive", "Любови Орловой", LYUBOV),
    ("genitive", "Никиты", NIKITA),
    ("dative", "Ивану", IVAN),
    ("dative", "Марии", MARIA),
    ("dative", "в бухгалтерию", ACCOUNTS),
    ("dative", "Павлу", PAVEL),
    ("dative", "Ольге", OLGA),
    ("dative", "Илье Муромцу", ILYA),
    ("dative", "Льву", LEV),
    ("dative", "Наталье Крупской", NATALYA),
    ("dative", "Дмитрию Достоевскому", DMITRY),
    ("dative", "Игорю", IGOR),
    ("dative", "Ване", IVAN),
    ("dative", "Евгении Ивановне", EVGENIA),
    ("dative", "Сергею Волкову", SERGEY),
    ("dative", "Петру Ивановичу", PETR),
    ("dative", "Ивановичу", PETR),
    ("accusative", "Ивана Петрова", IVAN),
    ("accusative", "Марию", MARIA),
    ("accusative", "бухгалтерию", ACCOUNTS),
    ("accusative", "Павла Кравца", PAVEL),
    ("accusative", "Ольгу", OLGA),
    ("accusative", "Илью", ILYA),
    ("accusative", "Льва", LEV),
    ("accusative", "Наталью", NATALYA),
    ("accusative", "приёмную", RECEPTION),
    ("accusative", "Дмитрия", DMITRY),
    ("accusative", "Игоря Шевченко", IGOR),
    ("accusative", "Любовь Орлову", LYUBOV),
    ("accusative", "Никиту Михалкова", NIKITA),
    ("accusative", "Сергея", SERGEY),
    ("instrumental", "с Иваном", IVAN),
    ("instrumental", "с Марией", MARIA),
    ("instrumental", "с бухгалтерией", ACCOUNTS),
    ("instrumental", "с Павлом", PAVEL),
    ("instrumental", "с Ольгой Кузнецовой", OLGA),
    ("instrumental", "с Ильёй", ILYA),
    ("instrumental", "со Львом Толстым", LEV),
    ("instrumental", "с Натальей", NATALYA),
    ("instrumental", "с Дмитрием", DMITRY),
    ("instrumental", "с Игорем", IGOR),
    ("instrumental", "с отделом кадров", PERSONNEL),
    ("instrumental", "с Любовью", LYUBOV),
    ("instrumental", "с Никитой", NIKITA),
    ("instrumental", "с Петром Ивановичем", PETR),
    ("prepositional", "об Иване", IVAN),
    ("prepositional", "о Марии", MARIA),
    ("prepositional", "о бухгалтерии", ACCOUNTS),
    ("prepositional", "о Павле", PAVEL),
    ("prepositional", "об Ольге", OLGA),
    ("prepositional", "об Илье", ILYA),
    ("prepositional", "о Льве", LEV),
    ("prepositional", "о Наталье", NATALYA),
    ("prepositional", "о Дмитрии", DMITRY),
    ("prepositional", "об Игоре", IGOR),
    ("prepositional", "о приёмной", RECEPTION),
    ("prepositional", "о Любови", LYUBOV),
    ("prepositional", "о Никите", NIKITA),
    ("prepositional", "о Петре Ивановиче", PETR),
    ("english", "John", JOHN),
    ("english", "John Smith", JOHN),
    ("english", "smith", JOHN),
    ("english", "Emily", EMILY),
    ("english", "Emily Johnson", EMILY),
    ("english", "Ivan Petrov", IVAN),
    ("english", "Maria Sidorova", MARIA),
    ("english", "Pavel", PAVEL),
    ("english", "Olga Kuznetsova", OLGA),
    ("english", "Sergey Volkov", SERGEY),
    ("english", "Natalya", NATALYA),
    ("english", "Dmitry", DMITRY),
    ("english", "Lev Tolstoy", LEV),
    ("english", "Ilya Muromets", ILYA),
    ("english", "Vanya", IVAN),
]
CASES = [
    "nominative",
    "genitive",
    "dative",
    "accusative",
    "instrumental",
    "prepositional",
    "english",
]


def test_the_set() -> None:
    """At least 60 pairs, every case and both languages, over a phonebook read as users write it."""
    assert len(BOOK) == 19
    assert len(PAIRS) >= 60
    assert set(Counter(case for case, _, _ in PAIRS)) == set(CASES)


@pytest.mark.parametrize(("case", "said", "number"), PAIRS)
def test_said_finds_the_entry(case: str, said: str, number: str) -> None:
    """Each spoken form finds its entry, and only it."""
    assert Phonebook(BOOK).numbers_named(said) == {number: BOOK[number].split(";")[0]}


def test_accuracy_per_case() -> None:
    """Print the share of the set found per case and language (run with -s)."""
    book = Phonebook(BOOK)
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for case, said, number in PAIRS:
        total[case] += 1
        found[case] += list(book.numbers_named(said)) == [number]
    print()  # noqa: T201 - the figures are the point of this test
    for case in CASES:
        print(  # noqa: T201
            f"{case:14} {found[case]:3}/{total[case]:<3} {found[case] / total[case]:6.1%}"
        )
    assert found == total


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("руководство", {"руководства", "руководству", "руководством", "руководстве"}),
        ("управление", {"управления", "управлению", "управлением", "управлении"}),
        ("андрей", {"андрея", "андрею", "андреем", "андрее"}),
        ("дежурный", {"дежурного", "дежурному", "дежурным", "дежурном"}),
        ("саша", {"саши", "саше", "сашу", "сашей"}),
        ("иванович", {"ивановича", "ивановичу", "ивановичем", "ивановиче"}),
        ("пушкин", {"пушкина", "пушкину", "пушкиным", "пушкине"}),
        ("шевченко", {"шевченко"}),
        ("ли", {"ли"}),
        ("101", {"101"}),
    ],
)
def test_declensions(word: str, forms: set[str]) -> None:
    """Nouns, names and surnames decline; what cannot (Шевченко, numbers) stays."""
    assert forms <= declensions(word)


def test_aliases_and_old_entries() -> None:
    """Aliases after ";" find the entry and are not shown; entries saved before aliases still work."""
    entries, errors = parse_phonebook("+7 916 123-45-67 = Иван Петров; Ваня; шеф")
    # Stored as before: one text per number, which the options form shows back as it was.
    assert (entries, errors) == ({IVAN: "Иван Петров; Ваня; шеф"}, [])
    assert format_phonebook(entries) == "+79161234567 = Иван Петров; Ваня; шеф"
    book = Phonebook({**entries, MARIA: "Мария"})
    assert book.name_of(IVAN) == "Иван Петров"
    assert book.numbers_named("шефу") == {IVAN: "Иван Петров"}
    assert book.numbers_named("Ване") == {IVAN: "Иван Петров"}
    assert book.numbers_named("Марии") == {MARIA: "Мария"}


def test_whole_word_beats_a_prefix() -> None:
    """A first name is not ambiguous because another entry's patronymic starts with it."""
    book = Phonebook({IVAN: "Иван Петров", PETR: "Пётр Иванович"})
    assert book.numbers_named("Ивану") == {IVAN: "Иван Петров"}
    assert book.numbers_named("Ивановичу") == {PETR: "Пётр Иванович"}
    # With no whole word to beat it, the start of a name finds it.
    assert Phonebook({PETR: "Александр Пушкин"}).numbers_named("Алексу") == {
        PETR: "Александр Пушкин"
    }


def test_equally_good_matches_are_all_returned() -> None:
    """A dative that is also another entry's accusative finds both; prepositions alone find nothing."""
    book = Phonebook(BOOK)
    assert set(book.numbers_named("Сидорову")) == {PETR, MARIA}
    assert book.numbers_named("в") == {}
    assert book.numbers_named("Борису") == {}


def test_across_scripts() -> None:
    """A phonebook in Latin letters answers Russian speech, and the other way round."""
    book = Phonebook({IVAN: "Ivan Petrov", OLGA: "Olga", DMITRY: "Дмитрий"})
    assert book.numbers_named("Ивану Петрову") == {IVAN: "Ivan Petrov"}
    assert book.numbers_named("Ольге") == {OLGA: "Olga"}
    assert book.numbers_named("Dmitry") == {DMITRY: "Дмитрий"}
