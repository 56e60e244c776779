"""The dp policy section, the budget in the manifest, and the signed ledger."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.crypto.keyset import load_keyset
from anonymizer_ml.dp import receipts, spent, subject_level
from anonymizer_ml.dp.ledger import LedgerError, append
from anonymizer_ml.errors import PolicyError
from anonymizer_ml.lineage.manifest import LEDGER_NAME, read_manifest
from anonymizer_ml.lineage.verify import verify_dataset
from anonymizer_ml.policy.load import parse_policy
from tests.conftest import run_cli

from .conftest import signed_dataset

FRAME = pl.DataFrame({"person": [1, 1, 1, 2, 3, 3], "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})


def test_budget_is_signed_into_the_manifest(tmp_path: Path) -> None:
    signed = signed_dataset(tmp_path, FRAME, "{max_epsilon: 4}")
    manifest = verify_dataset(signed.root, signed.trust).manifest
    assert manifest.dp is not None
    assert manifest.dp["max_epsilon"] == 4 and manifest.dp["records"] == 6
    assert manifest.dp["unit"] == "record"


def test_subject_unit_measures_records_per_subject(tmp_path: Path) -> None:
    signed = signed_dataset(tmp_path, FRAME, "{max_epsilon: 4, unit: subject, subject: person}")
    manifest = read_manifest(signed.root / "anonymizer-manifest.json")
    assert manifest.dp is not None and manifest.dp["max_records_per_subject"] == 3


def test_subject_cap_is_enforced_at_run_time(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    FRAME.write_parquet(source)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: p\nunlisted_columns: keep\n"
        "dp: {max_epsilon: 1, unit: subject, subject: person, max_records_per_subject: 2}\n"
    )
    done = run_cli(["run", "-p", str(policy), str(source), str(tmp_path / "out")])
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "a subject has 3 records, above dp.max_records_per_subject 2" in done.stderr
    assert not (tmp_path / "out" / "in.parquet").exists()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{max_epsilon: 0}", "dp.max_epsilon"),
        ("{max_epsilon: 1, unit: subject}", "needs 'subject'"),
        ("{max_epsilon: 1, delta: 2}", "dp.delta"),
    ],
)
def test_bad_dp_sections(section: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(f"name: p\ndp: {section}\n")
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_group_privacy_conversion() -> None:
    assert subject_level(1.0, 1e-6, 1) == (1.0, 1e-6)
    eps, delta = subject_level(0.5, 1e-6, 3)
    assert eps == 1.5 and delta == pytest.approx(3 * 2.718281828**1.0 * 1e-6)


def _receipt(epsilon: float) -> dict[str, object]:
    return {"epsilon": epsilon, "delta": 1e-5, "library": "opacus"}


def test_ledger_sums_verified_receipts_and_verify_accepts_it(tmp_path: Path) -> None:
    signed = signed_dataset(tmp_path, FRAME, "{max_epsilon: 4}")
    trusted = {k.keyid: k.public_key for k in signed.trust.keys}
    key = load_keyset(signed.keyset).for_purpose("sign")
    append(signed.root, _receipt(1.5), key)
    append(signed.root, _receipt(0.5), key)
    assert spent(signed.root, trusted) == 2.0
    assert [r["epsilon"] for r in receipts(signed.root, trusted)] == [1.5, 0.5]
    verify_dataset(signed.root, signed.trust)  # the ledger is not an unlisted data file
    assert run_cli(["verify", str(signed.root), "--trust", str(signed.trust_file)]).returncode == 0


def test_edited_forged_or_foreign_receipts_are_refused(tmp_path: Path) -> None:
    signed = signed_dataset(tmp_path / "a", FRAME, "{max_epsilon: 4}")
    trusted = {k.keyid: k.public_key for k in signed.trust.keys}
    key = load_keyset(signed.keyset).for_purpose("sign")
    append(signed.root, _receipt(3.0), key)
    ledger = signed.root / LEDGER_NAME
    original = ledger.read_text()
    entries = json.loads(original)
    entries[0]["payload"] = entries[0]["payload"][:-8] + "AAAAAAA="
    ledger.write_text(json.dumps(entries))
    with pytest.raises(LedgerError, match="receipt 1 is not signed by a trusted key"):
        spent(signed.root, trusted)
    ledger.write_text("not json")
    with pytest.raises(LedgerError, match="not valid JSON"):
        spent(signed.root, trusted)
    other = signed_dataset(tmp_path / "b", FRAME.head(3), "{max_epsilon: 4}")
    (other.root / LEDGER_NAME).write_text(original)  # a receipt for another dataset
    other_trusted = trusted | {k.keyid: k.public_key for k in other.trust.keys}
    with pytest.raises(LedgerError, match="belongs to another dataset"):
        spent(other.root, other_trusted)


def test_a_new_release_over_the_old_one_drops_its_ledger(tmp_path: Path) -> None:
    signed = signed_dataset(tmp_path, FRAME, "{max_epsilon: 4}")
    append(signed.root, _receipt(1.0), load_keyset(signed.keyset).for_purpose("sign"))
    args = [
        "run",
        "-q",
        "--overwrite",
        "-p",
        str(tmp_path / "policy.yaml"),
        "-k",
        str(signed.keyset),
    ]
    assert run_cli([*args, str(tmp_path / "in.parquet"), str(signed.root)]).returncode == 0
    assert not (signed.root / LEDGER_NAME).exists()
    trusted = {k.keyid: k.public_key for k in signed.trust.keys}
    assert spent(signed.root, trusted) == 0.0
