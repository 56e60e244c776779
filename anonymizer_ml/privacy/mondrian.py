"""Mondrian multidimensional local recoding (LeFevre, DeWitt, Ramakrishnan, ICDE 2006).

Strict partitioning over the histogram of distinct QI tuples, so the records themselves never
have to be in memory: a partition is cut on the QI with the widest normalised range — a numeric QI
at its (record-weighted) median into ``<= median`` and ``> median``, a QI with a hierarchy into the
children of its current hierarchy group, a QI without one into two value sets of about equal
records — and a cut is allowed only when every part keeps ≥ k records (and
ℓ-diversity when asked). A partition no QI can cut becomes an equivalence class. Every record gets
its class's labels: ``lo-hi`` for numeric QIs, the hierarchy group (or, for a QI given without a
hierarchy, the set of its values) for the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy.apply import SEP, Recoding, Suppression, tuple_recoding
from anonymizer_ml.privacy.criteria import (
    Criteria,
    FloatArray,
    LDiversity,
    TCloseness,
    distances,
    l_values,
)
from anonymizer_ml.privacy.table import HierarchyArg, IntArray, QiTable, Source, build_table


@dataclass
class _Part:
    rows: IntArray  # histogram tuple indices
    levels: list[int]  # categorical QIs: current hierarchy level (numeric: unused)


@dataclass(frozen=True)
class MondrianResult:
    """The partitioning: per histogram tuple its class, and the figures a report needs."""

    quasi_identifiers: tuple[str, ...]
    records: int
    classes: int
    k_achieved: int
    l_achieved: float | None
    gcp: float
    gcp_by_qi: dict[str, float]
    t_achieved: float | None
    discernibility: float
    table: QiTable = field(repr=False, compare=False)
    labels: dict[str, list[str]] = field(repr=False, compare=False)

    def recoding(self) -> Recoding:
        """Expressions mapping each QI tuple to its class's labels."""
        keys = [
            SEP.join(h.values[self.table.codes[j][i]] for j, h in enumerate(self.table.hierarchies))
            for i in range(len(self.table.counts))
        ]
        # With a sensitive column the histogram has one tuple per (QIs, sensitive value); tuples
        # with equal QIs always fall in the same part (cuts are on QI values), so one is enough.
        unique = {key: i for i, key in reversed(list(enumerate(keys)))}
        rows = sorted(unique.values())
        labels = {c: [values[i] for i in rows] for c, values in self.labels.items()}
        return tuple_recoding(self.quasi_identifiers, [keys[i] for i in rows], labels, [])

    def apply(self, frame: pl.LazyFrame, suppression: Suppression = "drop") -> pl.LazyFrame:
        """``frame`` with every QI replaced by its class's label (lazy; streams)."""
        return self.recoding().apply(frame, suppression)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (for the manifest and reports)."""
        return {
            "algorithm": "mondrian",
            "quasi_identifiers": list(self.quasi_identifiers),
            "records": self.records,
            "records_suppressed": 0,
            "classes": self.classes,
            "k_achieved": self.k_achieved,
            "l_achieved": self.l_achieved,
            "t_achieved": self.t_achieved,
            "gcp": self.gcp,
            "gcp_by_qi": dict(self.gcp_by_qi),
            "discernibility": self.discernibility,
        }


def _distinct(codes: IntArray) -> int:
    """Number of distinct codes (a set is faster than a sort for small partitions)."""
    return len(set(codes.tolist())) if codes.size < 256 else len(np.unique(codes))


def _same(codes: IntArray) -> bool:
    """Whether every code is the same."""
    return bool((codes == codes[0]).all())


class _Partitioner:
    def __init__(self, table: QiTable, criteria: Criteria) -> None:
        self.table, self.criteria = table, criteria
        self.numbers = [
            np.array([float(v) for v in h.values]) if numeric else np.empty(0)
            for h, numeric in zip(table.hierarchies, table.numeric, strict=True)
        ]
        self.spans = [
            float(n.max() - n.min()) or 1.0 if n.size else float(max(len(h.values) - 1, 1))
            for n, h in zip(self.numbers, table.hierarchies, strict=True)
        ]
        self.overall = np.zeros(0)
        if table.sensitive is not None:
            whole = self.sensitive_counts(np.arange(len(table.counts), dtype=np.int64))[0]
            self.overall = whole / whole.sum()

    def sensitive_counts(self, rows: IntArray) -> FloatArray:
        """Records per sensitive value among ``rows`` (one row of a class matrix)."""
        assert self.table.sensitive is not None
        counts = np.bincount(
            self.table.sensitive[rows],
            weights=self.table.counts[rows],
            minlength=len(self.table.sensitive_values),
        )
        return np.asarray(counts, dtype=np.float64).reshape(1, -1)

    def distance(self, rows: IntArray) -> float:
        """The class's earth mover's distance to the whole table's sensitive distribution."""
        model = self.criteria.t_closeness
        assert model is not None
        return float(distances(self.sensitive_counts(rows), self.overall, model)[0])

    def allowed(self, rows: IntArray) -> bool:
        if int(self.table.counts[rows].sum()) < self.criteria.k:
            return False
        l_model, t_model = self.criteria.l_diversity, self.criteria.t_closeness
        if l_model is not None and not l_values(self.sensitive_counts(rows), l_model)[0][0]:
            return False
        return t_model is None or self.distance(rows) <= t_model.t + 1e-12

    def width(self, part: _Part, j: int) -> float:
        codes = self.table.codes[j][part.rows]
        if self.table.numeric[j]:
            values = self.numbers[j][codes]
            return float(values.max() - values.min()) / self.spans[j]
        return float(_distinct(codes) - 1) / self.spans[j]

    def _halves(self, part: _Part, values: FloatArray | IntArray) -> list[_Part]:
        """Split at the record-weighted median: ``<= median`` and ``> median``."""
        order = np.argsort(values, kind="stable")
        weights = np.cumsum(self.table.counts[part.rows][order])
        median = values[order][np.searchsorted(weights, weights[-1] / 2.0)]
        left = values <= median
        return [_Part(part.rows[left], list(part.levels)), _Part(part.rows[~left], part.levels)]

    def _balanced(self, part: _Part, codes: IntArray) -> list[_Part]:
        """Split a value set in two of about equal records: largest values first, each to the
        lighter side (halving the records, not the value list, keeps both sides able to hold k).
        """
        present, inverse = np.unique(codes, return_inverse=True)
        weights = np.bincount(inverse, weights=self.table.counts[part.rows])
        sides = [0.0, 0.0]
        left = np.zeros(len(present), dtype=np.bool_)
        for i in np.argsort(-weights, kind="stable").tolist():
            side = 0 if sides[0] <= sides[1] else 1
            sides[side] += weights[i]
            left[i] = side == 0
        mask = left[inverse]
        return [_Part(part.rows[mask], list(part.levels)), _Part(part.rows[~mask], part.levels)]

    def cut(self, part: _Part, j: int) -> list[_Part] | None:
        codes = self.table.codes[j][part.rows]
        if self.table.numeric[j]:
            parts = self._halves(part, self.numbers[j][codes])
        elif self.table.free[j]:
            parts = self._balanced(part, codes)
        else:
            level = part.levels[j]
            groups = self.table.level_codes[j]
            while level > 0 and _same(groups[level - 1][codes]):
                level -= 1  # a group with a single child: descend without cutting
            if level == 0:
                return None
            child = groups[level - 1][codes]
            parts = []
            for group in np.unique(child):
                levels = list(part.levels)
                levels[j] = level - 1
                parts.append(_Part(part.rows[child == group], levels))
        if len(parts) < 2 or any(p.rows.size == 0 for p in parts):
            return None
        return parts if all(self.allowed(p.rows) for p in parts) else None

    def run(self) -> list[_Part]:
        top = [h.height - 1 for h in self.table.hierarchies]
        stack = [_Part(np.arange(len(self.table.counts), dtype=np.int64), top)]
        done: list[_Part] = []
        while stack:
            part = stack.pop()
            widths = [self.width(part, j) for j in range(len(top))]
            for j in sorted(range(len(top)), key=lambda j: -widths[j]):
                if widths[j] > 0 and (parts := self.cut(part, j)) is not None:
                    stack.extend(parts)
                    break
            else:
                done.append(part)
        return done


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _covering_level(table: QiTable, j: int, codes: IntArray) -> int:
    """The lowest hierarchy level at which all of ``codes`` fall in one group."""
    for level, groups in enumerate(table.level_codes[j]):
        if _same(groups[codes]):
            return level
    return len(table.level_codes[j]) - 1


