"""Signed datasets with a DP budget, made by the real CLI (tests make their own keys)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from anonymizer_ml.lineage.verify import TrustPolicy, load_trust
from tests.conftest import run_cli


@dataclass(frozen=True)
class Signed:
    """A run's output folder, the keyset that signed it and a trust file accepting it."""

    root: Path
    keyset: Path
    trust_file: Path

    @property
    def trust(self) -> TrustPolicy:
        return load_trust(self.trust_file)

    def training(self, epsilon: float, epochs: int, **extra: Any) -> dict[str, Any]:
        """make_private's keyword arguments for this dataset."""
        return {
            "manifest": self.root,
            "trust": self.trust_file,
            "keyset": self.keyset,
            "epsilon": epsilon,
            "max_grad_norm": 1.0,
            "epochs": epochs,
            **extra,
        }


def signed_dataset(tmp: Path, frame: pl.DataFrame, dp_yaml: str | None) -> Signed:
    """Write ``frame``, run a keep-everything policy with the given dp section, sign it."""
    tmp.mkdir(parents=True, exist_ok=True)
    source = tmp / "in.parquet"
    frame.write_parquet(source)
    policy = tmp / "policy.yaml"
    section = f"dp: {dp_yaml}\n" if dp_yaml is not None else ""
    policy.write_text(f"name: dp-test\nunlisted_columns: keep\n{section}")
    keyset = tmp / "keys.json"
    assert run_cli(["keys", "init", str(keyset)]).returncode == 0
    done = run_cli(
        ["run", "-q", "-p", str(policy), "-k", str(keyset), str(source), str(tmp / "out")]
    )
    assert done.returncode == 0, done.stderr
    trust = tmp / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset)]).stdout)
    return Signed(tmp / "out", keyset, trust)
