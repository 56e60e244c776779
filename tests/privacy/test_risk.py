from __future__ import annotations

import json

import polars as pl
import pytest

from anonymizer.errors import PlanError
from anonymizer.privacy import risk_report
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
