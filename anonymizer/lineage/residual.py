"""Residual check: re-run detection on a sample of the output's text that still carries input.

Only string columns whose plan action is ``keep`` or ``detect`` are sampled (the others were
replaced wholesale: a surrogate e-mail *should* look like an e-mail). The figure is recorded in
the manifest at run time and recomputed by ``anonymizer verify --rescan``.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl

from anonymizer.detect.patterns import detect_texts

SAMPLE_ROWS = 1_000
CARRIES_INPUT = ("keep", "detect")


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


def residual_findings(
    source: str | io.BytesIO,
    name: str,
    plan: list[dict[str, Any]],
    *,
    skip: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Findings per sampled text column of one output file (first ``SAMPLE_ROWS`` values)."""
    frame = pl.scan_parquet(source)
    records = []
    for column in text_columns(plan, frame.collect_schema(), skip):
        sample = frame.select(pl.col(column)).drop_nulls().head(SAMPLE_ROWS).collect().to_series()
        counts: dict[str, int] = {}
        for spans in detect_texts(sample):
            for span in spans:
                counts[span.entity] = counts.get(span.entity, 0) + 1
        records.append(
            {"file": name, "column": column, "sampled": sample.len(), "findings": counts}
        )
    return records
