"""Detection speed, ours against Presidio's ``BatchAnalyzerEngine``, on the same texts and cores.

Corpora (``CORPORA``): ``notes`` (Presidio's synthetic sentences, 9–407 characters), ``posts``
(WNUT-17's real user posts) and ``documents`` (the TAB court judgments, 2–9k characters each),
each replicated to the asked number of records and made **distinct** — every copy gets its own
bracketed number — so that neither side can skip a text it has seen. ``replicated`` keeps the
copies equal: that figure measures our duplicate-text cache, not detection, and is labelled so.

Both sides get the same cores: ours runs in ``CORES`` worker processes
(``detect_entities(processes=…)``, see ``anonymizer_ml.detect.pool``), Presidio's batch engine gets
``n_process=CORES``; pattern-only
is ours with ``ner="none"`` against Presidio without its spaCy recognizer over a blank pipeline.
Batches are sized in characters on both sides (about ``BATCH_CHARS`` per batch), so that long
documents do not make batches of megabytes.

Each pair runs in a fresh process (``python -m benchmarks.detection_speed NAME CORPUS KIND
RECORDS PRESIDIO_RECORDS``), both sides warmed up on a slice first, then timed in turns (see
``interleaved_rates``). Peak RSS is measured apart, one process per side on the documents
(``python -m benchmarks.peak … -m benchmarks.detection_speed --peak SIDE RECORDS``): worker
processes would hide a process's own peak.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from anonymizer_ml.detect import pool
from anonymizer_ml.detect.entities import detect_entities
from anonymizer_ml.detect.ner import DEFAULT_MODEL
from anonymizer_ml.detect.validators import phone_ok
from benchmarks.detection_sets import SYNTH, TAB_SAMPLE, wnut17_samples
from benchmarks.measure import figure, run_measured
from benchmarks.presidio_peer import presidio_engine, presidio_results

Figures = dict[str, dict[str, object]]
CORES = int(os.environ.get("ANONYMIZER_BENCH_CORES", "2"))
BATCH_CHARS = 100_000
CORPORA = ("notes", "posts", "documents")


def corpus(name: str) -> list[str]:
    """The texts of one corpus, before replication."""
    if name == "notes":
        return [r["full_text"] for r in json.loads(SYNTH.read_text(encoding="utf-8"))]
    if name == "posts":
        return [s.text for s in wnut17_samples()]
    lines = TAB_SAMPLE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines]


def replicated(texts: list[str], records: int, *, distinct: bool) -> list[str]:
    """``records`` texts cycled from ``texts``; with ``distinct`` each copy made unique."""
    cycled = [texts[i % len(texts)] for i in range(records)]
    return [f"{t} [{i}]" for i, t in enumerate(cycled)] if distinct else cycled


def _warm_up(texts: list[str]) -> list[str]:
    """The first texts holding just over the characters that start our worker pool."""
    total = 0
    for end, text in enumerate(texts, 1):
        total += len(text)
        if total > pool.MIN_CHARS:
            return texts[:end]
    return texts


def _batch_size(texts: list[str]) -> int:
    mean = sum(map(len, texts)) / max(1, len(texts))
    return max(1, min(256, int(BATCH_CHARS / max(1.0, mean))))


def _seconds(call: Callable[[list[str]], Any], texts: list[str]) -> float:
    start = time.perf_counter()
    results = call(texts)
    took = time.perf_counter() - start
    del results  # freed after the clock stops, as a caller keeps results to use them
    return took


def interleaved_rates(
    ours: Any,
    theirs: Any,
    texts: list[str],
    their_texts: list[str],
    *,
    rounds: int = 5,
    budget_s: float = 10.0,
    before: Any = None,
) -> tuple[float, float]:
    """Records per second of each side, timed in turns so that both see the same machine: in
    each of ``rounds`` rounds, one call of ours on all ``texts`` (while our calls have spent
    less than ``budget_s``; always the first), then Presidio on its share of ``their_texts``.
    Ours is the median of our calls, theirs its records over its total time. ``before``
    (untimed) runs ahead of each call of ours."""
    our_rates: list[float] = []
    our_time = their_time = 0.0
    share = -(-len(their_texts) // rounds)
    for start in range(0, len(their_texts), share):
        if not our_rates or our_time < budget_s:
            if before is not None:
                before()
            took = _seconds(ours, texts)
            our_time += took
            our_rates.append(len(texts) / took)
        their_time += _seconds(theirs, their_texts[start : start + share])
    return statistics.median(our_rates), len(their_texts) / their_time


def _forget_validated() -> None:
    """Empty the memo of validated phone numbers, so that no timed call reuses what an earlier
    call of the same texts validated (one pass over new data would not have it)."""
    phone_ok.cache_clear()


def _sides(name: str, cores: int, batch: int) -> tuple[Any, Any]:
    ner, model = ("auto", DEFAULT_MODEL) if name == "ner" else ("none", None)
    engine = presidio_engine(model)

    def ours(texts: list[str]) -> Any:
        return detect_entities(texts, ner=ner, processes=cores)

    def theirs(texts: list[str]) -> Any:
        return presidio_results(engine, texts, batch_size=batch, processes=cores)

    return ours, theirs


def speed_pair(name: str, corpus_name: str, kind: str, records: int, presidio: int) -> Figures:
    """One speed figure: both sides warmed up on a slice (models and regexes loaded), then
    timed in turns on the same texts."""
    texts = replicated(corpus(corpus_name), records, distinct=kind == "distinct")
    ours, theirs = _sides(name, CORES, _batch_size(texts))
    ours(_warm_up(texts))  # enough text to start our worker pool, which then stays up
    theirs(texts[:20])  # Presidio starts its processes in every call: nothing to keep warm
    # With worker processes each call starts its own; three rounds keep that start-up small
    # beside the work, for both sides alike.
    rounds = 3 if CORES > 1 else 5
    our_rate, their_rate = interleaved_rates(
        ours, theirs, texts, texts[:presidio], rounds=rounds, before=_forget_validated
    )
    cache = ", cache of repeated texts" if kind == "replicated" else ""
    label = f"records/s ({CORES} cores{cache})"
    key = f"detect_{name}_{corpus_name}_{kind}_per_s"
    return {key: figure(our_rate, label, their_rate)}


SPEED_PAIRS = (
    *((name, c, "distinct") for name in ("ner", "patterns") for c in CORPORA),
    *((name, "notes", "replicated") for name in ("ner", "patterns")),
)


def _records(corpus_name: str) -> tuple[int, int]:
    """Records for ours and for Presidio (a fifth unless ANONYMIZER_BENCH_PRESIDIO_RECORDS says;
    its rate is its records over its time, so a slice measures it as well)."""
    if corpus_name == "documents":
        records = int(os.environ.get("ANONYMIZER_BENCH_DETECT_DOCUMENTS", "200"))
    else:
        records = int(os.environ.get("ANONYMIZER_BENCH_DETECT_RECORDS", "20000"))
    presidio = int(os.environ.get("ANONYMIZER_BENCH_PRESIDIO_RECORDS", "0")) or records // 5
    return records, max(1, min(records, presidio))


def peak_rss_figures(records: int) -> Figures:
    """Peak RSS (MiB) of one process running each side with NER on the distinct documents."""
    peaks = {}
    for side in ("ours", "presidio"):
        run = run_measured("-m", "benchmarks.detection_speed", ["--peak", side, str(records)])
        if run.returncode != 0:
            raise SystemExit(f"detection peak-RSS run failed: {side}\n{run.stderr}")
        peaks[side] = run.peak_rss_mib
    return {"detect_ner_documents_peak_rss": figure(peaks["ours"], "MiB", peaks["presidio"])}


def _peak_run(side: str, records: int) -> None:
    texts = replicated(corpus("documents"), records, distinct=True)
    ours, theirs = _sides("ner", 1, _batch_size(texts))
    (ours if side == "ours" else theirs)(texts)


def speed_figures() -> Figures:
    """Every speed pair, each in a fresh process (a pattern-only call measured 20% slower
    after a 100k-text NER run in the same process), then the peak-RSS runs."""
    out: Figures = {}
    for name, corpus_name, kind in SPEED_PAIRS:
        records, presidio = _records(corpus_name)
        args = [name, corpus_name, kind, str(records), str(presidio)]
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.detection_speed", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"detection speed run failed: {' '.join(args)}\n{done.stderr}")
        out.update(json.loads(done.stdout.splitlines()[-1]))
    out.update(peak_rss_figures(_records("documents")[0]))
    return out


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    if sys.argv[1] == "--peak":
        _peak_run(sys.argv[2], int(sys.argv[3]))
    else:
        name, corpus_name, kind, records, presidio = sys.argv[1:6]
        print(json.dumps(speed_pair(name, corpus_name, kind, int(records), int(presidio))))
