"""Erasure end to end: which cells of a release hold a subject, and a signed record of erasures.

``subject_cells`` counts, per file and column, the cells sealed under one subject's key (their
envelope names the subject's key id; a native scan, nothing is decrypted), and ``token_rows``
the rows whose subject column holds the subject's keyed token. After ``keys forget``
the erasure is recorded beside the release in ``anonymizer-erasures.json`` — signed entries over
the release's manifest, like DP receipts — so ``verify`` can say which subjects were erased and
when. The record names the subject only by its key id (a keyed token), never by its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from anonymizer_ml.crypto.keyset import Key
from anonymizer_ml.lineage.manifest import ERASURES_NAME
from anonymizer_ml.lineage.sidecar import SidecarError, append_record, verified_records
from anonymizer_ml.lineage.signing import PREDICATE_TYPE

ERASURE_TYPE = PREDICATE_TYPE.replace("/run/", "/erasure/")


class ErasureLogError(SidecarError):
    """The erasure log is unreadable, or an entry in it does not verify."""


def _sealed_under(column: str, output: str, key_id: str) -> pl.Expr:
    raw = key_id.encode("ascii")
    marker = bytes([len(raw)]) + raw  # the envelope's key-id field, with its length byte
    cells = pl.col(column)
    if output == "base64":  # URL-safe alphabet to the standard one, then decode
        text = cells.str.replace_all("-", "+", literal=True).str.replace_all("_", "/", literal=True)
        cells = text.str.decode("base64")
    return cells.bin.contains(marker)


def _matches(files: list[Path], root: Path, tests: dict[str, pl.Expr]) -> dict[str, int]:
    """Per ``file:column``, the rows where that column's boolean test holds (non-zero only)."""
    found: dict[str, int] = {}
    for path in files:
        present = [c for c in tests if c in pl.read_parquet_schema(path)]
        if not present:
            continue
        counts = (
            pl.scan_parquet(path)
            .select(tests[c].sum().alias(c) for c in present)
            .collect(engine="streaming")
        )
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        found.update({f"{name}:{c}": int(counts[c][0]) for c in present if counts[c][0]})
    return found


def subject_cells(
    files: list[Path], root: Path, columns: dict[str, str], key_id: str
) -> dict[str, int]:
    """Cells per ``file:column`` sealed under ``key_id``; ``columns`` maps each per-subject
    encrypted column to its cell output (``binary`` or ``base64``)."""
    tests = {c: _sealed_under(c, output, key_id) for c, output in columns.items()}
    return _matches(files, root, tests)


def token_rows(files: list[Path], root: Path, tokens: dict[str, str]) -> dict[str, int]:
    """Rows per ``file:column`` whose value is the subject's keyed token (``tokens``: column →
    the token the release's policy makes of the subject's value)."""
    tests = {c: pl.col(c).cast(pl.String) == token for c, token in tokens.items()}
    return _matches(files, root, tests)


def record_erasure(root: Path, erasure: dict[str, Any], key: Key) -> dict[str, Any]:
    """Append a signed erasure entry to the release at ``root``."""
    return append_record(root, ERASURES_NAME, ERASURE_TYPE, erasure, key, error=ErasureLogError)


def erasures(root: Path, trusted: dict[str, str]) -> list[dict[str, Any]]:
    """Every erasure recorded on the release at ``root``, each verified."""
    return verified_records(
        root, ERASURES_NAME, ERASURE_TYPE, trusted, noun="erasure record", error=ErasureLogError
    )
