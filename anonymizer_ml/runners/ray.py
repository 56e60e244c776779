"""Ray Data runner: the same Plan as the local runner, executed by an actor pool on a cluster.

``ray.data.read_parquet`` reads every input file (each row tagged with its file) → ``map_batches``
with a callable class: each actor builds the files' Plans once (``BatchKernel``) and writes every
batch's safe rows as a part file under a temporary directory of the output → one task per input
file joins its parts, in order, into the file's temporary output and hashes it → the driver
renames every file into place and writes the signed manifest, only when all of that succeeded.
A failed or killed run leaves no output file and no part behind.

With a ``privacy:`` section, pass 1 is a distributed aggregation: each block's histogram of the
quasi-identifiers, summed on the driver, is exactly the histogram the local runner builds, so the
search picks the same recoding; the recoding travels to the actors with the Plans.

The output directory (and the inputs) must be reachable at the same path from every node: a
local disk for a one-machine Ray, a shared file system for a cluster.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.errors import AnonymizerError, InputError, PlanError
from anonymizer_ml.lineage.manifest import FileRecord, RunManifest
from anonymizer_ml.lineage.outcome import RunResult
from anonymizer_ml.lineage.residual import residual_findings
from anonymizer_ml.policy.compile import Plan
from anonymizer_ml.policy.models import Policy
from anonymizer_ml.policy.run_plan import RunPlan
from anonymizer_ml.privacy.table import COUNT
from anonymizer_ml.runners.commit import OutputLock
from anonymizer_ml.runners.inputs import InputFile, discover_inputs
from anonymizer_ml.runners.kernel import BatchKernel, add_counts
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

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Ray colours its worker tracebacks
_MERGE_EVERY = 16  # block histograms summed into the running one at a time
PATH_COLUMN = "path"  # the column Ray Data's read_parquet(include_paths=True) adds
PARTS = pa.schema(
    [("file", pa.int64()), ("part", pa.string()), ("rows", pa.int64()), ("ledgers", pa.string())]
)


def import_ray() -> ModuleType:
    """The ``ray`` module with Ray Data, or one error line naming the extra to install."""
    try:
        import ray  # noqa: PLC0415 - an optional extra
        import ray.data  # noqa: PLC0415 - the Data library is what this runner uses
    except ImportError:
        raise InputError(
            "the ray engine needs Ray Data, which is not installed; "
            "pip install 'anonymizer-ml[ray]' (or run with --engine local)"
        ) from None
    return ray


def _unsupported(run: RunPlan) -> str | None:
    """Why this plan cannot run on Ray yet (None when it can)."""
    if run.sealed_columns:
        return "at_rest (Parquet column encryption) is written by the local runner only"
    for column in run.subject_keyed_columns:
        return f"column {column!r} is encrypted per subject, whose keys the local runner keeps"
    return None


def _refuse(run: RunPlan) -> None:
    """Everything that can be refused before a worker starts."""
    reason = _unsupported(run)
    if reason is not None:
        raise PlanError(f"{run.facts.source}: {reason}; run it with --engine local")
    for item in run.inputs:
        if PATH_COLUMN in item.schema:
            raise InputError(
                f"{item.source}: a column is named {PATH_COLUMN!r}, which Ray Data uses for the "
                "file each row came from; rename it or run with --engine local"
            )


@dataclass
class _File:
    """One input file through the run: its Plan on the driver, parts and counts from workers."""

    item: InputFile
    index: int
    rows: int
    plan: Plan
    parts: list[str] = field(default_factory=list)
    encryption: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    detections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_part(self, part: str, ledgers: dict[str, list[dict[str, Any]]]) -> None:
        """Count one kept part's rows' ledgers."""
        self.parts.append(part)
        for entry in ledgers["encryption"]:
            key = (str(entry["column"]), str(entry["salt"]))
            seen = self.encryption.get(key)
            total = entry["encrypted"] + (seen["encrypted"] if seen else 0)
            self.encryption[key] = {**entry, "encrypted": total}
        for entry in ledgers["detections"]:
            column = str(entry["column"])
            self.detections[column] = add_counts(self.detections.get(column), entry)


class PartWriter:
    """The actor of ``map_batches``: a batch in, its safe rows written as part files, one row
    per part out (which file, where, how many rows, what the ledgers counted)."""

    def __init__(self, run: RunPlan, parts_dir: str, by_path: dict[str, int]) -> None:
        self._kernel = BatchKernel(run)
        self._parts_dir, self._by_path = Path(parts_dir), by_path
        self._prefix = Path(parts_dir).name  # parts carry the run's temporary marker too

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Write each file's rows of ``batch`` as one part; describe the parts."""
        rows: list[dict[str, Any]] = []
        paths = batch.column(PATH_COLUMN)
        distinct = pc.unique(paths).to_pylist()
        for path in distinct:
            index = self._by_path[os.path.normpath(path)]
            rows_of_file = batch if len(distinct) == 1 else batch.filter(pc.equal(paths, path))
            safe = self._kernel.apply(index, rows_of_file.drop_columns([PATH_COLUMN]))
            # Arrow IPC, uncompressed: a part is read once more, by the task that joins the
            # file; Parquet's encoding and compression are paid once, there.
            part = self._parts_dir / f"{self._prefix}-f{index}-{uuid.uuid4().hex}.arrow"
            safe.write_ipc(part, compression="uncompressed")
            ledgers = self._kernel.ledgers(index)
            rows.append(
                {
                    "file": index,
                    "part": str(part),
                    "rows": safe.height,
                    "ledgers": json.dumps(ledgers, sort_keys=True),
                }
            )
        return pa.Table.from_pylist(rows, schema=PARTS)


