"""Compile a policy against a data schema into a Plan: one step per input column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.detect.entities import detection_record, resolve_ner, user_recognizers
from anonymizer_ml.detect.ner import NerModel
from anonymizer_ml.dp.budget import dp_record
from anonymizer_ml.errors import SchemaMismatchError
from anonymizer_ml.policy.load import policy_digest
from anonymizer_ml.policy.models import ColumnRule, DetectRule, DropRule, KeepRule, Policy
from anonymizer_ml.privacy.stage import PRIVACY_VERSION, PrivacyStage
from anonymizer_ml.transforms import BuildContext, TransformSpec, get_transform
from anonymizer_ml.transforms.base import CipherLedger, FindingsLedger


@dataclass(frozen=True)
class PlanStep:
    """What happens to one input column: the rule, its transform and the key it uses."""

    column: str
    rule: ColumnRule
    spec: TransformSpec
    key_id: str | None
    expression: pl.Expr | None
    listed: bool
    privacy: dict[str, Any] | None = None
    detectors: dict[str, Any] | None = None
    stages: tuple[pl.Expr, ...] = ()  # temporary columns the expression reads, in order

    def describe(self) -> dict[str, Any]:
        """A JSON-ready record of the step; key ids only, never key material."""
        if self.privacy is not None:
            return {
                "column": self.column,
                "action": "privacy",
                "params": self.privacy,
                "transform_version": PRIVACY_VERSION,
                "key_id": None,
                "source": "privacy",
            }
        params = self.rule.model_dump(mode="json", exclude={"action"})
        if self.detectors is not None:
            params["detectors"] = self.detectors
        return {
            "column": self.column,
            "action": self.rule.action,
            "params": params,
            "transform_version": self.spec.version,
            "key_id": self.key_id,
            "source": "policy" if self.listed else "unlisted_columns",
        }


@dataclass(frozen=True)
class Plan:
    """An ordered set of steps covering every input column; applies to any LazyFrame."""

    policy: Policy
    policy_digest: str
    steps: tuple[PlanStep, ...]
    ciphers: dict[str, CipherLedger] = field(default_factory=dict)
    row_filter: pl.Expr | None = None
    findings: dict[str, FindingsLedger] = field(default_factory=dict)

    def encryption(self) -> list[dict[str, object]]:
        """Per encrypted column: key id, mode, salt and values encrypted so far (no secrets)."""
        return [{"column": column, **ledger()} for column, ledger in self.ciphers.items()]

    def detections(self) -> list[dict[str, object]]:
        """Per detect column: texts scanned and findings per entity type so far (no values)."""
        return [{"column": column, **ledger()} for column, ledger in self.findings.items()]

    @property
    def output_columns(self) -> list[str]:
        """Names of the columns the output will have, in input order."""
        return [s.column for s in self.steps if s.expression is not None]

    def dp_record(self, frame: pl.LazyFrame, records: int) -> dict[str, Any] | None:
        """The manifest's ``dp`` entry for ``records`` output records of ``frame`` (the whole
        input), or None without a ``dp:`` section; refuses a subject over its record cap."""
        if self.policy.dp is None:
            return None
        return dp_record(self.policy.dp, frame, records)

    def ner_model(self) -> NerModel | None:
        """The NER model the plan's detect steps use (the first one's), for the residual scan."""
        for step in self.steps:
            if isinstance(step.rule, DetectRule) and (model := resolve_ner(step.rule.ner)):
                return model
        return None

    def expressions(self) -> list[pl.Expr]:
        """One aliased expression per output column."""
        return [s.expression.alias(s.column) for s in self.steps if s.expression is not None]

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """The lazy query producing the safe output from ``frame``."""
        if self.row_filter is not None:
            frame = frame.filter(self.row_filter)
        # Stage n of every column is one with_columns node after stage n-1: a linear pipeline.
        for level in range(max((len(s.stages) for s in self.steps), default=0)):
            frame = frame.with_columns(s.stages[level] for s in self.steps if len(s.stages) > level)
        return frame.select(self.expressions())

    def describe(self) -> list[dict[str, Any]]:
        """JSON-ready records of every step."""
        return [s.describe() for s in self.steps]


def _rule_for(policy: Policy, column: str) -> tuple[ColumnRule, bool]:
    if column in policy.columns:
        return policy.columns[column], True
    if policy.unlisted_columns == "keep":
        return KeepRule(action="keep"), False
    return DropRule(action="drop"), False


def schema_problems(policy: Policy, schema: pl.Schema, data_name: str) -> list[str]:
    """Every way ``policy`` does not fit ``schema`` (missing/unlisted columns, wrong types)."""
    problems: list[str] = []
    for column in policy.columns:
        if column not in schema:
            available = ", ".join(schema.names()) or "none"
            problems.append(
                f"{data_name}: column {column!r} named in the policy is not in the data "
                f"(columns: {available}); fix the column name or remove the entry"
            )
    quasi = set(policy.privacy.quasi_identifiers) if policy.privacy is not None else set()
    for column in sorted(quasi - set(schema.names())):
        problems.append(
            f"{data_name}: quasi-identifier {column!r} named in the privacy section is not in "
            f"the data (columns: {', '.join(schema.names()) or 'none'}); fix the column name"
        )
    if policy.unlisted_columns == "error":
        for column in schema.names():
            if column not in policy.columns and column not in quasi:
                problems.append(
                    f"{data_name}: column {column!r} is not in the policy and unlisted_columns is "
                    "'error'; add a rule for it (drop, keep, …)"
                )
    if policy.at_rest is not None:
        for column in policy.at_rest.columns:
            rule, _ = _rule_for(policy, column)
            if column not in schema or rule.action == "drop":
                problems.append(
                    f"{data_name}: at_rest column {column!r} is not an output column; "
                    "list only columns the policy keeps or transforms"
                )
    for column, rule in policy.columns.items():
        if column in schema:
            transform = get_transform(rule.action)
            found = transform.check(rule, column, schema[column], schema)
            problems.extend(f"{data_name}: {p}" for p in found)
    return problems


def compile_plan(
    policy: Policy,
    schema: pl.Schema,
    keyset: Keyset | None,
    *,
    data_name: str = "data",
    subjects: SubjectKeyStore | None = None,
    privacy: PrivacyStage | None = None,
) -> Plan:
    """Build the plan for data with ``schema``; raise if the policy does not fit it.

    With a ``privacy`` stage (decided over the whole input beforehand), its QI columns take the
    stage's recoding and its suppressed records are filtered out or starred.
    """
    problems = schema_problems(policy, schema, data_name)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SchemaMismatchError(problems[0] + more)
    ciphers: dict[str, CipherLedger] = {}
    findings: dict[str, FindingsLedger] = {}
    steps: dict[str, PlanStep] = {}
    recoded = privacy.labels if privacy is not None else {}

    def step_for(column: str) -> PlanStep:
        # Built on demand and once: a transform may ask for another column's *output*
        # (encrypt binds its cells to the row key as it appears in the output).
        if column not in steps and privacy is not None and column in recoded:
            steps[column] = PlanStep(
                column,
                KeepRule(action="keep"),
                get_transform("keep").spec,
                None,
                recoded[column],
                True,
                privacy.describe(column),
            )
        if column not in steps:
            rule, listed = _rule_for(policy, column)
            transform = get_transform(rule.action)
            ctx = BuildContext(
                column,
                schema[column],
                schema,
                keyset,
                policy.dataset_id,
                subjects,
                ciphers,
                output=lambda other: step_for(other).expression,
                findings=findings,
                stages=[],
            )
            expression = transform.expression(rule, ctx)
            purpose = transform.key_purpose(rule)
            key_id = ctx.key(purpose, rule.action).key_id if purpose is not None else None
            detectors = (
                detection_record(resolve_ner(rule.ner), user_recognizers(rule))
                if isinstance(rule, DetectRule)
                else None
            )
            steps[column] = PlanStep(
                column,
                rule,
                transform.spec,
                key_id,
                expression,
                listed,
                None,
                detectors,
                stages=tuple(ctx.stages or ()),
            )
        return steps[column]

    ordered = tuple(step_for(column) for column in schema.names())
    row_filter = privacy.row_filter if privacy is not None else None
    return Plan(policy, policy_digest(policy), ordered, ciphers, row_filter, findings)
