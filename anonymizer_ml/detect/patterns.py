"""Pattern detectors and scanners, run over whole columns by Polars.

A pattern detector is one regex valid in both Rust and Python, with an optional validator; a
scanner (names, addresses, places) reads whole texts in Python. Every detector's regex and every
scanner's prefilter first runs natively over the column (or batch of texts); Python then
searches only the rows that each one matched, and checksum validators run on those candidates
alone. Context words are matched as whole words (Presidio's substring match boosts "lic" inside
"public").
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from anonymizer_ml.detect import addresses, names, places
from anonymizer_ml.detect.honorifics import honorific_initials, honorific_name, honorific_name_ok
from anonymizer_ml.detect.validators import (
    card_ok,
    iban_ok,
    institution_ok,
    ip_ok,
    phone_ok,
    phone_shaped,
    ssn_ok,
)

Validator = Callable[[str], bool]


@dataclass(frozen=True)
class PatternDetector:
    """One entity type: a regex valid in both Rust (Polars) and Python, and a validator."""

    entity: str
    regex: str
    validator: Validator | None = None
    score: float = 0.85
    group: int = 0  # the span is this capture group (Rust regex has no look-behind)
    isolated: bool = False  # refuse a match that is one piece of a longer run of digit groups
    # A cheaper native test of a row, true wherever ``regex`` finds a valid span (default: the
    # regex itself); the routing property test checks that it lets every such row through.
    route: str | None = None
    # A character class that every match starts with: Python tests it first at each position
    # (a pattern that opens with optional groups otherwise tries each of them everywhere).
    starts: str | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        """The Python form, for spans on candidate rows."""
        return _compile(f"(?={self.starts})(?:{self.regex})" if self.starts else self.regex)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(regex: str) -> re.Pattern[str]:
    if regex not in _CACHE:
        _CACHE[regex] = re.compile(regex)
    return _CACHE[regex]


_NOT_JOBS = frozenset(
    {"well", "usual", "needed", "such", "part", "long", "soon", "much", "many", "expected"}
    | {"planned", "always", "before", "follows", "if", "though", "result", "possible", "one"}
    | {"required", "agreed", "discussed", "mentioned", "normal", "promised", "scheduled"}
)
_PHONE_WORDS = (
    r"phone|tel|telephone|mobile|cell|fax|desk|call(?:ing)?(?: me)?(?: on| at)?|reach(?: me)? at|"
    r"answering at|messages to|text(?: me)? at|number is"
)
_MONTHS = (
    "(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_PHONE_SHAPE = r"\+?\(?\d[\d ().\-]{5,20}\d(?:\s?(?:x|ext\.?)\s?\d{1,5})?"

DETECTORS: tuple[PatternDetector, ...] = (
    PatternDetector(
        "EMAIL_ADDRESS",
        # Letters of any script (internationalised addresses, "josé@bücher.de"); the top-level
        # domain is letters only.
        r"\b[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,24}\b",
        score=0.95,
    ),
    PatternDetector("CREDIT_CARD", r"\b(?:\d[ \-]?){12,18}\d\b", card_ok, score=0.95),
    PatternDetector(
        "IBAN_CODE",
        r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
        iban_ok,
        0.95,
    ),
    PatternDetector("US_SSN", r"\b\d{3}[- ]\d{2}[- ]\d{4}\b", ssn_ok, score=0.85),
    PatternDetector(
        "IP_ADDRESS",
        r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"
        r"|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b"
        r"|\b(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?\b",
        ip_ok,
        score=0.9,
    ),
    PatternDetector("MAC_ADDRESS", r"\b[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}\b", score=0.9),
    PatternDetector("URL", r"\b(?:https?://|www\.)[A-Za-z0-9\-._~%]+(?:/[^\s]*)?", score=0.6),
    PatternDetector(
        "PHONE_NUMBER",
        r"(?:(?:\+|00)\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,5}(?:[ .\-]?\d{2,5}){1,3}"
        r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?",
        phone_ok,
        score=0.75,
        isolated=True,
        # A valid number has at least seven digits, at most two of ") (.-" apart.
        route=r"\d(?:[ .()\-]{0,2}\d){6}",
        starts=r"[\d+(]",  # measured twice as fast a scan
    ),
    # Digits written as a phone number but not valid in any numbering plan ``phonenumbers``
    # knows count only next to a word that says so ("Phone:", "call me on", "… office"): on
    # their own they are as likely an id or an amount.
    PatternDetector(
        "PHONE_NUMBER",
        rf"(?i)\b(?:{_PHONE_WORDS})\b[^0-9]{{0,24}}?({_PHONE_SHAPE})",
        phone_shaped,
        score=0.7,
        group=1,
    ),
    PatternDetector(
        "PHONE_NUMBER",
        rf"(?i)({_PHONE_SHAPE})[ \-](?:office|fax|mobile|home|work|cell|desk)\b",
        phone_shaped,
        score=0.7,
        group=1,
    ),
    PatternDetector(
        "ZIP_CODE",
        r"(?i)\b(?:zip|zip code|postal code|post code|postcode)\b(?: is)?[:\s]{0,3}"
        r"(\d{3,5}(?:[ \-]\d{2,4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b",
        score=0.8,
        group=1,
    ),
    PatternDetector(
        "DATE_TIME",
        r"\b(?:19|20)\d{2}-[01]\d-[0-3]\d(?:[ T][0-2]\d:[0-5]\d(?::[0-5]\d)?)?\b",
        score=0.9,
    ),
    PatternDetector(
        "DATE_TIME",
        r"\b(?:[0-3]?\d[/.\-][0-3]?\d[/.\-](?:19|20)\d{2}|(?:19|20)\d{2}/[01]?\d/[0-3]?\d)\b",
        score=0.8,
    ),
    PatternDetector(
        "DATE_TIME",
        r"(?i)\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,? )?"
        r"(?:\d{1,2}(?:st|nd|rd|th)? (?:of )?)?(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|"
        r"nov|dec)[a-z]*\.? (?:\d{1,2}(?:st|nd|rd|th)?,? )?(?:19|20)\d{2}\b",
        score=0.8,
    ),
    # A day and a month written out, without the year ("on 30 January", "by March 5th").
    PatternDetector(
        "DATE_TIME",
        rf"\b\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTHS}\b|\b{_MONTHS} \d{{1,2}}(?:st|nd|rd|th)?\b",
        score=0.6,
    ),
    # A year in prose after a word that says so ("born in 1965", "since 1998", "until 2004"),
    # and decades ("the 1990s", "the mid-1980s"). "by 2000 people" is not one: no "by".
    PatternDetector(
        "DATE_TIME",
        r"(?i)\b(?:in|since|until|till|during|born|before|after|early|late|mid-?|year|spring|"
        r"summer|autumn|fall|winter) ((?:1[89]|20)\d\d)\b",
        score=0.6,
        group=1,
    ),
    PatternDetector(
        "DATE_TIME", r"\b(?:(?:early|late|mid)[ \-])?(?:1[89]|20)\d0['’]?s\b", score=0.6
    ),
    PatternDetector("AGE", r"\b(\d{1,3})[ \-]years?[ \-]old\b", score=0.8, group=1),
    PatternDetector("AGE", r"(?i)\b(?:aged?|age of) (\d{1,3})\b", score=0.8, group=1),
    PatternDetector("AGE", r"(?i)\b(\d{1,3}) ?y/?o\b", score=0.8, group=1),
    PatternDetector(
        "AGE",
        r"(?i)\bturn(?:ed|s|ing)? (\d{1,3})(?:[.!?,;]|$| years?\b| today\b)",
        score=0.7,
        group=1,
    ),
    PatternDetector("TITLE", r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof)\.", score=0.6),
    PatternDetector("TITLE", r"\b(Miss|Sir|Dame|Mr|Mrs|Ms|Mx|Dr|Prof) [A-Z]", score=0.6, group=1),
    # A job: "I worked for Deloitte as Midwife, but …" (not "as usual", "as part of it").
    PatternDetector(
        "TITLE",
        r"\b[Ww]ork(?:s|ed|ing)? (?:for|at) [A-Z][^,.;\n]{1,60}? as (?:an? |the )?"
        r"([A-Za-z][\w\-]*(?: [a-z][\w\-]*){0,3})(?:[,.;!?\n]|$)",
        lambda job: job.split()[0].lower() not in _NOT_JOBS,
        score=0.6,
        group=1,
    ),
    # A unit on its own (streets and whole addresses are the address scanner's).
    PatternDetector("STREET_ADDRESS", r"\b(?:Apt\.|Apartment|Suite|Unit) \d{1,5}\b", score=0.7),
    # Firms named by their legal form ("Gradiant Research LLC", "Thomas and Sons"). A list of
    # surnames ("Davis, Reynolds and Williamson") is left to NER: it is as often three people.
    PatternDetector(
        "ORGANIZATION",
        r"\b[A-Z][a-z]+ (?:and|&) Sons\b"
        r"|\b(?:[A-Z][\w&\-]*[ ,] ?){1,3}(?:Inc|LLC|Ltd|Corp|Corporation|GmbH|PLC|plc|AG|"
        r"Technologies|Associates|Holdings)\b\.?",
        score=0.7,
    ),
    # Case, application and file numbers of courts and registries: "application no. 12345/04",
    # "Case C-123/05", "docket no. 21-1234", "1:21-cv-00123". They name one person's case.
    PatternDetector(
        "CASE_NUMBER",
        r"(?i)\b(?:applications?|case|file|docket|complaint|petition)s? (?:nos?\.|numbers?|#) ?"
        r"([A-Z]{0,3}-?\d{1,7}(?:[/\-]\d{2,5}){1,2})\b",
        score=0.8,
        group=1,
    ),
    PatternDetector("CASE_NUMBER", r"\b(?:nos?\.|No\.) ?(\d{3,6}/\d{2})\b", score=0.8, group=1),
    PatternDetector("CASE_NUMBER", r"\bCase ([CTF]-\d{1,4}/\d{2}(?: P)?)\b", score=0.85, group=1),
    PatternDetector("CASE_NUMBER", r"\b\d:\d{2}-[a-z]{2,3}-\d{3,6}\b", score=0.85),
    # Institutions named by a head word: "the Warsaw District Court", "Ministry of Justice",
    # "Wandsworth prison", "the 5th Chamber of the Ankara Civil Court of First Instance". A bare
    # "the Court" or "the Ministry" names no one (the validator); scored above NER's place
    # (0.85), so "Wandsworth prison" is one organisation.
    PatternDetector(
        "ORGANIZATION",
        r"\b(?:(?:The|the) )?((?:\d{1,2}(?:st|nd|rd|th) (?:[A-Z][\w'’\-]+ )?(?:of the )?)?"
        r"(?:[A-Z][\w'’\-]+ ){1,4}(?:Court|Tribunal|Prison|Hospital|"
        r"University|College|"
        r"Police|Ministry|Council|Commission|Agency|Department)(?: of(?: the)?(?: [A-Z][\w'’\-]+)"
        r"{1,4})?|(?:Ministry|Department|University|Court|Commission|Office) of(?: the)?"
        r"(?: [A-Z][\w'’\-]+){1,4}|(?:[A-Z][\w'’\-]+ ){1,3}(?:prison|hospital|police station|"
        r"police department|remand centre|detention centre))\b",
        institution_ok,
        score=0.88,
        group=1,
    ),
    # A name after an honorific, the honorific with it: "Mr Cengiz Polat", "Mr E. Kanar",
    # "Mr G.D.", "Mr. W. Ganshof van der Meersch" are one person. Above NER's place and
    # organisation (0.85), so "Mr G.D." is a person; below a parsed street (0.9): "Oak Dr".
    PatternDetector("PERSON", honorific_name(), honorific_name_ok, score=0.88),
    PatternDetector("PERSON", honorific_initials(), score=0.88),
)


class Span(NamedTuple):
    """One finding: [start, end) character offsets, entity type, score. A tuple: millions are
    made, and a tuple is made three times faster than a frozen dataclass."""

    start: int
    end: int
    entity: str
    score: float

    def text(self, source: str) -> str:
        """The matched text."""
        return source[self.start : self.end]


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Merge overlapping findings into one span covering them all (nothing of either leaks),
    typed and scored as the strongest of them (then the longer, the earlier, the type first in
    alphabetical order — so the result never depends on the order findings arrive in)."""
    ordered = sorted(spans)
    # The usual case: nothing overlaps and nothing is empty (then the plain tuple order is the
    # order by start, and sorting needs no key function).
    if all(a.start < a.end <= b.start for a, b in itertools.pairwise(ordered)) and (
        not ordered or ordered[-1].start < ordered[-1].end
    ):
        return ordered
    ordered.sort(key=lambda s: (s.start, -s.end))
    merged: list[tuple[int, int, list[Span]]] = []
    for span in ordered:
        if merged and span.start < merged[-1][1]:
            start, end, members = merged[-1]
            merged[-1] = (start, max(end, span.end), [*members, span])
        else:
            merged.append((span.start, span.end, [span]))
    out = []
    for start, end, members in merged:
        best = min(members, key=lambda s: (-s.score, -(s.end - s.start), s.start, s.entity))
        out.append(Span(start, end, best.entity, best.score))
    return out


