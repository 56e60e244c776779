"""The batch kernel: a Plan as a function from an Arrow table to an Arrow table.

A distributed runner ships a ``BatchKernel`` over the run's RunPlan to each worker; the worker
compiles each input file's Plan from it once (keys, surrogate pools, detectors and the NER model
are loaded then, not per batch; its own ledgers and encryption salt) and
applies it to every batch of that file with ``Plan.apply`` — the same expressions the local
streaming runner and the ETL API run, so every engine writes the same values.

The kernel also reports what the Plan's ledgers counted since its last report (values encrypted
per key and salt, findings per entity type), so a runner can add up exactly the batches whose
output it kept: a batch that was retried is counted once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl
import pyarrow as pa

from anonymizer_ml.policy.compile import Plan
from anonymizer_ml.policy.run_plan import RunPlan


class BatchKernel:
    """Plans compiled once per file in this process, applied to Arrow batches."""

    def __init__(self, run: RunPlan) -> None:
        self._run = run
        self._plans: dict[int, Plan] = {}
        self._encrypted: Counter[tuple[int, str, str]] = Counter()
        self._found: dict[tuple[int, str], dict[str, Any]] = {}

    def setup(self, index: int) -> Plan:
        """The Plan of file ``index``, compiled on first use."""
        plan = self._plans.get(index)
        if plan is None:
            plan = self._run.compile_file(index)
            self._plans[index] = plan
        return plan

    def apply(self, index: int, table: pa.Table) -> pl.DataFrame:
        """The safe rows of one batch of file ``index``."""
        plan, schema = self.setup(index), self._run.inputs[index].schema
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)  # a Table always gives a DataFrame
        if frame.schema != schema:  # Arrow types that Polars reads otherwise (string views, …)
            frame = frame.cast(schema)
        return plan.apply(frame.lazy()).collect()

    def ledgers(self, index: int) -> dict[str, list[dict[str, Any]]]:
        """What file ``index``'s Plan counted since the last call: per column and salt the values
        encrypted, per detect column texts and findings (no values, no key material)."""
        plan = self.setup(index)
        encryption = []
        for entry in plan.encryption():
            key = (index, str(entry["column"]), str(entry["salt"]))
            total = int(str(entry["encrypted"]))
            encryption.append({**entry, "encrypted": total - self._encrypted[key]})
            self._encrypted[key] = total
        detections = []
        for entry in plan.detections():
            seen = self._found.get((index, str(entry["column"])))
            detections.append(subtract_counts(entry, seen) if seen else dict(entry))
            self._found[(index, str(entry["column"]))] = dict(entry)
        return {"encryption": encryption, "detections": detections}


def subtract_counts(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """A detection ledger entry minus an earlier one of the same column."""
    entities = {
        entity: count - before["entities"].get(entity, 0)
        for entity, count in now["entities"].items()
    }
    return {
        **now,
        "texts": now["texts"] - before["texts"],
        "texts_with_findings": now["texts_with_findings"] - before["texts_with_findings"],
        "entities": {entity: n for entity, n in entities.items() if n},
    }


def add_counts(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """Two detection ledger entries of one column added up (entities sorted, as a Plan's are)."""
    if total is None:
        return {**part, "entities": dict(sorted(part["entities"].items()))}
    entities = Counter(total["entities"])
    entities.update(part["entities"])
    return {
        **total,
        "texts": total["texts"] + part["texts"],
        "texts_with_findings": total["texts_with_findings"] + part["texts_with_findings"],
        "entities": dict(sorted(entities.items())),
    }
