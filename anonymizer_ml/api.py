"""The ETL API: the same plan the CLI runs, applied to Polars and Arrow data in your code.

A policy with a ``privacy:`` section runs the same two passes as the CLI: pass 1 aggregates the
quasi-identifiers' histogram over the frame (a streaming group-by, never a collect of the
user's rows for a LazyFrame) and chooses the recoding; pass 2 applies it with the column rules.
Hierarchy files are read relative to the policy file (or the working directory for a policy
parsed from text). Whole-file concerns stay with the runner: ``at_rest`` columns come back
in the clear here (they are encrypted when a file is written), and the DP budget and manifest
belong to a release on disk.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import AnonymizerError, InputError, PlanError
from anonymizer_ml.policy.compile import Plan, compile_plan
from anonymizer_ml.policy.load import load_policy
from anonymizer_ml.policy.models import Policy
from anonymizer_ml.privacy.stage import PrivacyStage, prepare_privacy

PolicyLike = Policy | str | Path


def as_policy(policy: PolicyLike) -> Policy:
    """A Policy object, loading it from a YAML path when given one."""
    return policy if isinstance(policy, Policy) else load_policy(Path(policy))


def _not_a(kind: str, value: object, fix: str) -> InputError:
    given = f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
    return InputError(f"expected a {kind}, got a {given}; {fix}")


def plan_for(
    schema: pl.Schema,
    policy: PolicyLike,
    *,
    keyset: Keyset | None = None,
    privacy: PrivacyStage | None = None,
    subjects: SubjectKeyStore | None = None,
) -> Plan:
    """Compile ``policy`` for data with ``schema`` (raises if it does not fit).

    A policy with a privacy section needs its ``privacy`` stage, which is decided over the data
    (``privacy_stage``): a plan without it would drop or pass through the quasi-identifiers.
    """
    rules = as_policy(policy)
    if rules.privacy is not None and privacy is None:
        raise PlanError(
            f"policy {rules.name!r} has a privacy section, whose recoding is decided over the "
            "data; use anonymize_lazy / anonymize_frame, or pass privacy=privacy_stage(frame, "
            "policy)"
        )
    return compile_plan(rules, schema, keyset, privacy=privacy, subjects=subjects)


def privacy_stage(frame: pl.LazyFrame, policy: PolicyLike) -> PrivacyStage | None:
    """Pass 1 of a policy's privacy section over ``frame`` (None without one)."""
    rules = as_policy(policy)
    if rules.privacy is None:
        return None
    try:
        return prepare_privacy(rules.privacy, frame, rules.files_dir)
    except AnonymizerError as exc:
        raise exc.__class__(f"policy {rules.name!r}: privacy: {exc}") from None


def anonymize_lazy(
    frame: pl.LazyFrame,
    policy: PolicyLike,
    *,
    keyset: Keyset | None = None,
    subjects: SubjectKeyStore | None = None,
) -> pl.LazyFrame:
    """The lazy, streamable query that makes ``frame`` safe under ``policy``.

    With a privacy section, pass 1 runs now (one streaming aggregation over ``frame``).
    Per-subject encryption needs ``subjects``; call its ``save()`` after collecting, so that
    the keys of new subjects are kept.
    """
    if not isinstance(frame, pl.LazyFrame):
        raise _not_a("polars LazyFrame", frame, "use anonymize_frame for a DataFrame")
    rules = as_policy(policy)
    stage = privacy_stage(frame, rules)
    plan = plan_for(frame.collect_schema(), rules, keyset=keyset, privacy=stage, subjects=subjects)
    return plan.apply(frame)


def anonymize_frame(
    frame: pl.DataFrame,
    policy: PolicyLike,
    *,
    keyset: Keyset | None = None,
    subjects: SubjectKeyStore | None = None,
) -> pl.DataFrame:
    """A safe copy of an in-memory Polars DataFrame (the caller's frame is not changed)."""
    if not isinstance(frame, pl.DataFrame):
        raise _not_a("polars DataFrame", frame, "convert it with polars.from_pandas / from_arrow")
    return anonymize_lazy(frame.lazy(), policy, keyset=keyset, subjects=subjects).collect()


def anonymize_table(
    table: pa.Table,
    policy: PolicyLike,
    *,
    keyset: Keyset | None = None,
    subjects: SubjectKeyStore | None = None,
) -> pa.Table:
    """A safe copy of an Arrow table."""
    if not isinstance(table, pa.Table):
        raise _not_a("pyarrow Table", table, "convert it with pyarrow.Table.from_pandas")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always gives a DataFrame
    return anonymize_frame(frame, policy, keyset=keyset, subjects=subjects).to_arrow()
