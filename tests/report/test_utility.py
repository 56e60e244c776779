"""Utility for training: the classifiers see what the release keeps, and nothing else."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from anonymizer_ml.errors import PlanError
from anonymizer_ml.report.plots import dp_chart
from anonymizer_ml.report.utility import MAX_ROWS, sample, utility


def _table(rows: int = 4000) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    age = rng.integers(18, 90, rows)
    return pl.DataFrame(
        {
            "id": [f"person-{i}" for i in range(rows)],  # identifier-like: left out
            "age": age,
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "label": np.where(age >= 50, "old", "young"),
        }
    )


def test_a_label_the_release_hides_costs_accuracy_and_one_it_keeps_does_not() -> None:
    raw = _table()
    hidden = raw.with_columns(pl.lit("*").alias("age"))  # generalised to the top
    figures = utility(raw, hidden, "label")
    assert figures["features"] == {"raw": ["age", "region"], "anonymised": ["age", "region"]}
    assert figures["left_out"] == {"raw": ["id"], "anonymised": ["id"]}
    assert figures["same_records"] is True
    for model in figures["models"]:
        assert model["raw"]["accuracy"] > 0.97 and model["raw"]["auc"] > 0.99
        assert model["anonymised"]["accuracy"] < 0.7 and model["anonymised"]["auc"] < 0.6
    same = utility(raw, raw, "label")
    assert [m["raw"] for m in same["models"]] == [m["anonymised"] for m in same["models"]]


def test_the_target_must_be_a_kept_label() -> None:
    raw = _table(200)
    with pytest.raises(PlanError, match="not a column of the anonymised output"):
        utility(raw, raw.drop("label"), "label")
    with pytest.raises(PlanError, match="needs 2 to 20"):
        utility(raw, raw, "id")


def test_the_sample_takes_every_nth_row_and_caps_the_size() -> None:
    frame = pl.DataFrame({"n": range(MAX_ROWS * 3 + 1)})
    taken = sample(frame.lazy(), frame.height)  # every 4th: 3 would take MAX_ROWS + 1
    assert taken.height == 15_001 <= MAX_ROWS
    assert taken["n"].to_list()[:3] == [0, 4, 8] and taken["n"][-1] == MAX_ROWS * 3
    assert sample(frame.head(10).lazy(), 10)["n"].to_list() == list(range(10))


def test_the_budget_plot_shows_every_receipt_against_the_budget() -> None:
    receipts = [
        {"epsilon": 1.5, "finished_at": "2026-01-01T10:00:00"},
        {"epsilon": 2.0, "finished_at": "2026-01-02T10:00:00"},
    ]
    svg = dp_chart(receipts, {"max_epsilon": 8.0})
    assert svg is not None and svg.startswith("<svg")
    assert "2026-01-01T10:00" in svg and "2026-01-02T10:00" in svg and "budget" in svg
    assert dp_chart([], {"max_epsilon": 8.0}) is None
