"""The privacy ledger: signed receipts of every DP training run on a dataset.

Receipts live beside the data in ``anonymizer-dp-ledger.json`` — a JSON list of DSSE envelopes,
each an in-toto Statement whose subject is the dataset's manifest (by SHA-256) and whose
predicate is the receipt. Every receipt must verify against the trust file; one that does not
refuses the whole dataset (a forged or edited receipt could hide spent budget). Appends are
atomic (temporary file, then rename); see ``anonymizer_ml.lineage.sidecar``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anonymizer_ml.crypto.keyset import Key
from anonymizer_ml.lineage.manifest import LEDGER_NAME
from anonymizer_ml.lineage.sidecar import SidecarError, append_record, verified_records
from anonymizer_ml.lineage.signing import PREDICATE_TYPE

RECEIPT_TYPE = PREDICATE_TYPE.replace("/run/", "/dp-receipt/")


class LedgerError(SidecarError):
    """The ledger is unreadable, or a receipt in it does not verify."""


def receipts(root: Path, trusted: dict[str, str]) -> list[dict[str, Any]]:
    """Every receipt on the dataset at ``root``, each verified; LedgerError if any is not."""
    return verified_records(
        root, LEDGER_NAME, RECEIPT_TYPE, trusted, noun="receipt", error=LedgerError
    )


def spent(root: Path, trusted: dict[str, str]) -> float:
    """ε spent so far on the dataset (sequential composition: the sum over receipts)."""
    return float(sum(float(r["epsilon"]) for r in receipts(root, trusted)))


def append(root: Path, receipt: dict[str, Any], key: Key) -> dict[str, Any]:
    """Sign ``receipt`` over the dataset's manifest and add it to the ledger atomically."""
    return append_record(root, LEDGER_NAME, RECEIPT_TYPE, receipt, key, error=LedgerError)
