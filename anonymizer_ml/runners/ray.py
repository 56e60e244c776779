"""Ray Data runner: the same Plan as the local runner, executed by an actor pool on a cluster.

The work is cut into units — each input file whole, or a file larger than its share of the rows
cut at row-group boundaries — and ``ray.data.from_items(units).map_batches`` hands them to a
pool of actors (a callable class). Each actor compiles each file's Plan once from the RunPlan
(``BatchKernel``) and streams its units itself, as the local runner does: Polars' scan, the
Plan, its sink. The rows never pass through Ray's object store. A file done whole is written to
its temporary output and hashed and scanned by its actor; the pieces of a split file are parts
under a temporary directory of the output that one task per file joins, in order. The driver
renames every file into place and writes the signed manifest only when all of that succeeded.
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
import pyarrow.parquet as pq

from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.detect.ner import NerModel
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
from anonymizer_ml.streaming import bounded_prefetch

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Ray colours its worker tracebacks
_MERGE_EVERY = 16  # block histograms summed into the running one at a time
UNITS = pa.schema(
    [
        ("file", pa.int64()),
        ("piece", pa.int64()),
        ("path", pa.string()),
        ("ledgers", pa.string()),
        ("written", pa.string()),
    ]
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
    if keyed := run.subject_keyed_columns:
        return f"column {keyed[0]!r} is encrypted per subject, whose keys the local runner keeps"
    return None


def _refuse(run: RunPlan) -> None:
    """What can be refused before a worker starts, beyond what compiling the plan refused."""
    reason = _unsupported(run)
    if reason is not None:
        raise PlanError(f"{run.facts.source}: {reason}; run it with --engine local")


@dataclass
class _File:
    """One input file through the run: its Plan on the driver, parts and counts from workers."""

    item: InputFile
    index: int
    rows: int
    plan: Plan
    parts: dict[int, str] = field(default_factory=dict)
    written: Written | None = None  # a file written whole by one unit: its records
    encryption: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    detections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_part(self, piece: int, part: str, ledgers: dict[str, list[dict[str, Any]]]) -> None:
        """Count one kept part's rows' ledgers."""
        self.parts[piece] = part
        for entry in ledgers["encryption"]:
            key = (str(entry["column"]), str(entry["salt"]))
            seen = self.encryption.get(key)
            total = entry["encrypted"] + (seen["encrypted"] if seen else 0)
            self.encryption[key] = {**entry, "encrypted": total}
        for entry in ledgers["detections"]:
            column = str(entry["column"])
            self.detections[column] = add_counts(self.detections.get(column), entry)


Written = tuple[FileRecord, FileRecord, list[dict[str, Any]]]


@dataclass(frozen=True)
class _Output:
    """Where a worker writes one file and how the manifest names it."""

    source: str
    relative: str
    tmp: str


class UnitWriter:
    """The actor of ``map_batches``: each unit (a whole input file, or a run of its row groups)
    is read, made safe and written by this process — Polars' streaming scan, the file's Plan,
    its sink — without the rows passing through Ray's object store. A whole file goes straight
    to its temporary output and is hashed and scanned here; a piece of a split file becomes a
    part that one task joins. One row per unit out: where it went and what its ledgers counted."""

    def __init__(self, run: RunPlan, parts_dir: str, outputs: dict[int, _Output]) -> None:
        self._kernel = BatchKernel(run)
        self._parts_dir, self._outputs = Path(parts_dir), outputs
        self._prefix = Path(parts_dir).name  # parts carry the run's temporary marker too

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Write every unit of ``batch``; describe each."""
        return pa.Table.from_pylist([self._write(u) for u in batch.to_pylist()], schema=UNITS)

    def _write(self, unit: dict[str, Any]) -> dict[str, Any]:
        index, piece = int(unit["file"]), int(unit["piece"])
        plan, out = self._kernel.setup(index), self._outputs[index]
        frame = pl.scan_parquet(out.source, hive_partitioning=False)
        written = ""
        if unit["pieces"] == 1:
            path = out.tmp
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            metadata = file_metadata(plan.encryption()) or None
            with bounded_prefetch():  # the local runner's memory bound
                plan.apply(frame).sink_parquet(path, engine="streaming", metadata=metadata)
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
            written = _describe_written(plan, out)
        else:
            # Arrow IPC, uncompressed: a part is read once more, by the task that joins the
            # file; Parquet's encoding and compression are paid once, there.
            path = str(
                self._parts_dir / f"{self._prefix}-f{index}-p{piece}-{uuid.uuid4().hex}.arrow"
            )
            piece_rows = plan.apply(frame.slice(int(unit["offset"]), int(unit["rows"])))
            with bounded_prefetch():
                piece_rows.sink_ipc(path, compression="uncompressed", engine="streaming")
        ledgers = self._kernel.ledgers(index)
        return {
            "file": index,
            "piece": piece,
            "path": path,
            "ledgers": json.dumps(ledgers, sort_keys=True),
            "written": written,
        }


