"""Key-encryption keys: data keys in a keyset file are stored wrapped, never in the clear.

Three ways to get the key-encryption key (KEK):

* ``env``: 32 random bytes, base64, in an environment variable (``ANONYMIZER_KEK`` by default) —
  for CI and schedulers that inject secrets; ``anonymizer keys new-kek`` prints a fresh one.
* ``passphrase``: scrypt (N=2^15, r=8, p=1, random 16-byte salt kept in the file) over a
  passphrase from ``ANONYMIZER_PASSPHRASE`` or typed at a prompt.
* ``kms``: a KMS plug-in wraps and unwraps each data key. ``local-file`` ships (a 0600 master key
  file, for tests and single hosts); a cloud KMS is a class with the same two methods registered
  under the ``anonymizer.kms`` entry-point group (see docs/keys.md).

Each data key is wrapped with AES-256-GCM under the KEK, its key id and purpose bound as
associated data, so wrapped keys cannot be swapped between entries unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from anonymizer_ml.crypto.primitives import GCM_KEY_BYTES, GCM_NONCE_BYTES, Gcm
from anonymizer_ml.errors import DecryptionError, KeyringError

KEK_ENV_VAR = "ANONYMIZER_KEK"
PASSPHRASE_ENV_VAR = "ANONYMIZER_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class KeyProtector(Protocol):
    """Wraps and unwraps data keys; ``describe`` is what the keyset file records (no secret)."""

    def wrap(self, key_id: str, purpose: str, material: bytes) -> bytes:
        """The wrapped form of one data key."""

    def unwrap(self, key_id: str, purpose: str, blob: bytes) -> bytes:
        """The data key; KeyringError if the KEK is wrong or the entry was altered."""

    def describe(self) -> dict[str, str]:
        """Non-secret parameters needed to rebuild this protector when loading."""


class _AeadProtector:
    """AES-256-GCM key wrapping under a 32-byte KEK."""

    kind = "aead"

    def __init__(self, kek: bytes, source: str) -> None:
        self._gcm = Gcm(kek)
        self._source = source

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._source})"

    def wrap(self, key_id: str, purpose: str, material: bytes) -> bytes:
        """Random nonce + ciphertext + tag, bound to the key id and purpose."""
        nonce = secrets.token_bytes(GCM_NONCE_BYTES)
        return nonce + self._gcm.seal(nonce, material, _binding(key_id, purpose))

    def unwrap(self, key_id: str, purpose: str, blob: bytes) -> bytes:
        """The data key, or KeyringError naming the KEK source (never the reason)."""
        try:
            return self._gcm.open(
                blob[:GCM_NONCE_BYTES], blob[GCM_NONCE_BYTES:], _binding(key_id, purpose)
            )
        except DecryptionError:
            raise KeyringError(
                f"cannot unwrap key {key_id}: wrong {self._source}, or the keyset was altered"
            ) from None

    def describe(self) -> dict[str, str]:
        """Subclasses say how to find their KEK again."""
        raise NotImplementedError


def _binding(key_id: str, purpose: str) -> bytes:
    return b"anonymizer-keywrap|" + key_id.encode() + b"|" + purpose.encode()


class EnvKek(_AeadProtector):
    """KEK from an environment variable holding 32 base64-encoded bytes."""

    def __init__(self, variable: str = KEK_ENV_VAR) -> None:
        raw = os.environ.get(variable)
        if not raw:
            raise KeyringError(
                f"environment variable {variable} is not set; set it to a key from "
                "'anonymizer keys new-kek'"
            )
        try:
            kek = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            kek = b""
        if len(kek) != GCM_KEY_BYTES:
            raise KeyringError(
                f"{variable} is not 32 base64-encoded bytes; set it to a key from "
                "'anonymizer keys new-kek'"
            )
        super().__init__(kek, f"key-encryption key in ${variable}")
        self._variable = variable

    def describe(self) -> dict[str, str]:
        """The variable's name (never its value)."""
        return {"kind": "env", "variable": self._variable}


