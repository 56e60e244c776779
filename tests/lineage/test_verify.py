"""Signed manifests and verification: every tampering is refused by verify and by every hook."""

from __future__ import annotations

import base64
import json
import random
import shutil
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from anonymizer_ml.hooks import iter_frames, open_dataset, require_safe_data
from anonymizer_ml.lineage.manifest import MANIFEST_NAME, read_manifest
from anonymizer_ml.lineage.schema import generated_schema, shipped_schema
from anonymizer_ml.lineage.signing import PREDICATE_TYPE, STATEMENT_TYPE
from anonymizer_ml.lineage.verify import VerificationError, load_trust
from tests.conftest import CUSTOMERS_POLICY, FIXTURE, run_cli, run_policy

ROWS_PER_PART = 1000


@pytest.fixture
def signed(tmp_path: Path, keyset_file: Path) -> tuple[Path, Path]:
    """A signed two-file dataset and a trust file naming its key."""
    source = tmp_path / "in"
    source.mkdir()
    frame = pl.read_parquet(FIXTURE)
    frame.head(ROWS_PER_PART).write_parquet(source / "part-0.parquet")
    frame.slice(ROWS_PER_PART, ROWS_PER_PART).write_parquet(source / "part-1.parquet")
    out = tmp_path / "out"
    assert run_policy(keyset_file, source, out).returncode == 0
    trust = tmp_path / "trust.yaml"
    exported = run_cli(["keys", "export-public", "-k", str(keyset_file)])
    assert exported.returncode == 0, exported.stderr
    trust.write_text(exported.stdout)
    return out, trust


def refused_everywhere(out: Path, trust: Path, reason: str) -> None:
    result = run_cli(["verify", str(out), "--trust", str(trust)])
    assert result.returncode == 1, result.stdout
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    policy = load_trust(trust)
    with pytest.raises(VerificationError, match=reason):
        open_dataset(out, trust=policy).collect()  # checked as the bytes are read
    with pytest.raises(VerificationError, match=reason), require_safe_data(out, trust=policy):
        pytest.fail("entered the guarded block")


