"""What every runner does the same way around its engine: checks before it starts, the per-file
policy, file records, the row count check, and the manifest it signs.

The local and the Ray runner differ only in how the Plan's rows are streamed; whatever is
recorded about a run is built here, so both write the same manifest for the same work.
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
from anonymizer_ml.errors import AnonymizerError, OutputError, PlanError
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
from anonymizer_ml.policy.load import policy_digest
from anonymizer_ml.policy.models import Policy
from anonymizer_ml.privacy.stage import PrivacyStage, prepare_privacy
from anonymizer_ml.runners.commit import OutputLock
from anonymizer_ml.runners.inputs import InputFile


def now() -> str:
    """The current time as the manifest writes it (UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_policy(item: InputFile, policy: Policy) -> Policy:
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


def privacy_stage(policy: Policy, policy_source: str, frame: pl.LazyFrame) -> PrivacyStage | None:
    """Pass 1 over ``frame`` (the whole input, or its merged QI histogram): k holds over the
    dataset, not per file."""
    if policy.privacy is None:
        return None
    base = Path(policy_source).parent
    try:
        return prepare_privacy(policy.privacy, frame, base)
    except AnonymizerError as exc:
        raise exc.__class__(f"{policy_source}: privacy: {exc}") from None


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


def _dropped_by_privacy(privacy: PrivacyStage | None) -> int | None:
    """Records the privacy stage removes from the output (None when it removes none)."""
    if privacy is not None and privacy.row_filter is not None:
        return privacy.records_suppressed
    return None


def whole_input(items: list[InputFile]) -> pl.LazyFrame:
    """All input files as one lazy frame, for the aggregations that span the dataset."""
    return pl.scan_parquet([item.source for item in items], hive_partitioning=False)


def dp_budget(
    plans: list[Plan], items: list[InputFile], rows: int, privacy: PrivacyStage | None
) -> dict[str, object] | None:
    """The dp section as the manifest records it (records out; records per subject measured by
    one streaming aggregation over the input)."""
    if not plans or plans[0].policy.dp is None:
        return None
    records = rows - (_dropped_by_privacy(privacy) or 0)
    return plans[0].dp_record(whole_input(items), records)


@dataclass(frozen=True)
class RunFacts:
    """What a runner gathered about one run, for its manifest."""

    policy: Policy
    policy_source: str
    root: Path
    started: str
    plans: list[Plan]
    inputs: list[FileRecord]
    outputs: list[FileRecord]
    engine: dict[str, str]
    privacy: PrivacyStage | None = None
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


def run_id(policy: Policy, inputs: list[FileRecord], started: str) -> str:
    """Host-independent: the same policy over the same inputs at the same time has one id."""
    parts = [policy_digest(policy), started, *(f"{r.path}:{r.sha256}" for r in inputs)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _check_rows(facts: RunFacts) -> None:
    """Every record comes out, except exactly those the privacy stage suppressed and dropped."""
    suppressed = _dropped_by_privacy(facts.privacy)
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
    policy = facts.policy
    return RunManifest(
        run_id=run_id(policy, facts.inputs, facts.started),
        started_at=facts.started,
        finished_at=now(),
        tool=ToolRecord(name="anonymizer", version=__version__, engine=facts.engine),
        policy=PolicyRecord(
            name=policy.name,
            version=policy.version,
            owner=policy.owner,
            digest=policy_digest(policy),
            source=facts.policy_source,
        ),
        plan=plan_records(facts.plans),
        privacy=facts.privacy.record if facts.privacy is not None else None,
        dp=facts.dp,
        canaries=facts.canaries,
        encryption=facts.encryption or [],
        residual=facts.residual or [],
        detections=facts.detections or [],
        input_root=facts.root.as_posix(),
        inputs=facts.inputs,
        outputs=facts.outputs,
    )
