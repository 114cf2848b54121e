"""Names as people say them: Russian grammatical cases, either script, parts of a name.

Phonebook names are written in the nominative ("Иван Петров"); after a verb
people say another case ("позвони Ивану Петрову", "набери Марию"). Rather
than guessing the dictionary form of what was said (a stemmer's way, which
cuts "Павлу" to "павл" and never meets "Павел"), this module declines each
phonebook word by the rules of Russian nouns, adjectives and surnames and
compares what was said with those forms. The phonebook is small, so its
forms are computed once and the lookup is a set membership.

Words of Latin script are also read as Russian ("Ivan" declines as "Иван"),
so a phonebook typed in Latin letters answers Russian speech, and the other
way round.
"""

from collections.abc import Iterable
import re
from typing import Final

_WORD: Final = re.compile(r"\w+")
# Prepositions and fillers around a name in a request; a name may still contain them.
_OPTIONAL_WORDS: Final = frozenset(
    "в во на к ко у с со о об обо от для пожалуйста the to my please".split()  # noqa: SIM905 - reads better than a column
)
_HUSHING: Final = "жшчщ"
_VELAR: Final = "гкх"
_CYRILLIC: Final = re.compile(r"[а-я]")
# Case endings that may follow a stem in what was said, longest first.
_ENDINGS: Final = tuple(
    sorted(
        "ами ями ого его ому ему ыми ими ией ьей ью ой ей ом ем ам ям ах ях ую юю ых их ым им ий ый ия ию ии а я у ю е и ы о ь й".split(),  # noqa: SIM905 - as above
        key=len,
        reverse=True,
    )
)
# Shortest part of a word that may stand for the whole ("Алекс" for "Александр").
_SHORTEST_PREFIX: Final = 3

