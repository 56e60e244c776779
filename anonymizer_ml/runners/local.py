"""Local streaming runner: scan_parquet → plan expressions → sink_parquet, atomically.

Every output is written to a hidden temporary file beside its target; only when all files of the
run succeeded are they renamed into place and the manifest written. A failure (or a kill) leaves
no file at any target path and never touches the inputs.
"""

from __future__ import annotations

import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl
import pyarrow as pa

from anonymizer_ml import pending
from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import AnonymizerError, InputError, OutputError
from anonymizer_ml.lineage.manifest import RunManifest
from anonymizer_ml.lineage.outcome import RunResult
from anonymizer_ml.lineage.residual import residual_findings
from anonymizer_ml.policy.compile import Plan
from anonymizer_ml.policy.models import Policy
from anonymizer_ml.policy.run_plan import AtRest, RunPlan
from anonymizer_ml.runners.commit import OutputLock
from anonymizer_ml.runners.inputs import InputFile, discover_inputs
from anonymizer_ml.runners.release import (
    RunFacts,
    check_output,
    commit_release,
    file_metadata,
    file_record,
    now,
    run_manifest,
    run_plan_of,
    whole_input,
)
from anonymizer_ml.streaming import bounded_prefetch


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
    at_rest: AtRest | None


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
                encryption=job.at_rest.properties if job.at_rest is not None else None,
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


def _file_metadata(plan: Plan, at_rest: AtRest | None) -> dict[str, str] | None:
    """Parquet key-value metadata: the at-rest record and the field encryption's key ids."""
    metadata = at_rest.record.metadata() if at_rest is not None else {}
    metadata.update(file_metadata(plan.encryption()))
    return metadata or None


def _encryption_records(jobs: list[_Job]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for job in jobs:
        name = job.item.relative.as_posix()
        records += [{"file": name, **entry} for entry in job.plan.encryption()]
        if job.at_rest is not None:
            key_id = job.at_rest.record.key_id
            records += [
                {"file": name, "column": c, "key_id": key_id, "mode": "parquet-modular-aes-gcm"}
                for c in job.at_rest.record.columns
            ]
    return records


def _prepare(
    run: RunPlan, items: list[InputFile], rows: list[int], outdir: Path, lock: OutputLock
) -> list[_Job]:
    jobs = []
    for item, plan, count in zip(items, run.plans, rows, strict=True):
        target = outdir / item.relative
        at_rest = run.at_rest(item.relative.as_posix())
        jobs.append(_Job(item, target, lock.temporary(target), plan, count, at_rest))
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
    and on the release (anonymizer_ml.report.utility), measured before anything is renamed.

    New per-subject keys are saved to ``subjects`` after every file streamed and before any
    output is renamed into place, so no output can hold a cell whose key was never saved.
    """
    started, clock = now(), time.perf_counter()
    root, items = discover_inputs(input_spec)
    check_output(input_spec, root, items, outdir, overwrite)
    run_plan, rows = run_plan_of(policy, policy_source, items, (keyset, subjects))
    if run_plan.privacy_columns is not None:
        run_plan = run_plan.with_privacy(whole_input(items))
    # The id names temporary files only; the manifest's id is derived.
    with OutputLock(outdir, secrets.token_hex(8)) as lock:
        jobs = _prepare(run_plan, items, rows, outdir, lock)
        manifest = _write(jobs, run_plan, (root, started), progress, canaries)
        if target is not None:
            from anonymizer_ml.report.utility import release_utility  # noqa: PLC0415 - the report extra

            figures = release_utility(
                [job.item.source for job in jobs], [job.tmp for job in jobs], target
            )
            manifest = manifest.model_copy(update={"report": {"utility": figures}})
        if subjects is not None and subjects.changed:
            subjects.save()
        renames = [(job.tmp, job.target) for job in jobs]
        return commit_release(lock, renames, manifest, keyset, (sum(rows), clock))


def _write(
    jobs: list[_Job],
    run: RunPlan,
    where: tuple[Path, str],
    progress: ProgressSink | None,
    canaries: list[dict[str, object]] | None = None,
) -> RunManifest:
    """Stream every file to its temporary name and describe the result; nothing is renamed."""
    root, started = where
    rows = sum(job.rows for job in jobs)
    budget = run.dp_record(whole_input([job.item for job in jobs]), rows)
    if progress is not None:
        progress.start(rows)
    # Hashing (hashlib releases the GIL) overlaps the work that needs the GIL or the cores:
    # the inputs while the files stream, the outputs while their residual text is scanned.
    with ThreadPoolExecutor(max_workers=1) as hasher:
        hashed_inputs = hasher.submit(
            lambda: [file_record(job.item.source, job.item.relative) for job in jobs]
        )
        for job in jobs:
            _stream(job, progress)
        inputs = hashed_inputs.result()
        hashed_outputs = hasher.submit(
            lambda: [file_record(job.tmp, job.item.relative, blocks=True) for job in jobs]
        )
        residual = [
            finding
            for job in jobs
            for finding in residual_findings(
                str(job.tmp),
                job.item.relative.as_posix(),
                job.plan.describe(),
                skip=run.sealed_columns,
                model=job.plan.ner_model(),
            )
        ]
        outputs = hashed_outputs.result()
    facts = RunFacts(
        run,
        root,
        started,
        inputs,
        outputs,
        engine={"polars": pl.__version__, "pyarrow": pa.__version__},
        dp=budget,
        canaries=canaries,
        encryption=_encryption_records(jobs),
        residual=residual,
        detections=[
            {"file": job.item.relative.as_posix(), **entry}
            for job in jobs
            for entry in job.plan.detections()
        ],
    )
    return run_manifest(facts)
