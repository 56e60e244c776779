"""The PyTorch and Hugging Face hooks (skipped where torch / datasets are not installed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from anonymizer.hooks import VerificationError, hf_dataset, torch_dataset
from tests.conftest import FIXTURE, run_cli, run_policy


@pytest.fixture
def dataset(tmp_path: Path, keyset_file: Path) -> tuple[Path, Path]:
    source = tmp_path / "in"
    source.mkdir()
    frame = pl.read_parquet(FIXTURE)
    for part in range(3):
        frame.slice(part * 700, 700).write_parquet(source / f"part-{part}.parquet")
    out = tmp_path / "out"
    assert run_policy(keyset_file, source, out).returncode == 0
    trust = tmp_path / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset_file)]).stdout)
    return out, trust


def test_torch_hook_yields_every_row_and_stops_at_tampering(dataset: tuple[Path, Path]) -> None:
    pytest.importorskip("torch")
    out, trust = dataset
    rows = sum(len(b["customer_id"]) for b in torch_dataset(out, trust=trust, batch_size=256))
    assert rows == 3 * 700
    data = bytearray((out / "part-1.parquet").read_bytes())
    data[100] ^= 0x01
    (out / "part-1.parquet").write_bytes(bytes(data))
    seen = 0
    with pytest.raises(VerificationError, match=r"part-1\.parquet"):
        for batch in torch_dataset(out, trust=trust, batch_size=256):
            seen += len(batch["customer_id"])
    assert seen == 700  # part-0 only: nothing of the tampered file, nothing after it


def test_hf_hook_builds_a_dataset(dataset: tuple[Path, Path]) -> None:
    pytest.importorskip("datasets")
    out, trust = dataset
    assert hf_dataset(out, trust=trust).num_rows == 3 * 700
