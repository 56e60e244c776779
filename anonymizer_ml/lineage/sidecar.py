"""Signed records beside a release: lists of DSSE envelopes that each point at its manifest.

The DP ledger (receipts of training runs) and the erasure log (subjects crypto-shredded after
the release) are such files. Each entry is an in-toto Statement whose subject is the release's
manifest (by SHA-256) and whose predicate is the record; every entry must verify against the
trust file, and one that does not refuses the whole file (a forged or edited entry could hide
spent budget or an erasure). Appends are atomic (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from anonymizer_ml import pending
from anonymizer_ml.crypto.keyset import Key
from anonymizer_ml.errors import ManifestError
from anonymizer_ml.lineage.manifest import MANIFEST_NAME, sha256_file
from anonymizer_ml.lineage.signing import (
    STATEMENT_TYPE,
    envelope_payload,
    sign_envelope,
    verified_key_id,
)
from anonymizer_ml.pending import TMP_MARKER


class SidecarError(ManifestError):
    """A signed record file is unreadable, or an entry in it does not verify."""


def _read(path: Path, error: type[SidecarError]) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise error(f"{path}: not valid JSON; restore it from a backup") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise error(f"{path}: not a list of signed records; restore it from a backup")
    return entries


def verified_records(
    root: Path,
    name: str,
    predicate_type: str,
    trusted: dict[str, str],
    *,
    noun: str = "record",
    error: type[SidecarError] = SidecarError,
) -> list[dict[str, Any]]:
    """The predicate of every entry in ``root/name``, each verified; ``error`` if one is not."""
    manifest_digest = sha256_file(root / MANIFEST_NAME)
    found = []
    for number, envelope in enumerate(_read(root / name, error), start=1):
        try:
            verified_key_id(envelope, trusted)
            statement = json.loads(envelope_payload(envelope))
        except (ManifestError, ValueError):
            raise error(f"{root / name}: {noun} {number} is not signed by a trusted key") from None
        subject = statement.get("subject") or [{}]
        if (
            statement.get("predicateType") != predicate_type
            or subject[0].get("digest", {}).get("sha256") != manifest_digest
        ):
            raise error(f"{root / name}: {noun} {number} belongs to another dataset or manifest")
        found.append(statement["predicate"])
    return found


def append_record(
    root: Path,
    name: str,
    predicate_type: str,
    predicate: dict[str, Any],
    key: Key,
    *,
    error: type[SidecarError] = SidecarError,
) -> dict[str, Any]:
    """Sign ``predicate`` over the release's manifest and add it to ``root/name`` atomically."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": MANIFEST_NAME, "digest": {"sha256": sha256_file(root / MANIFEST_NAME)}}
        ],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    envelope = sign_envelope(statement, key)
    path = root / name
    tmp = pending.register(path.with_name(f"{TMP_MARKER}{name}"))
    try:
        entries = [*_read(path, error), envelope]
        tmp.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        pending.release(tmp)
    return envelope