_GROUP_BEFORE = re.compile(r"\d[ .\-]$")
_GROUP_AFTER = re.compile(r"^[ .\-]\d")


def _in_digit_run(text: str, start: int, end: int) -> bool:
    """Whether digit groups continue right before or after [start, end)."""
    return bool(_GROUP_BEFORE.search(text[max(0, start - 2) : start])) or bool(
        _GROUP_AFTER.match(text[end : end + 2])
    )


@dataclass(frozen=True)
class Scanner:
    """A detector that reads whole texts (a gazetteer, the address parser) on routed rows only."""

    entities: frozenset[str]
    # Native test of a text column: rows where it is false never reach Python. A superset of the
    # rows the scanner finds something in (the routing property test checks it).
    prefilter: Callable[[pl.Expr], pl.Expr]
    find: Callable[[str], list[Span]]
    # Instead of ``prefilter``: where in each row a finding may start, and a reader of those.
    located: Locator | None = None


class Locator(NamedTuple):
    """Natively, per row, the byte offsets where a finding may start (an empty list: the row
    never reaches Python), and a finder that reads a text only at those offsets."""

    offsets: Callable[[pl.Expr], pl.Expr]
    find: Callable[[str, list[int]], list[Span]]


def _spans_of(
    entity: str, score: float, find: Callable[[str], list[tuple[int, int]]]
) -> Callable[[str], list[Span]]:
    """A finder of [start, end) pairs, as spans of one entity."""
    return lambda text: [Span(a, b, entity, score) for a, b in find(text)]


