"""Keysets: random 256-bit keys, one per purpose, stored in a 0600 JSON file.

A keyset holds the secret keys that keyed transforms use (tokens, surrogates, date shifts).
Key material never appears in a repr, a log line, a manifest or an exception: only key ids do.
The encryption issue adds wrapping under a key-encryption key and rotation behind this interface.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anonymizer_ml.crypto.protect import (
    KeyProtector,
    passphrase_from_env,
    protector_from_description,
)
from anonymizer_ml.errors import KeyringError

KEYSET_ENV_VAR = "ANONYMIZER_KEYSET"
KEYSET_FORMAT = "anonymizer-keyset"
KEYSET_VERSION = 1
KEY_BYTES = 32
DEFAULT_PURPOSES: tuple[str, ...] = (
    "tokenize",
    "surrogate",
    "date_shift",
    "encrypt",
    "subjects",
    "sign",
)


@dataclass(frozen=True)
class Key:
    """One secret key: an id safe to record anywhere, a purpose, and hidden material."""

    key_id: str
    purpose: str
    created: str
    material: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Key(key_id={self.key_id!r}, purpose={self.purpose!r})"

    def __str__(self) -> str:
        return self.__repr__()


@dataclass(frozen=True)
class Keyset:
    """The keys of one keyset file, looked up by purpose, and how the file protects them."""

    keys: tuple[Key, ...]
    source: str = "<memory>"
    protector: KeyProtector | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        ids = ", ".join(k.key_id for k in self.keys)
        return f"Keyset(source={self.source!r}, keys=[{ids}])"

    def for_purpose(self, purpose: str) -> Key:
        """The primary (most recently added) key for ``purpose``; KeyringError if there is none.

        Older keys of the purpose stay in the keyset after a rotation, so what they encrypted
        still decrypts (cells name their key id), while everything new uses the primary.
        """
        for key in reversed(self.keys):
            if key.purpose == purpose:
                return key
        have = ", ".join(sorted({k.purpose for k in self.keys})) or "none"
        raise KeyringError(
            f"{self.source}: no key for purpose {purpose!r} (keyset has: {have}); "
            f"create a keyset with it: anonymizer keys init PATH --purpose {purpose}"
        )

    def by_id(self, key_id: str) -> Key | None:
        """The key with this id, of any generation (None when the keyset does not hold it)."""
        return next((key for key in self.keys if key.key_id == key_id), None)

    @property
    def purposes(self) -> list[str]:
        """The purposes this keyset has a key for, once each, in order of first appearance."""
        return list(dict.fromkeys(k.purpose for k in self.keys))

    def rotated(self, purpose: str) -> Keyset:
        """A copy with a new primary key for ``purpose``; the old keys are kept for decryption."""
        self.for_purpose(purpose)  # only rotate what exists: a typo must not add a purpose
        [fresh] = generate_keyset([purpose]).keys
        return Keyset(keys=(*self.keys, fresh), source=self.source, protector=self.protector)

    def with_purpose(self, purpose: str) -> Keyset:
        """A copy with a first key for a new ``purpose`` (existing purposes are rotated instead)."""
        if purpose in self.purposes:
            raise KeyringError(
                f"{self.source}: already has a {purpose!r} key; use keys rotate for a new one"
            )
        [fresh] = generate_keyset([purpose]).keys
        return Keyset(keys=(*self.keys, fresh), source=self.source, protector=self.protector)

    def only(self, purposes: list[str]) -> Keyset:
        """A copy holding only the keys (every generation) of ``purposes``: a team's key group.
        KeyringError for a purpose this keyset has no key for."""
        missing = [p for p in purposes if p not in self.purposes]
        if missing:
            raise KeyringError(
                f"{self.source}: no key for purpose {missing[0]!r} "
                f"(keyset has: {', '.join(self.purposes)})"
            )
        kept = tuple(k for k in self.keys if k.purpose in purposes)
        return Keyset(keys=kept, source=self.source, protector=self.protector)

    def protected_by(self, protector: KeyProtector | None) -> Keyset:
        """The same keys, to be written wrapped by ``protector`` (None: unwrapped)."""
        return Keyset(keys=self.keys, source=self.source, protector=protector)


def generate_keyset(purposes: tuple[str, ...] | list[str] = DEFAULT_PURPOSES) -> Keyset:
    """Make a fresh keyset with one random 256-bit key per purpose."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    unique = list(dict.fromkeys(purposes))
    keys = tuple(
        Key(
            key_id=f"{purpose}-{secrets.token_hex(4)}",
            purpose=purpose,
            created=now,
            material=secrets.token_bytes(KEY_BYTES),
        )
        for purpose in unique
    )
    return Keyset(keys=keys)


