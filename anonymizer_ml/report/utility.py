"""Utility for training: the same classifiers trained on the raw and on the anonymised data.

Both tables are sampled the same way (every n-th row, at most ``MAX_ROWS``): without suppressed
records the two samples hold the same records, and the seeded 70/30 split is the same split.
Features are every other column: numbers and dates as numbers, text as one-hot categories;
identifier-like text (more than half of the sampled values distinct: tokens, surrogates, names)
is left out, as a model could only memorise it. Only figures leave this module, never rows.
scikit-learn (the ``report`` extra) is imported with this module, which the runner and the
report import only when a target is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from anonymizer_ml.errors import PlanError

MAX_ROWS = 20_000
MAX_CLASSES = 20
TEST_SHARE = 0.3
SEED = 0
MISSING = "\u2205"  # the category of a null text value


@dataclass(frozen=True)
class _Features:
    categorical: np.ndarray[Any, np.dtype[np.object_]]
    numeric: np.ndarray[Any, np.dtype[np.float64]]
    used: list[str]
    left_out: list[str]


def sample(frame: pl.LazyFrame, rows: int, columns: list[str] | None = None) -> pl.DataFrame:
    """Every n-th row of ``frame`` (``rows`` records), at most ``MAX_ROWS`` of them, streaming."""
    step = max(1, math.ceil(rows / MAX_ROWS))
    query = frame.select(columns) if columns is not None else frame
    return query.gather_every(step).head(MAX_ROWS).collect(engine="streaming")


def _features(data: pl.DataFrame, target: str) -> _Features:
    categorical: list[pl.Series] = []
    numeric: list[pl.Series] = []
    used, left_out = [], []
    for name, dtype in data.schema.items():
        if name == target:
            continue
        column = data[name]
        if dtype.is_numeric() or dtype == pl.Boolean:
            numeric.append(column.cast(pl.Float64))
        elif dtype.is_temporal():
            numeric.append(column.cast(pl.Date).cast(pl.Int64).cast(pl.Float64))
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            text = column.cast(pl.String)
            if text.n_unique() > 0.5 * max(len(text), 1):
                left_out.append(name)
                continue
            categorical.append(text.fill_null(MISSING))
        else:
            left_out.append(name)
            continue
        used.append(name)
    height = data.height
    cats = (
        np.column_stack([s.to_numpy() for s in categorical]).astype(object)
        if categorical
        else np.empty((height, 0), dtype=object)
    )
    nums = (
        np.column_stack([s.to_numpy() for s in numeric]).astype(np.float64)
        if numeric
        else np.empty((height, 0), dtype=np.float64)
    )
    return _Features(cats, nums, used, left_out)


def _models() -> dict[str, Any]:
    return {
        "logistic_regression": LogisticRegression(max_iter=2000),
        "gradient_boosting": HistGradientBoostingClassifier(random_state=SEED),
    }


def _pipeline(features: _Features, model: Any) -> Any:
    width = features.categorical.shape[1]
    parts: list[tuple[str, Any, list[int]]] = []
    if width:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=50)
        parts.append(("categories", encoder, list(range(width))))
    if features.numeric.shape[1]:
        scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        parts.append(("numbers", scaled, list(range(width, width + features.numeric.shape[1]))))
    return Pipeline([("features", ColumnTransformer(parts)), ("model", model)])


def _scores(data: pl.DataFrame, target: str) -> tuple[dict[str, dict[str, float]], _Features]:
    data = data.filter(pl.col(target).is_not_null())
    labels = data[target].cast(pl.String).to_numpy()
    classes = np.unique(labels)
    if not 2 <= classes.size <= MAX_CLASSES:
        raise PlanError(
            f"--target {target!r} has {classes.size} classes in the sample; the utility check "
            f"trains classifiers and needs 2 to {MAX_CLASSES}"
        )
    features = _features(data, target)
    if not features.used:
        raise PlanError(f"--target {target!r}: no other column is usable as a feature")
    matrix = np.concatenate([features.categorical, features.numeric.astype(object)], axis=1)
    counts = np.unique(labels, return_counts=True)[1]
    stratify = labels if counts.min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        matrix, labels, test_size=TEST_SHARE, random_state=SEED, stratify=stratify
    )
    scores = {}
    for name, model in _models().items():
        fitted = _pipeline(features, model).fit(x_train, y_train)
        proba = fitted.predict_proba(x_test)
        known = list(fitted.classes_)
        if len(known) == 2:
            auc = roc_auc_score(y_test == known[1], proba[:, 1])
        else:
            auc = roc_auc_score(y_test, proba, multi_class="ovr", labels=known)
        scores[name] = {
            "accuracy": float(accuracy_score(y_test, fitted.predict(x_test))),
            "auc": float(auc),
        }
    return scores, features


def utility(raw: pl.DataFrame, anonymised: pl.DataFrame, target: str) -> dict[str, Any]:
    """Accuracy and AUC of each model on the raw and the anonymised sample, side by side."""
    for name, data in (("raw input", raw), ("anonymised output", anonymised)):
        if target not in data.columns:
            raise PlanError(
                f"--target {target!r} is not a column of the {name}; name a label the policy keeps"
            )
    raw_scores, raw_features = _scores(raw, target)
    anon_scores, anon_features = _scores(anonymised, target)
    return {
        "target": target,
        "rows": {"raw": raw.height, "anonymised": anonymised.height},
        "same_records": raw.height == anonymised.height,
        "split": f"{1 - TEST_SHARE:.0%}/{TEST_SHARE:.0%}, seed {SEED}, stratified by the target",
        "features": {"raw": raw_features.used, "anonymised": anon_features.used},
        "left_out": {"raw": raw_features.left_out, "anonymised": anon_features.left_out},
        "models": [
            {"model": name, "raw": raw_scores[name], "anonymised": anon_scores[name]}
            for name in raw_scores
        ],
    }


def release_utility(raw: Sequence[Path], released: Sequence[Path], target: str) -> dict[str, Any]:
    """``utility`` of the raw input files against the released files (each sampled alike)."""

    def rows(paths: Sequence[Path]) -> int:
        return sum(pq.read_metadata(p).num_rows for p in paths)

    return utility(
        sample(pl.scan_parquet(list(raw)), rows(raw)),
        sample(pl.scan_parquet(list(released)), rows(released)),
        target,
    )
