from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy import risk_report, table
from anonymizer_ml.privacy.table import class_sizes
from tests.conftest import run_cli

from .conftest import ADULT

# Classes over (zip, sex): (1,M) ×3, (1,F) ×2, (2,M) ×1 → sizes 3, 2, 1.
SMALL = pl.DataFrame(
    {
        "zip": [1, 1, 1, 1, 1, 2],
        "sex": ["M", "M", "M", "F", "F", "M"],
        "disease": ["flu", "flu", "cold", "flu", "flu", "hiv"],
        "income": [10, 20, 30, 10, 10, 50],
    }
)


def test_risk_figures_by_hand() -> None:
    report = risk_report(SMALL, ["zip", "sex"], k=3, sensitive="disease")
    assert (report.records, report.classes, report.k_achieved) == (6, 3, 1)
    assert report.prosecutor_highest == 1.0
    assert report.prosecutor_average == pytest.approx(3 / 6)
    assert report.marketer == pytest.approx(3 / 6)
    assert report.records_at_highest_risk == pytest.approx(1 / 6)
    assert report.below_k == pytest.approx(3 / 6)  # the classes of 2 and 1
    assert report.sample_uniques == pytest.approx(1 / 6)
    assert report.size_histogram["1"] == 1 and report.size_histogram["2"] == 1
    assert report.size_histogram["3-4"] == 1
    assert report.l_distinct == 1  # (1,F) holds only flu
    assert report.l_entropy == pytest.approx(1.0)
    # (2,M) is all hiv while hiv is 1/6 overall: equal-distance EMD = 5/6
    assert report.t_closeness == pytest.approx(5 / 6)


def test_ordered_distance_for_a_numeric_sensitive_column() -> None:
    report = risk_report(SMALL, ["zip"], sensitive="income")
    # zip 2 holds only 50 (the top of 10<20<30<50); overall shares 3/6, 1/6, 1/6, 1/6.
    cumulative = [3 / 6, 4 / 6, 5 / 6]
    assert report.t_closeness == pytest.approx(sum(cumulative) / 3)


def test_agrees_with_a_plain_group_by_on_adult() -> None:
    qis = ["sex", "age", "race", "marital-status"]
    report = risk_report(ADULT, qis, sensitive="occupation")
    frame = pl.read_csv(ADULT, separator=";")
    sizes = frame.group_by(qis).agg(pl.len(), pl.col("occupation").n_unique().alias("l"))
    assert report.classes == sizes.height
    assert report.k_achieved == sizes["len"].min()
    assert report.l_distinct == sizes["l"].min()
    assert report.sample_uniques == pytest.approx((sizes["len"] == 1).sum() / frame.height)


def test_unknown_column_and_empty_data() -> None:
    with pytest.raises(PlanError, match="'nope' is not in the data"):
        risk_report(SMALL, ["nope"])
    with pytest.raises(PlanError, match="no records"):
        risk_report(SMALL.head(0), ["zip"])


def test_cli_prints_table_and_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    SMALL.write_parquet(tmp_path / "small.parquet")
    shown = run_cli(["risk", str(tmp_path / "small.parquet"), "--qi", "zip,sex"])
    assert shown.returncode == 0, shown.stderr
    assert "sample uniques" in shown.stdout and "16.67%" in shown.stdout
    as_json = run_cli(
        ["risk", str(ADULT), "--qi", "sex,race", "--json", "--sensitive", "occupation"]
    )
    assert json.loads(as_json.stdout)["records"] == 30_162
    bad = run_cli(["risk", str(tmp_path / "small.parquet"), "--qi", "zip,nope"])
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "'nope' is not in the data" in bad.stderr


# The population SMALL was drawn from: (1,M) ×6, (1,F) ×4, (2,M) ×2, plus people not sampled.
POPULATION = pl.DataFrame(
    {
        "zip": [1] * 6 + [1] * 4 + [2] * 2 + [3] * 5,
        "sex": ["M"] * 6 + ["F"] * 4 + ["M"] * 2 + ["F"] * 5,
    }
)


def test_journalist_risk_is_not_measured_without_a_population() -> None:
    report = risk_report(SMALL, ["zip", "sex"])
    assert report.journalist_highest is None and report.k_map is None


def test_journalist_risk_and_k_map_from_a_population_by_hand() -> None:
    report = risk_report(SMALL, ["zip", "sex"], population=POPULATION)
    assert report.k_map == 2  # (2,M) has two people in the population
    assert report.journalist_highest == pytest.approx(1 / 2)
    # Each record's risk is 1/F of its class: (3·1/6 + 2·1/4 + 1·1/2) / 6
    assert report.journalist_average == pytest.approx((3 / 6 + 2 / 4 + 1 / 2) / 6)
    assert report.population_records == 17
    assert report.journalist_highest < report.prosecutor_highest  # not a copy of it


def test_a_population_missing_a_released_class_is_refused() -> None:
    with pytest.raises(PlanError, match="1 of the data's 3 classes are missing or smaller"):
        risk_report(SMALL, ["zip", "sex"], population=POPULATION.filter(pl.col("zip") != 2))


def test_risk_cli_takes_a_population(tmp_path: Path) -> None:
    sample, people = tmp_path / "sample.parquet", tmp_path / "people.csv"
    SMALL.write_parquet(sample)
    POPULATION.write_csv(people)
    bare = run_cli(["risk", str(sample), "--qi", "zip,sex"])
    assert bare.returncode == 0 and "needs population (--population FILE)" in bare.stdout
    result = run_cli(
        ["risk", str(sample), "--qi", "zip,sex", "--population", str(people), "--json"]
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["k_map"] == 2 and figures["journalist_highest"] == pytest.approx(0.5)


def test_hashed_class_sizes_equal_a_plain_group_by_with_nulls_and_dates() -> None:
    frame = pl.DataFrame(
        {
            "zip": ["021**", None, "021**", None, "100**", "021**"],
            "born": [date(1980, 1, 1), None, date(1980, 1, 1), None, None, date(1981, 1, 1)],
            "band": [1, 2, 1, 2, 2, None],
        }
    )
    sizes = class_sizes(frame.lazy(), ["zip", "born", "band"])
    exact = frame.group_by(["zip", "born", "band"]).agg(pl.len())["len"]
    assert sorted(sizes.tolist()) == sorted(exact.to_list()) == [1, 1, 2, 2]
    report = risk_report(frame, ["zip", "born", "band"])
    assert (report.classes, report.k_achieved, report.sample_uniques) == (4, 1, 2 / 6)


def test_a_key_collision_is_seen_and_the_exact_group_by_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = table.tuple_hash

    def colliding(columns: Sequence[str], seed: int) -> pl.Expr:
        # Every tuple gets the same key; the check hash stays real.
        return pl.lit(7, dtype=pl.UInt64) if seed != table._CHECK_SEED else real(columns, seed)

    monkeypatch.setattr(table, "tuple_hash", colliding)
    assert sorted(class_sizes(SMALL.lazy(), ["zip", "sex"]).tolist()) == [1, 2, 3]
    assert risk_report(SMALL, ["zip", "sex"]).classes == 3
