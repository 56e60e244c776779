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
from polars.io.plugins import register_io_source

from anonymizer_ml.lineage.verified_io import verified_parquet
from anonymizer_ml.lineage.verify import (
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
    """The verified dataset as a LazyFrame that streams: each batch is parsed from bytes that
    were checked against the signed manifest as they were read (block by block), so memory stays
    flat in the size of the files and a changed byte raises VerificationError when reached.

    The manifest's signature, file list and requirements are checked now; projections and
    filters are pushed into the reader, so ``select`` reads only those columns' pages.
    """
    dataset = verify_manifest(Path(path), _trust(trust))
    names = list(dataset.digests)
    if not names:
        raise VerificationError(f"{path}: the signed manifest lists no data files")
    schema = pl.DataFrame(verified_parquet(dataset, names[0]).schema_arrow.empty_table()).schema

    def batches(
        columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, size: int | None
    ) -> Iterator[pl.DataFrame]:
        remaining = n_rows
        for name in names:
            reader = verified_parquet(dataset, name)
            for batch in reader.iter_batches(batch_size=size or 65_536, columns=columns):
                frame = pl.DataFrame(batch)
                if predicate is not None:
                    frame = frame.filter(predicate)
                if remaining is not None:
                    frame = frame.head(remaining)
                    remaining -= frame.height
                yield frame
                if remaining == 0:
                    return

    return register_io_source(batches, schema=schema, explain_name="verified anonymizer release")


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

    In a ``DataLoader`` with workers, the row groups of the files are shared out by
    ``get_worker_info()``: every row is yielded exactly once for any ``num_workers``, under the
    ``fork`` and ``spawn`` start methods (the dataset pickles). Bytes are verified as they are
    read; a changed block raises VerificationError there and none of its rows is yielded. Needs
    torch (the ``dp`` extra); it is imported only here.
    """
    from anonymizer_ml.hooks.pytorch import VerifiedParquetDataset  # noqa: PLC0415 (needs torch)

    return VerifiedParquetDataset(str(path), _trust(trust), batch_size)


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