def test_signed_manifest_verifies_and_hooks_read_every_row(signed: tuple[Path, Path]) -> None:
    out, trust = signed
    result = run_cli(["verify", str(out), "--trust", str(trust)])
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout and "2 file(s)" in result.stdout
    assert open_dataset(out, trust=trust).collect().height == 2 * ROWS_PER_PART

    @require_safe_data(out, trust=trust)
    def train() -> str:
        return "trained"

    assert train() == "trained"
    envelope = json.loads((out / MANIFEST_NAME).read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == STATEMENT_TYPE and statement["predicateType"] == PREDICATE_TYPE
    assert {s["name"] for s in statement["subject"]} == {"part-0.parquet", "part-1.parquet"}
    jsonschema.validate(statement["predicate"], shipped_schema())


def test_shipped_schema_matches_the_model() -> None:
    assert shipped_schema() == generated_schema()


def test_flipped_byte_in_a_data_file_is_refused(signed: tuple[Path, Path]) -> None:
    out, trust = signed
    target = out / "part-1.parquet"
    pristine = target.read_bytes()
    for position in random.Random(7).sample(range(len(pristine)), 3):
        data = bytearray(pristine)
        data[position] ^= 0x01
        target.write_bytes(bytes(data))
        refused_everywhere(out, trust, "content does not match the signed manifest")
    target.write_bytes(pristine)


def test_hook_stops_at_the_tampered_file_and_yields_none_of_it(signed: tuple[Path, Path]) -> None:
    out, trust = signed
    data = bytearray((out / "part-1.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (out / "part-1.parquet").write_bytes(bytes(data))
    seen: list[str] = []
    with pytest.raises(VerificationError, match=r"part-1\.parquet"):
        for name, frame in iter_frames(out, trust=trust):
            seen.append(name)
            assert frame.height == ROWS_PER_PART
    assert seen == ["part-0.parquet"]


def _rewrite_envelope(out: Path, change: str) -> None:
    path = out / MANIFEST_NAME
    envelope = json.loads(path.read_text())
    if change == "payload":
        payload = bytearray(base64.b64decode(envelope["payload"]))
        payload[len(payload) // 2] ^= 0x01
        envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    else:
        sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
        sig[5] ^= 0x01
        envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    path.write_text(json.dumps(envelope))


@pytest.mark.parametrize("change", ["payload", "signature"])
def test_tampered_manifest_is_refused(signed: tuple[Path, Path], change: str) -> None:
    out, trust = signed
    _rewrite_envelope(out, change)
    refused_everywhere(out, trust, "not signed by a trusted key")


@pytest.mark.parametrize("change", ["add", "remove", "rename"])
def test_file_set_changes_are_refused(signed: tuple[Path, Path], change: str) -> None:
    out, trust = signed
    if change == "add":
        shutil.copy(out / "part-0.parquet", out / "part-2.parquet")
    elif change == "remove":
        (out / "part-1.parquet").unlink()
    else:
        (out / "part-1.parquet").rename(out / "part-9.parquet")
    refused_everywhere(out, trust, "files differ from the manifest")


def test_untrusted_signer_and_unsigned_manifest(signed: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = signed
    stranger = tmp_path / "stranger.json"
    write_keyset(generate_keyset(["sign"]), stranger)
    other_trust = tmp_path / "other-trust.yaml"
    other_trust.write_text(run_cli(["keys", "export-public", "-k", str(stranger)]).stdout)
    refused_everywhere(out, other_trust, "not signed by a trusted key")
    unsigned_keys = tmp_path / "unsigned.json"
    write_keyset(generate_keyset(["tokenize", "surrogate", "date_shift"]), unsigned_keys)
    plain_out = tmp_path / "plain"
    assert run_policy(unsigned_keys, FIXTURE, plain_out).returncode == 0
    refused_everywhere(plain_out, other_trust, "manifest is not signed")


def test_trust_requirements(signed: tuple[Path, Path], tmp_path: Path) -> None:
    out, trust = signed
    base = trust.read_text()
    cases = {
        "require:\n  policy_names: [other]\n": "policy 'customers' is not one the trust file",
        "require:\n  columns:\n    email: [encrypt]\n": "column 'email' was 'surrogate'",
        "require:\n  policy_digests: ['sha256:00']\n": "policy digest",
    }
    for extra, reason in cases.items():
        strict = tmp_path / "strict.yaml"
        strict.write_text(base + extra)
        refused_everywhere(out, strict, reason)
    ok = tmp_path / "ok.yaml"
    ok.write_text(
        base + "require:\n  policy_names: [customers]\n  max_age_days: 1\n"
        "  columns:\n    email: [surrogate, encrypt]\n"
    )
    assert run_cli(["verify", str(out), "--trust", str(ok)]).returncode == 0


def test_usage_errors_exit_2(signed: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = signed
    missing = run_cli(["verify", str(out), "--trust", str(tmp_path / "nope.yaml")])
    assert missing.returncode == 2 and "trust file not found" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("keys: []\n")
    assert run_cli(["verify", str(out), "--trust", str(bad)]).returncode == 2


def test_two_runs_differ_only_in_time_fields(keyset_file: Path, tmp_path: Path) -> None:
    predicates = []
    for name in ("a", "b"):
        assert run_policy(keyset_file, FIXTURE, tmp_path / name).returncode == 0
        predicates.append(read_manifest(tmp_path / name / MANIFEST_NAME).model_dump())
    for predicate in predicates:
        for field in ("run_id", "started_at", "finished_at"):
            predicate.pop(field)
    assert predicates[0] == predicates[1]
    assert CUSTOMERS_POLICY.name in predicates[0]["policy"]["source"]
