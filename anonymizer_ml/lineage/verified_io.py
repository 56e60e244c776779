"""Read a released file so that every byte handed to the Parquet reader was verified first.

The manifest lists the SHA-256 of each fixed-size block of an output. ``VerifiedReader`` is a
seekable, read-only file object that loads a block, checks its digest and only then serves bytes
from it (a few verified blocks are cached), so a Parquet reader can take the footer, one row
group or a few columns without the whole file in memory — and nothing it reads can differ from
what was signed, even if the file is changed while it is open. Files whose record has no block
digests (manifests of older releases) are read whole and checked against the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from pathlib import Path

import pyarrow.parquet as pq

from anonymizer_ml.lineage.manifest import FileRecord
from anonymizer_ml.lineage.verify import VerificationError, VerifiedDataset, read_verified

_CACHED_BLOCKS = 4


def _tampered(path: Path) -> VerificationError:
    return VerificationError(f"{path}: content does not match the signed manifest")


class VerifiedReader(io.RawIOBase):
    """A read-only binary file whose blocks are checked against signed digests as they are read."""

    def __init__(self, path: Path, record: FileRecord) -> None:
        super().__init__()
        if record.blocks is None or record.block_size is None:
            raise ValueError("the record has no block digests")
        self._path, self._record = path, record
        self._blocks, self._block_size = record.blocks, record.block_size
        self._handle = path.open("rb")
        self._position = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        if self._handle.seek(0, io.SEEK_END) != record.bytes:
            self._handle.close()
            raise _tampered(path)

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (from the start, the current position or the end)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._record.bytes}
        self._position = max(0, base[whence] + offset)
        return self._position

    def _block(self, index: int) -> bytes:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        self._handle.seek(index * self._block_size)
        data = self._handle.read(self._block_size)
        if index >= len(self._blocks) or hashlib.sha256(data).hexdigest() != self._blocks[index]:
            raise _tampered(self._path)
        self._cache[index] = data
        if len(self._cache) > _CACHED_BLOCKS:
            self._cache.popitem(last=False)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from verified blocks; 0 at the end of the file."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._position < self._record.bytes:
            index, start = divmod(self._position, self._block_size)
            block = self._block(index)
            take = min(len(block) - start, len(view) - filled)
            view[filled : filled + take] = block[start : start + take]
            filled += take
            self._position += take
        return filled

    def close(self) -> None:
        """Close the underlying file and drop the cached blocks."""
        self._handle.close()
        self._cache.clear()
        super().close()


def verified_parquet(dataset: VerifiedDataset, name: str) -> pq.ParquetFile:
    """A Parquet reader over one file of a verified dataset, reading only verified bytes."""
    record = next(o for o in dataset.manifest.outputs if o.path == name)
    path = dataset.root / name
    if record.blocks is None:
        return pq.ParquetFile(io.BytesIO(read_verified(dataset, name)))
    try:
        # Without pre-buffering and with a bounded read buffer, pyarrow holds about one row
        # group at a time (measured: 0.34 GB peak for a 6 M-row file against 0.6 GB by default).
        return pq.ParquetFile(VerifiedReader(path, record), pre_buffer=False, buffer_size=1 << 20)
    except FileNotFoundError:
        raise VerificationError(f"{path}: listed in the signed manifest but missing") from None
