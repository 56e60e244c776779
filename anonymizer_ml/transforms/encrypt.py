"""encrypt: field-level AES-256-GCM (or deterministic AES-SIV) inside the streaming plan.

Each compiled plan gets its own FieldEncryptor per column, so every output file has a fresh
subkey and nonce counter. A column without row keys or subjects is sealed a whole Arrow batch
at a time, on every core (``anonymizer_ml.crypto.pool``); the others per value in Python. Both run
inside ``map_batches(..., is_elementwise=True)`` so the column still streams.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import polars as pl

from anonymizer_ml.crypto.field import FieldEncryptor
from anonymizer_ml.crypto.subjects import SubjectFieldEncryptor
from anonymizer_ml.errors import InputError, KeyringError, PlanError
from anonymizer_ml.policy.models import EncryptRule
from anonymizer_ml.transforms.base import BuildContext, Transform, TransformSpec, as_text, need

Encode = Callable[[bytes], bytes | str]


def _encoder(output: str) -> tuple[Encode, pl.DataType]:
    if output == "base64":
        return (lambda cell: base64.urlsafe_b64encode(cell).decode("ascii")), pl.String()
    return (lambda cell: cell), pl.Binary()


def _row_key(value: object) -> bytes | None:
    return None if value is None else str(value).encode("utf-8")


class Encrypt(Transform[EncryptRule]):
    """Replace each value with its cell envelope (binary, or URL-safe base64 text)."""

    spec = TransformSpec("encrypt", "1", True, True, False, False, True)

    def key_purpose(self, rule: EncryptRule) -> str:
        """Encryption uses the keyset key named by the rule (``encrypt`` by default)."""
        return rule.key

    def check(
        self, rule: EncryptRule, column: str, dtype: pl.DataType, schema: pl.Schema
    ) -> list[str]:
        """Scalar columns only; a row key column must exist."""
        problems = need(not dtype.is_nested(), column, f"cannot encrypt a nested {dtype} column")
        for role, name in (("row_key", rule.row_key), ("subject", rule.subject)):
            if name is not None:
                problems += need(
                    name in schema,
                    column,
                    f"{role} column {name!r} is not in the data; name an existing column",
                )
        return problems

    def expression(self, rule: EncryptRule, ctx: BuildContext) -> pl.Expr:
        """An elementwise Python batch function sealing each non-null value."""
        seal, encryptor = _sealer(rule, ctx)
        encode, dtype = _encoder(rule.output)
        parts = [as_text(pl.col(ctx.column), ctx.dtype).alias("v")]
        parts += [pl.col(rule.subject).cast(pl.String).alias("s")] if rule.subject else []
        parts += [_row_key_output(rule.row_key, ctx).alias("k")] if rule.row_key else []

        if encryptor is not None and not rule.row_key:
            sealer = encryptor

            def seal_plain(series: pl.Series) -> pl.Series:
                cells = pl.Series(series.name, sealer.encrypt_array(series.to_arrow()))
                return cells.cast(pl.Binary)

            sealed = parts[0].map_batches(seal_plain, return_dtype=pl.Binary, is_elementwise=True)
            return sealed if rule.output == "binary" else _urlsafe_base64(sealed)

        def seal_batch(series: pl.Series) -> pl.Series:
            fields = series.struct.unnest()
            values = fields["v"].to_list()
            subjects = fields["s"].to_list() if rule.subject else [None] * len(values)
            keys = fields["k"].to_list() if rule.row_key else [None] * len(values)
            cells = [
                None if v is None else encode(seal(v, s, _row_key(k)))
                for v, s, k in zip(values, subjects, keys, strict=True)
            ]
            return pl.Series(series.name, cells, dtype=dtype)

        return pl.struct(parts).map_batches(seal_batch, return_dtype=dtype, is_elementwise=True)


def _urlsafe_base64(cells: pl.Expr) -> pl.Expr:
    """URL-safe base64 with padding (RFC 4648 §5), as ``base64.urlsafe_b64encode`` writes it."""
    standard = cells.bin.encode("base64")
    return standard.str.replace_all("+", "-", literal=True).str.replace_all("/", "_", literal=True)


def _row_key_output(row_key: str, ctx: BuildContext) -> pl.Expr:
    """The row key as the output will show it: decryption can only ever see that."""
    expression = ctx.output(row_key)
    if expression is None:
        raise PlanError(
            f"column {ctx.column!r}: row_key {row_key!r} is dropped from the output, so no one "
            "could ever decrypt; keep that column (or its token)"
        )
    return expression.cast(pl.String)


Seal = Callable[[str | bytes, str | None, bytes | None], bytes]


def _sealer(rule: EncryptRule, ctx: BuildContext) -> tuple[Seal, FieldEncryptor | None]:
    """The per-value sealing function: under the column-group key, or per subject (then there
    is no whole-array encryptor)."""
    if rule.subject is None:
        encryptor = FieldEncryptor(
            ctx.key(rule.key, "encrypt"),
            dataset=ctx.dataset,
            column=ctx.column,
            deterministic=rule.deterministic,
        )
        ctx.register_cipher(encryptor.ledger)
        return (lambda value, _subject, row_key: encryptor.encrypt(value, row_key)), encryptor
    if ctx.subjects is None:
        raise KeyringError(
            f"column {ctx.column!r} is encrypted per subject; pass --subject-keys PATH "
            "(a subject key store; it is created on first use)"
        )
    by_subject = SubjectFieldEncryptor(ctx.subjects, dataset=ctx.dataset, column=ctx.column)
    ctx.register_cipher(by_subject.ledger)

    def seal(value: str | bytes, subject: str | None, row_key: bytes | None) -> bytes:
        if subject is None:
            raise InputError(
                f"column {ctx.column!r}: a row has no subject in {rule.subject!r}; "
                "per-subject encryption needs one for every value"
            )
        return by_subject.encrypt(value, subject, row_key)

    return seal, None
