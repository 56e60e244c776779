"""docs/dvc.md's stage under real DVC: repro runs and verifies, a second repro is a no-op, and
a hand-edited release is reported by dvc status (and restored by dvc checkout)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURE, ROOT

DVC = Path(sys.executable).with_name("dvc")
ANONYMIZER = Path(sys.executable).with_name("anonymizer")


def _stage_file() -> str:
    text = (ROOT / "docs" / "dvc.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    return block.replace("cmd: anonymizer ", f"cmd: {ANONYMIZER} ")


def _sh(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("ANONYMIZER_KEYSET", None)
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, check=False)


def _ok(args: list[str], cwd: Path) -> str:
    done = _sh(args, cwd)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_dvc_repro_runs_once_and_notices_a_tampered_release(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _ok(["git", "init", "-q"], repo)
    _ok([str(DVC), "init", "-q"], repo)
    shutil.copy(FIXTURE, repo / "customers.parquet")
    _ok([str(ANONYMIZER), "policy", "init", "--preset", "customers", "policy.yaml"], repo)
    _ok([str(ANONYMIZER), "keys", "init", "keyset.json"], repo)
    exported = _sh([str(ANONYMIZER), "keys", "export-public", "-k", "keyset.json"], repo)
    assert exported.returncode == 0, exported.stderr
    (repo / "trust.yaml").write_text(exported.stdout)
    (repo / "dvc.yaml").write_text(_stage_file())

    first = _ok([str(DVC), "repro"], repo)
    assert "Running stage 'anonymize'" in first and "Running stage 'verify'" in first
    manifest = (repo / "safe" / "anonymizer-manifest.json").read_bytes()
    assert (repo / "dvc.lock").exists()

    second = _ok([str(DVC), "repro"], repo)
    assert "Running stage" not in second  # nothing changed: no stage ran
    assert (repo / "safe" / "anonymizer-manifest.json").read_bytes() == manifest
    assert "up to date" in _ok([str(DVC), "status"], repo).lower()

    data = repo / "safe" / "customers.parquet"
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0xFF
    data.write_bytes(bytes(content))
    status = _ok([str(DVC), "status"], repo)
    assert "modified" in status and "safe" in status
    refused = _sh([str(ANONYMIZER), "verify", "safe", "--trust", "trust.yaml"], repo)
    assert refused.returncode == 1

    _ok([str(DVC), "checkout", "--force"], repo)
    _ok([str(ANONYMIZER), "verify", "safe", "--trust", "trust.yaml"], repo)