def _regex(pattern: str) -> Callable[[pl.Expr], pl.Expr]:
    return lambda column: column.str.contains(_routing(pattern))


def _routing(regex: str) -> str:
    """The regex as a native routing test: without word boundaries, which can only let more
    rows through. Rust's Unicode ``\b`` sends any text holding a non-ASCII character to its
    slower engines (measured 2.6x slower for the detectors, 1.8x for the address test)."""
    return regex.replace(r"\b", "")


def _spans_by_type(
    scores: Mapping[str, float], find: Callable[[str], list[tuple[int, int, str]]]
) -> Callable[[str], list[Span]]:
    """A finder of [start, end, entity] triples, as spans scored by entity."""
    return lambda text: [Span(a, b, e, scores[e]) for a, b, e in find(text)]


# The address regex is built on first use (it reads Faker's street suffixes).
ADDRESSES = Scanner(
    addresses.ENTITIES,
    lambda c: c.str.contains(_routing(addresses.prefilter())),
    _spans_by_type(addresses.SCORES, addresses.address_spans),
)
# Every written-out address as its components too (for policies that treat them apart).
ADDRESS_PARTS = Scanner(
    ADDRESSES.entities,
    ADDRESSES.prefilter,
    _spans_by_type(addresses.SCORES, functools.partial(addresses.address_spans, parts=True)),
)
_PERSON = frozenset({"PERSON"})
_PLACE = frozenset({places.ENTITY})
SCANNERS: tuple[Scanner, ...] = (
    Scanner(
        _PERSON,
        lambda c: c.str.contains(names.prefilter()),
        _spans_of("PERSON", names.SCORE, names.name_spans),
    ),
    Scanner(
        _PERSON,
        _regex(names.LOWER_CASE_PREFILTER),
        _spans_of("PERSON", names.SCORE, names.lower_case_name_spans),
    ),
    Scanner(
        _PERSON,
        lambda c: c.str.contains_any(list(names.NAME_CUE_WORDS), ascii_case_insensitive=True),
        _spans_of("PERSON", names.SCORE, names.cued_name_spans),
    ),
    ADDRESSES,
    Scanner(
        _PLACE,
        lambda c: places.countries_located(c).list.len() > 0,
        _spans_of(places.ENTITY, places.SCORE, places.country_spans),
        Locator(
            places.countries_located,
            lambda text, offsets: [
                Span(a, b, places.ENTITY, places.SCORE)
                for a, b in places.country_spans_at(text, offsets)
            ],
        ),
    ),
    Scanner(
        frozenset({places.ENTITY, places.POSTCODE}),
        _regex(places.PLACE_POSTCODE_PREFILTER),
        _spans_by_type(
            {places.ENTITY: places.SCORE, places.POSTCODE: places.SCORE},
            places.place_postcode_spans,
        ),
    ),
    Scanner(
        _PLACE,
        _regex(places.CUE_PREFILTER),
        _spans_of(places.ENTITY, places.SCORE, places.cued_place_spans),
    ),
)


