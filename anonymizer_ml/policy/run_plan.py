"""A run's plan: everything a runner executes to apply one policy to a set of input files.

``compile_run`` checks the policy against every input's schema and compiles each file's Plan.
The RunPlan then answers every other question a run asks of the policy: which columns pass 1
of the privacy stage reads and, given that pass's input, the chosen recoding; which columns are
sealed at rest and how each output file is sealed; the DP budget record; what the manifest
records of the policy. Runners — local and Ray — execute a RunPlan and never read the Policy,
so they cannot drift apart; a worker compiles its own copy of a file's Plan from it
(``compile_file``: its own ledgers and encryption salt).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from anonymizer_ml.crypto.at_rest import AtRestRecord, properties_for, written_record
from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import AnonymizerError, KeyringError, PlanError
from anonymizer_ml.policy.compile import Plan, compile_plan
from anonymizer_ml.policy.load import policy_digest
from anonymizer_ml.policy.models import EncryptRule, Policy
from anonymizer_ml.privacy.stage import PrivacyStage, prepare_privacy


@dataclass(frozen=True)
class InputSchema:
    """What compiling needs of one input file: its path, schema and Hive partition keys."""

    source: str
    schema: pl.Schema
    partition_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyFacts:
    """What a manifest records of the policy a run applied."""

    name: str
    version: str
    owner: str | None
    digest: str
    source: str


@dataclass(frozen=True)
class AtRest:
    """How one output file is sealed: its record (for the manifest and its metadata) and the
    Parquet writer's encryption properties."""

    record: AtRestRecord
    properties: pl.ParquetEncryptionProperties


@dataclass(frozen=True)
class RunPlan:
    """Per-file Plans and the run-wide parts of one policy over one set of inputs."""

    facts: PolicyFacts
    inputs: tuple[InputSchema, ...]
    plans: tuple[Plan, ...]
    privacy: PrivacyStage | None
    # Secrets and the policy stay out of reprs; a runner reads neither.
    _policy: Policy = field(repr=False)
    _keyset: Keyset | None = field(repr=False)
    _subjects: SubjectKeyStore | None = field(repr=False, default=None)

    def __repr__(self) -> str:  # Plans hold cipher ledgers and the keyset holds keys: say neither
        privacy = self.privacy is not None
        return f"RunPlan(policy={self.facts.name!r}, files={len(self.inputs)}, privacy={privacy})"

    def for_workers(self) -> RunPlan:
        """The plan as shipped to workers: without the driver's compiled Plans (each worker
        compiles its own with ``compile_file``)."""
        return replace(self, plans=())

    @property
    def privacy_columns(self) -> list[str] | None:
        """The columns pass 1 of the privacy stage reads (quasi-identifiers, then the sensitive
        attribute), or None when the policy has no privacy section."""
        section = self._policy.privacy
        if section is None:
            return None
        return [*section.quasi_identifiers, *([section.sensitive] if section.sensitive else [])]

    def with_privacy(self, frame: pl.LazyFrame) -> RunPlan:
        """Pass 1 over ``frame`` (the whole input, or its QI histogram with a count column):
        the plan with the chosen recoding in every file's Plan. k holds over the dataset."""
        section = self._policy.privacy
        if section is None:
            return self
        try:
            stage = prepare_privacy(section, frame, Path(self.facts.source).parent)
        except AnonymizerError as exc:
            raise exc.__class__(f"{self.facts.source}: privacy: {exc}") from None
        compiled = replace(self, privacy=stage, plans=())
        return replace(compiled, plans=tuple(map(compiled.compile_file, range(len(self.inputs)))))

    def compile_file(self, index: int) -> Plan:
        """A fresh Plan of input ``index`` (its own ledgers and salts: one per worker)."""
        item = self.inputs[index]
        return compile_plan(
            _file_policy(self._policy, item),
            item.schema,
            self._keyset,
            data_name=item.source,
            subjects=self._subjects,
            privacy=self.privacy,
        )

    @property
    def sealed_columns(self) -> frozenset[str]:
        """Columns encrypted at rest (whole Parquet columns; the residual scan cannot read them)."""
        section = self._policy.at_rest
        return frozenset(section.columns) if section is not None else frozenset()

    def at_rest(self, relative: str) -> AtRest | None:
        """How the output file at ``relative`` is sealed at rest, or None when nothing is."""
        if self._keyset is None:
            return None
        record = written_record(self._policy, self._keyset, relative)
        if record is None:
            return None
        return AtRest(record, properties_for(record, self._policy, self._keyset))

    @property
    def subject_keyed_columns(self) -> list[str]:
        """Columns encrypted under per-subject keys (kept in the local key store)."""
        return [
            column
            for column, rule in self._policy.columns.items()
            if isinstance(rule, EncryptRule) and rule.subject is not None
        ]

    def records_dropped(self) -> int | None:
        """Records the privacy stage removes from the output (None when it removes none)."""
        if self.privacy is not None and self.privacy.row_filter is not None:
            return self.privacy.records_suppressed
        return None

    def dp_record(self, frame: pl.LazyFrame, rows: int) -> dict[str, Any] | None:
        """The manifest's ``dp`` entry for ``rows`` input rows read as ``frame`` (records out
        after the privacy stage; records per subject measured over the input)."""
        if self._policy.dp is None or not self.plans:
            return None
        return self.plans[0].dp_record(frame, rows - (self.records_dropped() or 0))


def compile_run(
    policy: Policy,
    source: str,
    inputs: list[InputSchema],
    keyset: Keyset | None,
    subjects: SubjectKeyStore | None = None,
) -> RunPlan:
    """The RunPlan of ``policy`` (read from ``source``) over ``inputs``; raises before any data
    is read when the policy does not fit them or needs keys that were not given."""
    if policy.at_rest is not None and keyset is None:
        raise KeyringError("the policy's at_rest section needs a keyset; pass --keyset PATH")
    facts = PolicyFacts(policy.name, policy.version, policy.owner, policy_digest(policy), source)
    run = RunPlan(facts, tuple(inputs), (), None, policy, keyset, subjects)
    return replace(run, plans=tuple(map(run.compile_file, range(len(inputs)))))


def _file_policy(policy: Policy, item: InputSchema) -> Policy:
    """The policy for one file: Hive partition columns live in its path, not in the file.

    They are mirrored unchanged into the output path, so only ``keep`` is allowed for them.
    """
    keys = item.partition_keys
    for key in keys:
        rule = policy.columns.get(key)
        if rule is not None and rule.action != "keep":
            raise PlanError(
                f"{item.source}: column {key!r} is a Hive partition in the directory names, so "
                f"'{rule.action}' cannot change it; re-partition the data by another column"
            )
    if not any(key in policy.columns for key in keys):
        return policy
    columns = {c: r for c, r in policy.columns.items() if c not in keys}
    return policy.model_copy(update={"columns": columns})
