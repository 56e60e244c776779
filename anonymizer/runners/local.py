"""Local streaming runner: scan_parquet → plan expressions → sink_parquet, atomically.

Every output is written to a hidden temporary file beside its target; only when all files of the
run succeeded are they renamed into place and the manifest written. A failure (or a kill) leaves
no file at any target path and never touches the inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from anonymizer import pending
from anonymizer._version import __version__
from anonymizer.crypto.at_rest import AtRestRecord, properties_for, written_record
from anonymizer.crypto.keyset import Keyset
from anonymizer.crypto.subjects import SubjectKeyStore
from anonymizer.errors import AnonymizerError, InputError, KeyringError, OutputError, PlanError
from anonymizer.lineage.manifest import (
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
from anonymizer.lineage.outcome import RunResult
from anonymizer.lineage.residual import residual_findings
from anonymizer.lineage.signing import SIGN_PURPOSE
from anonymizer.policy.compile import Plan, compile_plan
from anonymizer.policy.load import policy_digest
from anonymizer.policy.models import Policy
from anonymizer.privacy.stage import PrivacyStage, prepare_privacy
from anonymizer.runners.commit import OutputLock
from anonymizer.runners.inputs import InputFile, discover_inputs, read_schema
from anonymizer.streaming import bounded_prefetch


class ProgressSink(Protocol):
    """Receives the total row count once, then the rows of each batch as they stream through."""

    def start(self, total_rows: int) -> None:
        """Called once before the first file is processed."""

    def advance(self, rows: int) -> None:
        """Called after each batch with its row count."""


@dataclass(frozen=True)
class _Job:
    item: InputFile
    target: Path
    tmp: Path
    plan: Plan
    rows: int
    at_rest: AtRestRecord | None
    encryption: pl.ParquetEncryptionProperties | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _file_policy(item: InputFile, policy: Policy) -> Policy:
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


def _check_output(
    input_spec: str, root: Path, items: list[InputFile], outdir: Path, overwrite: bool
) -> None:
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


def _tapped(plan: Plan, frame: pl.LazyFrame, progress: ProgressSink | None) -> pl.LazyFrame:
    """The plan's query; with a progress sink, the first column reports each batch's rows."""
    query = plan.apply(frame)
    if progress is None or not plan.output_columns:
        return query
    first = plan.output_columns[0]
    dtype = query.collect_schema()[first]

    def tap(series: pl.Series) -> pl.Series:
        progress.advance(len(series))
        return series

    return query.with_columns(
        pl.col(first).map_batches(tap, return_dtype=dtype, is_elementwise=True)
    )


def _stream(job: _Job, progress: ProgressSink | None) -> None:
    frame = pl.scan_parquet(job.item.source, hive_partitioning=False)
    try:
        job.tmp.parent.mkdir(parents=True, exist_ok=True)
        with bounded_prefetch():
            _tapped(job.plan, frame, progress).sink_parquet(
                job.tmp,
                engine="streaming",
                metadata=_file_metadata(job.plan, job.at_rest),
                encryption=job.encryption,
            )
        with job.tmp.open("rb") as handle:
            os.fsync(handle.fileno())
    except AnonymizerError as exc:
        # Raised inside a transform; Polars appends its query plan: keep the one-line message.
        pending.release(job.tmp)
        raise exc.__class__(str(exc).splitlines()[0]) from None
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
        pending.release(job.tmp)
        # A write error names the output; a permission error on reading names the input.
        reading = str(job.item.source) in str(exc) and str(job.tmp) not in str(exc)
        if not reading and (written := OutputError.of_write(job.target, exc)) is not None:
            raise written from None
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
        raise InputError(
            f"{job.item.source}: failed while reading or transforming ({reason}); "
            "check that the file is complete, valid Parquet"
        ) from None


def _file_metadata(plan: Plan, at_rest: AtRestRecord | None) -> dict[str, str] | None:
    """Parquet key-value metadata: which key id, mode and salt encrypted which column."""
    metadata = at_rest.metadata() if at_rest is not None else {}
    if plan.ciphers:
        static = [{k: v for k, v in e.items() if k != "encrypted"} for e in plan.encryption()]
        metadata["anonymizer.encryption"] = json.dumps(static, sort_keys=True)
    return metadata or None


def _record(path: Path, shown_as: Path, *, blocks: bool = False) -> FileRecord:
    sha256, digests = block_digests(path) if blocks else (sha256_file(path), None)
    return FileRecord(
        path=shown_as.as_posix(),
        sha256=sha256,
        bytes=path.stat().st_size,
        rows=pq.read_metadata(path).num_rows,
        block_size=BLOCK_SIZE if blocks else None,
        blocks=digests,
    )


def _plan_records(jobs: list[_Job]) -> list[dict[str, object]]:
    seen: dict[str, dict[str, object]] = {}
    for job in jobs:
        for step in job.plan.describe():
            seen.setdefault(str(step["column"]), step)
    return list(seen.values())


def _check_rows(jobs: list[_Job], outputs: list[FileRecord], privacy: PrivacyStage | None) -> None:
    """Every record comes out, except exactly those the privacy stage suppressed and dropped."""
    if privacy is not None and privacy.row_filter is not None:
        rows_in, rows_out = sum(j.rows for j in jobs), sum(o.rows for o in outputs)
        if rows_in - rows_out != privacy.records_suppressed:
            raise PlanError(
                f"{rows_in} rows in and {rows_out} out, but {privacy.records_suppressed} "
                "were to be suppressed"
            )
        return
    for job, out in zip(jobs, outputs, strict=True):
        if out.rows != job.rows:
            raise PlanError(f"{job.item.source}: {job.rows} rows in but {out.rows} out")


def _run_id(policy: Policy, inputs: list[FileRecord], started: str) -> str:
    """Host-independent: the same policy over the same inputs at the same time has one id."""
    parts = [policy_digest(policy), started, *(f"{r.path}:{r.sha256}" for r in inputs)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _encryption_records(jobs: list[_Job]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for job in jobs:
        name = job.item.relative.as_posix()
        records += [{"file": name, **entry} for entry in job.plan.encryption()]
        if job.at_rest is not None:
            key_id = job.at_rest.key_id
            records += [
                {"file": name, "column": c, "key_id": key_id, "mode": "parquet-modular-aes-gcm"}
                for c in job.at_rest.columns
            ]
    return records


def _whole_input(items: list[InputFile]) -> pl.LazyFrame:
    """All input files as one lazy frame, for the aggregations that span the dataset."""
    return pl.scan_parquet([item.source for item in items], hive_partitioning=False)


def _privacy_stage(
    policy: Policy, policy_source: str, items: list[InputFile]
) -> PrivacyStage | None:
    """Pass 1: decide the recoding over all input files together (k holds over the dataset)."""
    if policy.privacy is None:
        return None
    base = Path(policy_source).parent
    try:
        return prepare_privacy(policy.privacy, _whole_input(items), base)
    except AnonymizerError as exc:
        raise exc.__class__(f"{policy_source}: privacy: {exc}") from None


def _dp_budget(
    policy: Policy, jobs: list[_Job], privacy: PrivacyStage | None
) -> dict[str, object] | None:
    """The dp section as the manifest records it (records out; records per subject measured)."""
    if policy.dp is None or not jobs:
        return None
    records = sum(job.rows for job in jobs)
    if privacy is not None and privacy.row_filter is not None:
        records -= privacy.records_suppressed
    return jobs[0].plan.dp_record(_whole_input([job.item for job in jobs]), records)


def _prepare(
    policy: Policy,
    items: list[InputFile],
    outdir: Path,
    keys: tuple[Keyset | None, SubjectKeyStore | None],
    lock: OutputLock,
    privacy: PrivacyStage | None = None,
) -> list[_Job]:
    keyset, subjects = keys
    jobs = []
    for item in items:
        schema, rows = read_schema(item)
        plan = compile_plan(
            _file_policy(item, policy),
            schema,
            keyset,
            data_name=str(item.source),
            subjects=subjects,
            privacy=privacy,
        )
        target = outdir / item.relative
        tmp = lock.temporary(target)
        if policy.at_rest is not None and keyset is None:
            raise KeyringError("the policy's at_rest section needs a keyset; pass --keyset PATH")
        record = written_record(policy, keyset, item.relative.as_posix()) if keyset else None
        encryption = properties_for(record, policy, keyset) if record and keyset else None
        jobs.append(_Job(item, target, tmp, plan, rows, record, encryption))
    return jobs


def run(
    policy: Policy,
    policy_source: str,
    input_spec: str,
    outdir: Path,
    keyset: Keyset | None,
    *,
    overwrite: bool = False,
    progress: ProgressSink | None = None,
    subjects: SubjectKeyStore | None = None,
    canaries: list[dict[str, object]] | None = None,
    target: str | None = None,
) -> RunResult:
    """Apply ``policy`` to the Parquet input and write the safe copy and manifest to ``outdir``.

    With ``target``, the manifest's report section records classifiers' scores on the raw input
    and on the release (anonymizer.report.utility), measured before anything is renamed.

    New per-subject keys are saved to ``subjects`` after every file streamed and before any
    output is renamed into place, so no output can hold a cell whose key was never saved.
    """
    started, clock = _now(), time.perf_counter()
    root, items = discover_inputs(input_spec)
    _check_output(input_spec, root, items, outdir, overwrite)
    privacy = _privacy_stage(policy, policy_source, items)
    # The id names temporary files only; the manifest's id is derived.
    with OutputLock(outdir, secrets.token_hex(8)) as lock:
        jobs = _prepare(policy, items, outdir, (keyset, subjects), lock, privacy)
        manifest = _write(jobs, policy, policy_source, (root, started), progress, privacy, canaries)
        if target is not None:
            from anonymizer.report.utility import release_utility  # noqa: PLC0415 - the report extra

            figures = release_utility(
                [job.item.source for job in jobs], [job.tmp for job in jobs], target
            )
            manifest = manifest.model_copy(update={"report": {"utility": figures}})
        if subjects is not None and subjects.changed:
            subjects.save()
        signer = (
            keyset.for_purpose(SIGN_PURPOSE) if keyset and SIGN_PURPOSE in keyset.purposes else None
        )
        renames = [(job.tmp, job.target) for job in jobs]
        manifest_path = lock.commit(renames, manifest_bytes(manifest, signer))
    return RunResult(
        manifest=manifest,
        manifest_path=manifest_path,
        rows=sum(job.rows for job in jobs),
        seconds=time.perf_counter() - clock,
        stale_removed=lock.stale_removed,
        signed=signer is not None,
    )


def _write(
    jobs: list[_Job],
    policy: Policy,
    policy_source: str,
    where: tuple[Path, str],
    progress: ProgressSink | None,
    privacy: PrivacyStage | None,
    canaries: list[dict[str, object]] | None = None,
) -> RunManifest:
    """Stream every file to its temporary name and describe the result; nothing is renamed."""
    root, started = where
    budget = _dp_budget(policy, jobs, privacy)
    if progress is not None:
        progress.start(sum(job.rows for job in jobs))
    at_rest = set(policy.at_rest.columns) if policy.at_rest is not None else set()
    # Hashing (hashlib releases the GIL) overlaps the work that needs the GIL or the cores:
    # the inputs while the files stream, the outputs while their residual text is scanned.
    with ThreadPoolExecutor(max_workers=1) as hasher:
        hashed_inputs = hasher.submit(
            lambda: [_record(job.item.source, job.item.relative) for job in jobs]
        )
        for job in jobs:
            _stream(job, progress)
        inputs = hashed_inputs.result()
        hashed_outputs = hasher.submit(
            lambda: [_record(job.tmp, job.item.relative, blocks=True) for job in jobs]
        )
        residual = [
            finding
            for job in jobs
            for finding in residual_findings(
                str(job.tmp),
                job.item.relative.as_posix(),
                job.plan.describe(),
                skip=at_rest,
                model=job.plan.ner_model(),
            )
        ]
        outputs = hashed_outputs.result()
    _check_rows(jobs, outputs, privacy)
    return RunManifest(
        run_id=_run_id(policy, inputs, started),
        started_at=started,
        finished_at=_now(),
        tool=ToolRecord(
            name="anonymizer",
            version=__version__,
            engine={"polars": pl.__version__, "pyarrow": pa.__version__},
        ),
        policy=PolicyRecord(
            name=policy.name,
            version=policy.version,
            owner=policy.owner,
            digest=policy_digest(policy),
            source=policy_source,
        ),
        plan=_plan_records(jobs),
        privacy=privacy.record if privacy is not None else None,
        dp=budget,
        canaries=canaries,
        encryption=_encryption_records(jobs),
        residual=residual,
        detections=[
            {"file": job.item.relative.as_posix(), **entry}
            for job in jobs
            for entry in job.plan.detections()
        ],
        input_root=root.as_posix(),
        inputs=inputs,
        outputs=outputs,
    )
