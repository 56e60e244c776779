"""Whole-column encryption at rest with Parquet modular encryption (AES-GCM, via Polars).

Columns named in the policy's ``at_rest`` section stay in the output file but are written
encrypted: each column with its own 256-bit key, derived by HKDF-SHA-256 from the keyset key the
section names (``encrypt`` by default), the dataset id and the column name. The footer stays
plaintext (signed), so anyone can read the schema and the other columns; the listed columns,
including their statistics, need the key. The file's AAD prefix binds dataset and file name.
"""

from __future__ import annotations

import polars as pl

from anonymizer.crypto.keyset import Keyset
from anonymizer.crypto.primitives import GCM_KEY_BYTES, derive_key
from anonymizer.policy.models import Policy


def _key(material: bytes, dataset: str, role: str) -> bytes:
    info = b"|".join([b"anonymizer-parquet-v1", dataset.encode(), role.encode()])
    return derive_key(material, salt=b"", info=info, length=GCM_KEY_BYTES)


def _keys(policy: Policy, keyset: Keyset) -> tuple[bytes, dict[str, bytes]]:
    assert policy.at_rest is not None
    material = keyset.for_purpose(policy.at_rest.key).material
    dataset = policy.dataset_id
    columns = {c: _key(material, dataset, f"column:{c}") for c in policy.at_rest.columns}
    return _key(material, dataset, "footer"), columns


def encryption_properties(
    policy: Policy, keyset: Keyset | None, file_name: str
) -> pl.ParquetEncryptionProperties | None:
    """Writer properties for one output file, or None when the policy has no at_rest section."""
    if policy.at_rest is None or keyset is None:
        return None
    footer, columns = _keys(policy, keyset)
    return pl.ParquetEncryptionProperties(
        footer_key=footer,
        column_keys=columns,
        plaintext_footer=True,
        aad_prefix=f"{policy.dataset_id}|{file_name}".encode(),
        store_aad_prefix=True,
    )


def decryption_properties(policy: Policy, keyset: Keyset) -> pl.ParquetDecryptionProperties | None:
    """Reader properties for files written under ``policy`` (None without at_rest)."""
    if policy.at_rest is None:
        return None
    footer, columns = _keys(policy, keyset)
    return pl.ParquetDecryptionProperties(footer_key=footer, column_keys=columns)