def block_histogram(batch: pa.Table, columns: list[str]) -> pa.Table:
    """One block's histogram of ``columns`` (original types; counts in the count column)."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    counted = frame.group_by(columns).agg(pl.len().cast(pl.Int64).alias(COUNT))
    return counted.to_arrow()


@dataclass(frozen=True)
class FinishJob:
    """What joining one file's parts needs: where they are, where it goes, how to describe it."""

    source: Path
    relative: Path
    parts: tuple[str, ...]
    tmp: Path
    empty: pl.DataFrame
    metadata: dict[str, str]
    plan: list[dict[str, Any]]
    ner_source: str | None


def finish_file(job: FinishJob) -> tuple[FileRecord, FileRecord, list[dict[str, Any]]]:
    """Join the parts into the file's temporary output; its records and the residual scan."""
    from anonymizer_ml.detect.ner import load_ner  # noqa: PLC0415 - the model, in this worker only

    job.tmp.parent.mkdir(parents=True, exist_ok=True)
    metadata = job.metadata or None
    if job.parts:
        frame = pl.scan_ipc(list(job.parts))
        frame.sink_parquet(job.tmp, engine="streaming", metadata=metadata)
    else:  # no rows reached the output: the file still has the output's columns
        job.empty.write_parquet(job.tmp, metadata=metadata)
    with job.tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    model = load_ner(job.ner_source) if job.ner_source else None
    residual = residual_findings(str(job.tmp), job.relative.as_posix(), job.plan, model=model)
    return (
        file_record(job.source, job.relative),
        file_record(job.tmp, job.relative, blocks=True),
        residual,
    )


@contextmanager
def _session(ray: ModuleType, address: str | None) -> Iterator[None]:
    """Connect to the cluster at ``address`` (or start a local Ray); quiet; shut down what we
    started."""
    started = not ray.is_initialized()
    # Ray's notices (progress, concurrency hints) would bury the run's own lines; errors still
    # reach us as exceptions.
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if started:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # parts in input order: same files as local
    context.enable_progress_bars = False
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"ray\.")
            yield
    finally:
        if started:
            ray.shutdown()


