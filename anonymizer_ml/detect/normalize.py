"""Text as the detectors should see it, with every finding mapped back to the original string.

Two things make the same personal data look different to a regex or a model: decomposed Unicode
(NFD, common in macOS exports: "José" as "Jose" + U+0301, where a word pattern stops at the
accent) and control characters (a NUL inside an e-mail address). Detectors therefore read the
NFC form with C0 control characters (other than tab and line breaks) blanked to spaces, and each
span is mapped back to the smallest range of original characters it came from, so a redaction
covers the whole decomposed letter and never a character the finding did not include.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
from dataclasses import dataclass

from anonymizer_ml.detect.patterns import Span

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HANGUL_VOWELS_AND_TAILS = range(0x1160, 0x1200)  # jamo that compose with what precedes them


@functools.cache
def _second_of_a_composition() -> frozenset[str]:
    """Characters that NFC can merge into the character before them, starters included
    (Indic two-part vowels such as U+0B3E): a segment must not end before one of these."""
    seconds = set()
    for code in range(sys.maxunicode + 1):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(chr(int(parts[1], 16)))
    return frozenset(seconds)


@dataclass(frozen=True)
class Prepared:
    """The text the detectors read and, when it differs in length, where each character came
    from (``starts[i]``/``ends[i]``: the original range that character i was made from)."""

    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def original(self, span: Span) -> Span:
        """The span in the original string's offsets."""
        if self.starts is None or self.ends is None or span.end <= span.start:
            return span
        return span._replace(start=self.starts[span.start], end=self.ends[span.end - 1])


def _segments(text: str) -> list[tuple[int, int]]:
    """Ranges that NFC normalises independently: a starter and the marks that follow it."""
    seconds = _second_of_a_composition()
    bounds = [0]
    for index in range(1, len(text)):
        char = text[index]
        joins = (
            unicodedata.combining(char) or char in seconds or ord(char) in _HANGUL_VOWELS_AND_TAILS
        )
        if not joins:
            bounds.append(index)
    bounds.append(len(text))
    return list(itertools.pairwise(bounds))


def prepare(text: str) -> Prepared:
    """The NFC, control-blanked form of ``text`` and its offset map (None when unchanged)."""
    blanked = _CONTROL.sub(" ", text) if _CONTROL.search(text) else text
    if unicodedata.is_normalized("NFC", blanked):
        return Prepared(blanked)  # same length: offsets are the original ones
    pieces, starts, ends = [], [], []
    for a, b in _segments(blanked):
        piece = unicodedata.normalize("NFC", blanked[a:b])
        pieces.append(piece)
        starts += [a] * len(piece)
        ends += [b] * len(piece)
    normalized = "".join(pieces)
    if normalized != unicodedata.normalize("NFC", blanked):
        # A composition crossed our segments (not seen in practice): map every finding to the
        # whole text rather than risk a partial redaction.
        normalized = unicodedata.normalize("NFC", blanked)
        starts, ends = [0] * len(normalized), [len(text)] * len(normalized)
    return Prepared(normalized, tuple(starts), tuple(ends))
