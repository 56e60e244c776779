"""The dataset's privacy budget, fixed at run time and signed into the manifest.

With ``unit: subject`` the run measures the most records any one subject has (one streaming
aggregation). Training is record-level DP-SGD; group privacy turns a record-level (ε, δ) into a
subject-level guarantee for subjects with at most m records: (m·ε, m·e^((m−1)ε)·δ).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from anonymizer_ml.errors import PlanError
from anonymizer_ml.policy.models import DPSection


def dp_record(section: DPSection, frame: pl.LazyFrame, records: int) -> dict[str, Any]:
    """The manifest's ``dp`` entry: the budget, the unit and, per subject, the most records."""
    record: dict[str, Any] = {**section.model_dump(mode="json"), "records": records}
    if section.unit == "subject":
        assert section.subject is not None
        if section.subject not in frame.collect_schema():
            raise PlanError(
                f"dp.subject {section.subject!r} is not a column of the data; fix the name"
            )
        counts = frame.group_by(section.subject).agg(pl.len().alias("n"))
        most = int(counts.select(pl.col("n").max()).collect(engine="streaming").item() or 0)
        cap = section.max_records_per_subject
        if cap is not None and most > cap:
            raise PlanError(
                f"a subject has {most} records, above dp.max_records_per_subject {cap}; "
                "cap records per subject upstream or raise the limit"
            )
        record["max_records_per_subject"] = most
    return record


def subject_level(epsilon: float, delta: float, records_per_subject: int) -> tuple[float, float]:
    """Group privacy: the (ε, δ) a subject with up to m records gets from record-level DP."""
    m = records_per_subject
    return m * epsilon, min(1.0, m * math.exp((m - 1) * epsilon) * delta)
