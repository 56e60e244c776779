"""The batch kernels of field encryption on every core: a pool of worker processes.

One AES-GCM call on a short value costs about a microsecond, nearly all of it Python holding the
GIL, so threads cannot share the work; processes can. A batch is cut into one slice per worker,
each slice is sealed (or opened) by ``anonymizer_ml.crypto.cells`` in a worker, and the slices come
back in order. Counters are handed out in this process before the slices leave, so a pooled run
writes the same cells as a single-process one. Small batches stay in this process: a round trip
to a worker costs more than it saves.

The pool starts on first use (spawned, not forked: Polars' threads do not survive a fork) and
lives until the process exits. ``ANONYMIZER_CRYPTO_WORKERS`` sets its size (0 or 1: no pool);
by default it is the number of cores this process may use.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TypeVar, cast

import numpy as np
import pyarrow as pa

from anonymizer_ml.crypto.cells import OpenJob, SealJob, as_large, open_array, seal_array
from anonymizer_ml.errors import AnonymizerError, InputError

WORKERS_VARIABLE = "ANONYMIZER_CRYPTO_WORKERS"
MIN_POOLED_VALUES = 32_768
KERNELS: dict[str, Callable[..., pa.Array]] = {"seal": seal_array, "open": open_array}
_LENGTH = 8  # bytes of the big-endian length before each pickled message

Job = TypeVar("Job", SealJob, OpenJob)


class WorkerError(AnonymizerError):
    """A worker process of the crypto pool died (killed, or out of memory)."""


def worker_count() -> int:
    """Worker processes the pool uses: ``ANONYMIZER_CRYPTO_WORKERS``, else this process's cores."""
    raw = os.environ.get(WORKERS_VARIABLE)
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if not raw.strip().isdigit():
        raise InputError(
            f"{WORKERS_VARIABLE}={raw!r}: give a whole number of worker processes (0 or 1: none)"
        )
    return int(raw)


def send(stream: IO[bytes], message: object) -> None:
    """Write one length-prefixed pickled message and flush it."""
    data = pickle.dumps(message, protocol=5)
    stream.write(len(data).to_bytes(_LENGTH, "big") + data)
    stream.flush()


def receive(stream: IO[bytes]) -> object:
    """Read one message written by ``send``; EOFError when the other side is gone."""
    head = stream.read(_LENGTH)
    if len(head) < _LENGTH:
        raise EOFError
    size = int.from_bytes(head, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - written by our own worker process


# The worker is started as its own interpreter (not multiprocessing), so a user's script is never
# re-imported in it and no forked copy of Polars' threads exists; it exits when its stdin closes.
_WORKER_CODE = (
    "import sys; sys.path[:0] = [sys.argv[1]]; "
    "from anonymizer_ml.crypto import worker; worker.main()"
)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, _PACKAGE_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def call(self, kernel: str, job: object, values: pa.Array) -> pa.Array:
        """Run one kernel on one array in the worker; its exception is raised here."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            send(stdin, (kernel, job, values))
            ok, result = cast(tuple[bool, object], receive(stdout))
        except (EOFError, BrokenPipeError, OSError):
            self.stop()
            raise WorkerError(
                "a worker process of the crypto pool died (killed, or out of memory); nothing "
                f"was written. Run again, or set {WORKERS_VARIABLE}=1 to encrypt in one process"
            ) from None
        if not ok:
            raise cast(BaseException, result)
        return result

    def stop(self) -> None:
        """Close the worker's input (it exits) and reap it."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class _Pool:
    """``size`` workers, started on first use; a dead one is replaced on the next call."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._idle.put(None)  # a slot whose worker starts when first needed
        self._dispatch = ThreadPoolExecutor(size, thread_name_prefix="anonymizer-crypto")
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def _run(self, kernel: str, job: object, values: pa.Array) -> pa.Array:
        # One worker held at a time per task: no task waits for a second while holding one.
        worker = self._idle.get()
        try:
            if worker is None:
                worker = _Worker()
                with self._lock:
                    self._workers.append(worker)
            return worker.call(kernel, job, values)
        except WorkerError:
            worker = None
            raise
        finally:
            self._idle.put(worker)

    def map(self, kernel: str, work: Sequence[tuple[object, pa.Array]]) -> list[pa.Array]:
        """Every (job, array) through ``kernel`` on the workers, results in order."""
        futures = [self._dispatch.submit(self._run, kernel, j, v) for j, v in work]
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop every worker."""
        self._dispatch.shutdown(wait=True)
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()


_LOCK = threading.Lock()
_POOLS: list[_Pool] = []  # at most one


def _pool(size: int) -> _Pool:
    with _LOCK:
        if _POOLS and _POOLS[0].size != size:
            _POOLS.pop().close()
        if not _POOLS:
            _POOLS.append(_Pool(size))
        return _POOLS[0]


@atexit.register
def shutdown() -> None:
    """Stop the worker processes (at exit; also usable by a long-running host)."""
    with _LOCK:
        pools = list(_POOLS)
        _POOLS.clear()
    for pool in pools:
        pool.close()


def _bounds(length: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, length, parts + 1).astype(int).tolist()
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def _gather(kernel: str, work: Sequence[tuple[Job, pa.Array]]) -> pa.Array:
    """Run ``kernel`` over every (job, slice) on the workers; the results concatenated in order."""
    return pa.concat_arrays(_pool(worker_count()).map(kernel, work))


def _slice(values: pa.Array, start: int, end: int) -> pa.Array:
    """Rows [start, end) in buffers of their own (a plain slice pickles the whole batch)."""
    return pa.concat_arrays([values.slice(start, end - start)])


def _pooled(values: pa.Array) -> int:
    """How many slices to cut ``values`` into (1: seal it here)."""
    workers = worker_count()
    return workers if workers > 1 and len(values) >= MIN_POOLED_VALUES else 1


def seal(job: SealJob, values: pa.Array) -> pa.Array:
    """``values`` sealed as ``cells.seal_array`` seals them, on every worker for a large batch."""
    parts = _pooled(values)
    if parts == 1:
        return seal_array(job, values)
    values = as_large(values)
    valid = np.ones(len(values), dtype=bool)
    if values.null_count:
        valid = values.is_valid().to_numpy(zero_copy_only=False)
    before = np.concatenate([[0], np.cumsum(valid)]).tolist()  # non-null values before row i
    work = []
    for start, end in _bounds(len(values), parts):
        first = job.first + before[start]
        sliced = SealJob(job.subkey, job.mode, job.prefix, job.aad, first)
        work.append((sliced, _slice(values, start, end)))
    return _gather("seal", work)


def open_cells(job: OpenJob, cells: pa.Array) -> pa.Array:
    """``cells`` opened as ``cells.open_array`` opens them, on every worker for a large batch."""
    parts = _pooled(cells)
    if parts == 1:
        return open_array(job, cells)
    cells = as_large(cells)
    work = [(job, _slice(cells, a, b)) for a, b in _bounds(len(cells), parts)]
    return _gather("open", work)
