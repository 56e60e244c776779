"""The cell envelope: a self-describing, versioned ciphertext for one value.

Layout (version 1)::

    version (1) | mode (1) | kind (1) | key-id length (1) | key id (ASCII)
    | salt (16) | nonce (12, GCM only) | ciphertext + tag

``mode`` is 1 for AES-256-GCM and 2 for AES-SIV (deterministic); ``kind`` says whether the
plaintext was text (UTF-8) or bytes. The salt that derived the cell's subkey travels in the cell,
so data stays decryptable after tools that drop Parquet metadata have rewritten it. The
associated data binds the header (all of it but the nonce, which GCM authenticates itself), the
dataset id, the column and optionally a row key, so a cell copied to another column, dataset or
row, or given another header, fails to decrypt.
"""

from __future__ import annotations

from dataclasses import dataclass

from anonymizer_ml.crypto.primitives import GCM_NONCE_BYTES
from anonymizer_ml.errors import DecryptionError

VERSION = 1
MODE_GCM = 1
MODE_SIV = 2
KIND_TEXT = 0
KIND_BYTES = 1
SALT_BYTES = 16
_FIXED = 4


@dataclass(frozen=True)
class Envelope:
    """One encrypted cell, parsed."""

    mode: int
    kind: int
    key_id: str
    salt: bytes
    nonce: bytes
    sealed: bytes

    def prefix(self) -> bytes:
        """The header without the nonce: constant for one subkey, authenticated in the AAD."""
        return header_prefix(self.mode, self.kind, self.key_id, self.salt)

    def to_bytes(self) -> bytes:
        """The serialised cell."""
        return self.prefix() + self.nonce + self.sealed

    @classmethod
    def parse(cls, data: bytes) -> Envelope:
        """Parse a cell; DecryptionError (opaque) if it is not a well-formed envelope."""
        if len(data) < _FIXED or data[0] != VERSION or data[1] not in (MODE_GCM, MODE_SIV):
            raise DecryptionError()
        mode, kind, id_len = data[1], data[2], data[3]
        nonce_len = GCM_NONCE_BYTES if mode == MODE_GCM else 0
        start = _FIXED + id_len
        end = start + SALT_BYTES + nonce_len
        if kind not in (KIND_TEXT, KIND_BYTES) or len(data) < end + 16:
            raise DecryptionError()
        try:
            key_id = data[_FIXED:start].decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionError() from None
        salt = data[start : start + SALT_BYTES]
        return cls(mode, kind, key_id, salt, data[start + SALT_BYTES : end], data[end:])


def header_prefix(mode: int, kind: int, key_id: str, salt: bytes) -> bytes:
    """Version, mode, kind, key id and salt, serialised."""
    raw_id = key_id.encode("ascii")
    return bytes([VERSION, mode, kind, len(raw_id)]) + raw_id + salt


def associated_data(prefix: bytes, dataset: str, column: str, row_key: bytes | None) -> bytes:
    """Length-prefixed, unambiguous AAD over the header and the cell's place in the data."""
    parts = [b"anonymizer-cell", prefix, dataset.encode(), column.encode(), row_key or b""]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)
