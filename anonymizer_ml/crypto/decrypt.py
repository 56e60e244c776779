"""Decrypt encrypted columns back to their plaintext, for the holders of the key.

Any failure — wrong or missing key, a changed byte, a cell moved to another column, row or
dataset — is one opaque DecryptionError naming only the column; nothing says which check failed.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

from anonymizer_ml import pending
from anonymizer_ml.crypto.at_rest import (
    AtRestRecord,
    decryption_properties,
    properties_for,
    read_record,
    recorded_properties,
)
from anonymizer_ml.crypto.envelope import KIND_TEXT, Envelope
from anonymizer_ml.crypto.field import FieldDecryptor
from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import DecryptionError, InputError, OutputError, PlanError
from anonymizer_ml.pending import TMP_MARKER
from anonymizer_ml.policy.models import EncryptRule, Policy
from anonymizer_ml.streaming import bounded_prefetch

# Seals decrypted columns again: (frame, the columns' encrypt rules, subject store) → frame.
Reseal = Callable[[pl.LazyFrame, dict[str, EncryptRule], SubjectKeyStore | None], pl.LazyFrame]


@dataclass
class _Failures:
    """Which column's cell failed, noted before the error crosses Polars (which rewraps it),
    and each column's decryptor (which counts the cells of erased subjects)."""

    columns: list[str] = field(default_factory=list)
    decryptors: dict[str, FieldDecryptor] = field(default_factory=dict)

    def erased(self) -> dict[str, int]:
        """Cells per column that opened to null because their subject was erased."""
        return {c: d.erased for c, d in self.decryptors.items() if d.erased}


