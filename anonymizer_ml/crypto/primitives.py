"""The only place that calls cryptographic primitives: HKDF, AES-256-GCM and AES-SIV.

Everything above this module works with envelopes and subkeys; these functions are thin, so the
Wycheproof vectors exercise exactly the code path the field cipher uses. Every failure to open a
ciphertext is the same opaque DecryptionError.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anonymizer_ml.errors import DecryptionError

GCM_KEY_BYTES = 32
GCM_NONCE_BYTES = 12
SIV_KEY_BYTES = 64  # AES-256-SIV: two 256-bit keys (RFC 5297)


def derive_key(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA-256 (RFC 5869)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


class Gcm:
    """AES-GCM under one key (the key schedule is built once, not per value)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Gcm(<key hidden>)"

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext with the 16-byte tag appended."""
        sealed: bytes = self._aead.encrypt(nonce, plaintext, aad)
        return sealed

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        """Plaintext of ciphertext + tag; DecryptionError on any failure."""
        try:
            plaintext: bytes = self._aead.decrypt(nonce, sealed, aad)
        except (InvalidTag, ValueError, OverflowError):
            raise DecryptionError() from None
        return plaintext


class Siv:
    """Deterministic AES-SIV under one key (RFC 5297; synthetic IV first)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESSIV(key)

    def __repr__(self) -> str:
        return "Siv(<key hidden>)"

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Synthetic IV + ciphertext; equal inputs give equal outputs."""
        return self._aead.encrypt(plaintext, [aad])

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Plaintext; DecryptionError on any failure."""
        try:
            return self._aead.decrypt(sealed, [aad])
        except (InvalidTag, ValueError, OverflowError):
            raise DecryptionError() from None