class PassphraseKek(_AeadProtector):
    """KEK derived from a passphrase with scrypt."""

    def __init__(self, passphrase: str, salt: bytes | None = None) -> None:
        if not passphrase:
            raise KeyringError(f"the passphrase is empty; set {PASSPHRASE_ENV_VAR} or type one")
        self._salt = salt if salt is not None else secrets.token_bytes(16)
        kdf = Scrypt(salt=self._salt, length=GCM_KEY_BYTES, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
        super().__init__(kdf.derive(passphrase.encode("utf-8")), "passphrase")

    def describe(self) -> dict[str, str]:
        """The scrypt salt and cost (never the passphrase)."""
        return {
            "kind": "passphrase",
            "salt": self._salt.hex(),
            "scrypt": f"n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}",
        }


class LocalFileKms(_AeadProtector):
    """The shipped KMS plug-in: a 0600 file holding a 32-byte master key (base64)."""

    def __init__(self, key_uri: str) -> None:
        path = Path(key_uri)
        if not path.is_file():
            raise KeyringError(
                f"{path}: KMS master key not found; create it with "
                f"'anonymizer keys new-kek > {path}' and chmod 600 it"
            )
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise KeyringError(f"{path}: KMS master key is readable by others; chmod 600 {path}")
        try:
            master = base64.b64decode(path.read_text().strip(), validate=True)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            master = b""
        if len(master) != GCM_KEY_BYTES:
            raise KeyringError(f"{path}: not a 32-byte base64 master key")
        super().__init__(master, f"KMS master key {path}")
        self._uri = key_uri

    def describe(self) -> dict[str, str]:
        """Which plug-in and which master key (a path or URI, never key material)."""
        return {"kind": "kms", "provider": "local-file", "key_uri": self._uri}


KmsFactory = Callable[[str], KeyProtector]
_KMS: dict[str, KmsFactory] = {"local-file": LocalFileKms}


def register_kms(name: str, factory: KmsFactory) -> None:
    """Make a KMS plug-in available as ``provider: name`` (or use the entry-point group)."""
    _KMS[name] = factory


def _kms(provider: str, key_uri: str) -> KeyProtector:
    if provider not in _KMS:
        for point in entry_points(group="anonymizer.kms"):
            if point.name == provider:
                register_kms(provider, point.load())
    if provider not in _KMS:
        raise KeyringError(
            f"no KMS plug-in named {provider!r} is installed; available: {', '.join(sorted(_KMS))}"
        )
    return _KMS[provider](key_uri)


def new_kek() -> str:
    """A fresh random KEK, base64 (for ANONYMIZER_KEK or a local-file KMS master key)."""
    return base64.b64encode(secrets.token_bytes(GCM_KEY_BYTES)).decode("ascii")


def protector_from_spec(spec: str, passphrase: Callable[[], str]) -> KeyProtector | None:
    """Build a protector for ``keys init --protect SPEC``: none, env[:VAR], passphrase, kms:URI."""
    kind, _, arg = spec.partition(":")
    if kind == "none":
        return None
    if kind == "env":
        return EnvKek(arg or KEK_ENV_VAR)
    if kind == "passphrase":
        return PassphraseKek(passphrase())
    if kind == "kms":
        provider, _, uri = arg.partition(":") if ":" in arg else ("local-file", "", arg)
        return _kms(provider, uri)
    raise KeyringError(
        f"unknown protection {spec!r}; use none, env[:VAR], passphrase, or kms:[PROVIDER:]URI"
    )


def protector_from_description(
    description: dict[str, str], passphrase: Callable[[], str], source: str
) -> KeyProtector:
    """Rebuild the protector a keyset file names, to unwrap its keys."""
    kind = description.get("kind")
    if kind == "env":
        return EnvKek(description.get("variable", KEK_ENV_VAR))
    if kind == "passphrase":
        try:
            salt = bytes.fromhex(description["salt"])
        except (KeyError, ValueError):
            raise KeyringError(
                f"{source}: passphrase salt is missing; restore it from backup"
            ) from None
        return PassphraseKek(passphrase(), salt)
    if kind == "kms":
        return _kms(description.get("provider", ""), description.get("key_uri", ""))
    raise KeyringError(f"{source}: unknown key protection {kind!r}; upgrade anonymizer")


def passphrase_from_env() -> str:
    """The passphrase from ANONYMIZER_PASSPHRASE, or a KeyringError saying how to give one."""
    value = os.environ.get(PASSPHRASE_ENV_VAR)
    if not value:
        raise KeyringError(f"this keyset is passphrase-protected; set {PASSPHRASE_ENV_VAR}")
    return value
