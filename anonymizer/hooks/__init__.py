"""Pre-training guards: read only data that a trusted, signed run made safe.

Every reader verifies each file's bytes against the signed manifest *as it reads them* and parses
those same bytes, so nothing can change between the check and the use. All of them fail closed
with a VerificationError.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from anonymizer.lineage.verify import (
    TrustPolicy,
    VerificationError,
    iter_verified_files,
    load_trust,
    verify_dataset,
    verify_manifest,
)

TrustLike = TrustPolicy | Path | str


def _trust(trust: TrustLike) -> TrustPolicy:
    return trust if isinstance(trust, TrustPolicy) else load_trust(Path(trust))


def iter_frames(path: Path | str, *, trust: TrustLike) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each file of a verified dataset as a DataFrame, parsed from its verified bytes.

    A tampered file raises VerificationError when it is reached; no row of it is yielded.
    """
    dataset = verify_manifest(Path(path), _trust(trust))
    for name, data in iter_verified_files(dataset):
        yield name, pl.read_parquet(io.BytesIO(data))


def open_dataset(path: Path | str, *, trust: TrustLike) -> pl.LazyFrame:
    """The whole verified dataset as a LazyFrame (every file checked before it is returned)."""
    frames = [frame for _, frame in iter_frames(path, trust=trust)]
    if not frames:
        raise VerificationError(f"{path}: the signed manifest lists no data files")
    return pl.concat(frames, how="vertical").lazy()


class require_safe_data(contextlib.ContextDecorator):
    """Refuse to run a training entry point unless ``path`` verifies fully.

    Use as ``with require_safe_data(path, trust=...):`` or as a decorator.
    """

    def __init__(self, path: Path | str, *, trust: TrustLike) -> None:
        self.path, self.trust = Path(path), trust

    def __enter__(self) -> require_safe_data:
        verify_dataset(self.path, _trust(self.trust))
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def torch_dataset(path: Path | str, *, trust: TrustLike, batch_size: int = 1024) -> Any:
    """A PyTorch ``IterableDataset`` of verified record batches (dicts of column lists).

    Files are verified one at a time as they are read; when one has been tampered with the
    iterator raises VerificationError at that file and yields none of its rows. Needs torch
    (the ``dp`` extra); it is imported only here.
    """
    from torch.utils.data import IterableDataset  # noqa: PLC0415 (optional dependency)

    policy = _trust(trust)

    class VerifiedParquet(IterableDataset):  # type: ignore[misc]
        def __iter__(self) -> Iterator[dict[str, list[Any]]]:
            for _, frame in iter_frames(path, trust=policy):
                for batch in frame.iter_slices(batch_size):
                    yield batch.to_dict(as_series=False)

    return VerifiedParquet()


def hf_dataset(path: Path | str, *, trust: TrustLike) -> Any:
    """A Hugging Face ``datasets.Dataset`` built from the verified files (needs ``datasets``)."""
    from datasets import Dataset  # noqa: PLC0415 (optional dependency)

    return Dataset.from_polars(open_dataset(path, trust=trust).collect())


__all__ = [
    "VerificationError",
    "hf_dataset",
    "iter_frames",
    "open_dataset",
    "require_safe_data",
    "torch_dataset",
]