def _cell_bytes(value: bytes | str, rule: EncryptRule) -> bytes:
    if rule.output == "binary":
        return value if isinstance(value, bytes) else b""
    try:
        return base64.urlsafe_b64decode(str(value).encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise DecryptionError() from None


def _rules(policy: Policy, schema: pl.Schema, columns: list[str]) -> dict[str, EncryptRule]:
    """The cell-encryption rules of ``columns`` (at-rest columns are opened by the reader)."""
    rules: dict[str, EncryptRule] = {}
    at_rest = set(policy.at_rest.columns) if policy.at_rest is not None else set()
    for column in columns:
        rule = policy.columns.get(column)
        if column in at_rest and not isinstance(rule, EncryptRule):
            continue
        if not isinstance(rule, EncryptRule):
            raise PlanError(
                f"column {column!r} is not encrypted by policy {policy.name!r}; "
                "name only columns whose action is encrypt"
            )
        if column not in schema:
            raise PlanError(f"column {column!r} is not in the data; check --columns")
        rules[column] = rule
    return rules


def _plaintext_dtype(frame: pl.LazyFrame, column: str, rule: EncryptRule) -> pl.DataType:
    """Text or binary, from the first non-null cell (a short read, never the whole column)."""
    first = frame.select(pl.col(column).drop_nulls().first()).collect().item()
    if first is None:
        return pl.String()
    envelope = Envelope.parse(_cell_bytes(first, rule))
    return pl.String() if envelope.kind == KIND_TEXT else pl.Binary()


def _expression(
    column: str,
    rule: EncryptRule,
    decryptor: FieldDecryptor,
    dtype: pl.DataType,
    failures: _Failures,
) -> pl.Expr:
    def open_cell(value: bytes | str, row_key: object) -> str | bytes | None:
        key = None if row_key is None else str(row_key).encode("utf-8")
        plaintext = decryptor.decrypt(_cell_bytes(value, rule), key)
        if plaintext is not None and isinstance(plaintext, str) != (dtype == pl.String):
            raise DecryptionError()
        return plaintext

    def open_batch(series: pl.Series) -> pl.Series:
        values, keys = series.struct.field("v"), series.struct.field("k")
        try:
            plain = [
                None if v is None else open_cell(v, k) for v, k in zip(values, keys, strict=True)
            ]
        except DecryptionError:
            failures.columns.append(column)
            raise
        return pl.Series(column, plain, dtype=dtype)

    if rule.row_key is None:

        def open_plain(series: pl.Series) -> pl.Series:
            try:
                if rule.output == "binary":
                    cells = series.to_arrow()
                else:
                    raw = [None if v is None else _cell_bytes(v, rule) for v in series.to_list()]
                    cells = pa.array(raw, pa.large_binary())
                plain = decryptor.decrypt_array(cells, text=dtype == pl.String)
            except DecryptionError:
                failures.columns.append(column)
                raise
            return pl.Series(column, plain).cast(dtype)

        return pl.col(column).map_batches(open_plain, return_dtype=dtype, is_elementwise=True)

    row_key = pl.col(rule.row_key)
    pair = pl.struct(pl.col(column).alias("v"), row_key.alias("k"))
    return pair.map_batches(open_batch, return_dtype=dtype, is_elementwise=True).alias(column)


def _decrypting(
    frame: pl.LazyFrame,
    policy: Policy,
    keyset: Keyset,
    columns: list[str],
    subjects: SubjectKeyStore | None = None,
) -> tuple[pl.LazyFrame, _Failures, dict[str, EncryptRule]]:
    failures = _Failures()
    rules = _rules(policy, frame.collect_schema(), columns)
    expressions = []
    for column, rule in rules.items():
        decryptor = FieldDecryptor(
            keyset, dataset=policy.dataset_id, column=column, subjects=subjects
        )
        failures.decryptors[column] = decryptor
        dtype = _plaintext_dtype(frame, column, rule)
        expressions.append(_expression(column, rule, decryptor, dtype, failures))
    return frame.with_columns(expressions), failures, rules


def _output_at_rest(
    policy: Policy,
    keyset: Keyset,
    source: Path,
    record: AtRestRecord | None,
    columns: list[str],
    reencrypt: bool,
) -> AtRestRecord | None:
    """What stays encrypted at rest in the output, and under which key.

    Decrypting opens only the at-rest columns asked for; the others stay sealed under the key
    they had. Re-encrypting seals every at-rest column under the primary key of that key's
    purpose, so the old key can be retired.
    """
    if record is None and policy.at_rest is not None:
        primary = keyset.for_purpose(policy.at_rest.key).key_id
        record = AtRestRecord(primary, tuple(policy.at_rest.columns), source.name)
    if record is None:
        return None
    if reencrypt:
        key = keyset.by_id(record.key_id)
        if key is None:
            raise record.wrong_key(source)
        return AtRestRecord(keyset.for_purpose(key.purpose).key_id, record.columns, record.file)
    remaining = tuple(c for c in record.columns if c not in columns)
    return AtRestRecord(record.key_id, remaining, record.file) if remaining else None


def _failed(failures: _Failures, where: str) -> DecryptionError:
    column = failures.columns[0] if failures.columns else "?"
    return DecryptionError(
        f"{where}: decryption failed in column {column!r} (wrong key, or the data was altered "
        "or moved); nothing was written"
    )


def decrypt_frame(
    frame: pl.DataFrame,
    policy: Policy,
    keyset: Keyset,
    columns: list[str],
    *,
    subjects: SubjectKeyStore | None = None,
) -> pl.DataFrame:
    """A copy of ``frame`` with ``columns`` decrypted; DecryptionError if any cell fails."""
    query, failures, _ = _decrypting(frame.lazy(), policy, keyset, columns, subjects)
    try:
        return query.collect()
    except (pl.exceptions.PolarsError, DecryptionError):
        # Polars re-raises a UDF's exception with its query plan appended: say it in one line.
        if failures.columns:
            raise _failed(failures, "frame") from None
        raise


def decrypt_file(
    policy: Policy,
    keyset: Keyset,
    columns: list[str],
    source: Path,
    target: Path,
    *,
    reseal: Reseal | None = None,
    subjects: SubjectKeyStore | None = None,
) -> dict[str, int]:
    """Stream ``source`` to ``target`` with ``columns`` decrypted, atomically.

    With ``reseal`` (the runner's ``reencrypt_file`` passes the encrypt transform) the decrypted
    columns are sealed again, and at-rest columns too, under the keyset's primary keys, so old
    keys can be retired once every file has been rewritten. Cells of erased subjects
    (``keys forget``) come out null; the count per column is returned.
    """
    reencrypt = reseal is not None
    if target.resolve() == source.resolve():
        raise InputError(f"{target}: would overwrite the input; choose another output file")
    record = read_record(source)  # the footer once: for reading, and for what stays sealed
    props = (
        recorded_properties(policy, keyset, source, record)
        if record is not None
        else decryption_properties(policy, keyset)
    )
    at_rest = _output_at_rest(policy, keyset, source, record, columns, reencrypt)
    try:
        frame = pl.scan_parquet(source, decryption=props)
        query, failures, rules = _decrypting(frame, policy, keyset, columns, subjects)
        if reseal is not None:
            query = reseal(query, rules, subjects)
    except (pl.exceptions.PolarsError, OSError):
        raise InputError(f"{source}: not a readable Parquet file; check the input path") from None
    except DecryptionError:
        raise DecryptionError(
            f"{source}: decryption failed (wrong key, or the data was altered or moved); "
            "nothing was written"
        ) from None
    tmp = pending.register(target.with_name(f"{TMP_MARKER}{secrets.token_hex(8)}-{target.name}"))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with bounded_prefetch():
            query.sink_parquet(
                tmp,
                engine="streaming",
                metadata=at_rest.metadata() if at_rest is not None else None,
                encryption=properties_for(at_rest, policy, keyset) if at_rest is not None else None,
            )
        os.replace(tmp, target)
    except (pl.exceptions.PolarsError, DecryptionError, OSError) as exc:
        if failures.columns:
            raise _failed(failures, str(source)) from None
        if (written := OutputError.of_write(target, exc)) is not None:
            raise written from None
        raise InputError(
            f"{source}: failed while decrypting; check that it is valid Parquet"
        ) from None
    finally:
        pending.release(tmp)
    return failures.erased()
