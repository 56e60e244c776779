"""Pattern detectors: one Rust regex per entity, run over whole columns by Polars.

A column (or a batch of texts) is first filtered with ``str.contains`` for every pattern at once
in native code; only the matching rows are searched in Python for exact spans, and checksum
validators run on those candidates alone. Context words are matched as whole words (Presidio's
substring match boosts "lic" inside "public").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

from anonymizer.detect.validators import card_ok, iban_ok, ip_ok, phone_ok, ssn_ok

Validator = Callable[[str], bool]


@dataclass(frozen=True)
class PatternDetector:
    """One entity type: a regex valid in both Rust (Polars) and Python, and a validator."""

    entity: str
    regex: str
    validator: Validator | None = None
    score: float = 0.85

    @property
    def compiled(self) -> re.Pattern[str]:
        """The Python form, for spans on candidate rows."""
        return _compile(self.regex)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(regex: str) -> re.Pattern[str]:
    if regex not in _CACHE:
        _CACHE[regex] = re.compile(regex)
    return _CACHE[regex]


DETECTORS: tuple[PatternDetector, ...] = (
    PatternDetector(
        "EMAIL_ADDRESS",
        r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b",
        score=0.95,
    ),
    PatternDetector("CREDIT_CARD", r"\b(?:\d[ \-]?){12,18}\d\b", card_ok, score=0.95),
    PatternDetector(
        "IBAN_CODE", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", iban_ok, 0.95
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
        r"(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}[ .\-]?\d{2,4}[ .\-]?\d{2,5}"
        r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?",
        phone_ok,
        score=0.75,
    ),
)


@dataclass(frozen=True)
class Span:
    """One finding: [start, end) character offsets, entity type, score."""

    start: int
    end: int
    entity: str
    score: float

    def text(self, source: str) -> str:
        """The matched text."""
        return source[self.start : self.end]


def _overlaps(span: Span, kept: list[Span]) -> bool:
    return any(span.start < k.end and k.start < span.end for k in kept)


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep the higher-scoring span of any overlap (then the longer, then the earlier)."""
    ordered = sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start))
    kept: list[Span] = []
    for span in ordered:
        if not _overlaps(span, kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def spans_in(text: str, detectors: Iterable[PatternDetector] = DETECTORS) -> list[Span]:
    """Every validated finding in one text, overlaps resolved."""
    found = []
    for detector in detectors:
        for match in detector.compiled.finditer(text):
            value = match.group(0)
            if detector.validator is None or detector.validator(value):
                found.append(Span(match.start(), match.end(), detector.entity, detector.score))
    return resolve_overlaps(found)


def detect_texts(
    texts: pl.Series, detectors: Iterable[PatternDetector] = DETECTORS
) -> list[list[Span]]:
    """Spans per text. Rows no pattern can match are skipped natively, before any Python runs."""
    chosen = list(detectors)
    any_match = pl.any_horizontal(
        [pl.col("t").str.contains(d.regex).fill_null(False) for d in chosen]
    )
    mask = pl.DataFrame({"t": texts.cast(pl.String)}).select(any_match).to_series()
    values = texts.cast(pl.String).to_list()
    return [
        spans_in(value, chosen) if hit and value is not None else []
        for value, hit in zip(values, mask.to_list(), strict=True)
    ]


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
