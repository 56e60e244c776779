"""Turn a privacy result into Polars expressions for the normal streaming pass.

Both algorithms end with a lookup: full-domain generalisation maps each QI value to its label at
the chosen level; Mondrian maps each distinct QI *tuple* to its partition's labels. Records of
suppressed classes are found by the same lookup. All expressions are elementwise, so the pass
streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from anonymizer_ml.privacy.hierarchy import TOP

SEP = "\x1f"
Suppression = Literal["drop", "star"]


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String)


def lookup(key: pl.Expr, keys: list[str], values: list[str]) -> pl.Expr:
    """``values[i]`` where ``key == keys[i]``; a key not listed fails the query.

    An Enum cast gives each key's position and a gather from a literal fetches the value: both
    stream in bounded memory, where ``replace_strict`` measured ~1 GB extra per column on a
    10-million-row file.
    """
    position = key.cast(pl.Enum(keys)).to_physical()
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(position)


def tuple_key(columns: Sequence[str]) -> pl.Expr:
    """One text key per record from the QI values (the histogram's text form)."""
    return pl.concat_str([_text(c) for c in columns], separator=SEP)


@dataclass(frozen=True)
class Recoding:
    """Per QI an expression giving the released label, and which records are suppressed."""

    labels: dict[str, pl.Expr]
    suppressed: pl.Expr | None

    def expressions(self, suppression: Suppression) -> dict[str, pl.Expr]:
        """The released QI columns; with ``star``, suppressed records get ``*`` in every QI."""
        if suppression == "drop" or self.suppressed is None:
            return dict(self.labels)
        return {
            column: pl.when(self.suppressed).then(pl.lit(TOP)).otherwise(label)
            for column, label in self.labels.items()
        }

    def row_filter(self, suppression: Suppression) -> pl.Expr | None:
        """With ``drop``, the records to keep."""
        if suppression != "drop" or self.suppressed is None:
            return None
        return ~self.suppressed

    def apply(self, frame: pl.LazyFrame, suppression: Suppression = "drop") -> pl.LazyFrame:
        """``frame`` with its QI columns recoded and suppressed records handled."""
        keep = self.row_filter(suppression)
        if keep is not None:
            frame = frame.filter(keep)
        exprs = self.expressions(suppression)
        return frame.with_columns(expr.alias(column) for column, expr in exprs.items())


def value_recoding(
    mappings: dict[str, dict[str, str]], failing_tuples: list[tuple[str, ...]]
) -> Recoding:
    """Full-domain: each QI value → its label; suppressed = the failing label tuples."""
    labels = {
        column: lookup(_text(column), list(m), list(m.values())) for column, m in mappings.items()
    }
    suppressed = None
    if failing_tuples:
        key = pl.concat_str(list(labels.values()), separator=SEP)
        suppressed = key.is_in([SEP.join(t) for t in failing_tuples])
    return Recoding(labels, suppressed)


def tuple_recoding(
    columns: Sequence[str],
    keys: list[str],
    labels: dict[str, list[str]],
    failing_keys: list[str],
) -> Recoding:
    """Mondrian: each QI tuple (``keys``, see tuple_key) → its partition's label per QI."""
    key = tuple_key(columns)
    exprs = {column: lookup(key, keys, labels[column]) for column in columns}
    suppressed = key.is_in(failing_keys) if failing_keys else None
    return Recoding(exprs, suppressed)
