"""Optimal full-domain generalisation over the lattice of level vectors.

Each lattice node gives every QI one hierarchy level. The search never enumerates the lattice:

* ``nu_entropy`` is a sum of per-QI terms that grow with the level, so nodes can be visited in
  increasing order of loss (best-first from the bottom node, successors pushed on a heap). The
  first valid node popped is optimal by construction. With monotonic criteria, a node below a
  node already found invalid is invalid too and is skipped without a check.
* ``discernibility`` and ``avg_class_size`` need the data to score a node. Nodes are visited top
  down; with monotonic criteria every node below an invalid one is skipped, and every valid node
  is checked and scored, so the best valid node is exact.

Ties are broken towards fewer total levels, then the lexicographically smaller vector.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy.apply import Recoding, Suppression, value_recoding
from anonymizer_ml.privacy.criteria import (
    Classes,
    Criteria,
    LDiversity,
    TCloseness,
    View,
    evaluate,
    is_valid,
    rolled_up,
)
from anonymizer_ml.privacy.metrics import (
    METRICS,
    Metric,
    data_loss,
    full_domain_gcp_by_qi,
    nu_entropy_terms,
)
from anonymizer_ml.privacy.table import HierarchyArg, QiTable, Source, build_table

MAX_DATA_METRIC_LATTICE = 2_000_000
MAX_LATTICE = 50_000_000
Node = tuple[int, ...]


@dataclass(frozen=True)
class GeneralizationResult:
    """The chosen node, its loss and what it costs in suppressed records."""

    quasi_identifiers: tuple[str, ...]
    levels: dict[str, int]
    metric: Metric
    information_loss: float
    records: int
    records_suppressed: int
    classes: int
    k_achieved: int
    l_achieved: float | None
    t_achieved: float | None
    nodes_checked: int
    lattice_size: int
    gcp: float
    gcp_by_qi: dict[str, float]
    table: QiTable = field(repr=False, compare=False)
    outcome: Classes = field(repr=False, compare=False)

    @property
    def node(self) -> Node:
        """The level vector in QI order."""
        return tuple(self.levels[q] for q in self.quasi_identifiers)

    def recoding(self) -> Recoding:
        """Expressions that apply this node to any frame with the same QI values."""
        table, node = self.table, self.node
        mappings = {
            h.column: h.mapping(level) for h, level in zip(table.hierarchies, node, strict=True)
        }
        failing = np.flatnonzero(self.outcome.failing[self.outcome.inverse])
        tuples = {
            tuple(
                h.labels[level][table.codes[j][i]]
                for j, (h, level) in enumerate(zip(table.hierarchies, node, strict=True))
            )
            for i in failing.tolist()
        }
        return value_recoding(mappings, sorted(tuples))

    def apply(self, frame: pl.LazyFrame, suppression: Suppression = "drop") -> pl.LazyFrame:
        """``frame`` generalised to this node (lazy; streams)."""
        return self.recoding().apply(frame, suppression)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (for the manifest and reports)."""
        return {
            "algorithm": "full_domain",
            "quasi_identifiers": list(self.quasi_identifiers),
            "levels": dict(self.levels),
            "metric": self.metric,
            "information_loss": self.information_loss,
            "records": self.records,
            "records_suppressed": self.records_suppressed,
            "classes": self.classes,
            "k_achieved": self.k_achieved,
            "l_achieved": self.l_achieved,
            "t_achieved": self.t_achieved,
            "nodes_checked": self.nodes_checked,
            "lattice_size": self.lattice_size,
            "gcp": self.gcp,
            "gcp_by_qi": dict(self.gcp_by_qi),
        }


class _Frontier:
    """Nodes already classified, as two boolean arrays over the whole lattice.

    With monotonic criteria every node below an invalid node is invalid and every node above a
    valid node is valid: marking a down-set or up-set is one slice assignment, and asking about a
    node is one lookup.
    """

    def __init__(self, heights: Sequence[int]) -> None:
        self._invalid = np.zeros(tuple(heights), dtype=np.bool_)
        self._valid = np.zeros(tuple(heights), dtype=np.bool_)

    def known_invalid(self, node: Node) -> bool:
        return bool(self._invalid[node])

    def known_valid(self, node: Node) -> bool:
        return bool(self._valid[node])

    def add(self, node: Node, valid: bool) -> None:
        if valid:
            self._valid[tuple(slice(level, None) for level in node)] = True
        else:
            self._invalid[tuple(slice(0, level + 1) for level in node)] = True