def _records(
    source: Path, relative: Path, tmp: Path, plan: list[dict[str, Any]], model: NerModel | None
) -> Written:
    """A written output's records: input and output digests, and its residual scan."""
    residual = residual_findings(str(tmp), relative.as_posix(), plan, model=model)
    return file_record(source, relative), file_record(tmp, relative, blocks=True), residual


def _describe_written(plan: Plan, out: _Output) -> str:
    """The records of a file written whole, as the row that reports its unit carries them."""
    source, output, residual = _records(
        Path(out.source), Path(out.relative), Path(out.tmp), plan.describe(), plan.ner_model()
    )
    return json.dumps([source.model_dump(mode="json"), output.model_dump(mode="json"), residual])


def _written(text: str) -> Written:
    """The records ``_describe_written`` sent, read back."""
    source, output, residual = json.loads(text)
    return FileRecord.model_validate(source), FileRecord.model_validate(output), residual


def units(rows: list[int], row_groups: list[list[int]], workers: int) -> list[dict[str, int]]:
    """The work: every file whole, except a file larger than a share of all rows (half of what
    one worker gets), which is cut at row-group boundaries into pieces of about that share."""
    share = max(1, sum(rows) // (2 * workers))
    work = []
    for index, (count, groups) in enumerate(zip(rows, row_groups, strict=True)):
        pieces: list[tuple[int, int]] = []
        start = taken = 0
        for group in groups:
            taken += group
            if taken >= share:
                pieces.append((start, taken))
                start, taken = start + taken, 0
        if taken or not pieces:
            pieces.append((start, taken))
        assert sum(n for _, n in pieces) == count
        for piece, (offset, length) in enumerate(pieces):
            work.append(
                {
                    "file": index,
                    "piece": piece,
                    "pieces": len(pieces),
                    "offset": offset,
                    "rows": length,
                }
            )
    return work


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
    metadata: dict[str, str]
    plan: list[dict[str, Any]]
    ner_source: str | None


def finish_file(job: FinishJob) -> Written:
    """Join a split file's parts into its temporary output; its records and the residual scan."""
    from anonymizer_ml.detect.ner import load_ner  # noqa: PLC0415 - the model, in this worker only

    job.tmp.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.scan_ipc(list(job.parts))
    frame.sink_parquet(job.tmp, engine="streaming", metadata=job.metadata or None)
    with job.tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    model = load_ner(job.ner_source) if job.ner_source else None
    return _records(job.source, job.relative, job.tmp, job.plan, model)


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
    """CPUs each actor reserves: at most one, and one CPU left for the join tasks of split files."""
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
            tmps = [lock.temporary(outdir / f.item.relative) for f in files]
            try:
                _stream(ray, files, plan.for_workers(), (parts_dir, tmps, pool))
                finished = _finish(ray, files, tmps)
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


def _stream(
    ray: ModuleType, files: list[_File], run: RunPlan, where: tuple[Path, list[Path], int]
) -> None:
    """Every unit of work through the actor pool; each file's kept parts and records."""
    parts_dir, tmps, workers = where
    groups = [_row_groups(f.item.source) for f in files]
    work = units([f.rows for f in files], groups, workers)
    outputs = {
        f.index: _Output(str(f.item.source), f.item.relative.as_posix(), str(tmp))
        for f, tmp in zip(files, tmps, strict=True)
    }
    described = ray.data.from_items(work).map_batches(
        UnitWriter,
        fn_constructor_kwargs={"run": run, "parts_dir": str(parts_dir), "outputs": outputs},
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=_actor_cpus(ray, workers),
        # One Polars thread per actor, as Ray gives each actor one CPU's share; a user's own
        # setting wins.
        runtime_env={"env_vars": {"POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "1")}},
    )
    for row in described.iter_rows():
        file = files[int(row["file"])]
        file.add_part(int(row["piece"]), str(row["path"]), json.loads(str(row["ledgers"])))
        if row["written"]:
            file.written = _written(str(row["written"]))


def _row_groups(source: Path) -> list[int]:
    """The row counts of a file's row groups (from its footer)."""
    metadata = pq.ParquetFile(source).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def _finish(
    ray: ModuleType, files: list[_File], tmps: list[Path]
) -> list[tuple[Path, FileRecord, FileRecord, list[dict[str, Any]]]]:
    """A file written whole is done; one task per split file joins its parts, in order, into
    its temporary output and hashes both files."""
    remote = ray.remote(num_cpus=1)(finish_file)
    refs: dict[int, Any] = {}
    for file, tmp in zip(files, tmps, strict=True):
        if file.written is None:
            model = file.plan.ner_model()
            job = FinishJob(
                file.item.source,
                file.item.relative,
                tuple(file.parts[piece] for piece in sorted(file.parts)),
                tmp,
                file_metadata(list(file.encryption.values())),
                file.plan.describe(),
                model.source if model is not None else None,
            )
            refs[file.index] = remote.remote(job)
    done = []
    for file, tmp in zip(files, tmps, strict=True):
        written = file.written if file.written is not None else ray.get(refs[file.index])
        done.append((tmp, *written))
    return done


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