def _describe(
    partitioner: _Partitioner, parts: list[_Part]
) -> tuple[dict[str, list[str]], FloatArray]:
    """Labels per tuple and QI, and each tuple's certainty penalty per QI (QI × tuple)."""
    table = partitioner.table
    size = len(table.counts)
    labels = {q: np.empty(size, dtype=object) for q in table.columns}
    penalty = np.zeros((len(table.columns), size), dtype=np.float64)
    for part in parts:
        for j, q in enumerate(table.columns):
            codes = table.codes[j][part.rows]
            if table.numeric[j]:
                values = partitioner.numbers[j][codes]
                low, high = float(values.min()), float(values.max())
                label = _bound(low) if low == high else f"{_bound(low)}-{_bound(high)}"
                ncp = (high - low) / partitioner.spans[j]
            elif table.free[j]:
                present = np.unique(codes)
                label = ",".join(table.hierarchies[j].values[int(c)] for c in present)
                ncp = (len(present) - 1) / partitioner.spans[j]
            else:
                level = _covering_level(table, j, codes)
                groups = table.level_codes[j][level]
                label = table.hierarchies[j].labels[level][int(codes[0])]
                covered = int((groups == groups[codes[0]]).sum())
                ncp = (covered - 1) / partitioner.spans[j]
            labels[q][part.rows] = label
            penalty[j, part.rows] += ncp
    return {q: column.tolist() for q, column in labels.items()}, penalty