# Latin to Russian letters, longest spelling first; good enough for names
# ("Sergey" → "сергей", "Maria" → "мариа", which compares as "мария" below).
_LATIN: Final = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("ya", "я"),
    ("ja", "я"),
    ("yo", "е"),
    ("ye", "е"),
    ("ph", "ф"),
    ("th", "т"),
    ("x", "кс"),
    ("j", "дж"),
    ("a", "а"),
    ("b", "б"),
    ("c", "к"),
    ("d", "д"),
    ("e", "е"),
    ("f", "ф"),
    ("g", "г"),
    ("h", "х"),
    ("i", "и"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("q", "к"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("v", "в"),
    ("w", "в"),
    ("y", "и"),
    ("z", "з"),
)
_LATIN_PATTERN: Final = re.compile("|".join(latin for latin, _ in _LATIN))
_LATIN_MAP: Final = dict(_LATIN)
# "Наталья" and "Наталия" are one name.
_SOFT_SIGN_BEFORE_VOWEL: Final = re.compile(r"ь(?=[аеиоуыэюя])")
# Letters a name read from Latin letters cannot tell: "Olga" is "Ольга", "Sergei" "Сергей".
_LOOSE: Final = str.maketrans({"ъ": None, "ь": None, "й": "и", "ы": "и", "э": "е"})


def words(text: str) -> list[str]:
    """Split a name into comparable words: case-folded, with ё read as е."""
    return _WORD.findall(text.casefold().replace("ё", "е"))


def is_optional(word: str) -> bool:
    """Whether a word of a request may be left unmatched (a preposition, "please")."""
    return word in _OPTIONAL_WORDS


def _cyrillic(word: str) -> str:
    """Read a word of Latin letters as Russian; other words stay as they are."""
    if not _is_latin(word):
        return word
    # "-ia" ends Maria and Natalia, "-y" after a consonant ends Dmitry and Yuriy.
    word = re.sub(r"ia$", "ия", word)
    word = re.sub(r"(?<=[^aeiouy])y(?=[aeou])", "ьy", word)  # Ilya, Tatyana
    word = re.sub(r"(?<=[^aeiouy])y$", "ий", word)
    word = re.sub(r"(?<=[aeiou])y$", "й", word)  # Sergey, Yuriy
    word = re.sub(r"(?<=[aeiou])h(?=[^aeiou]|$)", "", word)  # John, Sarah
    return _LATIN_PATTERN.sub(lambda match: _LATIN_MAP[match.group()], word)


def _spelling(word: str) -> str:
    return _SOFT_SIGN_BEFORE_VOWEL.sub("и", word)


def _loose(word: str) -> str:
    return _spelling(word).translate(_LOOSE)


def _is_latin(word: str) -> bool:
    return word.isascii() and word.isalpha()


def declensions(word: str) -> set[str]:
    """Return a Russian noun's, name's or surname's forms in the six cases, singular.

    The word is in the nominative, as phonebook names are written. Where a
    word may follow more than one pattern (a first name or a surname, a noun
    or an adjective), the forms of each are given: a form nobody says costs
    nothing, a missing one loses a match.
    """
    forms = {word}
    if len(word) < 2 or not _CYRILLIC.search(word[-1]):
        return forms

    def add(stem: str, *endings: str) -> None:
        forms.update(stem + ending for ending in endings)

    stem = word[:-1]
    if word.endswith(("ая", "яя")):  # Крупская, приёмная, Нижняя
        add(word[:-2], "ой", "ую", "ою", "ей", "юю", "ею")
    elif word.endswith("ия"):  # Мария, бухгалтерия
        add(stem, "и", "ю", "ей", "ею")
    elif word.endswith("я"):  # Илья, Наталья, Ваня
        add(stem, "и", "е", "ю", "ей", "ею")
    elif word.endswith(("ова", "ева")):  # Сидорова: Сидоровой, not Сидорове
        add(stem, "ой", "у", "ою")
    elif word.endswith("а"):  # Анна, Ольга, Никита, Ивановна, and Пушкина like Марина
        add(stem, "и" if stem[-1] in _VELAR + _HUSHING else "ы", "е", "у", "ой", "ою")
        if stem[-1] in _HUSHING + "ц":  # Саша, Сашей
            add(stem, "ей", "ею")
    elif word.endswith(("ый", "ой")):  # Толстой, Дежурный
        add(word[:-2], "ого", "ому", "ым", "ом", "им")
    elif word.endswith("ий"):  # Дмитрий, and the adjectives Достоевский, Синий
        add(stem, "я", "ю", "ем", "и")
        add(word[:-2], "ого", "ому", "им", "ом", "его", "ему")
    elif word.endswith("й"):  # Андрей, Николай
        add(stem, "я", "ю", "ем", "е")
    elif word.endswith("ь"):  # Игорь, and the feminine Любовь
        add(stem, "я", "ю", "ем", "е", "и", "ью")
        if word.endswith("овь"):
            add(word[:-3], "ви")
    elif word.endswith(
        "о"
    ):  # руководство (Шевченко does not change, and costs nothing)
        add(stem, "а", "у", "ом", "е")
    elif word.endswith("е"):  # управление
        add(stem, "я", "ю", "ем", "и")
    elif word[-1] not in "иуыэю":  # a consonant: Иван, Петров, Иванович, склад
        add(word, "а", "у", "ом", "е")
        if word[-1] in _HUSHING + "ц":  # Ивановичем
            add(word, "ем")
        if word.endswith(("ов", "ев", "ин", "ын")):  # Петровым, Пушкиным
            add(word, "ым")
        # A vowel that drops: Павел → Павла, Кравец → Кравца, Лев → Льва.
        if word.endswith(("ел", "ец", "ок", "ек")) and len(word) > 3:
            add(word[:-2] + word[-1], "а", "у", "ом", "ем", "е")
        if word == "лев":
            add("льв", "а", "у", "ом", "е")
    return forms


def _stems(word: str) -> set[str]:
    """What a spoken word may be the start of: itself, and itself without a case ending."""
    stems = {word}
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _SHORTEST_PREFIX:
            stems.add(word[: -len(ending)])
            break
    return {stem for stem in stems if len(stem) >= _SHORTEST_PREFIX}


class NameWord:
    """One word of a phonebook name, with every form it may be said in."""

    __slots__ = ("bases", "forms", "latin", "loose_forms")

    def __init__(self, word: str) -> None:
        """Decline the word once; matching is then set look-ups."""
        self.latin = _is_latin(word)
        russian = _cyrillic(word)
        forms = declensions(russian)
        self.forms = {_spelling(form) for form in forms} | {word}
        self.loose_forms = {_loose(form) for form in forms}
        self.bases = {word, _spelling(russian)}


class SaidWord:
    """One word of what was said, in the spellings it is compared in."""

    __slots__ = ("latin", "loose", "optional", "spellings", "stems")

    def __init__(self, word: str) -> None:
        """Read the word in both scripts."""
        self.optional = is_optional(word)
        self.latin = _is_latin(word)
        russian = _cyrillic(word)
        self.spellings = {word, _spelling(russian)}
        self.loose = _loose(russian)
        self.stems = {stem for spelling in self.spellings for stem in _stems(spelling)}


# How well a said word matches a name word.
NO_MATCH: Final = 0
PREFIX: Final = 1
"""The word is the start of a name word ("Алекс" of "Александр")."""
SAME_WORD: Final = 2
"""The word is a form of the name word ("Ивану" of "Иван")."""


def word_match(said: SaidWord, name_word: NameWord) -> int:
    """Rate how a said word matches one word of a name."""
    if said.spellings & name_word.forms:
        return SAME_WORD
    # Loosely only across scripts: in Russian letters "Валерий" is not "Валерии".
    if (said.latin or name_word.latin) and said.loose in name_word.loose_forms:
        return SAME_WORD
    if any(base.startswith(stem) for base in name_word.bases for stem in said.stems):
        return PREFIX
    return NO_MATCH


def name_match(said: Iterable[SaidWord], name: list[NameWord]) -> tuple[int, bool]:
    """Rate how a request matches a name; (0, False) when it does not.

    Each word said must match a word of the name (prepositions may go
    unmatched). A name matched by whole words beats one matched by a prefix,
    and a name with no word left over beats a longer one.
    """
    total = 0
    used: set[int] = set()
    for word in said:
        rating, index = max(
            ((word_match(word, name_word), i) for i, name_word in enumerate(name)),
            default=(NO_MATCH, -1),
        )
        if rating == NO_MATCH:
            if word.optional:
                continue
            return NO_MATCH, False
        total += rating
        used.add(index)
    return total, total > 0 and len(used) == len(name)
