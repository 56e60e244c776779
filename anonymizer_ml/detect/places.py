"""Places that NER misses: country names, and the place after words that announce one.

Countries (and US states) come from Faker's English address provider, matched as whole words,
capitalised or in capitals — and in a text written all in lower case, in lower case too. A place
is also the name right after a phrase that announces one ("flew to", "originally from",
"lives in", "home city", a "Where:" label): up to four capitalised or upper-case words (with
particles such as "de" or "la" between them), or, in an all-lower-case text, up to three words
none of which is an everyday word. NER misses such names most often when they are in capitals
("flew to STAXROITH") or in lower case ("returned to kiel").
"""

from __future__ import annotations

import functools
import re
from typing import TypeAlias

import polars as pl

from anonymizer_ml.detect.names import everyday_words

ENTITY = "LOCATION"
POSTCODE = "ZIP_CODE"
SCORE = 0.6
CAPITAL = r"[A-ZÀ-ÖØ-ÞĀ-ſΑ-ΩА-Я]"  # a capital letter (Latin Extended-A holds both cases)
_PARTICLE = r"(?:de|del|la|le|du|des|da|do|dos|van|von|der|nad|pod|am|an|im|sur|upon|o')"
_CUE = (
    r"\b(?:(?:flew|flown|fly|flying|moved|moving|returned|travell?ed|went|came|drove|arrived|"
    r"relocated|emigrated)(?: (?:back|here|there|home|out))? (?:to|from|at|in)"
    r"|(?:originally|coming|comes|come|came|hails?) from"
    r"|(?:lives?|living|lived|born|based|grew up|resides?|residing|located|staying|am|are|is|was)"
    r" in"
    r"|home (?:city|town)|where:)"
)
# Routes rows to the Python scan (natively, without its word boundaries): the cue phrases
# themselves, which let a third of the rows through that their words alone ("from") did.
CUE_PREFILTER = rf"(?i:{_CUE})\s"
_AFTER_CUE = re.compile(rf"(?i:{_CUE})\s+")
_CAPITALISED = re.compile(rf"{CAPITAL}[\w'’\-]*(?: (?:{_PARTICLE} )?{CAPITAL}[\w'’\-]*){{0,3}}")
_LOWER = re.compile(r"[a-zà-ÿ][\w'’\-]*(?: [a-zà-ÿ][\w'’\-]*){0,2}")


@functools.lru_cache(maxsize=1)
def country_names() -> tuple[str, ...]:
    """Faker's English country names and the US states, longest first."""
    from faker.providers.address import en_US  # noqa: PLC0415 - loaded on first use only

    names = {c for c in en_US.Provider.countries if "(" not in c}
    names.update(en_US.Provider.states)
    return tuple(sorted(names, key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def country_alternation() -> str:
    """The names, in lower case, as one regex alternation shaped as a prefix tree (match it
    ignoring case). Longer continuations are tried first, so the longest name wins; a flat
    alternation of 300 names measured ten times slower in Python's ``re``."""
    return _prefix_tree({name.lower() for name in country_names()})


_Trie: TypeAlias = dict[str, "_Trie"]  # a character to what follows it ("" ends a word)


def _prefix_tree(words: set[str]) -> str:
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _render(root)


def _render(node: _Trie) -> str:
    branches = [_literal(char) + _render(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


def _literal(char: str) -> str:
    return char if char == " " else re.escape(char)


@functools.lru_cache(maxsize=1)
def _countries() -> re.Pattern[str]:
    return re.compile(rf"(?i)\b(?:{country_alternation()})\b")


@functools.lru_cache(maxsize=1)
def _country_forms() -> list[str]:
    return sorted({form for n in country_names() for form in (n, n.lower(), n.upper())})


def countries_located(column: pl.Expr) -> pl.Expr:
    """Per row, the byte offsets where a country or state name may start: one native
    Aho-Corasick pass ignoring ASCII case, overlapping matches included (a regex alternation of
    300 names ignoring case measured 14 µs a row)."""
    return column.str.find_many(_country_forms(), ascii_case_insensitive=True, overlapping=True)


def country_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each country or US state named in ``text``."""
    lower_text = text.islower()
    return [m.span() for m in _countries().finditer(text) if lower_text or m.group()[0].isupper()]


def country_spans_at(text: str, offsets: list[int]) -> list[tuple[int, int]]:
    """``country_spans``, trying the pattern only at ``offsets`` (byte offsets where a name
    starts, from ``countries_located``): the same spans, as the pattern matches nowhere else.
    Byte and character offsets agree only in ASCII text, so any other is read whole (so are
    the letters that Python's case-blind matching alone takes for ASCII ones)."""
    if not text.isascii():
        return country_spans(text)
    pattern, lower_text = _countries(), text.islower()
    found, taken = [], 0
    for start in sorted(set(offsets)):
        match = pattern.match(text, start) if start >= taken else None
        if match is not None:  # a match hides the ones inside it, kept or not (as in finditer)
            taken = match.end()
            if lower_text or match.group()[0].isupper():
                found.append(match.span())
    return found


def _capitalised_place(text: str, at: int) -> int:
    match = _CAPITALISED.match(text, at)
    if match is None or match.group().split()[0].lower() in everyday_words():
        return at
    return match.end()


def _lower_case_place(text: str, at: int) -> int:
    """End of the words at ``at`` up to the first everyday word."""
    match = _LOWER.match(text, at)
    words = match.group().split() if match is not None else []
    kept: list[str] = []
    for word in words:
        if word in everyday_words():
            break
        kept.append(word)
    return at + len(" ".join(kept))


def cued_place_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each place named right after a phrase that announces one."""
    lower_text = text.islower()
    found = []
    for cue in _AFTER_CUE.finditer(text):
        at = cue.end()
        end = _lower_case_place(text, at) if lower_text else _capitalised_place(text, at)
        if end > at:
            found.append((at, end))
    return found


# "in Acquapendente 1021", "in ÖVERTURINGEN 840 24": a place and its postcode.
_PLACE_POSTCODE = re.compile(
    rf"\b[Ii]n ({CAPITAL}[\w'’\-]*(?: (?:{_PARTICLE}|{CAPITAL}[\w'’\-]*)){{0,2}}"
    r"|[a-zà-ÿ][\w'’\-]*(?: [a-zà-ÿ][\w'’\-]*){0,2})"
    r" (\d{3,5}(?:[ \-]\d{2,3})?)(?![\w\-/.:,]\d)\b"
)
PLACE_POSTCODE_PREFILTER = r"\b[Ii]n \S+(?: \S+){0,2} \d{3,5}\b"
_YEAR = re.compile(r"(?:19|20)\d\d")


def place_postcode_spans(text: str) -> list[tuple[int, int, str]]:
    """[start, end, entity] of a place and the postcode right after it, after "in": capitalised
    words, or lower-case ones in an all-lower-case text; never an everyday word, never a year."""
    lower_text = text.islower()
    found = []
    for match in _PLACE_POSTCODE.finditer(text):
        place, postcode = match.group(1), match.group(2)
        if place.islower() != lower_text or _YEAR.fullmatch(postcode):
            continue
        words = place.split()
        particles = {w for w in words[1:] if re.fullmatch(_PARTICLE, w)}  # "barra de carrasco"
        if any(w.lower() in everyday_words() for w in words if w not in particles):
            continue
        found.append((match.start(1), match.end(1), ENTITY))
        found.append((match.start(2), match.end(2), POSTCODE))
    return found
