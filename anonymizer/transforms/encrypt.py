"""encrypt: field-level AES-256-GCM (or deterministic AES-SIV) inside the streaming plan.

Each compiled plan gets its own FieldEncryptor per column, so every output file has a fresh
subkey and nonce counter. Encryption runs in Python per value (pyca ``cryptography``), inside
``map_batches(..., is_elementwise=True)`` so the column still streams.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import polars as pl

from anonymizer.crypto.field import FieldEncryptor
from anonymizer.policy.models import EncryptRule
from anonymizer.transforms.base import BuildContext, Transform, TransformSpec, as_text, need

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
        if rule.row_key is not None:
            problems += need(
                rule.row_key in schema,
                column,
                f"row_key column {rule.row_key!r} is not in the data; name an existing column",
            )
        return problems

    def expression(self, rule: EncryptRule, ctx: BuildContext) -> pl.Expr:
        """An elementwise Python batch function sealing each non-null value."""
        encryptor = FieldEncryptor(
            ctx.key(rule.key, "encrypt"),
            dataset=ctx.dataset,
            column=ctx.column,
            deterministic=rule.deterministic,
        )
        encode, dtype = _encoder(rule.output)
        value = as_text(pl.col(ctx.column), ctx.dtype)
        if rule.row_key is None:

            def seal(series: pl.Series) -> pl.Series:
                cells = [None if v is None else encode(encryptor.encrypt(v)) for v in series]
                return pl.Series(series.name, cells, dtype=dtype)

            return value.map_batches(seal, return_dtype=dtype, is_elementwise=True)

        def seal_keyed(series: pl.Series) -> pl.Series:
            values, keys = series.struct.field("v"), series.struct.field("k")
            cells = [
                None if v is None else encode(encryptor.encrypt(v, _row_key(k)))
                for v, k in zip(values, keys, strict=True)
            ]
            return pl.Series(series.name, cells, dtype=dtype)

        pair = pl.struct(value.alias("v"), pl.col(rule.row_key).alias("k"))
        return pair.map_batches(seal_keyed, return_dtype=dtype, is_elementwise=True)
