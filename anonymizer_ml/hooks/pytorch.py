"""The PyTorch dataset of a verified release (imported only when torch is installed).

A module-level class, so a ``DataLoader`` can pickle it for ``spawn`` workers. Each worker
verifies the manifest, lists the (file, row group) units of the release in manifest order and
reads every ``num_workers``-th one, starting at its own id: the workers together yield every
row exactly once, and each reads only its own row groups (through verified blocks).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from torch.utils.data import IterableDataset, get_worker_info

from anonymizer_ml.lineage.verified_io import verified_parquet
from anonymizer_ml.lineage.verify import TrustPolicy, verify_manifest


class VerifiedParquetDataset(IterableDataset):  # type: ignore[misc]
    """Record batches (dicts of column lists) of a verified release, sharded across workers."""

    def __init__(self, path: str, trust: TrustPolicy, batch_size: int) -> None:
        super().__init__()
        self.path, self.trust, self.batch_size = path, trust, batch_size

    def __repr__(self) -> str:
        return f"VerifiedParquetDataset({self.path!r}, batch_size={self.batch_size})"

    def __iter__(self) -> Iterator[dict[str, list[Any]]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        dataset = verify_manifest(Path(self.path), self.trust)
        unit = 0
        for name in dataset.digests:
            reader = verified_parquet(dataset, name)
            for group in range(reader.metadata.num_row_groups):
                if unit % workers == worker:
                    table = reader.read_row_group(group)
                    for batch in table.to_batches(max_chunksize=self.batch_size):
                        yield batch.to_pydict()
                unit += 1
