"""Key material never shows up in plans, query explanations, manifests, logs or errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.crypto.keyset import Keyset, load_keyset
from anonymizer_ml.errors import SchemaMismatchError
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import load_policy
from tests.conftest import CUSTOMERS_POLICY, FIXTURE, run_policy


def secret_forms(keyset: Keyset) -> list[str]:
    forms = []
    for key in keyset.keys:
        forms += [key.material.hex(), base64.b64encode(key.material).decode(), repr(key.material)]
    return forms


def assert_no_secret(text: str, keyset: Keyset) -> None:
    for form in secret_forms(keyset):
        assert form not in text


def test_plan_repr_description_and_explain_hold_no_key(keyset: Keyset) -> None:
    frame = pl.read_parquet(FIXTURE)
    plan = compile_plan(load_policy(CUSTOMERS_POLICY), frame.schema, keyset)
    assert_no_secret(repr(plan), keyset)
    assert_no_secret(json.dumps(plan.describe()), keyset)
    assert_no_secret(plan.apply(frame.lazy()).explain(), keyset)
    assert_no_secret(repr(plan.expressions()), keyset)


def test_plan_errors_hold_no_key(keyset: Keyset) -> None:
    frame = pl.DataFrame({"customer_id": ["a"]})
    with pytest.raises(SchemaMismatchError) as info:
        compile_plan(load_policy(CUSTOMERS_POLICY), frame.schema, keyset)
    assert_no_secret(str(info.value), keyset)


def test_cli_output_and_manifest_hold_no_key(keyset_file: Path, tmp_path: Path) -> None:
    keyset = load_keyset(keyset_file)
    out = tmp_path / "out"
    result = run_policy(keyset_file, FIXTURE, out)
    assert result.returncode == 0, result.stderr
    assert_no_secret(result.stdout + result.stderr, keyset)
    assert_no_secret((out / "anonymizer-manifest.json").read_text(), keyset)
    failed = run_policy(keyset_file, FIXTURE, out)
    assert failed.returncode == 1
    assert_no_secret(failed.stdout + failed.stderr, keyset)


def test_output_inside_input_tree_is_refused(keyset_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pl.read_parquet(FIXTURE).head(10).write_parquet(data / "a.parquet")
    result = run_policy(keyset_file, data, data / "safe")
    assert result.returncode == 1
    assert "inside the input" in result.stderr
    assert not (data / "safe").exists()
