"""Crypto-shredding: per-subject data keys, so one subject's cells can be made unrecoverable.

With ``encrypt: {subject: customer_id}`` every cell is sealed under its subject's own data key.
Those keys live in a subject key store (a 0600 JSON file), each wrapped with AES-256-GCM under a
key derived from the keyset's ``subjects`` key and filed under the subject's keyed token (HMAC),
so the store holds no identifier in the clear. ``anonymizer keys forget SUBJECT`` deletes one
entry: that subject's cells can then never be decrypted again, everyone else's still can.
Copies of the store (backups!) keep the key: shred those too, or keep none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anonymizer_ml.crypto.cells import derive_subkey
from anonymizer_ml.crypto.envelope import (
    KIND_BYTES,
    KIND_TEXT,
    MODE_GCM,
    SALT_BYTES,
    associated_data,
    header_prefix,
)
from anonymizer_ml.crypto.field import DEFAULT_CEILING
from anonymizer_ml.crypto.keyset import KEY_BYTES, Keyset
from anonymizer_ml.crypto.primitives import GCM_NONCE_BYTES, Gcm, derive_key
from anonymizer_ml.errors import DecryptionError, EncryptionLimitError, KeyringError

STORE_FORMAT = "anonymizer-subject-keys"
SUBJECTS_PURPOSE = "subjects"
KEY_ID_PREFIX = "subject-"


class SubjectKeyStore:
    """Per-subject keys, loaded from and saved (atomically) to one file."""

    def __init__(self, path: Path, keyset: Keyset) -> None:
        root = keyset.for_purpose(SUBJECTS_PURPOSE)
        self.path = path
        self._root_id = root.key_id
        self._token_key = derive_key(root.material, salt=b"", info=b"subject-token", length=32)
        self._wrap = Gcm(derive_key(root.material, salt=b"", info=b"subject-wrap", length=32))
        self._erased: dict[str, str] = {}
        self._wrapped: dict[str, bytes] = self._load()
        self._keys: dict[str, bytes] = {}
        self.changed = False

    def __repr__(self) -> str:
        return f"SubjectKeyStore({self.path}, subjects={len(self._wrapped)})"

    def _load(self) -> dict[str, bytes]:
        if not self.path.exists():
            return {}
        try:
            doc: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            if doc.get("format") != STORE_FORMAT:
                raise ValueError
            entries = {t: base64.b64decode(w, validate=True) for t, w in doc["entries"].items()}
            self._erased = {str(t): str(when) for t, when in doc.get("erased", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise KeyringError(
                f"{self.path}: not a subject key store; point --subject-keys at one made by a run"
            ) from None
        if doc.get("key_id") != self._root_id:
            raise KeyringError(
                f"{self.path}: made with subjects key {doc.get('key_id')}, but the keyset's is "
                f"{self._root_id}; use the keyset the store was made with"
            )
        return entries

    def token(self, subject: str) -> str:
        """The keyed token that files a subject's key (no identifier is stored)."""
        return hmac.new(self._token_key, subject.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def key_id(self, subject: str) -> str:
        """The key id cells of this subject carry."""
        return KEY_ID_PREFIX + self.token(subject)

    def material(self, key_id: str) -> bytes | None:
        """The subject key with this id; None if unknown or forgotten."""
        token = key_id.removeprefix(KEY_ID_PREFIX)
        if token in self._keys:
            return self._keys[token]
        wrapped = self._wrapped.get(token)
        if wrapped is None:
            return None
        try:
            key = self._wrap.open(
                wrapped[:GCM_NONCE_BYTES], wrapped[GCM_NONCE_BYTES:], token.encode()
            )
        except DecryptionError:
            raise KeyringError(
                f"{self.path}: an entry was altered; restore it from backup"
            ) from None
        self._keys[token] = key
        return key

    def key_for(self, subject: str) -> tuple[str, bytes]:
        """The subject's key id and key, creating (and filing) a new key on first use."""
        key_id = self.key_id(subject)
        existing = self.material(key_id)
        if existing is not None:
            return key_id, existing
        token, key = key_id.removeprefix(KEY_ID_PREFIX), secrets.token_bytes(KEY_BYTES)
        nonce = secrets.token_bytes(GCM_NONCE_BYTES)
        self._wrapped[token] = nonce + self._wrap.seal(nonce, key, token.encode())
        self._keys[token] = key
        self.changed = True
        return key_id, key

    def forget(self, subject: str) -> bool:
        """Delete a subject's key (True if there was one); call ``save`` to make it final.

        The store keeps a tombstone (the subject's keyed token and when it was erased, no key),
        so decryption can tell an erased subject's cells from cells of an unknown key.
        """
        token = self.token(subject)
        self._keys.pop(token, None)
        found = self._wrapped.pop(token, None) is not None
        if found:
            self._erased[token] = datetime.now(UTC).isoformat(timespec="seconds")
        self.changed = self.changed or found
        return found

    def erased_at(self, subject: str) -> str | None:
        """When the subject's key was forgotten (ISO 8601, UTC), or None."""
        return self._erased.get(self.token(subject))

    def is_erased(self, key_id: str) -> bool:
        """Whether the subject key with this id was forgotten."""
        return key_id.startswith(KEY_ID_PREFIX) and key_id[len(KEY_ID_PREFIX) :] in self._erased

    def save(self) -> None:
        """Write the store atomically with mode 0600."""
        doc = {
            "format": STORE_FORMAT,
            "version": 1,
            "key_id": self._root_id,
            "entries": {t: base64.b64encode(w).decode("ascii") for t, w in self._wrapped.items()},
            "erased": dict(sorted(self._erased.items())),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(doc, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        self.changed = False


class SubjectFieldEncryptor:
    """Seals each value under its subject's key (AES-256-GCM, one salt and counter per column)."""

    def __init__(self, store: SubjectKeyStore, *, dataset: str, column: str) -> None:
        self._store, self._dataset, self._column = store, dataset, column
        self.salt = secrets.token_bytes(SALT_BYTES)
        self._ciphers: dict[str, Gcm] = {}
        self._counter = itertools.count(1)
        self.encrypted = 0

    def __repr__(self) -> str:
        return f"SubjectFieldEncryptor(column={self._column!r})"

    def ledger(self) -> dict[str, object]:
        """What the manifest records: per-subject mode, salt, count, distinct subjects."""
        return {
            "key_id": "per-subject",
            "mode": "aes-256-gcm",
            "salt": self.salt.hex(),
            "encrypted": self.encrypted,
            "subjects": len(self._ciphers),
        }

    def encrypt(self, value: str | bytes, subject: str, row_key: bytes | None = None) -> bytes:
        """The envelope of one value under ``subject``'s key."""
        key_id, key = self._store.key_for(subject)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            subkey = derive_subkey(key, MODE_GCM, self.salt, self._dataset, self._column)
            cipher = self._ciphers.setdefault(key_id, Gcm(subkey))
        count = next(self._counter)  # atomic under the GIL; one counter for the whole column
        if count > DEFAULT_CEILING:
            raise EncryptionLimitError(f"column {self._column!r}: encryption ceiling reached")
        self.encrypted = count
        kind = KIND_TEXT if isinstance(value, str) else KIND_BYTES
        plaintext = value.encode("utf-8") if isinstance(value, str) else value
        prefix = header_prefix(MODE_GCM, kind, key_id, self.salt)
        nonce = count.to_bytes(GCM_NONCE_BYTES, "big")
        aad = associated_data(prefix, self._dataset, self._column, row_key)
        return prefix + nonce + cipher.seal(nonce, plaintext, aad)
