"""Whole-column encryption at rest with Parquet modular encryption (AES-GCM, via Polars).

Columns named in the policy's ``at_rest`` section stay in the output file but are written
encrypted: each column with its own 256-bit key, derived by HKDF-SHA-256 from the keyset key the
section names (``encrypt`` by default), the dataset id and the column name. The footer stays
plaintext (signed), so anyone can read the schema and the other columns; the listed columns,
including their statistics, need the key. The file's AAD prefix binds dataset and file name.

The footer's key-value metadata records which keyset key id, columns and file name the file was
written with (never key material), so a reader picks that key even after the purpose was rotated
and can say "wrong key for at-rest column X (key id …)" instead of failing obscurely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.primitives import GCM_KEY_BYTES, derive_key
from anonymizer_ml.errors import DecryptionError, InputError
from anonymizer_ml.policy.models import Policy

AT_REST_METADATA = "anonymizer.at_rest"


@dataclass(frozen=True)
class AtRestRecord:
    """What a file says about its at-rest encryption: key id, columns, the file name in its AAD."""

    key_id: str
    columns: tuple[str, ...]
    file: str

    def metadata(self) -> dict[str, str]:
        """The footer key-value entry that records this (no secret in it)."""
        doc = {"key_id": self.key_id, "columns": list(self.columns), "file": self.file}
        return {AT_REST_METADATA: json.dumps(doc, sort_keys=True)}

    def wrong_key(self, source: Path | str) -> DecryptionError:
        """The error for a keyset that cannot open these columns."""
        names = ", ".join(repr(c) for c in self.columns)
        return DecryptionError(
            f"{source}: wrong key for at-rest column(s) {names} (key id {self.key_id}); "
            "use the keyset that wrote the file (a rotated keyset keeps its old keys)"
        )


def _key(material: bytes, dataset: str, role: str) -> bytes:
    info = b"|".join([b"anonymizer-parquet-v1", dataset.encode(), role.encode()])
    return derive_key(material, salt=b"", info=info, length=GCM_KEY_BYTES)


def _keys(
    material: bytes, dataset: str, columns: tuple[str, ...]
) -> tuple[bytes, dict[str, bytes]]:
    column_keys = {c: _key(material, dataset, f"column:{c}") for c in columns}
    return _key(material, dataset, "footer"), column_keys


def written_record(policy: Policy, keyset: Keyset, file_name: str) -> AtRestRecord | None:
    """The record of a file about to be written under ``policy`` with the primary key."""
    if policy.at_rest is None:
        return None
    key_id = keyset.for_purpose(policy.at_rest.key).key_id
    return AtRestRecord(key_id, tuple(policy.at_rest.columns), file_name)


def properties_for(
    record: AtRestRecord, policy: Policy, keyset: Keyset
) -> pl.ParquetEncryptionProperties:
    """Writer properties that encrypt ``record.columns`` under the key ``record`` names."""
    footer, columns = _keys(
        _material(record, keyset, "<output>"), policy.dataset_id, record.columns
    )
    return pl.ParquetEncryptionProperties(
        footer_key=footer,
        column_keys=columns,
        plaintext_footer=True,
        aad_prefix=f"{policy.dataset_id}|{record.file}".encode(),
        store_aad_prefix=True,
    )


def read_record(source: Path) -> AtRestRecord | None:
    """The at-rest record in a file's (plaintext) footer; None for a file without one."""
    try:
        raw = (pq.read_metadata(source).metadata or {}).get(AT_REST_METADATA.encode())
    except (OSError, pa.ArrowException):
        raise InputError(f"{source}: not a readable Parquet file; check the input path") from None
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        return AtRestRecord(str(doc["key_id"]), tuple(map(str, doc["columns"])), str(doc["file"]))
    except (ValueError, KeyError, TypeError):
        raise InputError(
            f"{source}: its at-rest encryption record is malformed; restore the file"
        ) from None


def _material(record: AtRestRecord, keyset: Keyset, source: Path | str) -> bytes:
    key = keyset.by_id(record.key_id)
    if key is None:
        raise record.wrong_key(source)
    return key.material


def decryption_properties(
    policy: Policy, keyset: Keyset, source: Path | None = None
) -> pl.ParquetDecryptionProperties | None:
    """Reader properties for a file written under ``policy`` (None when nothing is at rest).

    With ``source``, the key is the one the file records (any generation still in the keyset);
    DecryptionError naming the columns and key id when the keyset does not hold it or it does
    not open the file. Files without a record (older releases) are read with the purpose's
    primary key.
    """
    record = read_record(source) if source is not None else None
    if source is None or record is None:
        if policy.at_rest is None:
            return None
        material = keyset.for_purpose(policy.at_rest.key).material
        footer, columns = _keys(material, policy.dataset_id, tuple(policy.at_rest.columns))
        return pl.ParquetDecryptionProperties(footer_key=footer, column_keys=columns)
    return recorded_properties(policy, keyset, source, record)


def recorded_properties(
    policy: Policy, keyset: Keyset, source: Path, record: AtRestRecord
) -> pl.ParquetDecryptionProperties:
    """Reader properties for ``source`` under the key its ``record`` names, checked."""
    material = _material(record, keyset, source)
    footer, columns = _keys(material, policy.dataset_id, record.columns)
    props = pl.ParquetDecryptionProperties(footer_key=footer, column_keys=columns)
    # The footer is signed under a key derived from the same keyset key and dataset: a wrong key
    # (or a wrong ``dataset:`` in the policy) fails on this short read, before anything is written.
    try:
        pl.scan_parquet(source, decryption=props).select(record.columns[0]).head(1).collect()
    except pl.exceptions.PolarsError:
        raise record.wrong_key(source) from None
    return props
