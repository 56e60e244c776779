"""Privacy models checked per equivalence class: k-anonymity, ℓ-diversity, t-closeness.

Records in a class that fails any model are *suppressed*; a node is valid when the suppressed
records are within the limit. k-anonymity, distinct-ℓ and entropy-ℓ are monotonic under
suppression (a class that fails after generalisation only holds records that failed before), so
the search may prune with them; recursive-(c,ℓ) and t-closeness are not, and switch pruning off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from anonymizer.errors import PlanError
from anonymizer.privacy.table import IntArray, QiTable, combine

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
LKind = Literal["distinct", "entropy", "recursive"]


@dataclass(frozen=True)
class LDiversity:
    """ℓ-diversity of the sensitive column within each class (``c`` for the recursive kind)."""

    l: int  # noqa: E741 - the model's own name
    kind: LKind = "distinct"
    c: float = 1.0

    def __post_init__(self) -> None:
        if self.l < 1 or (self.kind == "recursive" and self.c <= 0):
            raise PlanError("l-diversity needs l >= 1 (and c > 0 for the recursive kind)")


@dataclass(frozen=True)
class TCloseness:
    """t-closeness: each class's sensitive distribution within ``t`` of the whole table's (EMD)."""

    t: float
    ordered: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.t <= 1.0:
            raise PlanError(f"t-closeness needs 0 <= t <= 1 (got {self.t}); fix t")


@dataclass(frozen=True)
class Criteria:
    """What every kept class must satisfy, and how many records may be suppressed."""

    k: int
    suppression_limit: float = 0.0
    l_diversity: LDiversity | None = None
    t_closeness: TCloseness | None = None

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise PlanError(f"k must be a whole number >= 1 (got {self.k!r}); fix k")
        if not 0.0 <= self.suppression_limit <= 1.0:
            raise PlanError(
                f"suppression_limit must be within [0, 1] (got {self.suppression_limit}); "
                "give a fraction of records, e.g. 0.04"
            )

    @property
    def monotonic(self) -> bool:
        """Whether validity is inherited by every generalisation of a valid node."""
        recursive = self.l_diversity is not None and self.l_diversity.kind == "recursive"
        return not recursive and self.t_closeness is None

    def needs_sensitive(self) -> bool:
        """ℓ and t are defined over a sensitive column."""
        return self.l_diversity is not None or self.t_closeness is not None


@dataclass(frozen=True)
class Classes:
    """A node's equivalence classes over the histogram, and which of them fail."""

    node: tuple[int, ...]
    inverse: IntArray  # class index per histogram tuple
    sizes: IntArray  # records per class
    failing: BoolArray  # per class: violates a model, so its records are suppressed
    l_achieved: float | None
    t_achieved: float | None

    @property
    def suppressed(self) -> int:
        """Records in failing classes."""
        return int(self.sizes[self.failing].sum())

    @property
    def kept_sizes(self) -> IntArray:
        """Sizes of the classes that are released."""
        return self.sizes[~self.failing]

    @property
    def k_achieved(self) -> int:
        """Smallest released class (0 when everything is suppressed)."""
        kept = self.kept_sizes
        return int(kept.min()) if kept.size else 0


def class_index(table: QiTable, node: Sequence[int]) -> tuple[IntArray, IntArray]:
    """Class index per histogram tuple and the record count of each class."""
    parts = table.generalized_codes(node)
    radices = [table.level_groups[j][level] for j, level in enumerate(node)]
    key, span = combine(parts, radices)
    if span <= 4 * len(key):
        # Dense ids by counting beat a sort when the key range is small.
        present = np.flatnonzero(np.bincount(key, minlength=span))
        remap = np.zeros(span, dtype=np.int64)
        remap[present] = np.arange(len(present), dtype=np.int64)
        inverse = remap[key]
    else:
        inverse = np.unique(key, return_inverse=True)[1].astype(np.int64)
    sizes = np.bincount(inverse, weights=table.counts).astype(np.int64)
    return inverse, sizes


def sensitive_matrix(table: QiTable, inverse: IntArray, classes: int) -> FloatArray:
    """Records per (class, sensitive value)."""
    assert table.sensitive is not None
    width = len(table.sensitive_values)
    flat = inverse * width + table.sensitive
    counts = np.bincount(flat, weights=table.counts, minlength=classes * width)
    return np.asarray(counts, dtype=np.float64).reshape(classes, width)


def _l_values(matrix: FloatArray, model: LDiversity) -> tuple[BoolArray, FloatArray]:
    """Per class: passes ℓ, and the ℓ it reaches (distinct values, or 2^entropy)."""
    distinct = (matrix > 0).sum(axis=1).astype(np.float64)
    if model.kind == "distinct":
        return distinct >= model.l, distinct
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    if model.kind == "entropy":
        logs = np.log2(share, out=np.zeros_like(share), where=share > 0)
        effective = np.exp2(-(share * logs).sum(axis=1))
        return effective >= model.l - 1e-9, effective
    ranked = -np.sort(-matrix, axis=1)
    tail = ranked[:, model.l - 1 :].sum(axis=1) if model.l <= matrix.shape[1] else 0.0
    passes = (distinct >= model.l) & (ranked[:, 0] < model.c * tail)
    return passes, distinct


def _t_values(matrix: FloatArray, model: TCloseness) -> FloatArray:
    """Per class: earth mover's distance to the overall sensitive distribution."""
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    overall = matrix.sum(axis=0) / matrix.sum()
    diff = share - overall
    if not model.ordered or matrix.shape[1] < 2:
        return np.asarray(0.5 * np.abs(diff).sum(axis=1), dtype=np.float64)
    return np.asarray(
        np.abs(np.cumsum(diff, axis=1)).sum(axis=1) / (matrix.shape[1] - 1), dtype=np.float64
    )


def _over_kept(values: FloatArray | None, failing: BoolArray, lowest: bool) -> float | None:
    if values is None:
        return None
    kept = values[~failing]
    if not kept.size:
        return 0.0
    return float(kept.min() if lowest else kept.max())


def evaluate(table: QiTable, node: Sequence[int], criteria: Criteria) -> Classes:
    """The node's classes and which fail k, ℓ or t."""
    inverse, sizes = class_index(table, node)
    failing = sizes < criteria.k
    reached: FloatArray | None = None
    distance: FloatArray | None = None
    if criteria.needs_sensitive():
        matrix = sensitive_matrix(table, inverse, len(sizes))
        if criteria.l_diversity is not None:
            passes, reached = _l_values(matrix, criteria.l_diversity)
            failing |= ~passes
        if criteria.t_closeness is not None:
            distance = _t_values(matrix, criteria.t_closeness)
            failing |= distance > criteria.t_closeness.t + 1e-12
    l_reached = _over_kept(reached, failing, lowest=True)
    t_reached = _over_kept(distance, failing, lowest=False)
    return Classes(tuple(node), inverse, sizes, failing, l_reached, t_reached)


def is_valid(classes: Classes, criteria: Criteria, total: int) -> bool:
    """Suppressed records within the limit (the limit is a share of all records)."""
    return classes.suppressed <= int(np.floor(criteria.suppression_limit * total + 1e-9))
