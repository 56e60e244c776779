"""A person named with an honorific: "Mr Cengiz Polat", "Mrs. Labrie", "Mr G.D.", "Mr. W. Ganshof
van der Meersch". The honorific belongs to the span: what is replaced or masked is the whole
mention, and a lone "Mr" left beside a fake name says the name was there.

The regex is valid in Rust (Polars routes rows with it) and in Python. Neither has a Unicode
class for capitals that both read the same, so capitals are a character class (``CAPITAL``: Latin,
Greek and Cyrillic) and the validator checks each word's first letter with ``str.isupper``.
"""

from __future__ import annotations

import functools

from anonymizer_ml.detect.places import CAPITAL

HONORIFICS = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Dame", "Mme", "Mlle")
# Lower-case words inside a surname ("van der Meersch", "de la Cruz").
_PARTICLES = ("van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le", "ter")
# Capitalised words that follow an honorific without being a name ("Dr. Who", "Mr Justice").
_NOT_NAMES = frozenset({"Justice", "President", "Speaker", "Chairman", "Chair", "Secretary"})
# Words that start the next sentence after initials ("Mr G.D. She maintained…"): not a surname.
_SENTENCE_WORDS = frozenset(
    {"she", "he", "it", "they", "we", "i", "you", "the", "a", "an", "on", "in", "at", "by", "of"}
    | {"and", "or", "but", "this", "that", "his", "her", "their", "its", "when", "while", "after"}
    | {"before", "then", "there", "as", "if", "for", "from", "to", "with", "subsequently"}
)


def _initials() -> str:
    return rf"{CAPITAL}\.(?: ?{CAPITAL}\.)*"


def _honorific() -> str:
    return rf"\b(?:{'|'.join(HONORIFICS)})\.? "


@functools.lru_cache(maxsize=1)
def honorific_name() -> str:
    """The regex: an honorific, then surname words, with or without initials before them."""
    word = rf"{CAPITAL}[\w'’\-]+"
    particle = f"(?:{'|'.join(_PARTICLES)})"
    surname = rf"{word}(?: (?:{particle} ){{0,2}}{word}){{0,2}}"
    return rf"{_honorific()}(?:{_initials()} ?)?{surname}"


def honorific_initials() -> str:
    """The regex: an honorific and initials only ("Mr G.D.", "Ms A. B.")."""
    return rf"{_honorific()}{_initials()}"


def honorific_name_ok(mention: str) -> bool:
    """Each word after the honorific starts with a capital (particles aside) and the first is
    not a role ("Mr Justice Smith" is a judge's title) nor the next sentence's first word."""
    words = mention.split()[1:]
    if not words or words[0] in _NOT_NAMES or words[-1].lower() in _SENTENCE_WORDS:
        return False
    return all(w[0].isupper() or w in _PARTICLES for w in words)
