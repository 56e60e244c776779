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

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy.table import IntArray, QiTable, combine

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


@dataclass(frozen=True)
class View:
    """The histogram seen at some node: per QI the group index of each row at that level.

    The base view (the bottom node) is the QI table itself; a rolled-up view of a checked node
    has one row per class (and sensitive value) and is usually far smaller, so nodes above it are
    checked from it instead of from the full histogram.
    """

    node: tuple[int, ...]
    parts: tuple[IntArray, ...]
    counts: IntArray
    sensitive: IntArray | None

    @classmethod
    def base(cls, table: QiTable) -> View:
        """The bottom node: the table's own value codes."""
        bottom = tuple(0 for _ in table.columns)
        return cls(bottom, tuple(table.codes), table.counts, table.sensitive)

    @property
    def rows(self) -> int:
        """Number of histogram rows."""
        return len(self.counts)


def _dense_ids(key: IntArray, span: int) -> IntArray:
    """0..n-1 ids of the distinct keys (counting when the range is small, else a sort)."""
    if span <= 4 * len(key):
        present = np.flatnonzero(np.bincount(key, minlength=span))
        remap = np.zeros(span, dtype=np.int64)
        remap[present] = np.arange(len(present), dtype=np.int64)
        return remap[key]
    return np.unique(key, return_inverse=True)[1].astype(np.int64)


def _node_parts(table: QiTable, view: View, node: Sequence[int]) -> list[IntArray]:
    return [
        table.up(j, view.node[j], level)[view.parts[j]] if level != view.node[j] else view.parts[j]
        for j, level in enumerate(node)
    ]


def class_index(
    table: QiTable, node: Sequence[int], view: View | None = None
) -> tuple[IntArray, IntArray]:
    """Class index per view row and the record count of each class."""
    view = view or View.base(table)
    radices = [table.level_groups[j][level] for j, level in enumerate(node)]
    inverse = _dense_ids(*combine(_node_parts(table, view, node), radices))
    sizes = np.bincount(inverse, weights=view.counts).astype(np.int64)
    return inverse, sizes


def sensitive_matrix(table: QiTable, view: View, inverse: IntArray, classes: int) -> FloatArray:
    """Records per (class, sensitive value)."""
    assert view.sensitive is not None
    width = len(table.sensitive_values)
    flat = inverse * width + view.sensitive
    counts = np.bincount(flat, weights=view.counts, minlength=classes * width)
    return np.asarray(counts, dtype=np.float64).reshape(classes, width)


def rolled_up(table: QiTable, view: View, classes: Classes) -> View:
    """The view at ``classes.node``: one row per class (per class and sensitive value)."""
    row_key = classes.inverse
    if view.sensitive is not None:
        row_key = _dense_ids(
            classes.inverse * len(table.sensitive_values) + view.sensitive,
            len(classes.sizes) * len(table.sensitive_values),
        )
    rows = int(row_key.max()) + 1
    first = np.empty(rows, dtype=np.int64)
    first[row_key[::-1]] = np.arange(len(row_key) - 1, -1, -1, dtype=np.int64)
    parts = _node_parts(table, view, classes.node)
    return View(
        classes.node,
        tuple(p[first] for p in parts),
        np.bincount(row_key, weights=view.counts).astype(np.int64),
        view.sensitive[first] if view.sensitive is not None else None,
    )


def l_values(matrix: FloatArray, model: LDiversity) -> tuple[BoolArray, FloatArray]:
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


def t_values(matrix: FloatArray, model: TCloseness) -> FloatArray:
    """Per class: earth mover's distance to the overall sensitive distribution."""
    return distances(matrix, matrix.sum(axis=0) / matrix.sum(), model)


def distances(matrix: FloatArray, overall: FloatArray, model: TCloseness) -> FloatArray:
    """Per class (row of counts): earth mover's distance to the ``overall`` distribution —
    equal distance (half the L1 distance) for categories, ordered for numbers."""
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
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


def evaluate(
    table: QiTable, node: Sequence[int], criteria: Criteria, view: View | None = None
) -> Classes:
    """The node's classes and which fail k, ℓ or t (computed from ``view``, a node below)."""
    view = view or View.base(table)
    inverse, sizes = class_index(table, node, view)
    failing = sizes < criteria.k
    reached: FloatArray | None = None
    distance: FloatArray | None = None
    if criteria.needs_sensitive():
        matrix = sensitive_matrix(table, view, inverse, len(sizes))
        if criteria.l_diversity is not None:
            passes, reached = l_values(matrix, criteria.l_diversity)
            failing |= ~passes
        if criteria.t_closeness is not None:
            distance = t_values(matrix, criteria.t_closeness)
            failing |= distance > criteria.t_closeness.t + 1e-12
    l_reached = _over_kept(reached, failing, lowest=True)
    t_reached = _over_kept(distance, failing, lowest=False)
    return Classes(tuple(node), inverse, sizes, failing, l_reached, t_reached)


def is_valid(classes: Classes, criteria: Criteria, total: int) -> bool:
    """Suppressed records within the limit (the limit is a share of all records)."""
    return classes.suppressed <= int(np.floor(criteria.suppression_limit * total + 1e-9))
