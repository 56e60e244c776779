"""Later mentions of a person by surname alone, within one text.

Once "John Smith" is found, a later "Smith" in the same text is the same person: a judgment or a
news story names someone in full once and by surname after. Only surnames of three or more
letters that are not everyday words ("Will", "May") are followed, as whole words in capitals.
"""

from __future__ import annotations

import re

from anonymizer_ml.detect.names import everyday_words
from anonymizer_ml.detect.patterns import Span

_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
SCORE = 0.7


def _surnames(text: str, spans: list[Span]) -> set[str]:
    found = set()
    for span in spans:
        if span.entity != "PERSON":
            continue
        words = _WORD.findall(span.text(text))
        last = words[-1].removesuffix("'s").removesuffix("’s") if len(words) >= 2 else ""
        if len(last) >= 3 and last[0].isupper() and last.lower() not in everyday_words():
            found.add(last)
    return found


def surname_mentions(text: str, spans: list[Span]) -> list[Span]:
    """PERSON spans for bare surnames of people found in full in ``text``, where no finding as
    strong is (a weaker one — the small model's "Smith" as an organisation — is outvoted)."""
    surnames = _surnames(text, spans)
    if not surnames:
        return []
    alternation = "|".join(re.escape(s) for s in sorted(surnames, key=len, reverse=True))
    taken = [(s.start, s.end) for s in spans if s.score >= SCORE]
    return [
        Span(match.start(), match.end(), "PERSON", SCORE)
        for match in re.finditer(rf"\b(?:{alternation})\b", text)
        if not any(a < match.end() and match.start() < b for a, b in taken)
    ]
