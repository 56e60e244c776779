"""The RunPlan: everything a runner asks of a policy, answered without the runner reading it."""

from __future__ import annotations

import polars as pl
import pytest

from anonymizer_ml.crypto.keyset import generate_keyset
from anonymizer_ml.errors import KeyringError, PlanError
from anonymizer_ml.policy.load import load_policy, parse_policy
from anonymizer_ml.policy.run_plan import InputSchema, compile_run
from tests.conftest import ROOT

from ..privacy.conftest import ADULT

SCHEMA = pl.Schema({"id": pl.Int64, "email": pl.String, "salary": pl.Int64, "day": pl.String})
POLICY = parse_policy(
    "name: p\nunlisted_columns: keep\ncolumns:\n"
    "  email: {action: encrypt}\n"
    "  id: {action: hash_token}\n"
    "at_rest: {columns: [salary]}\n"
)


def test_at_rest_sealing_is_answered_per_output_file() -> None:
    keys = generate_keyset()
    run = compile_run(POLICY, "p.yaml", [InputSchema("a.parquet", SCHEMA)], keys)
    assert run.sealed_columns == frozenset({"salary"})
    sealed = run.at_rest("a.parquet")
    assert sealed is not None and sealed.record.columns == ("salary",)
    assert sealed.record.file == "a.parquet"
    assert run.privacy_columns is None and run.subject_keyed_columns == []
    assert run.dp_record(pl.LazyFrame(schema=SCHEMA), 10) is None  # no dp section


def test_at_rest_without_a_keyset_is_refused_before_any_data() -> None:
    with pytest.raises(KeyringError, match="at_rest section needs a keyset"):
        compile_run(POLICY, "p.yaml", [InputSchema("a.parquet", SCHEMA)], None)


def test_a_hive_key_must_be_kept() -> None:
    policy = parse_policy("name: p\nunlisted_columns: keep\ncolumns:\n  day: {action: drop}\n")
    item = InputSchema("day=1/a.parquet", pl.Schema({"id": pl.Int64}), ("day",))
    with pytest.raises(PlanError, match="'day' is a Hive partition"):
        compile_run(policy, "p.yaml", [item], None)


def test_each_worker_compiles_its_own_ledgers_and_salt() -> None:
    keys = generate_keyset()
    run = compile_run(POLICY, "p.yaml", [InputSchema("a.parquet", SCHEMA)], keys).for_workers()
    assert run.plans == ()  # the driver's Plans do not travel
    first, second = run.compile_file(0), run.compile_file(0)
    assert first.ciphers["email"] is not second.ciphers["email"]
    [one], [two] = first.encryption(), second.encryption()
    assert one["salt"] != two["salt"] and one["key_id"] == two["key_id"]


def test_the_repr_names_no_key_and_no_policy_detail() -> None:
    keys = generate_keyset()
    run = compile_run(POLICY, "p.yaml", [InputSchema("a.parquet", SCHEMA)], keys)
    shown = repr(run)
    assert shown == "RunPlan(policy='p', files=1, privacy=False)"
    for purpose in keys.purposes:
        assert keys.for_purpose(purpose).material.hex() not in shown


def test_pass_one_recompiles_every_file_with_the_chosen_recoding() -> None:
    policy = load_policy(ROOT / "rules" / "adult-k5.yaml")
    frame = pl.read_csv(ADULT, separator=";")
    inputs = [InputSchema(f"part-{n}.parquet", frame.schema) for n in range(2)]
    run = compile_run(policy, str(ROOT / "rules" / "adult-k5.yaml"), inputs, None)
    assert run.privacy is None and run.privacy_columns is not None
    assert set(run.privacy_columns) >= {"age", "sex"}
    released = run.with_privacy(frame.lazy())
    assert released.privacy is not None and released.privacy.record["k_achieved"] == 5
    assert len(released.plans) == 2
    for plan in released.plans:
        actions = {step["column"]: step["action"] for step in plan.describe()}
        assert actions["age"] == "privacy"
    assert released.records_dropped() == released.privacy.records_suppressed > 0
