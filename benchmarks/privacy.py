"""Privacy-model figures for ``make bench`` (group ``privacy``).

* Lattice search on Adult: wall time and nodes checked, against an exhaustive check of every node
  of the same lattice in the same run (ARX's published Flash figures are quoted in the docs).
* Measuring k / ℓ / t on raw Adult, and Mondrian: ours against pycanon and anonypyx on the same
  data in the same run; the peers run in ``.venv-peers`` (see peers_privacy.py).
* Utility for training: logistic regression on raw Adult, the full-domain optimum and Mondrian.
* A generated table with 6 QIs through ``anonymizer run`` at two sizes (10 million rows by
  default): wall time and peak RSS against a plain copy of the same file.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from anonymizer_ml.privacy import mondrian, optimal_generalization, risk_report
from anonymizer_ml.privacy.criteria import Criteria, evaluate, is_valid
from anonymizer_ml.privacy.metrics import nu_entropy_terms
from anonymizer_ml.privacy.table import build_table
from benchmarks.measure import copy_args, figure, measure, run_args

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
ADULT = ROOT / "fixtures" / "adult" / "adult.csv"
HIERARCHIES = ROOT / "rules" / "hierarchies" / "adult"
PEERS = Path(os.environ.get("ANONYMIZER_PEERS_PYTHON", ROOT / ".venv-peers" / "bin" / "python"))
# ARX's CBMS 2014 benchmark QI set; and the 8 QIs that leave salary-class as the training target.
FLASH_QIS = [
    "age",
    "education",
    "marital-status",
    "native-country",
    "race",
    "salary-class",
    "sex",
    "workclass",
]
TRAINING_QIS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]
TARGET = "salary-class"
Figures = dict[str, dict[str, object]]
T = TypeVar("T")


def _hierarchies(columns: list[str]) -> dict[str, Path]:
    return {c: HIERARCHIES / f"{c}.csv" for c in columns}


def _peer(*args: str) -> dict[str, object]:
    if not PEERS.exists():
        raise SystemExit(f"{PEERS}: peers' environment missing; run 'make bench' (it builds it)")
    done = subprocess.run(
        [str(PEERS), str(ROOT / "benchmarks" / "peers_privacy.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"peer benchmark failed: {' '.join(args)}\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _timed(call: Callable[[], T], repeats: int = 3) -> tuple[float, T]:
    """Best wall time over ``repeats`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        value = call()
        best = min(best, time.perf_counter() - start)
    return best, value


def search_figures() -> Figures:
    """Optimal search vs an exhaustive check of the same lattice (same checker, same run)."""
    out: Figures = {}
    for name, qis, limit in (
        ("flash8_k5_supp0", FLASH_QIS, 0.0),
        ("flash8_k5_supp4", FLASH_QIS, 0.04),
        ("all9_k5_supp4", [*TRAINING_QIS, TARGET], 0.04),
    ):
        seconds, result = _timed(
            lambda q=qis, s=limit: optimal_generalization(ADULT, q, _hierarchies(q), 5, s)
        )
        table = build_table(ADULT, qis, _hierarchies(qis))
        criteria, terms = Criteria(5, limit), nu_entropy_terms(table)
        start = time.perf_counter()
        _, exhaustive_best = min(
            (sum(terms[j][level] for j, level in enumerate(node)), node)
            for node in itertools.product(*(range(h) for h in table.heights))
            if is_valid(evaluate(table, node, criteria), criteria, table.total)
        )
        exhaustive = time.perf_counter() - start
        if exhaustive_best != result.node:
            raise SystemExit(f"{name}: search found {result.node}, exhaustive {exhaustive_best}")
        out[f"adult_{name}_search_wall"] = figure(seconds * 1000, "ms", exhaustive * 1000)
        out[f"adult_{name}_nodes_checked"] = figure(
            result.nodes_checked, "nodes", result.lattice_size
        )
    return out


def measuring_figures() -> Figures:
    """k, ℓ and t of raw Adult: ours vs pycanon, same QIs, both from frames in memory."""
    qis, sensitive = FLASH_QIS[:5] + FLASH_QIS[6:], "occupation"  # Flash's QIs minus the target
    frame = pl.read_csv(ADULT, separator=";")
    k_seconds, k_only = _timed(lambda: risk_report(frame, qis))
    lt_seconds, full = _timed(lambda: risk_report(frame, qis, sensitive=sensitive))
    peer = _peer("measure", str(ADULT), ",".join(qis), sensitive)
    agree = (
        k_only.k_achieved == peer["k"]
        and full.l_distinct == peer["l"]
        and abs((full.t_closeness or 0.0) - float(str(peer["t"]))) < 1e-9
    )
    if not agree:
        raise SystemExit(f"k/l/t disagree with pycanon: ours {full}, pycanon {peer}")
    peer_lt = float(str(peer["l_seconds"])) + float(str(peer["t_seconds"]))
    return {
        "adult_measure_k_wall": figure(
            k_seconds * 1000, "ms", float(str(peer["k_seconds"])) * 1000
        ),
        "adult_measure_l_and_t_wall": figure(lt_seconds * 1000, "ms", peer_lt * 1000),
        "adult_measure_agrees_with_pycanon": figure(1.0, "k, l, t equal"),
    }


def mondrian_figures() -> tuple[Figures, pl.DataFrame]:
    """Mondrian k=5 on the training QIs: ours vs anonypyx (time, classes, GCP, DM).

    Head to head, both release value sets for categorical QIs (anonypyx has no hierarchies);
    ours along ARX's hierarchies is reported beside it.
    """
    frame = pl.read_csv(ADULT, separator=";")
    seconds, result = _timed(lambda: mondrian(frame, TRAINING_QIS, {}, 5), repeats=1)
    released = result.apply(frame.lazy()).collect()
    along = mondrian(frame, TRAINING_QIS, _hierarchies([q for q in TRAINING_QIS if q != "age"]), 5)
    peer = _peer("mondrian", str(ADULT), ",".join(TRAINING_QIS), "5")
    figures: Figures = {
        "adult_mondrian_k5_wall": figure(seconds, "s", float(str(peer["seconds"])), digits=3),
        "adult_mondrian_k5_gcp": figure(result.gcp, "GCP", float(str(peer["gcp"])), digits=4),
        "adult_mondrian_k5_classes": figure(result.classes, "classes", float(str(peer["classes"]))),
        "adult_mondrian_k5_discernibility": figure(
            result.discernibility, "DM", float(str(peer["discernibility"]))
        ),
        "adult_mondrian_k5_hierarchies_gcp": figure(along.gcp, "GCP", digits=4),
        "adult_mondrian_k5_hierarchies_classes": figure(along.classes, "classes"),
    }
    return figures, released


def utility_figures(mondrian_output: pl.DataFrame) -> Figures:
    """Logistic regression for salary-class on raw, full-domain optimum and Mondrian output."""
    frame = pl.read_csv(ADULT, separator=";")
    optimum = optimal_generalization(ADULT, TRAINING_QIS, _hierarchies(TRAINING_QIS), 5, 0.04)
    files = {}
    # Suppressed records are starred, not dropped, so the three files stay row-aligned and
    # share one train/test split.
    for name, data in (
        ("raw", frame),
        ("full_domain", optimum.apply(frame.lazy(), "star").collect()),
        ("mondrian", mondrian_output),
    ):
        files[name] = DATA / f"utility-{name}.csv"
        data.write_csv(files[name], separator=";")
    scores = _peer("utility", TARGET, *(f"{n}={p}" for n, p in files.items()))
    raw = scores["raw"]
    assert isinstance(raw, dict)
    out: Figures = {}
    for name in ("full_domain", "mondrian"):
        mine = scores[name]
        assert isinstance(mine, dict)
        for metric in ("accuracy", "auc"):
            out[f"adult_utility_{name}_{metric}"] = figure(
                mine[metric], metric, raw[metric], digits=4
            )
    out["adult_full_domain_gcp"] = figure(optimum.gcp, "GCP", digits=4)
    return out


LARGE_CODE = """
import sys, polars as pl
n = int(sys.argv[2]); i = pl.col('i')
def pick(seed, size):  # skewed: the smaller of two uniform draws
    a = (i.hash(seed) % size); b = (i.hash(seed + 100) % size)
    return pl.min_horizontal(a, b)
education = ['Preschool','1st-4th','5th-6th','7th-8th','9th','10th','11th','12th','HS-grad',
 'Some-college','Assoc-voc','Assoc-acdm','Bachelors','Masters','Prof-school','Doctorate']
employment = ['employed', 'self-employed', 'unemployed', 'retired']
pl.LazyFrame({'i': pl.int_range(0, n, dtype=pl.Int64, eager=True)}).select(
    age=(17 + pick(1, 74)).cast(pl.Int32),
    sex=pl.when(i.hash(2) % 2 == 0).then(pl.lit('F')).otherwise(pl.lit('M')),
    zip3=(100 + pick(3, 30) * 7).cast(pl.String),
    education=pick(4, 16).replace_strict(list(range(16)), education, return_dtype=pl.String),
    employment=pick(5, 4).replace_strict(list(range(4)), employment, return_dtype=pl.String),
    region=pl.concat_str(pl.lit('R'), pick(6, 6).cast(pl.String)),
    income=(i.hash(7) % 200_000).cast(pl.Int64),
    note=pl.lit('visit ') + (i.hash(8) % 1000).cast(pl.String),
).sink_parquet(sys.argv[1], row_group_size=500_000)
"""

LARGE_POLICY = """
name: bench-k-anonymity
unlisted_columns: keep
privacy:
  k: 10
  suppression_limit: 0.02
  quasi_identifiers:
    age: {intervals: [5, 10, 20, 40]}
    sex: {order: [F, M], group_sizes: [2]}
    zip3: {prefix: 2}
    education: {order: [Preschool, 1st-4th, 5th-6th, 7th-8th, 9th, 10th, 11th, 12th, HS-grad,
                        Some-college, Assoc-voc, Assoc-acdm, Bachelors, Masters, Prof-school,
                        Doctorate], group_sizes: [2, 4, 8]}
    employment: {order: [employed, self-employed, unemployed, retired], group_sizes: [2]}
    region: {prefix: 1}
"""


def large_figures(rows: list[int]) -> Figures:
    """The whole pipeline (pass 1 histogram + search, pass 2 streaming recode) at two sizes."""
    keyset = DATA / "keyset-privacy.json"
    if not keyset.exists():
        write_keyset(generate_keyset(), keyset)
    policy = DATA / "k-anonymity.yaml"
    policy.write_text(LARGE_POLICY)
    out: Figures = {}
    for count in rows:
        tag = f"{count / 1e6:g}m"
        source = DATA / f"qi6b-{tag}.parquet"
        if not source.exists():
            subprocess.run([sys.executable, "-c", LARGE_CODE, str(source), str(count)], check=True)
        copy = measure(*copy_args(source, DATA / "copy-qi6.parquet"))
        ours = measure(*run_args(policy, keyset, source, DATA / f"out-qi6-{tag}"))
        out[f"kanon_6qi_{tag}_wall"] = figure(ours.seconds, "s", copy.seconds, digits=2)
        out[f"kanon_6qi_{tag}_peak_rss"] = figure(ours.peak_rss_mib, "MiB", copy.peak_rss_mib)
    if len(rows) > 1:
        small, large = (f"{r / 1e6:g}m" for r in (min(rows), max(rows)))
        out[f"kanon_peak_rss_growth_{large}_vs_{small}"] = figure(
            float(str(out[f"kanon_6qi_{large}_peak_rss"]["value"])),
            "MiB",
            float(str(out[f"kanon_6qi_{small}_peak_rss"]["value"])),
        )
    return out


def privacy_figures() -> Figures:
    """Every privacy figure (sizes from ANONYMIZER_BENCH_KANON_ROWS, default 2.5M and 10M)."""
    rows = [
        int(float(r))
        for r in os.environ.get("ANONYMIZER_BENCH_KANON_ROWS", "2500000,10000000").split(",")
    ]
    figures = search_figures()
    figures.update(measuring_figures())
    mondrian_part, released = mondrian_figures()
    figures.update(mondrian_part)
    figures.update(utility_figures(released))
    figures.update(large_figures(rows))
    return figures
