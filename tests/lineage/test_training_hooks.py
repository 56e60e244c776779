"""The PyTorch and Hugging Face hooks (skipped where torch / datasets are not installed)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from anonymizer_ml.hooks import VerificationError, hf_dataset, torch_dataset
from fixtures.make_large import large_frame, write_large
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


LOADER = """
import json, sys
from torch.utils.data import DataLoader
from anonymizer_ml.hooks import torch_dataset

if __name__ == "__main__":
    out, trust, workers, method = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    options = {"multiprocessing_context": method} if workers else {}
    dataset = torch_dataset(out, trust=trust, batch_size=256)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers, **options)
    print(json.dumps([i for batch in loader for i in batch["customer_id"]]))
"""


def _loaded_ids(out: Path, trust: Path, workers: int, method: str) -> list[str]:
    """Rows through a real DataLoader in a fresh interpreter; a hang fails at the timeout."""
    result = subprocess.run(
        [sys.executable, "-c", LOADER, str(out), str(trust), str(workers), method],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    ids: list[str] = json.loads(result.stdout)
    return ids


@pytest.fixture
def grouped(tmp_path: Path, keyset_file: Path) -> tuple[Path, Path]:
    """A release of one file with several row groups plus two small files."""
    source = tmp_path / "in"
    write_large(source / "big.parquet", 250_000)
    for part in range(2):
        small = large_frame(500, offset=250_000 + part * 500).collect()
        small.write_parquet(source / f"small-{part}.parquet")
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: ids\ncolumns:\n  customer_id: {action: hash_token}\n")
    out = tmp_path / "out"
    assert run_policy(keyset_file, source, out, policy=policy).returncode == 0
    assert pq.read_metadata(out / "big.parquet").num_row_groups >= 2
    trust = tmp_path / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset_file)]).stdout)
    return out, trust


@pytest.mark.parametrize(
    ("workers", "method"), [(0, "none"), (2, "fork"), (3, "fork"), (2, "spawn"), (3, "spawn")]
)
def test_torch_hook_yields_every_row_exactly_once_with_workers(
    grouped: tuple[Path, Path], workers: int, method: str
) -> None:
    pytest.importorskip("torch")
    out, trust = grouped
    expected = Counter(
        str(i) for path in sorted(out.glob("*.parquet")) for i in pq.read_table(path)["customer_id"]
    )
    loaded = Counter(_loaded_ids(out, trust, workers, method))
    assert len(expected) == sum(expected.values()) == 251_000  # distinct ids
    assert loaded == expected


def test_torch_dataset_pickles_without_the_trust_file(grouped: tuple[Path, Path]) -> None:
    pytest.importorskip("torch")
    out, trust = grouped
    dataset = torch_dataset(out, trust=trust)
    copy = pickle.loads(pickle.dumps(dataset))
    trust.unlink()  # the trust policy travels inside the dataset
    assert sum(len(b["customer_id"]) for b in copy) == 251_000
