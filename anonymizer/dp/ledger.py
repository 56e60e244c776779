"""The privacy ledger: signed receipts of every DP training run on a dataset.

Receipts live beside the data in ``anonymizer-dp-ledger.json`` — a JSON list of DSSE envelopes,
each an in-toto Statement whose subject is the dataset's manifest (by SHA-256) and whose
predicate is the receipt. Every receipt must verify against the trust file; one that does not
refuses the whole dataset (a forged or edited receipt could hide spent budget). Appends are
atomic (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from anonymizer.crypto.keyset import Key
from anonymizer.errors import ManifestError
from anonymizer.lineage.manifest import LEDGER_NAME, MANIFEST_NAME, sha256_file
from anonymizer.lineage.signing import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    envelope_payload,
    sign_envelope,
    verified_key_id,
)

RECEIPT_TYPE = PREDICATE_TYPE.replace("/run/", "/dp-receipt/")


class LedgerError(ManifestError):
    """The ledger is unreadable, or a receipt in it does not verify."""


def _read(root: Path) -> list[dict[str, Any]]:
    path = root / LEDGER_NAME
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LedgerError(f"{path}: not valid JSON; restore it from a backup") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise LedgerError(f"{path}: not a list of signed receipts; restore it from a backup")
    return entries


def receipts(root: Path, trusted: dict[str, str]) -> list[dict[str, Any]]:
    """Every receipt on the dataset at ``root``, each verified; LedgerError if any is not."""
    manifest_digest = sha256_file(root / MANIFEST_NAME)
    found = []
    for number, envelope in enumerate(_read(root), start=1):
        try:
            verified_key_id(envelope, trusted)
            statement = json.loads(envelope_payload(envelope))
        except (ManifestError, ValueError):
            raise LedgerError(
                f"{root / LEDGER_NAME}: receipt {number} is not signed by a trusted key"
            ) from None
        subject = statement.get("subject") or [{}]
        if (
            statement.get("predicateType") != RECEIPT_TYPE
            or subject[0].get("digest", {}).get("sha256") != manifest_digest
        ):
            raise LedgerError(
                f"{root / LEDGER_NAME}: receipt {number} belongs to another dataset or manifest"
            )
        found.append(statement["predicate"])
    return found


def spent(root: Path, trusted: dict[str, str]) -> float:
    """ε spent so far on the dataset (sequential composition: the sum over receipts)."""
    return float(sum(float(r["epsilon"]) for r in receipts(root, trusted)))


def append(root: Path, receipt: dict[str, Any], key: Key) -> dict[str, Any]:
    """Sign ``receipt`` over the dataset's manifest and add it to the ledger atomically."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": MANIFEST_NAME, "digest": {"sha256": sha256_file(root / MANIFEST_NAME)}}
        ],
        "predicateType": RECEIPT_TYPE,
        "predicate": receipt,
    }
    envelope = sign_envelope(statement, key)
    path = root / LEDGER_NAME
    tmp = path.with_name(f".{LEDGER_NAME}.tmp")
    tmp.write_text(json.dumps([*_read(root), envelope], indent=2) + "\n", encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return envelope
