"""Personal names by gazetteer: a known first name followed by capitalised surname words.

The first names are Faker's (a core dependency): about 31,000 across its locales, loaded from the
installed package, never downloaded. A span is a known first name, an optional middle initial and
one or two capitalised words written right after it ("Terence Skinner", "Szabina J Gelencsér",
"Ashleigh Jones-Baxter"), ending before a possessive. A known first name alone counts inside a
sentence, as a speaker's label or before what people do ("said Gladys to Logan", "Ella: …",
"Jacob lives …"), unless it is an everyday word ("Will", "May"). In a text written all in lower
case, a name counts only as a known first name followed by a known surname (Faker's ~28,000),
neither of them an everyday word ("naomi ryan", not "will park"). The words after a phrase that
introduces a name ("my name is", "call me", "maiden name is", "Name:") are a name too.
It complements NER, which misses names in short, formulaic text and ignores lower-case text,
and runs without it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re

SCORE = 0.7
# A text without capitals (what ``str.islower`` asks) holding two words with a space between.
LOWER_CASE_PREFILTER = r"^[^\p{Lu}\p{Lt}]*[^\s] [^\s][^\p{Lu}\p{Lt}]*$"
_WORD = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*\.?")


# Names that are also everyday English words (or name particles): never a name on their own,
# nor in lower case. Faker's English word list joins them (see ``everyday_words``).
_COMMON_WORDS = frozenset(
    {"will", "may", "mark", "bill", "grant", "rose", "june", "april", "august", "jack", "frank"}
    | {"hope", "faith", "joy", "long", "young", "white", "brown", "park", "street", "hill", "king"}
    | {"green", "black", "little", "love", "bell", "wood", "rich", "sunny", "art", "guy", "pat"}
    | {"dawn", "summer", "sky", "ray", "gay", "page", "law", "case", "hall", "lane", "field"}
    | {"rock", "stone", "wells", "major", "price", "rice", "cook", "ball", "bishop", "cash"}
    | {"chase", "dale", "drew", "early", "gill", "glass", "hunt", "lord", "marsh", "miles", "moon"}
    | {"new", "north", "rush", "sharp", "short", "sole", "sweet", "tan", "tree", "vine", "ward"}
    | {"west", "wolf", "ring", "rob", "sue", "sam", "lee", "van", "de", "la", "le", "da", "del"}
    | {"der", "den", "ben", "don", "dan", "an", "al", "el", "jan", "hans", "tom"}
)
_CALENDAR_AND_ROLES = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january"}
    | {"february", "march", "july", "september", "october", "november", "december", "autumn"}
    | {"winter", "easter", "christmas", "christian", "muslim", "jewish", "catholic", "french"}
    | {"german", "english", "doctor", "captain", "general", "judge", "pastor", "deacon", "marshal"}
    | {"queen", "prince", "princess", "sister", "baby", "grace", "liberty", "justice", "mercy"}
    | {"patience", "destiny", "genesis", "heaven", "miracle", "journey", "chance", "storm", "star"}
    | {"silver", "diamond", "royal", "noble", "max", "nova", "echo", "sterling", "harmony"}
)


@functools.lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    """Lower-case words that are never a name on their own: the lists above and Faker's ~1,000
    common English words (its lorem provider)."""
    from faker.providers.lorem.en_US import Provider as Lorem  # noqa: PLC0415 - on first use

    return _COMMON_WORDS | _CALENDAR_AND_ROLES | frozenset(Lorem.word_list)


def _faker_people(attributes: tuple[str, ...]) -> frozenset[str]:
    import faker.providers.person as people  # noqa: PLC0415 - loaded on first use only

    found: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        provider = getattr(
            importlib.import_module(f"faker.providers.person.{module.name}"), "Provider", None
        )
        for attribute in attributes:
            values = vars(provider).get(attribute) if provider is not None else None
            if isinstance(values, dict | list | tuple):
                found.update(v for v in values if isinstance(v, str) and len(v) > 1)
    return frozenset(found)


@functools.lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Every first name in Faker's person providers."""
    return _faker_people(("first_names", "first_names_male", "first_names_female"))


@functools.lru_cache(maxsize=1)
def _initials() -> str:
    """A character class of the letters that known first names start with."""
    return f"[{''.join(re.escape(c) for c in sorted({name[0] for name in first_names()}))}]"


def prefilter() -> str:
    """Routes rows to the name scan (a native regex): a letter that some known first name
    starts with. Every name the scan finds starts with one, and the rules that then apply
    (the words after it, where it stands in a sentence, what follows it) are the scan's."""
    return _initials()


@functools.lru_cache(maxsize=1)
def _candidates() -> re.Pattern[str]:
    """The words ``_WORD`` finds that may be a first name: those that start with a letter some
    name starts with. The letter comes first and the word's start is checked behind it: a
    pattern that opens with a character class lets Python's ``re`` skip ahead to the next such
    letter (twice as fast as checking every position)."""
    return re.compile(
        rf"{_initials()}(?<![^\W\d_].)(?<![^\W\d_]['’\-].)[^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*\.?"
    )


@functools.lru_cache(maxsize=1)
def _lower_pairs() -> tuple[frozenset[str], frozenset[str]]:
    def lowered(names: frozenset[str]) -> frozenset[str]:
        return frozenset(n.lower() for n in names if len(n) > 2) - everyday_words()

    surnames = _faker_people(("last_names", "last_names_male", "last_names_female"))
    return lowered(first_names()), lowered(surnames)


