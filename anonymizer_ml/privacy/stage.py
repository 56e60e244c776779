"""The privacy section of a policy as a pipeline stage: pass 1 decides, pass 2 recodes.

Pass 1 aggregates the QI histogram of the whole input (all files together: k holds over the
dataset, not per file) and runs the chosen algorithm; what it returns is a set of lookup
expressions the normal streaming pass applies, plus the figures the manifest records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from anonymizer_ml.lineage.manifest import sha256_file
from anonymizer_ml.policy.models import HierarchySpec, PrivacySection
from anonymizer_ml.privacy.apply import Recoding, Suppression
from anonymizer_ml.privacy.criteria import LDiversity, TCloseness
from anonymizer_ml.privacy.hierarchy import (
    DateHierarchy,
    HierarchySource,
    IntervalHierarchy,
    OrderedGroupHierarchy,
    PrefixHierarchy,
    TableHierarchy,
)
from anonymizer_ml.privacy.mondrian import mondrian
from anonymizer_ml.privacy.search import optimal_generalization

PRIVACY_VERSION = "1"


@dataclass(frozen=True)
class PrivacyStage:
    """Lookup expressions for the QI columns, the suppression rule and the manifest record."""

    recoding: Recoding
    suppression: Suppression
    record: dict[str, Any]

    @property
    def labels(self) -> dict[str, pl.Expr]:
        """The released expression of every QI column."""
        return self.recoding.expressions(self.suppression)

    @property
    def row_filter(self) -> pl.Expr | None:
        """The records to keep (only when suppressed records are dropped)."""
        return self.recoding.row_filter(self.suppression)

    @property
    def records_suppressed(self) -> int:
        """Records the stage suppresses (dropped, or starred)."""
        return int(self.record["records_suppressed"])

    def describe(self, column: str) -> dict[str, Any]:
        """The plan entry of one QI column."""
        levels = self.record.get("levels")
        params: dict[str, Any] = {"algorithm": self.record["algorithm"], "k": self.record["k"]}
        if levels is not None:
            params["level"] = levels[column]
        return params


def hierarchy_source(spec: HierarchySpec, base: Path) -> HierarchySource | None:
    """The builder a policy entry names; files are read relative to ``base``."""
    if spec.file is not None:
        return TableHierarchy.from_csv(base / spec.file)
    if spec.intervals is not None:
        return IntervalHierarchy(spec.intervals, spec.origin)
    if spec.dates is not None:
        return DateHierarchy(spec.dates)
    if spec.prefix is not None:
        return PrefixHierarchy(spec.prefix)
    if spec.order is not None and spec.group_sizes is not None:
        return OrderedGroupHierarchy(spec.order, spec.group_sizes)
    return None


def _hierarchy_record(spec: HierarchySpec, base: Path) -> dict[str, Any]:
    record = spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if spec.file is not None:
        record["sha256"] = sha256_file(base / spec.file)
    return record


def prepare_privacy(section: PrivacySection, frame: pl.LazyFrame, base: Path) -> PrivacyStage:
    """Run the section's algorithm over ``frame`` (streaming aggregation only)."""
    hierarchies = {
        column: source
        for column, spec in section.quasi_identifiers.items()
        if (source := hierarchy_source(spec, base)) is not None
    }
    qis = list(section.quasi_identifiers)
    l_model = (
        LDiversity(section.l_diversity.l, section.l_diversity.kind, section.l_diversity.c)
        if section.l_diversity is not None
        else None
    )
    t_model = None
    if section.t_closeness is not None:
        distance = section.t_closeness.distance
        if distance == "auto":
            assert section.sensitive is not None
            ordered = frame.collect_schema()[section.sensitive].is_numeric()
        else:
            ordered = distance == "ordered"
        t_model = TCloseness(section.t_closeness.t, ordered)
    if section.algorithm == "mondrian":
        result: Any = mondrian(
            frame,
            qis,
            hierarchies,
            section.k,
            sensitive=section.sensitive,
            l_diversity=l_model,
            t_closeness=t_model,
        )
    else:
        result = optimal_generalization(
            frame,
            qis,
            hierarchies,
            section.k,
            section.suppression_limit,
            section.metric,
            sensitive=section.sensitive,
            l_diversity=l_model,
            t_closeness=t_model,
        )
    record = {
        **result.summary(),
        "k": section.k,
        "l_diversity": section.l_diversity.model_dump() if section.l_diversity else None,
        "t_closeness": section.t_closeness.model_dump() if section.t_closeness else None,
        "sensitive": section.sensitive,
        "suppression_limit": section.suppression_limit,
        "suppression": section.suppression,
        "hierarchies": {
            c: _hierarchy_record(s, base) for c, s in section.quasi_identifiers.items()
        },
    }
    return PrivacyStage(result.recoding(), section.suppression, record)
