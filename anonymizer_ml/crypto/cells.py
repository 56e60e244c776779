"""Seal and open whole Arrow arrays of cells: the batch kernels of field encryption.

A kernel reads the values straight from the array's offsets and data buffers and builds the
output's buffers itself (the cell lengths are known before sealing), so the only Python per value
is the AEAD call. The same functions run in this process and in the worker processes of
``anonymizer_ml.crypto.pool``, which is why a pooled run writes exactly the cells a single-core run
writes for the same counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from anonymizer_ml.crypto.envelope import KIND_TEXT, MODE_GCM, SALT_BYTES, Envelope, associated_data
from anonymizer_ml.crypto.primitives import (
    GCM_KEY_BYTES,
    GCM_NONCE_BYTES,
    SIV_KEY_BYTES,
    derive_key,
)
from anonymizer_ml.errors import DecryptionError

TAG_BYTES = 16  # the GCM tag, and AES-SIV's synthetic IV: both 16 bytes


def derive_subkey(material: bytes, mode: int, salt: bytes, dataset: str, column: str) -> bytes:
    """The subkey for one (data key, mode, salt, dataset, column), by HKDF-SHA-256."""
    info = b"|".join([b"anonymizer-field-v1", bytes([mode]), dataset.encode(), column.encode()])
    length = GCM_KEY_BYTES if mode == MODE_GCM else SIV_KEY_BYTES
    return derive_key(material, salt=salt, info=info, length=length)


def as_large(values: pa.Array) -> pa.Array:
    """The array as large_string / large_binary (64-bit offsets), the kernels' input form."""
    if pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type):
        return values
    if pa.types.is_string(values.type) or pa.types.is_string_view(values.type):
        return values.cast(pa.large_string())
    return values.cast(pa.large_binary())


def _layout(values: pa.Array) -> tuple[np.ndarray, bytes, np.ndarray]:
    """Offsets (relative to the first value), data bytes and validity of a large array."""
    n = len(values)
    _, offsets_buffer, data_buffer = values.buffers()
    assert offsets_buffer is not None
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=n + 1, offset=values.offset * 8)
    start, end = int(offsets[0]), int(offsets[-1])
    data = b"" if data_buffer is None else data_buffer.slice(start, end - start).to_pybytes()
    valid = (
        np.ones(n, dtype=bool)
        if values.null_count == 0
        else values.is_valid().to_numpy(zero_copy_only=False)
    )
    return offsets - start, data, valid


