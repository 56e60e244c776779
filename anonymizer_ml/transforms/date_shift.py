"""date_shift: move every date of a subject by the same keyed offset in [-N, +N] days.

The offset comes from HMAC(key, subject value), so intervals between one subject's dates are
kept exactly while the absolute dates are hidden. A row whose subject is null gets a null date:
an unshifted date would leak, and no consistent offset exists for it.
"""

from __future__ import annotations

import polars as pl

from anonymizer_ml.crypto.keyset import Key
from anonymizer_ml.policy.models import DateShiftRule
from anonymizer_ml.transforms.base import (
    BuildContext,
    Transform,
    TransformSpec,
    as_text,
    is_temporal,
    need,
)
from anonymizer_ml.transforms.keyed import hmac_hex, hmac_slice_int, reference_hmac_hex


def offset_days(subject: str, max_days: int, key: Key) -> int:
    """Reference (pure Python) offset in days for one subject; the expression agrees with it."""
    return int(reference_hmac_hex(subject, key)[:12], 16) % (2 * max_days + 1) - max_days


class DateShift(Transform[DateShiftRule]):
    """Shift Date/Datetime values by a per-subject keyed offset."""

    spec = TransformSpec("date_shift", "1", True, True, False, True, False)

    def key_purpose(self, rule: DateShiftRule) -> str:
        """Offsets use the keyset key named by the rule (``date_shift`` by default)."""
        return rule.key

    def check(
        self, rule: DateShiftRule, column: str, dtype: pl.DataType, schema: pl.Schema
    ) -> list[str]:
        """The column must be a date and the subject column must exist."""
        problems = need(is_temporal(dtype), column, f"date_shift needs a date column, not {dtype}")
        problems += need(
            rule.subject in schema,
            column,
            f"subject column {rule.subject!r} is not in the data; name an existing column",
        )
        return problems

    def expression(self, rule: DateShiftRule, ctx: BuildContext) -> pl.Expr:
        """The date plus the subject's offset in days."""
        subject_dtype = ctx.schema[rule.subject]
        mac = hmac_hex(
            as_text(pl.col(rule.subject), subject_dtype), ctx.key(rule.key, "date_shift")
        )
        offset = hmac_slice_int(mac, 0) % (2 * rule.max_days + 1) - rule.max_days
        return pl.col(ctx.column) + pl.duration(days=offset)