def _tie(loss: float, node: Node) -> tuple[float, int, Node]:
    return (round(loss, 6), sum(node), node)


def _successors(node: Node, heights: Sequence[int]) -> Iterator[Node]:
    for j, level in enumerate(node):
        if level + 1 < heights[j]:
            yield (*node[:j], level + 1, *node[j + 1 :])


class _Checker:
    """Checks nodes against the data, counting checks and remembering what it learnt.

    Each check starts from the smallest remembered view below the node (a roll-up of an earlier
    check), not from the full histogram: near the optimum a node has a few thousand classes while
    the histogram may hold millions of distinct tuples.
    """

    VIEWS = 32

    def __init__(self, table: QiTable, criteria: Criteria) -> None:
        self.table, self.criteria = table, criteria
        self.frontier = _Frontier(table.heights)
        self.checked = 0
        self.base = View.base(table)
        self.views: list[View] = []

    def _view_for(self, node: Node) -> View:
        below = [v for v in self.views if all(a <= b for a, b in zip(v.node, node, strict=True))]
        return min(below, key=lambda v: v.rows, default=self.base)

    def valid(self, node: Node) -> bool:
        if self.criteria.monotonic:
            if self.frontier.known_invalid(node):
                return False
            if self.frontier.known_valid(node):
                return True
        self.checked += 1
        view = self._view_for(node)
        classes = evaluate(self.table, node, self.criteria, view)
        ok = is_valid(classes, self.criteria, self.table.total)
        if self.criteria.monotonic:
            self.frontier.add(node, ok)
        if self.VIEWS and len(classes.sizes) * 2 <= view.rows:
            self._remember(rolled_up(self.table, view, classes))
        return ok

    def _remember(self, view: View) -> None:
        """Keep the newest views, at most VIEWS of them and never more rows than the base."""
        self.views.append(view)
        while len(self.views) > self.VIEWS or sum(v.rows for v in self.views) > self.base.rows:
            self.views.pop(0)


def _cheapest_path(node: Node, heights: Sequence[int], terms: list[list[float]]) -> list[Node]:
    """From ``node`` to the top, one level at a time, always raising the cheapest QI."""
    path = [node]
    while True:
        options = [
            (terms[j][level + 1] - terms[j][level], j)
            for j, level in enumerate(node)
            if level + 1 < heights[j]
        ]
        if not options:
            return path
        _, j = min(options)
        node = (*node[:j], node[j] + 1, *node[j + 1 :])
        path.append(node)


def _probe(checker: _Checker, path: list[Node]) -> Node | None:
    """Binary search a monotone path (invalid … valid) for its lowest valid node."""
    low, high = 0, len(path) - 1  # path[low] is invalid
    if not checker.valid(path[high]):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if checker.valid(path[middle]):
            high = middle
        else:
            low = middle
    return path[high]


def _best_first(
    table: QiTable, criteria: Criteria, terms: list[list[float]]
) -> tuple[Node, Classes, float, int] | None:
    heights = table.heights
    bottom: Node = tuple(0 for _ in heights)

    def loss(node: Node) -> float:
        return math.fsum(terms[j][level] for j, level in enumerate(node))

    checker = _Checker(table, criteria)
    heap = [(_tie(loss(bottom), bottom), bottom)]
    seen = {bottom}
    best: tuple[tuple[float, int, Node], Node] | None = None
    while heap:
        key, node = heapq.heappop(heap)
        if best is not None and key >= best[0]:
            break
        before = checker.checked
        if checker.valid(node):
            best = (key, node)
            break
        if criteria.monotonic and checker.checked > before:
            # Binary search upward: finds a high invalid node (pruning everything below it)
            # and a valid node whose loss bounds the search.
            found = _probe(checker, _cheapest_path(node, heights, terms))
            if found is not None and (best is None or _tie(loss(found), found) < best[0]):
                best = (_tie(loss(found), found), found)
        for succ in _successors(node, heights):
            if succ not in seen:
                seen.add(succ)
                heapq.heappush(heap, (_tie(loss(succ), succ), succ))
    if best is None:
        return None
    node = best[1]
    return node, evaluate(table, node, criteria), loss(node), checker.checked


