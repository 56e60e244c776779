"""`anonymizer scan`: column classes from a bounded sample, masked examples, suggested policy."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import yaml

from anonymizer_ml.detect.classify import classify_column, classify_file
from anonymizer_ml.detect.suggest import suggest_policy
from tests.conftest import FIXTURE, run_cli


def test_scan_json_classifies_the_fixture() -> None:
    result = run_cli(["scan", str(FIXTURE), "--json"])
    assert result.returncode == 0, result.stderr
    classes = {c["column"]: c for c in json.loads(result.stdout)}
    assert classes["email"]["kind"] == "EMAIL_ADDRESS" and classes["email"]["share"] == 1.0
    assert classes["phone"]["kind"] == "PHONE_NUMBER"
    assert classes["support_notes"]["kind"] == "FREE_TEXT"
    assert classes["support_notes"]["entities"]["EMAIL_ADDRESS"] > 100
    assert classes["customer_id"]["kind"] == "IDENTIFIER"
    assert classes["segment"]["kind"] == "NONE"
    originals = set(pl.read_parquet(FIXTURE)["email"].to_list())
    assert not originals & set(classes["email"]["examples"])


def test_suggested_policy_is_valid_and_protects_pii(tmp_path: Path) -> None:
    target = tmp_path / "suggested.yaml"
    result = run_cli(["scan", str(FIXTURE), "--suggest-policy", str(target)])
    assert result.returncode == 0, result.stderr
    assert "EMAIL_ADDRESS" in result.stdout
    assert run_cli(["validate", str(target), "--against", str(FIXTURE)]).returncode == 0
    text = target.read_text()
    assert (
        "email:\n    action: surrogate" in text and "customer_id:\n    action: hash_token" in text
    )
    again = run_cli(["scan", str(FIXTURE), "--suggest-policy", str(target)])
    assert again.returncode == 1 and "exists" in again.stderr


def test_values_decide_before_names() -> None:
    cards = pl.Series(["4111 1111 1111 1111", "5500 0000 0000 0004", None])
    assert classify_column("notes_2", cards).kind == "CREDIT_CARD"
    assert classify_column("email", pl.Series(["n/a", "unknown"])).kind == "NONE"


def test_scan_of_non_parquet_is_one_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_text("nope")
    result = run_cli(["scan", str(bad)])
    assert result.returncode == 1 and "not a readable Parquet file" in result.stderr


def test_classification_reads_values_not_column_names(tmp_path: Path) -> None:
    """Renamed c0, c1, …: names, streets, postcodes, dates and ids are still found by their
    values, and the suggested policy keeps none of them."""
    frame = pl.read_parquet(FIXTURE)
    original = frame.columns
    renamed = tmp_path / "renamed.parquet"
    frame.rename({c: f"c{i}" for i, c in enumerate(original)}).write_parquet(renamed)
    kinds = {original[int(c.column[1:])]: c.kind for c in classify_file(renamed)}
    assert kinds["customer_id"] == "IDENTIFIER"
    assert kinds["full_name"] == "PERSON"
    assert kinds["email"] == "EMAIL_ADDRESS" and kinds["phone"] == "PHONE_NUMBER"
    assert kinds["street_address"] == "STREET_ADDRESS"
    assert kinds["zip"] == "ZIP_CODE"
    assert kinds["birth_date"] == "DATE_TIME"
    assert kinds["support_notes"] == "FREE_TEXT"
    assert kinds["city"] != "NONE"
    suggested = yaml.safe_load(suggest_policy("renamed", classify_file(renamed)))["columns"]
    pii = ["customer_id", "full_name", "email", "phone", "street_address", "city", "zip"]
    for column in [*pii, "birth_date", "support_notes"]:
        assert suggested[f"c{original.index(column)}"] != "keep", column
    assert "&id" not in suggest_policy("renamed", classify_file(renamed))  # no YAML anchors
