"""The lattice search reproduces ARX's published optima and refuses bad input clearly."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.errors import InputError, PlanError
from anonymizer_ml.privacy import LDiversity, TCloseness, optimal_generalization

from .conftest import ADULT, QIS8, REFERENCE, adult_hierarchies


def _reference_rows() -> list[dict[str, str]]:
    with REFERENCE.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return [r for r in rows if r["metric"] == "NUEntropyPrecomputed(monotonic)"]


@pytest.mark.parametrize("row", _reference_rows(), ids=lambda r: f"k{r['k']}-{r['source'][:24]}")
def test_reproduces_reference_optimum(row: dict[str, str]) -> None:
    qis = row["qi_columns_in_order"].split(",")
    result = optimal_generalization(
        ADULT, qis, adult_hierarchies(qis), int(row["k"]), float(row["suppression_limit"])
    )
    assert list(result.node) == [int(x) for x in row["optimal_levels"].split(",")]
    expected = float(row["information_loss"])
    assert abs(result.information_loss - expected) <= 1e-6 * expected
    assert result.nodes_checked < result.lattice_size / 4  # pruned, never exhaustive
    assert result.k_achieved >= int(row["k"])


def test_all_monotonic_reference_rows_are_covered() -> None:
    assert len(_reference_rows()) == 7


def test_suppressed_records_match_the_published_count() -> None:
    result = optimal_generalization(ADULT, QIS8, adult_hierarchies(QIS8), 5, 0.04)
    assert result.records == 30_162
    assert result.records_suppressed == 906


def test_applied_node_is_k_anonymous_and_drops_exactly_the_suppressed() -> None:
    qis = ["sex", "age", "race", "marital-status", "education"]
    result = optimal_generalization(ADULT, qis, adult_hierarchies(qis), 10, 0.02)
    frame = pl.scan_csv(ADULT, separator=";")
    released = result.apply(frame).collect(engine="streaming")
    assert released.height == 30_162 - result.records_suppressed
    assert released.group_by(qis).len()["len"].min() >= 10
    starred = result.apply(frame, "star").collect(engine="streaming")
    assert starred.height == 30_162
    stars = starred.filter(pl.all_horizontal(pl.col(q) == "*" for q in qis)).height
    assert stars >= result.records_suppressed
    assert result.apply(frame).collect().equals(released)  # streaming ≡ in-memory


def test_l_diversity_and_t_closeness_hold_on_the_output() -> None:
    qis = ["sex", "age", "race", "marital-status"]
    result = optimal_generalization(
        ADULT,
        qis,
        adult_hierarchies(qis),
        5,
        0.02,
        sensitive="occupation",
        l_diversity=LDiversity(3),
        t_closeness=TCloseness(0.4),
    )
    released = result.apply(pl.scan_csv(ADULT, separator=";")).collect()
    per_class = released.group_by(qis).agg(pl.col("occupation").n_unique().alias("l"), pl.len())
    assert per_class["l"].min() >= 3
    assert per_class["len"].min() >= 5
    assert result.t_achieved is not None and result.t_achieved <= 0.4


@pytest.mark.parametrize("metric", ["discernibility", "avg_class_size"])
def test_data_dependent_metrics_give_valid_nodes(metric: str) -> None:
    qis = ["sex", "age", "race"]
    result = optimal_generalization(ADULT, qis, adult_hierarchies(qis), 5, 0.0, metric)  # type: ignore[arg-type]
    assert result.records_suppressed == 0 and result.k_achieved >= 5


def test_frames_and_parquet_give_the_same_answer(tmp_path: Path) -> None:
    frame = pl.read_csv(ADULT, separator=";")
    frame.write_parquet(tmp_path / "adult.parquet")
    qis = ["sex", "age", "race"]
    hierarchies = adult_hierarchies(qis)
    answers = {
        optimal_generalization(source, qis, hierarchies, 20, 0.01).node
        for source in (frame, frame.lazy(), tmp_path / "adult.parquet", str(ADULT))
    }
    assert len(answers) == 1


BAD_INPUTS = [
    ({"qis": ["nope"]}, "quasi-identifier column 'nope' is not in the data"),
    ({"k": 0}, "k must be a whole number >= 1"),
    ({"limit": 1.5}, r"suppression_limit must be within \[0, 1\]"),
    ({"limit": -0.1}, r"suppression_limit must be within \[0, 1\]"),
    ({"k": 40_000}, "no generalisation satisfies"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_bad_input_is_refused(change: dict[str, object], message: str) -> None:
    qis = change.get("qis", ["sex", "race"])
    hierarchies = adult_hierarchies(["sex", "race"])
    with pytest.raises(PlanError, match=message):
        optimal_generalization(
            ADULT,
            qis,  # type: ignore[arg-type]
            hierarchies,
            change.get("k", 2),  # type: ignore[arg-type]
            change.get("limit", 0.0),  # type: ignore[arg-type]
        )


def test_hierarchy_missing_a_value_is_refused(tmp_path: Path) -> None:
    partial = tmp_path / "race.csv"
    partial.write_text("White;*\nBlack;*\n")
    with pytest.raises(PlanError, match=r"race.csv: hierarchy for 'race' has no row for"):
        optimal_generalization(ADULT, ["race"], {"race": partial}, 2)


def test_empty_table_and_missing_file_are_refused(tmp_path: Path) -> None:
    empty = pl.DataFrame({"sex": pl.Series([], dtype=pl.String)})
    with pytest.raises(PlanError, match="no records"):
        optimal_generalization(empty, ["sex"], adult_hierarchies(["sex"]), 2)
    with pytest.raises(InputError, match="not found"):
        optimal_generalization(tmp_path / "none.parquet", ["sex"], adult_hierarchies(["sex"]), 2)


def test_missing_hierarchy_and_nulls_are_refused() -> None:
    frame = pl.DataFrame({"sex": ["Male", None, "Female"]})
    with pytest.raises(PlanError, match="no hierarchy given for quasi-identifier 'sex'"):
        optimal_generalization(frame, ["sex"], {}, 2)
    with pytest.raises(PlanError, match="'sex' has null values"):
        optimal_generalization(frame, ["sex"], adult_hierarchies(["sex"]), 2)


def test_l_without_sensitive_is_refused() -> None:
    with pytest.raises(PlanError, match="need a sensitive column"):
        optimal_generalization(
            ADULT, ["sex"], adult_hierarchies(["sex"]), 2, l_diversity=LDiversity(2)
        )


def test_a_value_the_search_never_saw_fails_the_query() -> None:
    frame = pl.DataFrame({"sex": ["Male"] * 3 + ["Female"] * 3})
    result = optimal_generalization(frame, ["sex"], adult_hierarchies(["sex"]), 3)
    assert result.apply(frame.lazy()).collect()["sex"].to_list() == frame["sex"].to_list()
    stranger = pl.DataFrame({"sex": ["Male", "Other"]}).lazy()
    with pytest.raises(pl.exceptions.PolarsError):
        result.apply(stranger).collect()


def test_information_loss_per_quasi_identifier_averages_to_the_gcp() -> None:
    result = optimal_generalization(ADULT, QIS8, adult_hierarchies(QIS8), 5, 0.04)
    by_qi = result.summary()["gcp_by_qi"]
    assert list(by_qi) == QIS8
    assert sum(by_qi.values()) / len(by_qi) == pytest.approx(result.gcp)
    suppressed_share = result.records_suppressed / result.records
    for column, level in result.levels.items():
        if level == 0:  # ungeneralised: only the suppressed records (penalty 1 each) cost
            assert by_qi[column] == pytest.approx(suppressed_share)
        else:
            assert suppressed_share < by_qi[column] <= 1.0