def _top_down(
    table: QiTable, criteria: Criteria, metric: Metric, size: int
) -> tuple[Node, Classes, float, int] | None:
    if size > MAX_DATA_METRIC_LATTICE:
        raise PlanError(
            f"the lattice has {size:,} nodes, too many to score with {metric!r}; "
            "use metric 'nu_entropy' or fewer hierarchy levels"
        )
    heights = table.heights
    nodes = sorted(itertools.product(*(range(h) for h in heights)), key=lambda n: (-sum(n), n))
    frontier = _Frontier(heights)
    best: tuple[tuple[float, int, Node], Node, Classes] | None = None
    checked = 0
    for node in nodes:
        if criteria.monotonic and frontier.known_invalid(node):
            continue
        checked += 1
        classes = evaluate(table, node, criteria)
        if not is_valid(classes, criteria, table.total):
            if criteria.monotonic:
                frontier.add(node, valid=False)
            continue
        key = _tie(data_loss(metric, classes, table.total), node)
        if best is None or key < best[0]:
            best = (key, node, classes)
    if best is None:
        return None
    key, node, classes = best
    return node, classes, data_loss(metric, classes, table.total), checked


def search(
    table: QiTable, criteria: Criteria, metric: Metric = "nu_entropy"
) -> GeneralizationResult:
    """The optimal node for ``criteria`` over an already built QI table."""
    if metric not in METRICS:
        raise PlanError(f"unknown metric {metric!r}; use one of: {', '.join(METRICS)}")
    if criteria.needs_sensitive() and table.sensitive is None:
        raise PlanError("l-diversity and t-closeness need a sensitive column; name one")
    size = math.prod(table.heights)
    if size > MAX_LATTICE:
        raise PlanError(
            f"the lattice has {size:,} nodes, too many for an optimal search; use fewer "
            "quasi-identifiers or hierarchy levels, or algorithm 'mondrian'"
        )
    if metric == "nu_entropy":
        terms = nu_entropy_terms(table)
        found: tuple[Node, Classes, float, int] | None = _best_first(table, criteria, terms)
    else:
        found = _top_down(table, criteria, metric, size)
    if found is None:
        raise PlanError(
            "no generalisation satisfies the privacy model within the suppression limit; "
            "raise suppression_limit, lower k/l or relax t"
        )
    node, classes, loss, checked = found
    by_qi = full_domain_gcp_by_qi(table, classes)
    return GeneralizationResult(
        quasi_identifiers=table.columns,
        levels=dict(zip(table.columns, node, strict=True)),
        metric=metric,
        information_loss=loss,
        records=table.total,
        records_suppressed=classes.suppressed,
        classes=int((~classes.failing).sum()),
        k_achieved=classes.k_achieved,
        l_achieved=classes.l_achieved,
        t_achieved=classes.t_achieved,
        nodes_checked=checked,
        lattice_size=size,
        gcp=sum(by_qi) / len(by_qi),
        gcp_by_qi=dict(zip(table.columns, by_qi, strict=True)),
        table=table,
        outcome=classes,
    )


def optimal_generalization(
    source: Source,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, HierarchyArg],
    k: int,
    suppression_limit: float = 0.0,
    metric: Metric = "nu_entropy",
    *,
    sensitive: str | None = None,
    l_diversity: LDiversity | None = None,
    t_closeness: TCloseness | None = None,
) -> GeneralizationResult:
    """Find the full-domain generalisation of lowest loss satisfying k (and ℓ / t).

    ``source`` is a Parquet or CSV path or a Polars frame; it is read by one streaming
    aggregation. ``hierarchies`` maps each QI to an ARX CSV path or a hierarchy object.
    """
    criteria = Criteria(k, suppression_limit, l_diversity, t_closeness)
    if criteria.needs_sensitive() and sensitive is None:
        raise PlanError("l-diversity and t-closeness need a sensitive column; name one")
    table = build_table(source, quasi_identifiers, hierarchies, sensitive)
    return search(table, criteria, metric)
