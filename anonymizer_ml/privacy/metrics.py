"""Information-loss metrics for a generalisation, and the utility figure GCP.

* ``nu_entropy`` — ARX's precomputed, monotonic non-uniform entropy: for every QI and record,
  −log2(count of its original value / count of its generalised value), counts over all input
  records; suppression does not change it. It is a sum of per-QI terms, so a node's loss is known
  without looking at the data, which lets the search visit nodes in order of loss.
* ``discernibility`` — Σ |E|² over released classes plus n for every suppressed record.
* ``avg_class_size`` — records per equivalence class, the suppressed records counting as one class.
* GCP (global certainty penalty) — mean normalised certainty penalty over records and QIs: for a
  numeric QI the width of the record's group over the data's range, for other QIs the number of
  the data's distinct values the group covers, minus one, over all distinct values minus one.
  Suppressed records count as fully generalised (1).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from anonymizer_ml.privacy.criteria import Classes, FloatArray
from anonymizer_ml.privacy.table import QiTable

Metric = Literal["nu_entropy", "discernibility", "avg_class_size"]
METRICS: tuple[Metric, ...] = ("nu_entropy", "discernibility", "avg_class_size")


def nu_entropy_terms(table: QiTable) -> list[list[float]]:
    """Per QI and level, the summed −log2 share in bits (monotonic in the level)."""
    terms: list[list[float]] = []
    for j, codes_by_level in enumerate(table.level_codes):
        value_counts = np.bincount(
            table.codes[j], weights=table.counts, minlength=len(codes_by_level[0])
        )
        present = value_counts > 0
        row = []
        for level_codes in codes_by_level:
            group_counts = np.bincount(level_codes, weights=value_counts)[level_codes]
            ratio = group_counts[present] / value_counts[present]
            row.append(float((value_counts[present] * np.log2(ratio)).sum()))
        terms.append(row)
    return terms


def data_loss(metric: Metric, classes: Classes, total: int) -> float:
    """Loss of a node for the metrics that depend on its classes."""
    kept = classes.kept_sizes.astype(np.float64)
    suppressed = classes.suppressed
    if metric == "discernibility":
        return float((kept**2).sum() + suppressed * total)
    if metric == "avg_class_size":
        groups = kept.size + (1 if suppressed else 0)
        return total / groups if groups else float(total)
    raise ValueError(metric)


def _value_penalties(table: QiTable, j: int, level: int) -> FloatArray:
    """Per original value of QI ``j``: the certainty penalty of its group at ``level``."""
    group = table.level_codes[j][level]
    values = table.hierarchies[j].values
    if not table.numeric[j]:
        sizes = np.bincount(group).astype(np.float64)
        spread = max(len(values) - 1, 1)
        return np.asarray((sizes[group] - 1) / spread, dtype=np.float64)
    numbers = np.array([float(v) for v in values])
    span = float(numbers.max() - numbers.min()) or 1.0
    highs = np.full(group.max() + 1, -np.inf)
    lows = np.full(group.max() + 1, np.inf)
    np.maximum.at(highs, group, numbers)
    np.minimum.at(lows, group, numbers)
    return np.asarray((highs[group] - lows[group]) / span, dtype=np.float64)


def full_domain_gcp_by_qi(table: QiTable, classes: Classes) -> list[float]:
    """GCP of a full-domain node per QI (in table order), suppressed records counting 1."""
    suppressed_tuple = classes.failing[classes.inverse]
    by_qi = []
    for j, level in enumerate(classes.node):
        penalty = _value_penalties(table, j, level)[table.codes[j]]
        penalty = np.where(suppressed_tuple, 1.0, penalty)
        by_qi.append(float((penalty * table.counts).sum()) / table.total)
    return by_qi
