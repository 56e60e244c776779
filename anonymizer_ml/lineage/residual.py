"""Residual check: re-run detection on a sample of the output's text that still carries input.

Only string columns whose plan action is ``keep`` or ``detect`` are sampled (the others were
replaced wholesale: a surrogate e-mail *should* look like an e-mail). The figure is recorded in
the manifest at run time and recomputed by ``anonymizer verify --rescan`` with the same
detectors: the pattern detectors, and the NER model the run used (recorded in its plan, loaded
here and checked against the recorded digest). Each record says which detectors looked and what
they cannot see, so a low count is never mistaken for a clean bill.
"""

from __future__ import annotations

import io
import re
from typing import Any

import polars as pl

from anonymizer_ml.detect.entities import find_spans
from anonymizer_ml.detect.ner import NerModel, load_ner

SAMPLE_ROWS = 1_000
CARRIES_INPUT = ("keep", "detect")
# What ``detect`` writes in place of a finding ("<PERSON>", "<EMAIL_ADDRESS_2>", a keyed token):
# a model may tag the placeholder's word itself, which is no residue of the input.
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*(?:_\d+|:[0-9a-f]{16})?>")


def text_columns(
    plan: list[dict[str, Any]], schema: pl.Schema, skip: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Output string columns that still carry input text (``skip``: encrypted at rest)."""
    actions = {str(s["column"]): str(s["action"]) for s in plan}
    return [
        c
        for c, dtype in schema.items()
        if dtype == pl.String and actions.get(c) in CARRIES_INPUT and c not in skip
    ]


def recorded_model(plan: list[dict[str, Any]]) -> tuple[NerModel | None, list[str]]:
    """The NER model a run's plan records (loaded here), and what that leaves unseen."""
    for step in plan:
        used = step.get("params", {}).get("detectors", {}).get("ner")
        if isinstance(used, dict):
            model = load_ner(str(used["name"]))
            if model is None:
                return None, [
                    f"the run's NER model {used['name']} is not installed here: names, places "
                    "and organisations are not rescanned"
                ]
            if model.digest != used.get("digest"):
                return model, [f"NER model {model.name} here differs from the run's (digest)"]
            return model, []
    return None, []


def blind_spots(model: NerModel | None) -> list[str]:
    """What a residual scan with ``model`` (or patterns alone) cannot see."""
    spots = [
        f"only the first {SAMPLE_ROWS:,} non-null values of each column are read",
        "identifiers outside the detected types and combinations of quasi-identifiers are not "
        "checked (see the risk report)",
    ]
    if model is None:
        spots.insert(0, "patterns only: names, places and organisations are not detected")
    return spots


def residual_findings(
    source: str | io.BytesIO,
    name: str,
    plan: list[dict[str, Any]],
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    model: NerModel | None = None,
) -> list[dict[str, Any]]:
    """Findings per type in each sampled text column of one output file (first ``SAMPLE_ROWS``
    values), by the pattern detectors and ``model``."""
    frame = pl.scan_parquet(source)
    detectors = "patterns" + (f" + NER {model.name} {model.version}" if model else "")
    records = []
    for column in text_columns(plan, frame.collect_schema(), skip):
        sample = frame.select(pl.col(column)).drop_nulls().head(SAMPLE_ROWS).collect().to_series()
        counts: dict[str, int] = {}
        for text, spans in zip(sample, find_spans(sample, model), strict=True):
            placeholders = [m.span() for m in _PLACEHOLDER.finditer(text)] if spans else []
            for span in spans:
                if not any(a <= span.start and span.end <= b for a, b in placeholders):
                    counts[span.entity] = counts.get(span.entity, 0) + 1
        records.append(
            {
                "file": name,
                "column": column,
                "sampled": sample.len(),
                "findings": dict(sorted(counts.items())),
                "detectors": detectors,
            }
        )
    return records