def _actor_cpus(ray: ModuleType, workers: int) -> float:
    """CPUs each actor reserves: at most one, and never so many that the read tasks get none."""
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    return max(0.25, min(1.0, (cpus - 1.0) / workers))


def _error(exc: BaseException) -> AnonymizerError:
    """A worker's error as one line: our own error where a transform raised one."""
    seen: BaseException | None = exc
    innermost, depth = exc, 0
    while seen is not None and depth < 16:  # a bounded walk: chains can loop
        depth += 1
        if isinstance(seen, AnonymizerError):
            return seen.__class__(str(seen).splitlines()[0])
        innermost = seen
        # Ray wraps a worker's exception; ``cause`` is the one the worker raised.
        seen = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
    text = _ANSI.sub("", str(innermost)).strip()
    reason = (text.splitlines() or [innermost.__class__.__name__])[-1][:200]
    return PlanError(
        f"a Ray worker failed ({reason}); nothing was written. Run again, or with --engine local"
    )


def _histogram(ray: ModuleType, paths: list[str], columns: list[str]) -> pl.LazyFrame:
    """The histogram of ``columns`` over all inputs: one per block on the workers, summed here."""
    blocks = (
        ray.data.read_parquet(paths, partitioning=None)
        .select_columns(columns)
        .map_batches(block_histogram, fn_kwargs={"columns": columns}, batch_format="pyarrow")
    )
    merged: pl.DataFrame | None = None
    pending: list[pl.DataFrame] = []
    for ref in blocks.to_arrow_refs():  # the blocks wait in the object store, not here
        frame = pl.from_arrow(ray.get(ref))
        if isinstance(frame, pl.DataFrame) and frame.height:
            pending.append(frame)
        if len(pending) >= _MERGE_EVERY:  # the driver holds about one histogram, not one a block
            merged = _summed([merged, *pending] if merged is not None else pending, columns)
            pending = []
    if pending:
        merged = _summed([merged, *pending] if merged is not None else pending, columns)
    if merged is None:
        return pl.LazyFrame(schema={**{c: pl.String for c in columns}, COUNT: pl.Int64})
    return merged.lazy()


def _summed(frames: list[pl.DataFrame], columns: list[str]) -> pl.DataFrame:
    """Histograms of the same columns merged into one (counts summed)."""
    together = pl.concat(frames, how="vertical_relaxed")
    return together.group_by(columns).agg(pl.col(COUNT).sum())


def run(
    policy: Policy,
    policy_source: str,
    input_spec: str,
    outdir: Path,
    keyset: Keyset | None,
    *,
    overwrite: bool = False,
    workers: int | None = None,
    address: str | None = None,
    canaries: list[dict[str, object]] | None = None,
) -> RunResult:
    """Apply ``policy`` to the Parquet input on Ray and write the safe copy and manifest.

    ``address``: a running cluster (``ray.init`` semantics; None starts a local Ray unless one is
    already connected). ``workers``: actors in the pool (default: the cluster's CPUs).
    """
    started, clock = now(), time.perf_counter()
    ray = import_ray()
    root, items = discover_inputs(input_spec)
    check_output(input_spec, root, items, outdir, overwrite)
    plan, rows = run_plan_of(policy, policy_source, items, (keyset, None))
    _refuse(plan)
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: give at least one worker")
    with _session(ray, address):
        pool = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        paths = [str(item.source) for item in items]
        if plan.privacy_columns is not None:
            try:
                histogram = _histogram(ray, paths, plan.privacy_columns)
            except Exception as exc:
                raise _error(exc) from None
            plan = plan.with_privacy(histogram)
        files = [
            _File(item, index, count, file_plan)
            for index, (item, count, file_plan) in enumerate(
                zip(items, rows, plan.plans, strict=True)
            )
        ]
        with OutputLock(outdir, secrets.token_hex(8)) as lock:
            parts_dir = lock.temporary_directory("parts")
            try:
                _stream(ray, files, plan.for_workers(), (parts_dir, pool))
                finished = _finish(ray, plan, files, outdir, lock)
            except AnonymizerError:
                raise
            except Exception as exc:
                raise _error(exc) from None
            manifest = _manifest(
                plan, (root, started), files, finished, (canaries, ray.__version__, pool)
            )
            renames = [
                (done[0], outdir / f.item.relative) for f, done in zip(files, finished, strict=True)
            ]
            return commit_release(lock, renames, manifest, keyset, (sum(rows), clock))


