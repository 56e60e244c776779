"""Peer tools on Adult, run in their own virtual environment (``.venv-peers``).

pycanon pins typing_extensions to a release older than pydantic needs, so the peers never share
our environment; this script imports only pandas, NumPy, scikit-learn and the peers themselves,
times the calls (not the imports or the file reading) and prints one JSON object.

Usage: python benchmarks/peers_privacy.py measure ADULT_CSV QIS SENSITIVE
       python benchmarks/peers_privacy.py mondrian ADULT_CSV QIS K
       python benchmarks/peers_privacy.py utility TARGET RAW.csv NAME=FILE.csv ...
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd


def _adult(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep=";")


def measure(path: str, qis: list[str], sensitive: str) -> dict[str, object]:
    """pycanon's k, l and t of the raw table, each timed."""
    from pycanon import anonymity

    data = _adult(path)
    out: dict[str, object] = {}
    for name, call in (
        ("k", lambda: anonymity.k_anonymity(data, qis)),
        ("l", lambda: anonymity.l_diversity(data, qis, [sensitive])),
        ("t", lambda: anonymity.t_closeness(data, qis, [sensitive])),
    ):
        start = time.perf_counter()
        out[name] = float(call())
        out[f"{name}_seconds"] = time.perf_counter() - start
    return out


def mondrian(path: str, qis: list[str], k: int) -> dict[str, object]:
    """anonypyx's Mondrian (its default set generalisation) and the GCP of its partitions."""
    from anonypyx import Anonymiser

    data = _adult(path)
    for column in qis:
        if data[column].dtype == object:
            data[column] = data[column].astype("category")
    start = time.perf_counter()
    anonymiser = Anonymiser(data, k=k, feature_columns=qis, algorithm="Mondrian")
    partitions = anonymiser.algorithm.partition(anonymiser.parameters)
    released = anonymiser.generalisation_strategy_type.create_for_data(data, qis).generalise(
        data, partitions
    )
    seconds = time.perf_counter() - start
    penalty = 0.0
    for part in partitions:
        rows = data.loc[part]
        for column in qis:
            values = rows[column]
            if isinstance(data[column].dtype, pd.CategoricalDtype):
                spread = data[column].nunique() - 1
                penalty += len(rows) * (values.nunique() - 1) / max(spread, 1)
            else:
                span = float(data[column].max() - data[column].min()) or 1.0
                penalty += len(rows) * float(values.max() - values.min()) / span
    sizes = np.array([len(p) for p in partitions], dtype=np.float64)
    return {
        "seconds": seconds,
        "classes": len(partitions),
        "k_achieved": int(sizes.min()),
        "gcp": penalty / (len(data) * len(qis)),
        "discernibility": float((sizes**2).sum()),
        "released_rows": len(released),
    }


def utility(target: str, files: dict[str, str], seed: int = 20261122) -> dict[str, object]:
    """Logistic regression on one-hot QIs: the same 70/30 split of every (row-aligned) file."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.preprocessing import OneHotEncoder

    frames = {name: pd.read_csv(path, sep=";", dtype=str) for name, path in files.items()}
    rows = len(next(iter(frames.values())))
    order = np.random.default_rng(seed).permutation(rows)
    train, test = order[: int(rows * 0.7)], order[int(rows * 0.7) :]
    out: dict[str, object] = {}
    for name, frame in frames.items():
        features = frame.drop(columns=[target])
        labels = (frame[target] == ">50K").to_numpy()
        encoder = OneHotEncoder(handle_unknown="ignore")
        x_train = encoder.fit_transform(features.iloc[train])
        x_test = encoder.transform(features.iloc[test])
        model = LogisticRegression(max_iter=2000).fit(x_train, labels[train])
        scores = model.predict_proba(x_test)[:, 1]
        out[name] = {
            "accuracy": float(accuracy_score(labels[test], scores >= 0.5)),
            "auc": float(roc_auc_score(labels[test], scores)),
        }
    return out


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "measure":
        result = measure(args[0], args[1].split(","), args[2])
    elif mode == "mondrian":
        result = mondrian(args[0], args[1].split(","), int(args[2]))
    else:
        result = utility(args[0], dict(a.split("=", 1) for a in args[1:]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