def _detector_spans(detector: PatternDetector, compiled: re.Pattern[str], text: str) -> list[Span]:
    group, entity, score = detector.group, detector.entity, detector.score
    if detector.validator is None and not detector.isolated:
        return [Span(*match.span(group), entity, score) for match in compiled.finditer(text)]
    found = []
    for match in compiled.finditer(text):
        if detector.isolated and _in_digit_run(text, *match.span()):
            continue
        if detector.validator is None or detector.validator(match.group(group)):
            found.append(Span(*match.span(group), entity, score))
    return found


def spans_in(
    text: str,
    detectors: Iterable[PatternDetector] = DETECTORS,
    scanners: Iterable[Scanner] = SCANNERS,
) -> list[Span]:
    """Every validated finding in one text (and the scanners' finds), overlaps resolved."""
    found = [span for scanner in scanners for span in scanner.find(text)]
    for detector in detectors:
        found.extend(_detector_spans(detector, detector.compiled, text))
    return resolve_overlaps(found)


_PYTHON_ONLY_FOLDS = "[\u0130\u0131\u017f\u212a]"


def detect_texts(
    texts: pl.Series,
    detectors: Iterable[PatternDetector] = DETECTORS,
    scanners: Iterable[Scanner] = SCANNERS,
) -> list[list[Span]]:
    """Spans per text. Each detector's regex first runs natively over the whole column; Python
    then searches only the rows where that detector can match, and validators see only its
    candidates. A scanner that locates reads its rows only at the offsets found natively."""
    chosen, reading = list(detectors), list(scanners)
    values = texts.cast(pl.String)
    found: list[list[Span]] = [[] for _ in range(len(values))]
    if not chosen and not reading:
        return found
    column = pl.col("t")
    tests = [column.str.contains(d.route or _routing(d.regex)) for d in chosen]
    tests += [s.prefilter(column) for s in reading if s.located is None]
    # Python's case-blind matching also takes "İ" and "ı" for i, "ſ" for s and the Kelvin sign
    # for k; Rust's regexes and Aho-Corasick do not all. Every case-blind detector and every
    # scanner reads a row holding one.
    tests.append(column.str.contains(_PYTHON_ONLY_FOLDS))
    locating = [s.located.offsets(column) for s in reading if s.located is not None]
    masks = pl.DataFrame({"t": values}).select(
        *(test.fill_null(False).arg_true().implode().alias(str(i)) for i, test in enumerate(tests)),
        *(offsets.implode().alias(f"at{i}") for i, offsets in enumerate(locating)),
    )
    columns = masks.get_columns()
    rows: list[list[int]] = [hits[0].to_list() for hits in columns[: len(tests)]]
    located: list[list[list[int] | None]] = [at[0].to_list() for at in columns[len(tests) :]]
    folded = rows.pop()
    strings = values.to_list()
    for detector, hits in zip(chosen, rows, strict=False):
        compiled = detector.compiled
        # Only a case-blind regex reads those letters differently in the two engines: a
        # case-sensitive one needs no extra rows (a long document holding one Turkish name
        # would otherwise be scanned whole by every detector).
        blind = bool(compiled.flags & re.IGNORECASE)
        for row in _with(hits, folded) if blind else hits:
            found[row].extend(_detector_spans(detector, compiled, strings[row]))
    plain = iter(rows[len(chosen) :])
    offsets_by_row = iter(located)
    for scanner in reading:
        if scanner.located is None:
            for row in _with(next(plain), folded):
                found[row].extend(scanner.find(strings[row]))
            continue
        offsets = next(offsets_by_row)
        for row in _with([i for i, at in enumerate(offsets) if at], folded):
            found[row].extend(scanner.located.find(strings[row], offsets[row] or []))
    return [resolve_overlaps(spans) if spans else spans for spans in found]


def _with(rows: list[int], folded: list[int]) -> list[int]:
    """``rows`` and the rows holding a letter only Python's case-blind matching folds."""
    return sorted({*rows, *folded}) if folded else rows


def full_match_share(values: pl.Series, detector: PatternDetector) -> float:
    """Share of non-null values that are, entirely, a valid ``detector`` entity."""
    text = values.cast(pl.String).drop_nulls()
    if text.is_empty():
        return 0.0
    stripped = text.str.strip_chars()
    whole = stripped.filter(stripped.str.contains(f"^(?:{detector.regex})$"))
    if detector.validator is not None:
        whole = whole.filter(whole.map_elements(detector.validator, return_dtype=pl.Boolean))
    return whole.len() / text.len()