def mondrian(
    source: Source,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, HierarchyArg],
    k: int,
    *,
    sensitive: str | None = None,
    l_diversity: LDiversity | None = None,
    t_closeness: TCloseness | None = None,
) -> MondrianResult:
    """Partition ``source`` into classes of ≥ k records (ℓ-diverse and t-close when asked: a
    cut is made only when both halves still satisfy every model).

    A QI with a hierarchy (an ARX CSV path or a hierarchy object) is cut along it and released
    as a hierarchy group; without one, numbers are cut at the median and released as ``lo-hi``,
    other values are cut into two sets of about equal records and released as the set
    (``a,b``). Call ``.apply(frame)`` on the result for the recoded records.
    """
    criteria = Criteria(k, 0.0, l_diversity, t_closeness)
    table = build_table(source, quasi_identifiers, hierarchies, sensitive, hierarchy_optional=True)
    partitioner = _Partitioner(table, criteria)
    if not partitioner.allowed(np.arange(len(table.counts), dtype=np.int64)):
        raise PlanError(
            f"the whole table ({table.total} records) does not satisfy the privacy model; "
            "lower k or l, or raise t"
        )
    parts = partitioner.run()
    labels, penalty = _describe(partitioner, parts)
    sizes = np.array([int(table.counts[p.rows].sum()) for p in parts])
    l_reached = None
    if l_diversity is not None and table.sensitive is not None:
        l_reached = min(
            float((np.bincount(table.sensitive[p.rows], weights=table.counts[p.rows]) > 0).sum())
            for p in parts
        )
    t_reached = (
        max(partitioner.distance(p.rows) for p in parts) if t_closeness is not None else None
    )
    return MondrianResult(
        t_achieved=t_reached,
        quasi_identifiers=table.columns,
        records=table.total,
        classes=len(parts),
        k_achieved=int(sizes.min()),
        l_achieved=l_reached,
        gcp=float((penalty * table.counts).sum()) / (table.total * len(table.columns)),
        gcp_by_qi={
            q: float((penalty[j] * table.counts).sum()) / table.total
            for j, q in enumerate(table.columns)
        },
        discernibility=float((sizes.astype(np.float64) ** 2).sum()),
        table=table,
        labels=labels,
    )
