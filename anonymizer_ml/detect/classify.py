"""Column classification from a bounded sample: structured PII kind, free text, or not PII.

Only the first ``sample_size`` non-null values of each column are read (a lazy ``head``), so
classifying a huge file costs a few row groups. The values decide: structured detectors that
match whole values; prose; then short text that the name, address and place scanners (and NER,
when installed) cover for the most part of most values ("Emma Johnson", "12 Main St"); postcode
shapes; and columns of unique integers or codes (identifiers). A column named ``c7`` is judged
as its name would have it. Name hints ("email", "ssn", …) only raise the confidence of a kind
the values suggest, and flag columns whose values alone say little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from anonymizer_ml.detect.entities import find_spans, resolve_ner
from anonymizer_ml.detect.patterns import DETECTORS, detect_texts, full_match_share

SAMPLE_SIZE = 1_000
STRUCTURED_SHARE = 0.6
COVERED = 0.6  # a value is "a name" when spans cover this share of its non-space characters
UNIQUE_SHARE = 0.99
_POSTCODE = re.compile(
    r"\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{2}-\d{3}"
)
NAME_HINTS: dict[str, str] = {
    r"e.?mail": "EMAIL_ADDRESS",
    r"phone|mobile|tel\b|fax": "PHONE_NUMBER",
    r"ssn|social.?security": "US_SSN",
    r"iban": "IBAN_CODE",
    r"card|cc.?num|pan\b": "CREDIT_CARD",
    r"\bip\b|ip.?addr": "IP_ADDRESS",
    r"(first|last|full|given|family|sur).?name|^name$": "PERSON",
    r"addr|street|city|zip|postcode|postal": "LOCATION",
    r"birth|dob": "DATE_OF_BIRTH",
    r"(^|_)(id|uuid|guid)$|identifier|account.?(no|num)": "IDENTIFIER",
}
NAMED_KINDS = ("PERSON", "LOCATION", "DATE_OF_BIRTH", "IDENTIFIER")


@dataclass(frozen=True)
class ColumnClass:
    """What a column holds, judged from its sample."""

    column: str
    dtype: str
    kind: str  # an entity type, "FREE_TEXT", or "NONE"
    share: float
    hint: str | None
    examples: list[str] = field(default_factory=list)
    entities: dict[str, int] = field(default_factory=dict)


def _hint(column: str) -> str | None:
    name = column.lower()
    for pattern, entity in NAME_HINTS.items():
        if re.search(pattern, name):
            return entity
    return None


def _masked(value: str) -> str:
    """An example safe to print: first and last character, the rest starred."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[0] + re.sub(r"[^\s@.\-]", "*", value[1:-1]) + value[-1]


def _looks_like_prose(text: pl.Series) -> bool:
    """Long values, mostly with spaces: free text that may embed any kind of PII."""
    if text.is_empty():
        return False
    mean_length = float(text.str.len_chars().cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]
    with_spaces = float(text.str.contains(" ").cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]
    return mean_length >= 25 and with_spaces > 0.5


def _covered_kind(text: pl.Series) -> tuple[str, float]:
    """The entity that scanners and NER find covering most of each value, and the share of
    values so covered (short text only: names, streets, places, organisations)."""
    votes: dict[str, int] = {}
    for value, spans in zip(text.to_list(), find_spans(text, resolve_ner("auto")), strict=True):
        chars = sum(not ch.isspace() for ch in value)
        covered: dict[str, int] = {}
        for span in spans:
            inside = sum(not ch.isspace() for ch in value[span.start : span.end])
            covered[span.entity] = covered.get(span.entity, 0) + inside
        if chars and sum(covered.values()) >= COVERED * chars:
            top = max(covered, key=lambda entity: covered[entity])
            votes[top] = votes.get(top, 0) + 1
    if not votes:
        return "NONE", 0.0
    best = max(votes, key=lambda entity: votes[entity])
    return best, sum(votes.values()) / max(len(text), 1)


def _value_kind(values: pl.Series, text: pl.Series) -> tuple[str, float]:
    """A kind from what short values look like, for columns the detectors did not settle."""
    if values.dtype == pl.String and not text.is_empty():
        kind, share = _covered_kind(text)
        if share >= STRUCTURED_SHARE:
            return kind, share
        postcodes = int(text.str.contains(rf"^(?:{_POSTCODE.pattern})$").sum()) / len(text)
        if postcodes >= 0.9:
            return "ZIP_CODE", postcodes
    codes = values.dtype.is_integer() or (
        values.dtype == pl.String and not bool(text.str.contains(" ").any())
    )
    if codes and len(text) >= 50 and text.n_unique() >= UNIQUE_SHARE * len(text):
        return "IDENTIFIER", text.n_unique() / len(text)
    return "NONE", 0.0


def classify_column(column: str, values: pl.Series) -> ColumnClass:
    """Classify one column from its sample."""
    hint = _hint(column)
    dtype = str(values.dtype)
    text = values.cast(pl.String).drop_nulls()
    best, share = "NONE", 0.0
    for detector in DETECTORS:
        found = full_match_share(text, detector)
        if found > share:
            best, share = detector.entity, found
    if share >= STRUCTURED_SHARE or (hint == best and share > 0):
        examples = [_masked(v) for v in text.head(3).to_list()]
        return ColumnClass(column, dtype, best, round(share, 3), hint, examples)
    if values.dtype == pl.String and _looks_like_prose(text):
        counts: dict[str, int] = {}
        for spans in detect_texts(text):
            for span in spans:
                counts[span.entity] = counts.get(span.entity, 0) + 1
        return ColumnClass(column, dtype, "FREE_TEXT", 1.0, hint, [], counts)
    kind, share = _value_kind(values, text)
    if kind != "NONE":
        examples = [_masked(v) for v in text.head(3).to_list()]
        return ColumnClass(column, dtype, kind, round(share, 3), hint, examples)
    kind = hint if hint in NAMED_KINDS else "NONE"
    return ColumnClass(column, dtype, kind, 0.0 if kind == "NONE" else 1.0, hint)


def classify_file(path: Path, sample_size: int = SAMPLE_SIZE) -> list[ColumnClass]:
    """Classify every column of a Parquet file from its first ``sample_size`` non-null values."""
    frame = pl.scan_parquet(path)
    classes = []
    for column in frame.collect_schema().names():
        sample = frame.select(pl.col(column)).drop_nulls().head(sample_size).collect()
        classes.append(classify_column(column, sample.to_series()))
    return classes
