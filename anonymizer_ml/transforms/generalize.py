"""generalize: numeric buckets or edges with top/bottom coding, date truncation, prefixes."""

from __future__ import annotations

import itertools

import polars as pl

from anonymizer_ml.policy.models import GeneralizeRule
from anonymizer_ml.transforms.base import (
    BuildContext,
    Transform,
    TransformSpec,
    as_text,
    is_temporal,
    is_text,
    need,
)

_TRUNCATE_EVERY = {"year": "1y", "quarter": "1q", "month": "1mo"}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _integral(rule: GeneralizeRule, dtype: pl.DataType) -> bool:
    """Integer columns with whole-number parameters get closed labels like ``30-39``."""
    numbers = [rule.width, rule.origin, rule.top, rule.bottom, *(rule.edges or ())]
    return dtype.is_integer() and all(v is None or float(v).is_integer() for v in numbers)


def interval_label(low: float, high: float, integral: bool) -> str:
    """The label of the bucket [low, high): ``30-39`` for integers, ``[30.5, 40.5)`` otherwise."""
    if integral:
        return f"{_number(low)}-{_number(high - 1)}"
    return f"[{_number(low)}, {_number(high)})"


def _tail_coded(rule: GeneralizeRule, value: pl.Expr, body: pl.Expr) -> pl.Expr:
    """Apply bottom/top coding around the bucketed ``body``."""
    coded = body
    if rule.top is not None:
        coded = pl.when(value >= rule.top).then(pl.lit(f">={_number(rule.top)}")).otherwise(coded)
    if rule.bottom is not None:
        coded = (
            pl.when(value < rule.bottom).then(pl.lit(f"<{_number(rule.bottom)}")).otherwise(coded)
        )
    return coded


def _width_buckets(rule: GeneralizeRule, value: pl.Expr, integral: bool) -> pl.Expr:
    assert rule.width is not None
    if integral:
        # Integer arithmetic: float division would misplace large int64 values.
        width, origin = int(rule.width), int(rule.origin)
        low_i = (value.cast(pl.Int64) - origin) // width * width + origin
        high_i = low_i + (width - 1)
        return low_i.cast(pl.String) + pl.lit("-") + high_i.cast(pl.String)
    number = value.cast(pl.Float64)
    guess = ((number - rule.origin) / rule.width).floor() * rule.width + rule.origin
    # Division rounding can put the guess one bucket off; step back or forward by one. Plain
    # arithmetic, not when/then: a branch is evaluated on a filtered array, where Polars may
    # divide by another kernel (reciprocal or not) and get a different guess than the test did.
    step_back = (number < guess).cast(pl.Float64)
    step_forward = (number >= guess + rule.width).cast(pl.Float64)
    low = guess + (step_forward - step_back) * rule.width
    high = low + rule.width
    return pl.lit("[") + low.cast(pl.String) + pl.lit(", ") + high.cast(pl.String) + pl.lit(")")


def _edge_buckets(edges: tuple[float, ...], value: pl.Expr, integral: bool) -> pl.Expr:
    chain: pl.Expr = pl.lit(f">={_number(edges[-1])}")
    for low, high in reversed(list(itertools.pairwise(edges))):
        chain = (
            pl.when(value < high).then(pl.lit(interval_label(low, high, integral))).otherwise(chain)
        )
    return pl.when(value < edges[0]).then(pl.lit(f"<{_number(edges[0])}")).otherwise(chain)


class Generalize(Transform[GeneralizeRule]):
    """Coarsen values by bucket width, edges, date part or kept prefix (one mode per rule)."""

    spec = TransformSpec("generalize", "1", True, True, False, True, False)

    def check(
        self, rule: GeneralizeRule, column: str, dtype: pl.DataType, schema: pl.Schema
    ) -> list[str]:
        """Numeric modes need numbers, date_part needs dates, keep_prefix needs text."""
        if rule.mode in ("width", "edges"):
            return need(
                dtype.is_numeric(), column, f"{rule.mode} needs a numeric column, not {dtype}"
            )
        if rule.mode == "date_part":
            return need(is_temporal(dtype), column, f"date_part needs a date column, not {dtype}")
        return need(
            is_text(dtype) or dtype.is_integer(),
            column,
            f"keep_prefix needs a text or integer column, not {dtype}",
        )

    def expression(self, rule: GeneralizeRule, ctx: BuildContext) -> pl.Expr:
        """The generalised column; nulls stay null."""
        col = pl.col(ctx.column)
        if rule.date_part is not None:
            return col.dt.truncate(_TRUNCATE_EVERY[rule.date_part])
        if rule.keep_prefix is not None:
            text = as_text(col, ctx.dtype)
            fill = rule.fill.replace("$", "$$")
            return text.str.head(rule.keep_prefix) + text.str.slice(
                rule.keep_prefix
            ).str.replace_all("(?s).", fill)
        integral = _integral(rule, ctx.dtype)
        if rule.edges is not None:
            body = _edge_buckets(rule.edges, col, integral)
        else:
            body = _width_buckets(rule, col, integral)
        coded = _tail_coded(rule, col, body)
        return pl.when(col.is_null()).then(pl.lit(None, pl.String)).otherwise(coded)