def write_keyset(keyset: Keyset, path: Path, *, overwrite: bool = False) -> None:
    """Write ``keyset`` to ``path`` with mode 0600, atomically; refuse to replace a file."""
    if path.exists() and not overwrite:
        raise KeyringError(
            f"{path}: a keyset already exists here; choose another path "
            "(replacing it would make every token and surrogate made with it unreproducible)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "format": KEYSET_FORMAT,
        "version": KEYSET_VERSION,
        "keys": [_entry(k, keyset.protector) for k in keyset.keys],
    }
    if keyset.protector is not None:
        doc["protection"] = keyset.protector.describe()
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _entry(key: Key, protector: KeyProtector | None) -> dict[str, str]:
    entry = {"id": key.key_id, "purpose": key.purpose, "created": key.created}
    if protector is None:
        entry["material"] = base64.b64encode(key.material).decode("ascii")
    else:
        wrapped = protector.wrap(key.key_id, key.purpose, key.material)
        entry["wrapped"] = base64.b64encode(wrapped).decode("ascii")
    return entry


def _parse_key(entry: Any, source: str, index: int, protector: KeyProtector | None) -> Key:
    where = f"{source}: keys[{index}]"
    if not isinstance(entry, dict):
        raise KeyringError(f"{where} is not an object; restore the keyset from backup")
    field_name = "material" if protector is None else "wrapped"
    try:
        key_id, purpose = str(entry["id"]), str(entry["purpose"])
        blob = base64.b64decode(str(entry[field_name]), validate=True)
        created = str(entry.get("created", ""))
    except (KeyError, ValueError):
        # The original exception may quote the material, so it is deliberately not chained.
        raise KeyringError(
            f"{where} is malformed (needs id, purpose, base64 {field_name}); restore it from backup"
        ) from None
    material = blob if protector is None else protector.unwrap(key_id, purpose, blob)
    if len(material) != KEY_BYTES:
        raise KeyringError(f"{where} ({key_id}) is not a 256-bit key; restore it from backup")
    return Key(key_id=key_id, purpose=purpose, created=created, material=material)


def load_keyset(path: Path, *, passphrase: Callable[[], str] = passphrase_from_env) -> Keyset:
    """Read a keyset file, unwrapping its keys; any problem is a KeyringError with the fix.

    ``passphrase`` is called only for a passphrase-protected file (default: the
    ANONYMIZER_PASSPHRASE environment variable).
    """
    source = str(path)
    if not path.is_file():
        raise KeyringError(
            f"{source}: keyset not found; create one with: anonymizer keys init {source}"
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(
            f"{source}: keyset is readable by other users (mode {mode:o}); run: chmod 600 {source}"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringError(
            f"{source}: not a readable keyset file; point --keyset at a file made by "
            "'anonymizer keys init'"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != KEYSET_FORMAT:
        raise KeyringError(
            f"{source}: not an anonymizer keyset; point --keyset at a file made by "
            "'anonymizer keys init'"
        )
    if doc.get("version") != KEYSET_VERSION:
        raise KeyringError(
            f"{source}: keyset version {doc.get('version')!r} is not supported by this release "
            f"(expected {KEYSET_VERSION}); upgrade anonymizer"
        )
    entries = doc.get("keys")
    if not isinstance(entries, list) or not entries:
        raise KeyringError(f"{source}: keyset has no keys; create one with anonymizer keys init")
    protection = doc.get("protection")
    protector = (
        None
        if protection is None
        else protector_from_description(dict(protection), passphrase, source)
    )
    keys = tuple(_parse_key(entry, source, i, protector) for i, entry in enumerate(entries))
    return Keyset(keys=keys, source=source, protector=protector)


def resolve_keyset_path(explicit: Path | None) -> Path | None:
    """The keyset path from ``--keyset`` or the ANONYMIZER_KEYSET environment variable."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(KEYSET_ENV_VAR)
    return Path(from_env) if from_env else None