def _binary(lengths: np.ndarray, data: bytes, valid: np.ndarray, *, text: bool) -> pa.Array:
    """A large_binary (or large_string) array from per-value lengths and the joined data."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    assert int(offsets[-1]) == len(data)
    nulls = int(len(valid) - np.count_nonzero(valid))
    validity = None if nulls == 0 else pa.py_buffer(np.packbits(valid, bitorder="little"))
    kind = pa.large_string() if text else pa.large_binary()
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(kind, len(lengths), buffers, null_count=nulls)


@dataclass(frozen=True)
class SealJob:
    """What sealing one array needs: the subkey, the cell prefix and AAD, the first counter."""

    subkey: bytes
    mode: int
    prefix: bytes
    aad: bytes
    first: int

    def __repr__(self) -> str:
        return f"SealJob(mode={self.mode}, first={self.first})"


def _spans(offsets: np.ndarray, valid: np.ndarray) -> zip[tuple[int, int]]:
    """(start, end) in the data of every non-null value, in order."""
    return zip(offsets[:-1][valid].tolist(), offsets[1:][valid].tolist(), strict=True)


def seal_array(job: SealJob, values: pa.Array) -> pa.Array:
    """Every non-null value sealed in order, the k-th under counter ``job.first + k``."""
    offsets, data, valid = _layout(as_large(values))
    prefix, aad, cells = job.prefix, job.aad, list[bytes]()
    append = cells.append  # whole cells: one concatenation each beats joining three parts
    if job.mode == MODE_GCM:
        seal = AESGCM(job.subkey).encrypt
        overhead = len(prefix) + GCM_NONCE_BYTES + TAG_BYTES
        for counter, (start, end) in enumerate(_spans(offsets, valid), start=job.first):
            nonce = counter.to_bytes(GCM_NONCE_BYTES, "big")
            append(prefix + nonce + seal(nonce, data[start:end], aad))
    else:
        siv, associated = AESSIV(job.subkey).encrypt, [aad]
        overhead = len(prefix) + TAG_BYTES
        for start, end in _spans(offsets, valid):
            append(prefix + siv(data[start:end], associated))
    lengths = np.where(valid, np.diff(offsets) + overhead, 0)
    return _binary(lengths, b"".join(cells), valid, text=False)


@dataclass(frozen=True)
class OpenJob:
    """What opening one column's cells needs: the keyset's keys, dataset and column, kind."""

    materials: tuple[tuple[str, bytes], ...]  # (key id, material): hashable, so cacheable
    dataset: str
    column: str
    text: bool

    def __repr__(self) -> str:
        return f"OpenJob(column={self.column!r}, keys={[k for k, _ in self.materials]})"


Opener = Callable[[bytes], bytes]


class _Openers:
    """How to open a cell, per distinct header (key id, salt): parsed and derived once."""

    def __init__(self, job: OpenJob) -> None:
        self._job = job
        self._materials = dict(job.materials)
        self._by_prefix: dict[bytes, tuple[Opener, int]] = {}

    def get(self, cell: bytes) -> tuple[Opener, int]:
        if len(cell) < 4:
            raise DecryptionError()
        head = cell[: 4 + cell[3] + SALT_BYTES]
        found = self._by_prefix.get(head)
        return found if found is not None else self._parse(cell)

    def _parse(self, cell: bytes) -> tuple[Opener, int]:
        envelope = Envelope.parse(cell)
        material = self._materials.get(envelope.key_id)
        if material is None:
            raise DecryptionError()
        job, prefix = self._job, envelope.prefix()
        subkey = derive_subkey(material, envelope.mode, envelope.salt, job.dataset, job.column)
        aad, start = associated_data(prefix, job.dataset, job.column, None), len(prefix)
        opener: Opener
        if envelope.mode == MODE_GCM:
            gcm, end = AESGCM(subkey).decrypt, start + GCM_NONCE_BYTES

            def opener(data: bytes) -> bytes:
                plain: bytes = gcm(data[start:end], data[end:], aad)
                return plain
        else:
            siv, associated = AESSIV(subkey).decrypt, [aad]

            def opener(data: bytes) -> bytes:
                return siv(data[start:], associated)

        self._by_prefix[prefix] = (opener, envelope.kind)
        return self._by_prefix[prefix]


_OPENERS: dict[OpenJob, _Openers] = {}  # per process: a worker derives each subkey once


def open_array(job: OpenJob, cells: pa.Array) -> pa.Array:
    """Every non-null cell opened (large_string when ``job.text``, else large_binary).

    DecryptionError (opaque) for any cell that fails a check, names another kind, or is not
    UTF-8 where text is expected.
    """
    openers = _OPENERS.get(job)
    if openers is None:
        openers = _OPENERS[job] = _Openers(job)
    offsets, data, valid = _layout(as_large(cells))
    plains: list[bytes] = []
    append = plains.append
    try:
        for start, end in _spans(offsets, valid):
            cell = data[start:end]
            opener, kind = openers.get(cell)
            if (kind == KIND_TEXT) != job.text:
                raise DecryptionError()
            append(opener(cell))
    except (InvalidTag, ValueError, OverflowError):
        raise DecryptionError() from None
    lengths = np.zeros(len(valid), dtype=np.int64)
    lengths[valid] = [len(plain) for plain in plains]
    opened = _binary(lengths, b"".join(plains), valid, text=job.text)
    if job.text:
        try:
            opened.validate(full=True)
        except pa.ArrowInvalid:
            raise DecryptionError() from None
    return opened
