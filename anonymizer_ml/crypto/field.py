"""Field-level encryption of single values: subkeys per (file, column), counted nonces.

``FieldEncryptor`` seals values for one column of one output file. In random mode it draws a
fresh 16-byte salt, derives an AES-256-GCM subkey with HKDF-SHA-256 from the data key, and uses
a 96-bit counter as the nonce: with a key that encrypts nothing else, a counter can never repeat,
and it is cheaper than random nonces. It refuses to go past ``ceiling`` encryptions per subkey
(far below the 2^32 NIST SP 800-38D limit for random nonces). Deterministic mode uses AES-SIV
under a subkey fixed per (key, dataset, column) — equal plaintexts give equal cells, which is what
joins need and exactly what it leaks.

``FieldDecryptor`` opens cells for one column with any key in a keyset (old keys included).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import pyarrow as pa

from anonymizer_ml.crypto import pool
from anonymizer_ml.crypto.cells import OpenJob, SealJob, derive_subkey
from anonymizer_ml.crypto.envelope import (
    KIND_BYTES,
    KIND_TEXT,
    MODE_GCM,
    MODE_SIV,
    SALT_BYTES,
    Envelope,
    associated_data,
    header_prefix,
)
from anonymizer_ml.crypto.keyset import Key, Keyset
from anonymizer_ml.crypto.primitives import (
    GCM_NONCE_BYTES,
    Gcm,
    Siv,
)
from anonymizer_ml.errors import DecryptionError, EncryptionLimitError

DEFAULT_CEILING = 2**31


class SubjectKeys(Protocol):
    """Where per-subject data keys come from (see ``anonymizer_ml.crypto.subjects``)."""

    def material(self, key_id: str) -> bytes | None:
        """The subject key with this id, or None if it does not exist (or was forgotten)."""

    def is_erased(self, key_id: str) -> bool:
        """Whether the subject key with this id was forgotten (its cells decrypt to null)."""


KINDS = (KIND_TEXT, KIND_BYTES)
_DETERMINISTIC_SALT = bytes(SALT_BYTES)


class FieldEncryptor:
    """Encrypts the values of one column of one output under one data key."""

    def __init__(
        self,
        key: Key,
        *,
        dataset: str,
        column: str,
        deterministic: bool = False,
        ceiling: int = DEFAULT_CEILING,
        salt: bytes | None = None,
    ) -> None:
        """``salt`` is for reproducible test vectors only; by default each encryptor draws one."""
        self.key_id = key.key_id
        self.mode = MODE_SIV if deterministic else MODE_GCM
        if salt is not None and len(salt) != SALT_BYTES:
            raise ValueError(f"salt must be {SALT_BYTES} bytes")
        fresh = secrets.token_bytes(SALT_BYTES) if salt is None else salt
        self.salt = _DETERMINISTIC_SALT if deterministic else fresh
        self._dataset, self._column, self._ceiling = dataset, column, ceiling
        subkey = derive_subkey(key.material, self.mode, self.salt, dataset, column)
        self._subkey = subkey
        self._gcm: Gcm | None = Gcm(subkey) if self.mode == MODE_GCM else None
        self._siv: Siv | None = Siv(subkey) if self.mode == MODE_SIV else None
        self._prefix = {k: header_prefix(self.mode, k, key.key_id, self.salt) for k in KINDS}
        self._aad = {k: self._aad_for(k, None) for k in KINDS}
        self._lock = threading.Lock()
        self.encrypted = 0

    def __repr__(self) -> str:
        return f"FieldEncryptor(key_id={self.key_id!r}, column={self._column!r})"

    def ledger(self) -> dict[str, object]:
        """What the manifest records: key id, mode, salt and count (never key material)."""
        mode = "aes-256-gcm" if self.mode == MODE_GCM else "aes-256-siv"
        return {
            "key_id": self.key_id,
            "mode": mode,
            "salt": self.salt.hex(),
            "encrypted": self.encrypted,
        }

    def _aad_for(self, kind: int, row_key: bytes | None) -> bytes:
        return associated_data(self._prefix[kind], self._dataset, self._column, row_key)

    def encrypt(self, value: str | bytes, row_key: bytes | None = None) -> bytes:
        """The envelope of one value (text is sealed as UTF-8 and decrypts back to text)."""
        kind = KIND_TEXT if isinstance(value, str) else KIND_BYTES
        plaintext = value.encode("utf-8") if isinstance(value, str) else value
        aad = self._aad[kind] if row_key is None else self._aad_for(kind, row_key)
        count = self._reserve(1)
        if self._siv is not None:
            return self._prefix[kind] + self._siv.seal(plaintext, aad)
        assert self._gcm is not None
        nonce = count.to_bytes(GCM_NONCE_BYTES, "big")
        return self._prefix[kind] + nonce + self._gcm.seal(nonce, plaintext, aad)

    def encrypt_batch(self, values: Sequence[str | bytes | None]) -> list[bytes | None]:
        """Seal a batch (None stays None): the same cells as ``encrypt`` one by one."""
        if any(not isinstance(v, str | None) for v in values):
            return [None if v is None else self.encrypt(v) for v in values]
        cells: list[bytes | None] = self.encrypt_array(
            pa.array(values, pa.large_string())
        ).to_pylist()
        return cells

    def encrypt_array(self, values: pa.Array) -> pa.Array:
        """Seal an Arrow array of text or bytes (nulls stay null) into a large_binary array.

        One counter reservation for the batch; a large batch is sealed on every core.
        """
        binary = pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type)
        kind = KIND_BYTES if binary else KIND_TEXT
        first = self._reserve(len(values) - values.null_count)
        job = SealJob(self._subkey, self.mode, self._prefix[kind], self._aad[kind], first)
        return pool.seal(job, values)

    def _reserve(self, n: int) -> int:
        """The first of ``n`` fresh counter values; no value is ever handed out twice."""
        with self._lock:
            first = self.encrypted + 1
            if self.encrypted + n > self._ceiling:
                raise EncryptionLimitError(
                    f"column {self._column!r}: {self._ceiling:,} values encrypted under one "
                    "subkey; split the file into smaller files (each gets a fresh subkey)"
                )
            self.encrypted += n
        return first


class FieldDecryptor:
    """Decrypts the cells of one column with whichever keyset key each cell names.

    A cell sealed under an erased subject's key (``keys forget``) opens to None and is counted
    in ``erased``; any other missing key or failed check is an opaque DecryptionError.
    """

    def __init__(
        self,
        keyset: Keyset,
        *,
        dataset: str,
        column: str,
        subjects: SubjectKeys | None = None,
    ) -> None:
        self._keys = {k.key_id: k.material for k in keyset.keys}
        self._materials = tuple(self._keys.items())
        self._subjects = subjects
        self._dataset, self._column = dataset, column
        self._ciphers: dict[tuple[str, int, bytes], Gcm | Siv] = {}
        self._aads: dict[bytes, bytes] = {}
        self._openers: dict[bytes, tuple[Callable[[bytes], bytes | None], int]] = {}
        self.erased = 0

    def __repr__(self) -> str:
        return f"FieldDecryptor(column={self._column!r}, keys={sorted(self._keys)})"

    def _cipher(self, envelope: Envelope) -> Gcm | Siv | None:
        """The cipher for the cell's key; None when that key belonged to an erased subject."""
        slot = (envelope.key_id, envelope.mode, envelope.salt)
        if slot not in self._ciphers:
            material = self._keys.get(envelope.key_id)
            if material is None and self._subjects is not None:
                material = self._subjects.material(envelope.key_id)
                if material is None and self._subjects.is_erased(envelope.key_id):
                    return None
            if material is None:
                raise DecryptionError()
            subkey = derive_subkey(
                material, envelope.mode, envelope.salt, self._dataset, self._column
            )
            self._ciphers[slot] = Gcm(subkey) if envelope.mode == MODE_GCM else Siv(subkey)
        return self._ciphers[slot]

    def decrypt_batch(
        self, cells: Sequence[bytes | None], *, text: bool
    ) -> list[str | bytes | None]:
        """Open cells that have no row key (None stays None); every cell must be text if ``text``.

        Same checks as ``decrypt``; the header of each distinct (key, salt) is parsed once.
        """
        opened: list[str | bytes | None] = []
        append = opened.append
        for cell in cells:
            if cell is None:
                append(None)
                continue
            if len(cell) < 4:
                raise DecryptionError()
            head = 4 + cell[3] + SALT_BYTES
            open_cell, kind = self._openers.get(cell[:head]) or self._opener(cell)
            if (kind == KIND_TEXT) != text:
                raise DecryptionError()
            plaintext = open_cell(cell)
            if plaintext is None:
                self.erased += 1
                append(None)
            elif text:
                try:
                    append(plaintext.decode("utf-8"))
                except UnicodeDecodeError:
                    raise DecryptionError() from None
            else:
                append(plaintext)
        return opened

    def decrypt_array(self, cells: pa.Array, *, text: bool) -> pa.Array:
        """Open an Arrow array of cells without row keys into large_string (``text``) or
        large_binary; a large batch is opened on every core. Same checks as ``decrypt_batch``."""
        if self._subjects is not None:  # erased subjects' cells open to null, counted here
            opened = self.decrypt_batch(cells.to_pylist(), text=text)
            return pa.array(opened, pa.large_string() if text else pa.large_binary())
        job = OpenJob(self._materials, self._dataset, self._column, text=text)
        return pool.open_cells(job, cells)

    def _opener(self, cell: bytes) -> tuple[Callable[[bytes], bytes | None], int]:
        """Parse one header fully; cache how to open every cell that shares it, and its kind."""
        envelope = Envelope.parse(cell)
        cipher, prefix = self._cipher(envelope), envelope.prefix()
        aad = associated_data(prefix, self._dataset, self._column, None)
        head = len(prefix)
        open_cell: Callable[[bytes], bytes | None]
        if cipher is None:

            def open_cell(data: bytes) -> bytes | None:
                return None
        elif isinstance(cipher, Siv):
            siv = cipher

            def open_cell(data: bytes) -> bytes:
                return siv.open(data[head:], aad)
        else:
            gcm, end = cipher, head + GCM_NONCE_BYTES

            def open_cell(data: bytes) -> bytes:
                return gcm.open(data[head:end], data[end:], aad)

        self._openers[prefix] = (open_cell, envelope.kind)
        return self._openers[prefix]

    def decrypt(self, cell: bytes, row_key: bytes | None = None) -> str | bytes | None:
        """The plaintext of one cell (None for an erased subject's); DecryptionError (opaque)
        for any wrong key or change."""
        envelope = Envelope.parse(cell)
        cipher = self._cipher(envelope)
        if cipher is None:
            self.erased += 1
            return None
        prefix = envelope.prefix()
        if row_key is not None:
            aad = associated_data(prefix, self._dataset, self._column, row_key)
        else:
            aad = self._aads.get(prefix) or self._aads.setdefault(
                prefix, associated_data(prefix, self._dataset, self._column, None)
            )
        if isinstance(cipher, Siv):
            plaintext = cipher.open(envelope.sealed, aad)
        else:
            plaintext = cipher.open(envelope.nonce, envelope.sealed, aad)
        if envelope.kind == KIND_TEXT:
            try:
                return plaintext.decode("utf-8")
            except UnicodeDecodeError:
                raise DecryptionError() from None
        return plaintext
