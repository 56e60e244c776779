"""Column classification from a bounded sample: structured PII kind, free text, or not PII.

Only the first ``sample_size`` non-null values of each column are read (a lazy ``head``), so
classifying a huge file costs a few row groups. Name hints ("email", "ssn", …) raise the
confidence of a kind the values already suggest, and flag columns whose values alone say little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from anonymizer.detect.patterns import DETECTORS, detect_texts, full_match_share

SAMPLE_SIZE = 1_000
STRUCTURED_SHARE = 0.6
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
