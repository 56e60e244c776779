"""What every runner does the same way around its engine: the RunPlan of its inputs, checks
before it starts, file records, the row count check, and the manifest it signs.

The local and the Ray runner differ only in how the Plan's rows are streamed; whatever is
recorded about a run is built here from the RunPlan, so both write the same manifest for the
same work.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from anonymizer_ml._version import __version__
from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import OutputError, PlanError
from anonymizer_ml.lineage.manifest import (
    BLOCK_SIZE,
    MANIFEST_NAME,
    FileRecord,
    PolicyRecord,
    RunManifest,
    ToolRecord,
    block_digests,
    manifest_bytes,
    sha256_file,
)
from anonymizer_ml.lineage.outcome import RunResult
from anonymizer_ml.lineage.signing import SIGN_PURPOSE
from anonymizer_ml.policy.compile import Plan
from anonymizer_ml.policy.models import Policy
from anonymizer_ml.policy.run_plan import InputSchema, RunPlan, compile_run
from anonymizer_ml.runners.commit import OutputLock
from anonymizer_ml.runners.inputs import InputFile, read_schema


def now() -> str:
    """The current time as the manifest writes it (UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_plan_of(
    policy: Policy,
    policy_source: str,
    items: list[InputFile],
    keys: tuple[Keyset | None, SubjectKeyStore | None] = (None, None),
) -> tuple[RunPlan, list[int]]:
    """The RunPlan of ``policy`` over the input files (schemas from their footers), and each
    file's row count; bad input is refused here, before any data is read."""
    schemas = [read_schema(item) for item in items]
    inputs = [
        InputSchema(str(item.source), schema, tuple(item.partition_keys))
        for item, (schema, _) in zip(items, schemas, strict=True)
    ]
    keyset, subjects = keys
    run = compile_run(policy, policy_source, inputs, keyset, subjects)
    return run, [rows for _, rows in schemas]


def check_output(
    input_spec: str, root: Path, items: list[InputFile], outdir: Path, overwrite: bool
) -> None:
    """Refuse an output directory inside the input, over an input file, or over a release."""
    out, base = outdir.resolve(), root.resolve()
    is_tree = not Path(input_spec).is_file()
    if is_tree and (out == base or base in out.parents):
        raise OutputError(
            f"{outdir}: output directory is inside the input {root}; choose a directory outside it"
        )
    if (outdir / MANIFEST_NAME).exists() and not overwrite:
        raise OutputError(
            f"{outdir / MANIFEST_NAME}: a previous run's manifest is here; pass --overwrite or "
            "choose an empty output directory"
        )
    sources = {i.source.resolve() for i in items}
    for item in items:
        target = (outdir / item.relative).resolve()
        if target in sources:
            raise OutputError(
                f"{outdir / item.relative}: would overwrite the input file; "
                "choose another output directory"
            )
        if target.exists() and not overwrite:
            raise OutputError(
                f"{outdir / item.relative}: output exists; pass --overwrite or choose an empty "
                "output directory"
            )


def file_metadata(static_encryption: list[dict[str, object]]) -> dict[str, str]:
    """Parquet key-value metadata naming which key id, mode and salt encrypted which column."""
    if not static_encryption:
        return {}
    static = [{k: v for k, v in e.items() if k != "encrypted"} for e in static_encryption]
    return {"anonymizer.encryption": json.dumps(static, sort_keys=True)}


def file_record(path: Path, shown_as: Path, *, blocks: bool = False) -> FileRecord:
    """The manifest's record of one file: SHA-256 (and block digests for outputs), size, rows."""
    sha256, digests = block_digests(path) if blocks else (sha256_file(path), None)
    return FileRecord(
        path=shown_as.as_posix(),
        sha256=sha256,
        bytes=path.stat().st_size,
        rows=pq.read_metadata(path).num_rows,
        block_size=BLOCK_SIZE if blocks else None,
        blocks=digests,
    )


def plan_records(plans: list[Plan]) -> list[dict[str, object]]:
    """Every column's step once, in first-seen order (files of one dataset share a policy)."""
    seen: dict[str, dict[str, object]] = {}
    for plan in plans:
        for step in plan.describe():
            seen.setdefault(str(step["column"]), step)
    return list(seen.values())


def whole_input(items: list[InputFile]) -> pl.LazyFrame:
    """All input files as one lazy frame, for the aggregations that span the dataset."""
    return pl.scan_parquet([item.source for item in items], hive_partitioning=False)


@dataclass(frozen=True)
class RunFacts:
    """What a runner gathered about one run, for its manifest."""

    run: RunPlan
    root: Path
    started: str
    inputs: list[FileRecord]
    outputs: list[FileRecord]
    engine: dict[str, str]
    dp: dict[str, Any] | None = None
    canaries: list[dict[str, object]] | None = None
    encryption: list[dict[str, object]] | None = None
    residual: list[dict[str, Any]] | None = None
    detections: list[dict[str, object]] | None = None


def commit_release(
    lock: OutputLock,
    renames: list[tuple[Path, Path]],
    manifest: RunManifest,
    keyset: Keyset | None,
    counted: tuple[int, float],
) -> RunResult:
    """Sign the manifest (with the keyset's sign key, if it has one), rename every file and the
    manifest into place, and say what was done (``counted``: rows, and the run's start clock)."""
    rows, clock = counted
    signer = (
        keyset.for_purpose(SIGN_PURPOSE) if keyset and SIGN_PURPOSE in keyset.purposes else None
    )
    manifest_path = lock.commit(renames, manifest_bytes(manifest, signer))
    return RunResult(
        manifest=manifest,
        manifest_path=manifest_path,
        rows=rows,
        seconds=time.perf_counter() - clock,
        stale_removed=lock.stale_removed,
        signed=signer is not None,
    )


def run_id(policy_digest: str, inputs: list[FileRecord], started: str) -> str:
    """Host-independent: the same policy over the same inputs at the same time has one id."""
    parts = [policy_digest, started, *(f"{r.path}:{r.sha256}" for r in inputs)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _check_rows(facts: RunFacts) -> None:
    """Every record comes out, except exactly those the privacy stage suppressed and dropped."""
    suppressed = facts.run.records_dropped()
    if suppressed is not None:
        total_in = sum(r.rows for r in facts.inputs)
        total_out = sum(o.rows for o in facts.outputs)
        if total_in - total_out != suppressed:
            raise PlanError(
                f"{total_in} rows in and {total_out} out, but {suppressed} were to be suppressed"
            )
        return
    for record, out in zip(facts.inputs, facts.outputs, strict=True):
        if out.rows != record.rows:
            source = facts.root / record.path
            raise PlanError(f"{source}: {record.rows} rows in but {out.rows} out")


def run_manifest(facts: RunFacts) -> RunManifest:
    """The (unsigned) manifest of a run, once its row counts add up."""
    _check_rows(facts)
    applied, privacy = facts.run.facts, facts.run.privacy
    return RunManifest(
        run_id=run_id(applied.digest, facts.inputs, facts.started),
        started_at=facts.started,
        finished_at=now(),
        tool=ToolRecord(name="anonymizer", version=__version__, engine=facts.engine),
        policy=PolicyRecord(
            name=applied.name,
            version=applied.version,
            owner=applied.owner,
            digest=applied.digest,
            source=applied.source,
        ),
        plan=plan_records(list(facts.run.plans)),
        privacy=privacy.record if privacy is not None else None,
        dp=facts.dp,
        canaries=facts.canaries,
        encryption=facts.encryption or [],
        residual=facts.residual or [],
        detections=facts.detections or [],
        input_root=facts.root.as_posix(),
        inputs=facts.inputs,
        outputs=facts.outputs,
    )