def _stream(ray: ModuleType, files: list[_File], run: RunPlan, where: tuple[Path, int]) -> None:
    """Every row through the actor pool into part files; each file's kept parts, in order."""
    parts_dir, workers = where
    by_path = {os.path.normpath(str(f.item.source)): f.index for f in files}
    dataset = ray.data.read_parquet(
        [str(f.item.source) for f in files], include_paths=True, partitioning=None
    )
    described = dataset.map_batches(
        PartWriter,
        fn_constructor_kwargs={
            "run": run,
            "parts_dir": str(parts_dir),
            "by_path": by_path,
        },
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=_actor_cpus(ray, workers),
        # One Polars thread per actor, as Ray gives each actor one CPU's share; a user's own
        # setting wins.
        runtime_env={"env_vars": {"POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "1")}},
    )
    for row in described.iter_rows():
        files[int(row["file"])].add_part(str(row["part"]), json.loads(str(row["ledgers"])))


def _finish(
    ray: ModuleType, run: RunPlan, files: list[_File], outdir: Path, lock: OutputLock
) -> list[tuple[Path, FileRecord, FileRecord, list[dict[str, Any]]]]:
    """One task per file joins its parts into its temporary output and hashes both files."""
    remote = ray.remote(num_cpus=1)(finish_file)
    jobs, refs = [], []
    for file in files:
        tmp = lock.temporary(outdir / file.item.relative)
        empty = file.plan.apply(pl.LazyFrame(schema=run.inputs[file.index].schema)).collect()
        model = file.plan.ner_model()
        job = FinishJob(
            file.item.source,
            file.item.relative,
            tuple(file.parts),
            tmp,
            empty,
            file_metadata(list(file.encryption.values())),
            file.plan.describe(),
            model.source if model is not None else None,
        )
        jobs.append(job)
        refs.append(remote.remote(job))
    return [(job.tmp, *ray.get(ref)) for job, ref in zip(jobs, refs, strict=True)]


def _manifest(
    run: RunPlan,
    where: tuple[Path, str],
    files: list[_File],
    finished: list[tuple[Path, FileRecord, FileRecord, list[dict[str, Any]]]],
    extra: tuple[list[dict[str, object]] | None, str, int],
) -> RunManifest:
    """The manifest of a Ray run: records from the workers, counts from the kept parts."""
    root, started = where
    canaries, ray_version, workers = extra
    inputs = [record for _, record, _, _ in finished]
    outputs = [record for _, _, record, _ in finished]
    rows = sum(f.rows for f in files)
    return run_manifest(
        RunFacts(
            run,
            root,
            started,
            inputs,
            outputs,
            engine={
                "polars": pl.__version__,
                "pyarrow": pa.__version__,
                "runner": "ray",
                "ray": ray_version,
                "workers": str(workers),
            },
            dp=run.dp_record(whole_input([f.item for f in files]), rows),
            canaries=canaries,
            encryption=[
                {"file": f.item.relative.as_posix(), **entry}
                for f in files
                for entry in f.encryption.values()
            ],
            residual=[finding for *_, found in finished for finding in found],
            detections=[
                {"file": f.item.relative.as_posix(), **entry}
                for f in files
                for entry in f.detections.values()
            ],
        )
    )
