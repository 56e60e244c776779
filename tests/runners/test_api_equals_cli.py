"""Every shipped policy gives the same rows through the ETL API as through ``anonymizer run``.

Privacy policies included: the API runs the same two passes (histogram, search, recoding and
suppression). Random AES-GCM cells differ by design (fresh nonces), so those columns are
compared after decryption; everything else must be equal cell for cell.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from anonymizer_ml import anonymize_frame, anonymize_lazy, anonymize_table, decrypt_frame
from anonymizer_ml.api import plan_for
from anonymizer_ml.crypto.at_rest import decryption_properties
from anonymizer_ml.crypto.keyset import load_keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import InputError, PlanError
from anonymizer_ml.policy.load import load_policy
from anonymizer_ml.policy.models import EncryptRule, Policy
from tests.conftest import FIXTURE, ROOT, run_policy

SHIPPED = sorted((ROOT / "rules").glob("*.yaml"))
ADULT_CSV = ROOT / "fixtures" / "adult" / "adult.csv"


def _input_for(policy: Path, tmp_path: Path) -> Path:
    if policy.stem.startswith("adult"):
        data = tmp_path / "adult.parquet"
        pl.read_csv(ADULT_CSV, separator=";").write_parquet(data)
        return data
    return FIXTURE


def _random_cells(policy: Policy) -> list[str]:
    return [
        c for c, r in policy.columns.items() if isinstance(r, EncryptRule) and not r.deterministic
    ]


def _opened(
    frame: pl.DataFrame, policy: Policy, keyset_file: Path, subjects: SubjectKeyStore | None
) -> pl.DataFrame:
    columns = _random_cells(policy)
    if not columns:
        return frame
    return decrypt_frame(frame, policy, load_keyset(keyset_file), columns, subjects=subjects)


def test_there_are_shipped_policies_with_and_without_privacy() -> None:
    policies = [load_policy(p) for p in SHIPPED]
    assert any(p.privacy is not None for p in policies)
    assert any(p.privacy is None for p in policies)


def _per_subject(policy: Policy) -> bool:
    return any(isinstance(r, EncryptRule) and r.subject for r in policy.columns.values())


@pytest.mark.parametrize("policy_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_api_gives_the_cli_output(policy_path: Path, tmp_path: Path, keyset_file: Path) -> None:
    source = _input_for(policy_path, tmp_path)
    policy, keyset = load_policy(policy_path), load_keyset(keyset_file)
    store = tmp_path / "subjects.json"
    extra = ("--subject-keys", str(store)) if _per_subject(policy) else ()
    result = run_policy(keyset_file, source, tmp_path / "out", *extra, policy=policy_path)
    assert result.returncode == 0, result.stderr
    # The CLI saved each subject's key; the API seals under the same keys.
    subjects = SubjectKeyStore(store, keyset) if extra else None
    props = decryption_properties(policy, keyset, tmp_path / "out" / source.name)
    cli = pl.read_parquet(tmp_path / "out" / source.name, decryption=props)

    frame = pl.read_parquet(source)
    options = {"keyset": keyset, "subjects": subjects}
    api_frame = anonymize_frame(frame, policy_path, **options)
    api_lazy = anonymize_lazy(pl.scan_parquet(source), policy, **options).collect()
    api_table = pl.from_arrow(anonymize_table(pq.read_table(source), policy, **options))
    assert isinstance(api_table, pl.DataFrame)
    expected = _opened(cli, policy, keyset_file, subjects)
    for api in (api_frame, api_lazy, api_table):
        assert_frame_equal(_opened(api, policy, keyset_file, subjects), expected)
    if policy.privacy is not None:  # the quasi-identifiers really were generalised
        assert api_frame.height < frame.height
        assert api_frame.group_by(list(policy.privacy.quasi_identifiers)).len()["len"].min() >= (
            policy.privacy.k
        )


def test_a_privacy_plan_without_its_stage_is_refused() -> None:
    policy = load_policy(ROOT / "rules" / "adult-k5.yaml")
    schema = pl.read_csv(ADULT_CSV, separator=";", n_rows=5).schema
    with pytest.raises(PlanError, match="has a privacy section"):
        plan_for(schema, policy)


def test_wrong_frame_types_get_one_clear_line() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"customer_id": ["a"]})
    policy = ROOT / "rules" / "customers.yaml"
    with pytest.raises(InputError, match=r"expected a polars DataFrame, got a pandas\.DataFrame"):
        anonymize_frame(frame, policy)
    with pytest.raises(InputError, match=r"expected a pyarrow Table, got a pandas\.DataFrame"):
        anonymize_table(frame, policy)
    with pytest.raises(InputError, match="use anonymize_frame for a DataFrame"):
        anonymize_lazy(pl.DataFrame({"a": [1]}), policy)  # type: ignore[arg-type]