@functools.lru_cache(maxsize=1)
def _known_lower() -> frozenset[str]:
    firsts, lasts = _lower_pairs()
    return firsts | lasts


def _capitalised(word: str) -> bool:
    return word[0].isupper() and (len(word) == 1 or not word.isupper())


def name_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each gazetteer name in ``text``."""
    names = first_names()
    spans: list[tuple[int, int]] = []
    resume = 0  # words before this belong to a name already found
    for match in _candidates().finditer(text):
        start, word = match.start(), match.group()
        if start < resume or word.rstrip(".") not in names:
            continue
        end, taken = match.end(), 0
        # A first name that ends a sentence ("Via Roma.") takes no words after it.
        more = text.startswith(" ", end) and not word.endswith(".")
        following = _WORD.match(text, end + 1) if more else None
        while following is not None and taken < 2:
            after = following.group()
            owner = after.endswith(("'s", "’s"))  # a possessive ends the name
            bare = after[:-2] if owner else after.rstrip(".")
            initial = len(bare) == 1 and after[0].isupper() and taken == 0
            if not (initial or (_capitalised(bare) and len(bare) > 1)):
                break
            end = following.start() + (len(after) if initial else len(bare))
            resume = following.end()
            taken += 0 if initial else 1
            following = (
                _WORD.match(text, end + 1) if text.startswith(" ", end) and not owner else None
            )
        if taken:
            spans.append((start, end))
        elif _alone_is_a_name(text, start, word):
            spans.append((start, start + len(word.rstrip("."))))
    return spans


_NAME_CUE = re.compile(
    r"(?i)\b(?:my name is|my name's|call me|calls me|called|named"
    r"|(?:first|last|maiden|middle|full) name(?: is)?[:?]?|name:)[ \t]+"
)
# Every cue holds one of these (ASCII, any case): a fast native test for routing rows.
NAME_CUE_WORDS = ("name", "call")


def cued_name_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of up to three name words (and a middle initial) right after a phrase that
    introduces a name ("my name is", "call me", "maiden name is", "Name:"): capitalised, or in
    an all-lower-case text lower case (starting with a known first name or surname or, after
    "name is", ending the clause: "my name is borna", not "call me tomorrow"); never an
    everyday word."""
    lower_text = text.islower()
    known = _known_lower() if lower_text else frozenset()
    found = []
    for cue in _NAME_CUE.finditer(text):
        end = at = cue.end()
        named = "name" in cue.group().lower()
        for i in range(4):
            match = _WORD.match(text, at)
            word = match.group().rstrip(".") if match is not None else ""
            initial = i > 0 and len(word) == 1  # a middle initial, its full stop with it
            if lower_text:  # in lower case: a known name, or after "name is" the clause's end
                unknown_ok = named and _ends_clause(text, at)
                written = word.islower() and (i > 0 or word in known or unknown_ok)
            else:
                written = bool(word) and _capitalised(word) and (len(word) > 1 or initial)
            if not written or (word.lower() in everyday_words() and not initial):
                break
            end = at + len(match.group() if initial and match is not None else word)
            if not text.startswith(" ", end):
                break
            at = end + 1
        if end > cue.end():
            found.append((cue.end(), end))
    return found


_CLAUSE = re.compile(r"[^\W\d_][^\s,.;:!?]*(?: [^\W\d_][^\s,.;:!?]*){0,2}(?:[,.;:!?\r\n]|$)")


def _ends_clause(text: str, at: int) -> bool:
    """Whether one to three words from ``at`` end the clause (a comma, full stop, line end)."""
    return _CLAUSE.match(text, at) is not None


_SENTENCE_END = re.compile(r"(?:^|[.!?:\n\"“(]\s*)$")


def _alone_is_a_name(text: str, start: int, word: str) -> bool:
    """A known first name on its own: inside a sentence (at its start any word is capitalised),
    as a speaker's label ("Ella: …") or before what people do ("Jacob lives …"), written like
    a name, and not an everyday word."""
    bare = word.rstrip(".")
    if len(bare) < 3 or bare.isupper() or bare.lower() in everyday_words():
        return False
    if text.startswith(":", start + len(bare)) or _PERSON_VERB.match(text, start + len(bare)):
        return True
    return _SENTENCE_END.search(text, 0, start) is None


# What people do: a known first name before one of these names someone even at a sentence's start.
_PERSON_VERB = re.compile(
    r" (?:is|was|has|had|lives|lived|said|says|began|shouted|asked|told|went|works|worked|wrote"
    r"|called)\b"
)


def lower_case_name_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each known first name followed by a known surname (a middle initial
    between them allowed), in a text written all in lower case (where text has capitals, names
    have them too)."""
    if not text.islower():
        return []
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    firsts, lasts = _lower_pairs()
    found = []
    for i, (start, first_end, word) in enumerate(words):
        if word not in firsts:
            continue
        end, following = first_end, words[i + 1 : i + 3]
        if len(following) == 2 and len(following[0][2].rstrip(".")) == 1:
            if text[end : following[0][0]] != " ":
                continue
            end = following[0][1]  # a middle initial
            following = following[1:]
        if following and text[end : following[0][0]] == " ":
            last_end, last = following[0][1], following[0][2]
            if last.rstrip(".") in lasts:
                found.append((start, last_end - last.endswith(".")))
    return found
