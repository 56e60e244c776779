"""Contact blocks: the employer and job title written on the lines under a person's name.

A signature, a letterhead or a shipping label puts a name on a line of its own, then up to two
short lines, then the address (or the name again):

    Katrina Mota                    Olga Krylova
    Knowledge Agency                Cable line installer
    55470 72 Acheron Road           Here
                                    1610 ul. Zakrzowska 92

The line right above the address is the organisation; a line above that, the job title. Nothing
else marks such lines ("Here" is a firm), so they are read only between a line that is wholly a
person's name and a line where an address starts or the same name comes again, and only when
they are short phrases (no digits, no colon, no e-mail). Closed by a section heading instead
("Personal Info:", as in a CV), the lines under the name are job titles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from anonymizer_ml.detect.patterns import Span

ORGANIZATION = "ORGANIZATION"
TITLE = "TITLE"
SCORE = 0.6
_ADDRESS = frozenset({"STREET_ADDRESS", "ZIP_CODE"})
_LINE = re.compile(r"[ \t>•*|?\-]*([^\n]*?)[ \t\r]*(?:\n|$)")
_PHRASE = re.compile(r"[^\W\d_][^\d:@\n]{0,60}")
_MAX_BETWEEN = 2


def _lines(text: str) -> list[tuple[int, int]]:
    """[start, end) of each non-blank line's content, without list or quote marks before it."""
    found = []
    for match in _LINE.finditer(text):
        if match.end(1) > match.start(1):
            found.append(match.span(1))
        if match.end() >= len(text):
            break
    return found


def contact_block_spans(text: str, spans: Sequence[Span]) -> list[Span]:
    """The organisation and job title lines between a name line and an address (or the name
    again), given the spans already found in ``text``."""
    people = {(s.start, s.end) for s in spans if s.entity == "PERSON"}
    if not people or "\n" not in text:
        return []
    lines = _lines(text)
    address_starts = {s.start for s in spans if s.entity in _ADDRESS}
    found: list[Span] = []
    for i, (start, end) in enumerate(lines):
        if (start, end) not in people:
            continue
        name = text[start:end]
        between, section = [], False
        for a, b in lines[i + 1 : i + 2 + _MAX_BETWEEN]:
            section = text.endswith(":", a, b)
            if a in address_starts or text[a:b] == name or section:
                break
            between.append((a, b))
        else:
            continue  # no address, repeated name or section heading closes the block
        if not between or not all(_PHRASE.fullmatch(text, a, b) for a, b in between):
            continue
        if section:  # a CV's heading: the name, then the job title, then "Personal Info:"
            found.extend(Span(a, b, TITLE, SCORE) for a, b in between)
            continue
        found.append(Span(*between[-1], ORGANIZATION, SCORE))
        found.extend(Span(a, b, TITLE, SCORE) for a, b in between[:-1])
    return found
