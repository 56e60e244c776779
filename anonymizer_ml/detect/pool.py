"""Detection on every core: distinct texts split among worker processes, spans sent back.

The scanners, validators and the NER model are Python-bound (the GIL serialises threads), so a
text column uses more than one core only in more processes. Each worker loads the NER model
once, by the same name or directory the caller loaded (its digest checked again), and runs the
whole detection of its share of the texts; only the spans cross back. spaCy's own
``nlp.pipe(n_process=…)`` sends every parsed ``Doc`` back instead, which measured no faster
than one process on short notes here.

Workers are started with ``spawn`` (Polars' thread pool is not safe to ``fork``), each with one
Polars thread, and kept for the life of the calling process. Below ``MIN_CHARS`` of distinct
text a pool costs more than it saves and detection stays in-process. A worker that dies makes
the call run in-process instead (with a warning): the output is the same either way.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonymizer_ml.detect.ner import NerModel
    from anonymizer_ml.detect.patterns import Span

MIN_CHARS = 200_000
_CHUNKS_PER_WORKER = 4  # smaller shares even out texts of unequal length
_POOLS: dict[tuple[str | None, int], ProcessPoolExecutor] = {}
_WORKER_MODEL: list[Any] = [None]  # the model a worker loaded (one slot: set by _start)


def _start(source: str | None) -> None:
    if source is not None:
        from anonymizer_ml.detect.ner import load_ner  # noqa: PLC0415 - in the worker only

        _WORKER_MODEL[0] = load_ner(source)


def _ready() -> bool:
    return True


def _detect(
    texts: list[str | None], entities: tuple[str, ...] | None, address_parts: bool
) -> list[list[Span]]:
    from anonymizer_ml.detect.entities import distinct_spans  # noqa: PLC0415 - a cycle otherwise

    return distinct_spans(texts, _WORKER_MODEL[0], entities, None, 1, address_parts)


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """While workers start: each gets one Polars thread (they inherit the environment; the
    workers together use the cores), and none runs the caller's main script again — spawn
    would re-run a script's top level (which may call detection again) unless every caller
    guarded it with ``if __name__ == "__main__"``; the workers need nothing from it."""
    main = sys.modules["__main__"]
    script = main.__dict__.pop("__file__", None)
    before = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        yield
    finally:
        if script is not None:
            main.__file__ = script
        if before is None:
            del os.environ["POLARS_MAX_THREADS"]
        else:
            os.environ["POLARS_MAX_THREADS"] = before


def _pool(source: str | None, processes: int) -> ProcessPoolExecutor:
    key = (source, processes)
    if key not in _POOLS:
        pool = ProcessPoolExecutor(
            processes, mp_context=get_context("spawn"), initializer=_start, initargs=(source,)
        )
        with _spawning():  # every worker starts now
            for started in [pool.submit(_ready) for _ in range(processes)]:
                started.result()
        _POOLS[key] = pool
    return _POOLS[key]


@atexit.register
def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _POOLS.clear()


def shares(texts: Sequence[str | None], count: int) -> list[list[str | None]]:
    """``texts`` cut into at most ``count`` runs of about equal characters, in order."""
    total = sum(len(t) for t in texts if t)
    target = max(1, total // max(1, count))
    out: list[list[str | None]] = [[]]
    size = 0
    for text in texts:
        if size >= target and len(out) < count:
            out.append([])
            size = 0
        out[-1].append(text)
        size += len(text) if text else 0
    return [share for share in out if share]


def pooled_spans(
    texts: list[str | None],
    model: NerModel | None,
    entities: tuple[str, ...] | None,
    processes: int,
    address_parts: bool,
) -> list[list[Span]] | None:
    """Each text's spans found by ``processes`` workers, or None where one process should do
    it (one process asked, too little text, or a worker died)."""
    if processes < 2 or sum(len(t) for t in texts if t) < MIN_CHARS:
        return None
    source = model.source if model is not None else None
    pool = _pool(source, processes)
    parts = shares(texts, processes * _CHUNKS_PER_WORKER)
    try:
        found = list(
            pool.map(_detect, parts, [entities] * len(parts), [address_parts] * len(parts))
        )
    except BrokenProcessPool:
        _POOLS.pop((source, processes), None)
        warnings.warn(
            "a detection worker process died; detecting in this process instead", stacklevel=3
        )
        return None
    return [spans for share in found for spans in share]
