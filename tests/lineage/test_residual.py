"""Residual check: findings left in output text, recorded at run time and re-counted by verify."""

from __future__ import annotations

from pathlib import Path

from anonymizer_ml.lineage.manifest import MANIFEST_NAME, read_manifest
from tests.conftest import FIXTURE, run_cli, run_policy

KEEP_NOTES = "name: notes\ncolumns:\n  customer_id: {action: hash_token}\n  support_notes: keep\n"
DETECT_NOTES = KEEP_NOTES.replace("support_notes: keep", "support_notes: {action: detect}")


def run_with(policy_text: str, tmp_path: Path, keyset_file: Path, name: str) -> Path:
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(policy_text)
    out = tmp_path / name
    assert run_policy(keyset_file, FIXTURE, out, policy=policy).returncode == 0
    return out


def test_kept_text_reports_findings_detected_text_reports_none(
    tmp_path: Path, keyset_file: Path
) -> None:
    kept = read_manifest(run_with(KEEP_NOTES, tmp_path, keyset_file, "kept") / MANIFEST_NAME)
    [entry] = kept.residual
    assert entry["column"] == "support_notes" and entry["sampled"] == 1000
    assert entry["findings"]["EMAIL_ADDRESS"] > 50  # the notes embed e-mails
    assert entry["detectors"] == "patterns"  # no NER step in the plan: patterns only
    scrubbed = read_manifest(run_with(DETECT_NOTES, tmp_path, keyset_file, "det") / MANIFEST_NAME)
    [after] = scrubbed.residual
    # The same detectors as the transform, NER included; its own placeholders ("<PERSON>") are
    # not counted. What is left are a couple of invented town names the model tags only in the
    # rewritten sentence: residue is reported, never hidden.
    assert after["detectors"].startswith("patterns + NER ")
    assert sum(after["findings"].values()) <= 5
    assert not {"EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"} & set(after["findings"])


def test_verify_rescan_recounts_from_verified_bytes(tmp_path: Path, keyset_file: Path) -> None:
    out = run_with(KEEP_NOTES, tmp_path, keyset_file, "kept")
    trust = tmp_path / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset_file)]).stdout)
    result = run_cli(["verify", str(out), "--trust", str(trust), "--rescan"])
    assert result.returncode == 0, result.stderr
    recorded = sum(read_manifest(out / MANIFEST_NAME).residual[0]["findings"].values())
    assert (
        f"{recorded} finding(s) in 1000 sampled values (run recorded {recorded}) by patterns"
        in result.stdout
    )
    assert "rescan cannot see: patterns only: names, places and organisations" in result.stdout


def test_verify_rescan_uses_the_runs_ner_model(tmp_path: Path, keyset_file: Path) -> None:
    out = run_with(DETECT_NOTES, tmp_path, keyset_file, "det")
    trust = tmp_path / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset_file)]).stdout)
    result = run_cli(["verify", str(out), "--trust", str(trust), "--rescan"])
    assert result.returncode == 0, result.stderr
    [entry] = read_manifest(out / MANIFEST_NAME).residual
    recorded = sum(entry["findings"].values())
    assert f"(run recorded {recorded}) by patterns + NER " in result.stdout
    assert "patterns only" not in result.stdout
    assert "rescan cannot see: only the first 1,000 non-null values" in result.stdout
