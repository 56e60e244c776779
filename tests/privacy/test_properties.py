"""Invariants on random small tables: valid, and optimal against an independent brute force."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy import (
    Hierarchy,
    LDiversity,
    TCloseness,
    mondrian,
    optimal_generalization,
)


@dataclass(frozen=True)
class Fixed:
    """A hierarchy object given directly (no file): labels per value and level."""

    rows: dict[str, tuple[str, ...]]

    def materialize(self, column: str, values: list[str]) -> Hierarchy:
        return Hierarchy(
            column, tuple(values), tuple(zip(*(self.rows[v] for v in values), strict=False))
        )


@st.composite
def nested_hierarchy(draw: st.DrawFn, name: str) -> dict[str, tuple[str, ...]]:
    size = draw(st.integers(2, 5))
    values = [f"{name}{i}" for i in range(size)]
    chains = {v: [v] for v in values}
    groups = {v: v for v in values}
    for level in range(draw(st.integers(0, 2))):
        current = sorted(set(groups.values()))
        parents = {
            g: f"{name}L{level}G{draw(st.integers(0, max(len(current) - 2, 0)))}" for g in current
        }
        groups = {v: parents[g] for v, g in groups.items()}
        for v in values:
            chains[v].append(groups[v])
    return {v: (*chain, "*") for v, chain in chains.items()}


@st.composite
def problem(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, dict[str, tuple[str, ...]]]]:
    columns = [f"q{i}" for i in range(draw(st.integers(1, 3)))]
    hierarchies = {c: draw(nested_hierarchy(c)) for c in columns}
    rows = draw(st.integers(1, 30))
    data = {
        c: draw(st.lists(st.sampled_from(sorted(hierarchies[c])), min_size=rows, max_size=rows))
        for c in columns
    }
    data["s"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=rows, max_size=rows))
    return pl.DataFrame(data), hierarchies


def _brute_force(
    frame: pl.DataFrame,
    tables: dict[str, dict[str, tuple[str, ...]]],
    k: int,
    limit: float,
    metric: str,
    l_needed: int | None,
) -> tuple[float, tuple[int, ...]] | None:
    """Every node, scored by plain Python over the records (no code shared with the library)."""
    columns = list(tables)
    records = frame.select(columns).rows()
    sensitive = frame["s"].to_list()
    n = len(records)
    original = [Counter(r[j] for r in records) for j in range(len(columns))]
    heights = [len(next(iter(tables[c].values()))) for c in columns]
    best: tuple[float, int, tuple[int, ...]] | None = None
    for node in itertools.product(*(range(h) for h in heights)):
        labels = [tuple(tables[c][r[j]][node[j]] for j, c in enumerate(columns)) for r in records]
        sizes = Counter(labels)
        diverse = {
            key: len({s for lab, s in zip(labels, sensitive, strict=False) if lab == key})
            for key in sizes
        }
        failing = {
            key
            for key, size in sizes.items()
            if size < k or (l_needed is not None and diverse[key] < l_needed)
        }
        suppressed = sum(sizes[key] for key in failing)
        if suppressed > math.floor(limit * n + 1e-9):
            continue
        if metric == "nu_entropy":
            loss = 0.0
            for j, c in enumerate(columns):
                generalised = Counter(tables[c][r[j]][node[j]] for r in records)
                loss += sum(
                    -math.log2(original[j][r[j]] / generalised[tables[c][r[j]][node[j]]])
                    for r in records
                )
        elif metric == "discernibility":
            loss = sum(s * s for key, s in sizes.items() if key not in failing) + suppressed * n
        else:
            kept = len(sizes) - len(failing)
            loss = n / (kept + (1 if suppressed else 0))
        key = (round(loss, 6), sum(node), node)
        if best is None or key < best:
            best = key
    return None if best is None else (best[0], best[2])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem(),
    st.integers(1, 4),
    st.sampled_from([0.0, 0.1, 0.3]),
    st.sampled_from(["nu_entropy", "discernibility", "avg_class_size"]),
    st.sampled_from([None, 2]),
)
def test_search_is_valid_and_optimal(
    case: tuple[pl.DataFrame, dict[str, dict[str, tuple[str, ...]]]],
    k: int,
    limit: float,
    metric: str,
    l_needed: int | None,
) -> None:
    frame, tables = case
    expected = _brute_force(frame, tables, k, limit, metric, l_needed)
    hierarchies = {c: Fixed(t) for c, t in tables.items()}
    try:
        result = optimal_generalization(
            frame,
            list(tables),
            hierarchies,
            k,
            limit,
            metric,  # type: ignore[arg-type]
            sensitive="s" if l_needed else None,
            l_diversity=LDiversity(l_needed) if l_needed else None,
        )
    except PlanError:
        assert expected is None
        return
    assert expected is not None
    assert round(result.information_loss, 6) == expected[0]
    assert result.node == expected[1]
    released = result.apply(frame.lazy()).collect()
    assert released.height == frame.height - result.records_suppressed
    assert result.records_suppressed <= math.floor(limit * frame.height + 1e-9)
    if released.height:
        per_class = released.group_by(list(tables)).agg(pl.len(), pl.col("s").n_unique())
        assert per_class["len"].min() >= k
        if l_needed:
            assert per_class["s"].min() >= l_needed


@settings(max_examples=40, deadline=None)
@given(problem(), st.integers(1, 3), st.floats(0.0, 1.0))
def test_t_closeness_search_keeps_every_class_close(
    case: tuple[pl.DataFrame, dict[str, dict[str, tuple[str, ...]]]], k: int, t: float
) -> None:
    frame, tables = case
    hierarchies = {c: Fixed(tab) for c, tab in tables.items()}
    try:
        result = optimal_generalization(
            frame, list(tables), hierarchies, k, 0.2, sensitive="s", t_closeness=TCloseness(t)
        )
    except PlanError:
        return
    released = result.apply(frame.lazy()).collect()
    overall = frame["s"].value_counts(normalize=True)
    share = dict(zip(overall["s"].to_list(), overall["proportion"].to_list(), strict=True))
    for group in released.partition_by(list(tables)):
        local = group["s"].value_counts(normalize=True)
        mine = dict(zip(local["s"].to_list(), local["proportion"].to_list(), strict=True))
        distance = 0.5 * sum(abs(mine.get(v, 0.0) - p) for v, p in share.items())
        assert distance <= t + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    problem(),
    st.integers(1, 5),
    st.lists(st.integers(0, 90), min_size=30, max_size=30),
    st.booleans(),
)
def test_mondrian_classes_hold_k_and_cover_their_records(
    case: tuple[pl.DataFrame, dict[str, dict[str, tuple[str, ...]]]],
    k: int,
    ages: list[int],
    with_hierarchies: bool,
) -> None:
    frame, tables = case
    frame = frame.with_columns(age=pl.Series(ages[: frame.height]))
    if frame.height < k:
        return
    hierarchies = {c: Fixed(t) for c, t in tables.items()} if with_hierarchies else {}
    qis = [*tables, "age"]
    result = mondrian(frame, qis, hierarchies, k)
    released = result.apply(frame.lazy()).collect()
    assert released.height == frame.height
    assert released.group_by(qis).len()["len"].min() >= k
    for before, after in zip(
        frame.iter_rows(named=True), released.iter_rows(named=True), strict=False
    ):
        for c in tables:
            if with_hierarchies:
                assert after[c] in tables[c][before[c]]  # one of the value's ancestors
            else:
                assert before[c] in after[c].split(",")  # the released set holds the value
        low, _, high = after["age"].partition("-")
        assert int(low) <= before["age"] <= int(high or low)
    by_qi = result.gcp_by_qi
    assert sum(by_qi.values()) / len(qis) == pytest.approx(result.gcp)
    assert all(0.0 <= loss <= 1.0 for loss in by_qi.values())
    if released["age"].equals(frame["age"].cast(pl.String)):  # no age range released: no loss
        assert by_qi["age"] == 0.0


@settings(max_examples=40, deadline=None)
@given(problem(), st.integers(1, 3), st.floats(0.05, 1.0), st.booleans())
def test_mondrian_t_closeness_keeps_every_class_close(
    case: tuple[pl.DataFrame, dict[str, dict[str, tuple[str, ...]]]],
    k: int,
    t: float,
    with_hierarchies: bool,
) -> None:
    frame, tables = case
    hierarchies = {c: Fixed(tab) for c, tab in tables.items()} if with_hierarchies else {}
    try:
        result = mondrian(
            frame, list(tables), hierarchies, k, sensitive="s", t_closeness=TCloseness(t)
        )
    except PlanError:
        assert frame.height < k  # the whole table is always t-close to itself
        return
    released = result.apply(frame.lazy()).collect()
    overall = frame["s"].value_counts(normalize=True)
    share = dict(zip(overall["s"].to_list(), overall["proportion"].to_list(), strict=True))
    worst = 0.0
    for group in released.partition_by(list(tables)):
        local = group["s"].value_counts(normalize=True)
        mine = dict(zip(local["s"].to_list(), local["proportion"].to_list(), strict=True))
        worst = max(worst, 0.5 * sum(abs(mine.get(v, 0.0) - p) for v, p in share.items()))
        assert group.height >= k
    assert worst <= t + 1e-9
    assert result.t_achieved is not None and abs(result.t_achieved - worst) < 1e-9
