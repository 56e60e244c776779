"""The ETL API: the same plan the CLI runs, applied to Polars and Arrow data in your code."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from anonymizer.crypto.keyset import Keyset
from anonymizer.policy.compile import Plan, compile_plan
from anonymizer.policy.load import load_policy
from anonymizer.policy.models import Policy

PolicyLike = Policy | str | Path


def as_policy(policy: PolicyLike) -> Policy:
    """A Policy object, loading it from a YAML path when given one."""
    return policy if isinstance(policy, Policy) else load_policy(Path(policy))


def plan_for(schema: pl.Schema, policy: PolicyLike, *, keyset: Keyset | None = None) -> Plan:
    """Compile ``policy`` for data with ``schema`` (raises if it does not fit)."""
    return compile_plan(as_policy(policy), schema, keyset)


def anonymize_lazy(
    frame: pl.LazyFrame, policy: PolicyLike, *, keyset: Keyset | None = None
) -> pl.LazyFrame:
    """The lazy, streamable query that makes ``frame`` safe under ``policy``."""
    return plan_for(frame.collect_schema(), policy, keyset=keyset).apply(frame)


def anonymize_frame(
    frame: pl.DataFrame, policy: PolicyLike, *, keyset: Keyset | None = None
) -> pl.DataFrame:
    """A safe copy of an in-memory Polars DataFrame (the caller's frame is not changed)."""
    return anonymize_lazy(frame.lazy(), policy, keyset=keyset).collect()


def anonymize_table(
    table: pa.Table, policy: PolicyLike, *, keyset: Keyset | None = None
) -> pa.Table:
    """A safe copy of an Arrow table."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return anonymize_frame(frame, policy, keyset=keyset).to_arrow()
