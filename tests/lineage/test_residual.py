"""Residual check: findings left in output text, recorded at run time and re-counted by verify."""

from __future__ import annotations

from pathlib import Path

from anonymizer.lineage.manifest import MANIFEST_NAME, read_manifest
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
    scrubbed = read_manifest(run_with(DETECT_NOTES, tmp_path, keyset_file, "det") / MANIFEST_NAME)
    assert [r["findings"] for r in scrubbed.residual] == [{}]


def test_verify_rescan_recounts_from_verified_bytes(tmp_path: Path, keyset_file: Path) -> None:
    out = run_with(KEEP_NOTES, tmp_path, keyset_file, "kept")
    trust = tmp_path / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset_file)]).stdout)
    result = run_cli(["verify", str(out), "--trust", str(trust), "--rescan"])
    assert result.returncode == 0, result.stderr
    recorded = sum(read_manifest(out / MANIFEST_NAME).residual[0]["findings"].values())
    assert (
        f"{recorded} finding(s) in 1000 sampled values (run recorded {recorded})" in result.stdout
    )
