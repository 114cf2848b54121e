r"""How well the phonebook's rule-based declension finds Russian names, checked against pymorphy3.

pymorphy3 (with its 16 MB OpenCorpora dictionary) inflects 204 first names,
surnames, patronymics and office nouns into the six cases; this prints how
many of those forms the integration's rules find, how many a Snowball
stemmer would (stem of the form == stem of the name), and how one phonebook
holding all 204 names answers each form. Neither package is a requirement
of the integration, so install them aside first:

    .venv/bin/python -m pip install --no-deps --target /tmp/name-forms \\
        pymorphy3 pymorphy3-dicts-ru dawg2-python snowballstemmer
    PYTHONPATH=.:/tmp/name-forms .venv/bin/python -m benchmarks.name_forms

Prints figures; asserts nothing.
"""

from collections import Counter
import time
import tracemalloc
from typing import Any

import pymorphy3  # type: ignore[import-not-found,import-untyped,unused-ignore]  # installed aside, see above
import snowballstemmer  # type: ignore[import-not-found,import-untyped,unused-ignore]

from custom_components.mango_office.names import NameWord, SaidWord, name_match

GROUPS: dict[str, tuple[str, list[str]]] = {
    "first names, m": (
        "Name",
        "Александр Алексей Анатолий Андрей Антон Аркадий Артём Борис Вадим Валентин "
        "Валерий Василий Виктор Виталий Владимир Владислав Всеволод Вячеслав Геннадий "
        "Георгий Глеб Григорий Даниил Денис Дмитрий Евгений Егор Иван Игорь Илья "
        "Кирилл Константин Лев Леонид Максим Марк Матвей Михаил Никита Николай Олег "
        "Павел Пётр Роман Руслан Семён Сергей Станислав Степан Тимофей Тимур Фёдор "
        "Юрий Ярослав".split(),
    ),
    "first names, f": (
        "Name",
        "Александра Алина Алла Анастасия Ангелина Анна Антонина Валентина Валерия Вера "
        "Вероника Виктория Галина Дарья Диана Евгения Екатерина Елена Елизавета Жанна "
        "Зоя Инна Ирина Карина Кира Кристина Ксения Лариса Лидия Любовь Людмила "
        "Маргарита Марина Мария Надежда Наталья Нина Оксана Ольга Полина Раиса "
        "Светлана Софья Тамара Татьяна Ульяна Юлия Яна".split(),
    ),
    "surnames, m": (
        "Surn",
        "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров "
        "Морозов Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев "
        "Орлов Андреев Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев "
        "Пушкин Ильин Достоевский Толстой Крупский Чайковский Жуков Кравец Шевченко "
        "Бондаренко".split(),
    ),
    "surnames, f": (
        "Surn",
        "Иванова Смирнова Кузнецова Попова Васильева Петрова Соколова Михайлова Новикова "
        "Фёдорова Морозова Волкова Никитина Захарова Ильина Пушкина Достоевская Толстая "
        "Крупская Чайковская".split(),
    ),
    "patronymics": (
        "Patr",
        "Иванович Петрович Сергеевич Александрович Николаевич Дмитриевич Андреевич "
        "Ильич Кузьмич Ивановна Петровна Сергеевна Александровна Николаевна Дмитриевна "
        "Андреевна Ильинична".split(),
    ),
    "office nouns": (
        "NOUN",
        "бухгалтерия приёмная охрана склад директор секретарь отдел офис касса "
        "администрация руководство управление лаборатория диспетчерская дежурный "
        "менеджер юрист кадровик поддержка производство мастерская бригадир водитель "
        "курьер".split(),
    ),
}
CASES = {
    "nomn": "nominative",
    "gent": "genitive",
    "datv": "dative",
    "accs": "accusative",
    "ablt": "instrumental",
    "loct": "prepositional",
}


def _plain(word: str) -> str:
    return word.casefold().replace("ё", "е")


def _forms(morph: Any, word: str, tag: str) -> dict[str, str] | None:
    """The word's six singular case forms, by pymorphy3, or None if it has no such paradigm."""
    for parse in morph.parse(word):
        if parse.tag.case != "nomn" or not (
            tag in parse.tag or (tag == "NOUN" and parse.tag.POS in ("NOUN", "ADJF"))
        ):
            continue
        forms = {
            case: _plain(inflected.word)
            for case in CASES
            if (inflected := parse.inflect({case, "sing"}) or parse.inflect({case}))
        }
        if len(forms) == len(CASES):
            return forms
    return None


def main() -> None:
    """Print the figures."""
    tracemalloc.start()
    started = time.perf_counter()
    morph = pymorphy3.MorphAnalyzer()
    load_seconds = time.perf_counter() - started
    load_memory = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stem = snowballstemmer.stemmer("russian").stemWord

    samples: list[tuple[str, str, str, str]] = []  # group, name, case, form
    for group, (tag, words) in GROUPS.items():
        for word in words:
            if (forms := _forms(morph, word, tag)) is None:
                print(f"pymorphy3 has no paradigm for {word}; left out")
                continue
            samples += [(group, _plain(word), case, f) for case, f in forms.items()]

    found: Counter[str] = Counter()
    stemmed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for group, name, case, form in samples:
        name_word = NameWord(name)
        for key in (group, CASES[case]):
            total[key] += 1
            found[key] += bool(SaidWord(form).spellings & name_word.forms)
            stemmed[key] += stem(form) == stem(name)

    print(f"\n{'':16}{'forms':>6}{'rules':>8}{'Snowball':>10}")
    for key in [*GROUPS, *CASES.values()]:
        print(
            f"{key:16}{total[key]:6}{found[key] / total[key]:8.1%}"
            f"{stemmed[key] / total[key]:10.1%}"
        )

    # One phonebook of every name: is each form its own name's alone?
    book = {name: [NameWord(name)] for _, name, _, _ in samples}
    outcome: Counter[str] = Counter()
    ties: Counter[tuple[str, ...]] = Counter()
    started = time.perf_counter()
    for _, name, _, form in samples:
        said = [SaidWord(form)]
        ratings = {
            other: name_match(said, spelling) for other, spelling in book.items()
        }
        best = max(ratings.values())
        winners = tuple(sorted(o for o, r in ratings.items() if r == best and r[0]))
        if winners == (name,):
            outcome["only its own name"] += 1
        elif name in winners:
            outcome["tied with another"] += 1
            ties[winners] += 1
        else:
            outcome["wrong"] += 1
    per_lookup = (time.perf_counter() - started) / len(samples)
    print(f"\nOne phonebook of {len(book)} names, each of {len(samples)} forms said:")
    for kind in ("only its own name", "tied with another", "wrong"):
        print(f"  {kind:18} {outcome[kind]:5}")
    print("  ties:", ", ".join("/".join(pair) for pair in ties))
    print(f"  {per_lookup * 1e3:.2f} ms per look-up")
    print(
        f"\npymorphy3: {load_seconds:.2f} s and {load_memory / 2**20:.1f} MiB"
        " (peak traced) to load its dictionary"
    )


if __name__ == "__main__":
    main()
