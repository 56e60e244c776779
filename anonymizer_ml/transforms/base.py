"""The transform contract: a declared spec, a schema check, and a Polars expression builder."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import polars as pl

from anonymizer_ml.crypto.keyset import Key, Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import KeyringError, PlanError

RuleT = TypeVar("RuleT")
CipherLedger = Callable[[], dict[str, object]]
# Counts a transform gathered while the data streamed (findings per entity type, …): no values.
FindingsLedger = Callable[[], dict[str, object]]
STAGE_PREFIX = "__anonymizer_stage__"  # temporary columns of staged values; never in the output


@dataclass(frozen=True)
class TransformSpec:
    """What a transform promises, recorded in the plan and the manifest."""

    name: str
    version: str
    elementwise: bool
    streamable: bool
    needs_stats: bool
    deterministic: bool
    reversible: bool


@dataclass(frozen=True)
class BuildContext:
    """What a transform may look at while building its expression for one column."""

    column: str
    dtype: pl.DataType
    schema: pl.Schema
    keyset: Keyset | None
    dataset: str = ""
    subjects: SubjectKeyStore | None = None
    ciphers: dict[str, CipherLedger] | None = None
    output: Callable[[str], pl.Expr | None] = pl.col
    findings: dict[str, FindingsLedger] | None = None
    stages: list[pl.Expr] | None = None

    def stage(self, value: pl.Expr) -> pl.Expr:
        """``value`` computed once per row, before the output expressions, and read back.

        Why: Polars' common-subexpression elimination does not reach into an expression that
        gathers from a literal Series, so a value used by several picks was computed once per
        pick (measured: 14 HMACs per e-mail surrogate). Struct fields computed it once but were
        lowered into a side branch that a multiplexer feeds and a zip joins, where decoded
        batches piled up (1.7 GB against 0.45 GB for a copy). A staged value is a temporary
        column of its own ``with_columns`` node: the query stays one linear pipeline. Each call
        is one stage after the previous one; outside a plan (no ``stages`` list) the value is
        used inline.
        """
        if self.stages is None:
            return value
        name = f"{STAGE_PREFIX}{self.column}.{len(self.stages)}"
        self.stages.append(value.alias(name))
        return pl.col(name)

    def register_cipher(self, ledger: CipherLedger) -> None:
        """Let the plan report this column's encryption (key id, salt, count) after a run."""
        if self.ciphers is not None:
            self.ciphers[self.column] = ledger

    def register_findings(self, ledger: FindingsLedger) -> None:
        """Let the plan report what detection found in this column after a run."""
        if self.findings is not None:
            self.findings[self.column] = ledger

    def key(self, purpose: str, action: str) -> Key:
        """The keyset's key for ``purpose``; a clear KeyringError when there is no keyset."""
        if self.keyset is None:
            raise KeyringError(
                f"column {self.column!r} uses {action}, which needs a keyset; pass --keyset PATH "
                "or set ANONYMIZER_KEYSET (create one with: anonymizer keys init PATH)"
            )
        return self.keyset.for_purpose(purpose)


class Transform(ABC, Generic[RuleT]):
    """One action of the policy: checks the column's type, then builds a pure expression."""

    spec: TransformSpec

    def key_purpose(self, rule: RuleT) -> str | None:
        """The keyset purpose this rule needs, or None for unkeyed transforms."""
        return None

    def check(self, rule: RuleT, column: str, dtype: pl.DataType, schema: pl.Schema) -> list[str]:
        """Problems applying ``rule`` to a column of ``dtype`` (empty when it fits)."""
        return []

    @abstractmethod
    def expression(self, rule: RuleT, ctx: BuildContext) -> pl.Expr | None:
        """The output expression for the column, or None when the column is removed."""


def is_text(dtype: pl.DataType) -> bool:
    """True for string-like columns (String, Categorical, Enum)."""
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def is_temporal(dtype: pl.DataType) -> bool:
    """True for Date and Datetime columns."""
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)


def as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The canonical text form of a column that keyed and string transforms operate on."""
    if dtype in (pl.String, pl.Binary):
        return expr
    return expr.cast(pl.String)


def need(condition: bool, column: str, message: str) -> list[str]:
    """A one-item problem list when ``condition`` is false."""
    return [] if condition else [f"column {column!r}: {message}"]


_REGISTRY: dict[str, Transform[object]] = {}


def register_transform(name: str, transform: Transform[object]) -> None:
    """Make ``transform`` available to policies under the action ``name``."""
    _REGISTRY[name] = transform


def get_transform(name: str) -> Transform[object]:
    """The transform registered for the action ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise PlanError(f"no transform is registered for action {name!r}") from None
